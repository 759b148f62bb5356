/**
 * An optional CPython interpreter inside the JVM: runs Python code and shares
 * memory with it both ways through the buffer protocol, with checked lifetimes.
 */
package dev.panbuf.python;
