/**
 * The {@code panbuf} command: {@code demo} (a guided tour), {@code bench}
 * (the benchmark report) and {@code inspect} (what a {@code .npy} file holds).
 */
package dev.panbuf.cli;
