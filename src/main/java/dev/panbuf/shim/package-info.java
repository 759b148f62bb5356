/**
 * The boundary with native code: loading {@code libpanbuf} and the one
 * hand-written layer over the jextract-generated bindings. Internal to the module.
 */
package dev.panbuf.shim;
