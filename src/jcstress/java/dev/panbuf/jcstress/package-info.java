/**
 * jcstress tests of panbuf's lifetimes under races: a shared {@link dev.panbuf.BufferArena}
 * closed while another thread reads or exports its memory, releases racing closes, and
 * releases racing each other. A FORBIDDEN outcome is a use-after-free or a double free.
 *
 * <p>Compiled by the {@code jcstress-compile} execution into {@code target/jcstress-classes};
 * {@code ./run-tests} runs them ({@code -m quick}) and fails on any FORBIDDEN or ERROR result.
 */
package dev.panbuf.jcstress;
