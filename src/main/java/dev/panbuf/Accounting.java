package dev.panbuf;

import java.util.concurrent.atomic.AtomicLong;

/**
 * panbuf's own resource counters for this JVM: open {@link BufferArena}s, the
 * bytes they hold, live {@link Export}s and live imported C buffers. Soak tests
 * check that these return exactly to where they started; a program can log
 * them to find what it forgot to close.
 */
public final class Accounting {

    static final AtomicLong OPEN_ARENAS = new AtomicLong();
    static final AtomicLong ARENA_BYTES = new AtomicLong();
    static final AtomicLong LIVE_EXPORTS = new AtomicLong();
    static final AtomicLong LIVE_IMPORTS = new AtomicLong();

    private Accounting() {}

    /**
     * {@return how many BufferArenas were created and not yet closed (including ones the garbage collector lost)}
     */
    public static long openArenas() {
        return OPEN_ARENAS.get();
    }

    /** {@return bytes allocated in BufferArenas that are still open} */
    public static long arenaBytes() {
        return ARENA_BYTES.get();
    }

    /**
     * {@return how many exports neither Java nor C has released (C releases are counted once Java looks)}
     */
    public static long liveExports() {
        Export.pollAll();
        return LIVE_EXPORTS.get();
    }

    /**
     * {@return how many buffers imported from C still wait for their producer's release}
     */
    public static long liveImports() {
        return LIVE_IMPORTS.get();
    }

    /** {@return one line with every counter} */
    public static String summary() {
        return "openArenas=" + openArenas() + " arenaBytes=" + arenaBytes() + " liveExports=" + liveExports()
                + " liveImports=" + liveImports();
    }
}
