package dev.panbuf;

import dev.panbuf.internal.Leaks;

/**
 * Reports panbuf resources that the garbage collector finds unreachable
 * before they were released: an {@link Export} handle whose export is still
 * live and owned by Java, a {@link BufferArena} that was never closed, and
 * (through {@link #track(Object, Throwable, java.util.function.BooleanSupplier, java.util.function.Supplier)})
 * the handles of other packages' exports, such as a DLPack tensor.
 * Reports go to the slf4j logger {@code dev.panbuf.leak} at ERROR level,
 * starting with {@code LEAK:} and naming where the resource was created: the
 * caller's line, never panbuf's own (see {@link Leaks}, which also tracks
 * DLPack and Python exports).
 *
 * <p>The level comes from the system property {@value #PROPERTY}:
 * {@code disabled}; {@code simple} (the default: about one resource in 128 is
 * tracked, with its creation stack); {@code paranoid} (every resource; for
 * tests).
 */
final class LeakDetector {

    static final String PROPERTY = Leaks.PROPERTY;

    enum Level { DISABLED, SIMPLE, PARANOID }

    static final Level LEVEL = Level.valueOf(Leaks.LEVEL.name());

    private LeakDetector() {}

    /** A throwable recording the current stack if this resource is to be tracked, else {@code null}. */
    static Throwable creationSite() {
        return Leaks.creationSite();
    }

    static void track(Export handle, Export.Record record) {
        Leaks.watch(handle, record.site,
                () -> record.state.get() == Export.Record.JAVA_OWNED && !record.nativeReleased(),
                () -> record.description() + " was never released (Export.close() or pb_release) before its handle"
                        + " became unreachable; its memory stays pinned");
    }

    /** Reports {@code handle}, created at {@code site}, if it becomes unreachable while {@code leaked} holds. */
    static void track(Object handle, Throwable site, java.util.function.BooleanSupplier leaked,
                      java.util.function.Supplier<String> what) {
        Leaks.watch(handle, site, leaked, what);
    }

    static void track(BufferArena arena, BufferArena.State state) {
        Leaks.watch(arena, state.site, () -> {
            synchronized (state.lock) {
                return !state.closed;
            }
        }, () -> {
            synchronized (state.lock) {
                return state.name + " was never closed: its " + state.allocatedBytes + " bytes are never freed"
                        + (state.exports.isEmpty() ? "" : " and " + state.exports.size() + " exports remain live");
            }
        });
    }

    /** Reports made so far in this JVM (tests fail when this is not zero). */
    static long reportCount() {
        return Leaks.reportCount();
    }

    /** The first stack frame outside panbuf's library and the JDK: the caller's line. */
    static String firstUserFrame(Throwable site) {
        return Leaks.firstUserFrame(site);
    }
}
