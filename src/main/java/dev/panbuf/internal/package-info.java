/**
 * Implementation shared by panbuf's packages (leak reports); not exported, not
 * API.
 */
package dev.panbuf.internal;
