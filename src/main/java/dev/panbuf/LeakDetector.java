package dev.panbuf;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.Cleaner;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reports panbuf resources that the garbage collector finds unreachable
 * before they were released: an {@link Export} handle whose export is still
 * live and owned by Java, and a {@link BufferArena} that was never closed.
 * Reports go to the slf4j logger {@code dev.panbuf.leak} at ERROR level,
 * starting with {@code LEAK:} and naming where the resource was created.
 *
 * <p>The level comes from the system property {@value #PROPERTY}:
 * {@code disabled}; {@code simple} (the default: about one resource in 128 is
 * tracked, with its creation stack); {@code paranoid} (every resource; for
 * tests).
 */
final class LeakDetector {

    static final String PROPERTY = "panbuf.leakDetection";

    enum Level { DISABLED, SIMPLE, PARANOID }

    static final Level LEVEL = parse(System.getProperty(PROPERTY, "simple"));

    private static final int SAMPLING_INTERVAL = 128;
    private static final Logger LOG = LoggerFactory.getLogger("dev.panbuf.leak");
    private static final AtomicLong REPORTS = new AtomicLong();
    private static final Cleaner CLEANER = LEVEL == Level.DISABLED ? null : Cleaner.create(r -> {
        Thread t = new Thread(r, "panbuf-leak-detector");
        t.setDaemon(true);
        return t;
    });
    /** Library classes skipped when naming the user's frame that created a resource. */
    private static final Set<String> LIBRARY = Set.of("dev.panbuf.Export", "dev.panbuf.NdArray", "dev.panbuf.BufferArena",
            "dev.panbuf.BufferArena$Builder", "dev.panbuf.GrowableBuffer", "dev.panbuf.LeakDetector", "dev.panbuf.Import",
            "dev.panbuf.Copier");

    private LeakDetector() {}

    private static Level parse(String value) {
        try {
            return Level.valueOf(value.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            LoggerFactory.getLogger(LeakDetector.class).warn("-D{}={} is not one of disabled, simple, paranoid; using simple",
                    PROPERTY, value);
            return Level.SIMPLE;
        }
    }

    /** A throwable recording the current stack if this resource is to be tracked, else {@code null}. */
    static Throwable creationSite() {
        return switch (LEVEL) {
            case DISABLED -> null;
            case SIMPLE -> ThreadLocalRandom.current().nextInt(SAMPLING_INTERVAL) == 0 ? new Throwable("created here") : null;
            case PARANOID -> new Throwable("created here");
        };
    }

    static void track(Export handle, Export.Record record) {
        if (record.site == null) {
            return;
        }
        CLEANER.register(handle, () -> {
            if (record.state.get() == Export.Record.JAVA_OWNED && !record.nativeReleased()) {
                report(record.description() + " was never released (Export.close() or pb_release) before its handle"
                        + " became unreachable; its memory stays pinned", record.site);
            }
        });
    }

    /** Reports {@code handle}, created at {@code site}, if it becomes unreachable while {@code leaked} holds. */
    static void track(Object handle, Throwable site, java.util.function.BooleanSupplier leaked,
                      java.util.function.Supplier<String> what) {
        if (site == null) {
            return;
        }
        CLEANER.register(handle, () -> {
            if (leaked.getAsBoolean()) {
                report(what.get(), site);
            }
        });
    }

    static void track(BufferArena arena, BufferArena.State state) {
        if (state.site == null) {
            return;
        }
        CLEANER.register(arena, () -> {
            synchronized (state.lock) {
                if (!state.closed) {
                    report(state.name + " was never closed: its " + state.allocatedBytes + " bytes are never freed"
                            + (state.exports.isEmpty() ? "" : " and " + state.exports.size() + " exports remain live"), state.site);
                }
            }
        });
    }

    private static void report(String what, Throwable site) {
        REPORTS.incrementAndGet();
        LOG.error("LEAK: {}. Created at {}", what, firstUserFrame(site), site);
    }

    /** Reports made so far in this JVM (tests fail when this is not zero). */
    static long reportCount() {
        return REPORTS.get();
    }

    /** The first stack frame outside panbuf's own classes. */
    static String firstUserFrame(Throwable site) {
        for (StackTraceElement e : site.getStackTrace()) {
            if (!LIBRARY.contains(e.getClassName())) {
                return e.toString();
            }
        }
        StackTraceElement[] all = site.getStackTrace();
        return all.length == 0 ? "(unknown)" : all[all.length - 1].toString();
    }
}
