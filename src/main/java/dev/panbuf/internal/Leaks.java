package dev.panbuf.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.Cleaner;
import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Leak reports for every kind of panbuf export ({@code pb_buffer}, DLPack,
 * Python) and for arenas: records where a resource was created, watches its
 * handle, and when the garbage collector finds the handle unreachable while
 * the resource is still held, logs {@code LEAK: ...} to the slf4j logger
 * {@code dev.panbuf.leak} at ERROR level, naming the creation site.
 *
 * <p>The level comes from the system property {@value #PROPERTY}:
 * {@code disabled}; {@code simple} (the default: about one resource in 128 is
 * tracked, with its creation stack); {@code paranoid} (every resource; for
 * tests).
 *
 * <h2>The creation site is the caller's line</h2>
 * {@link #firstUserFrame} skips every frame of panbuf's library classes and
 * of the JDK, so a report names the line that called panbuf, however deep
 * inside panbuf the resource was made (an export made by
 * {@code PyScope.putNumpy}, or by a Python consumer calling
 * {@code __dlpack__} from code that {@code PyScope.exec} runs). A library
 * class is one of {@link #LIBRARY_PACKAGES} loaded from the same place as
 * this class: tests and programs in the same packages (another class path
 * entry), and the {@code dev.panbuf.cli} commands, are callers.
 */
public final class Leaks {

    /** The system property that sets the level. */
    public static final String PROPERTY = "panbuf.leakDetection";

    /** How much is tracked. */
    public enum Level { DISABLED, SIMPLE, PARANOID }

    /** This JVM's level, read once. */
    public static final Level LEVEL = parse(System.getProperty(PROPERTY, "simple"));

    /**
     * The packages of panbuf's library, whose frames are never a creation
     * site. Not {@code dev.panbuf.cli}: the commands are panbuf's own users.
     */
    public static final Set<String> LIBRARY_PACKAGES = Set.of("dev.panbuf", "dev.panbuf.arrow", "dev.panbuf.dlpack",
            "dev.panbuf.format", "dev.panbuf.internal", "dev.panbuf.npy", "dev.panbuf.python", "dev.panbuf.shim",
            "dev.panbuf.shim.bindings");

    private static final int SAMPLING_INTERVAL = 128;
    private static final Logger LOG = LoggerFactory.getLogger("dev.panbuf.leak");
    private static final AtomicLong REPORTS = new AtomicLong();
    private static final Cleaner CLEANER = LEVEL == Level.DISABLED ? null : Cleaner.create(r -> {
        Thread t = new Thread(r, "panbuf-leak-detector");
        t.setDaemon(true);
        return t;
    });
    private static final URL LIBRARY_LOCATION = location(Leaks.class);
    private static final ConcurrentHashMap<String, Boolean> LIBRARY_CLASSES = new ConcurrentHashMap<>();

    private Leaks() {}

    private static Level parse(String value) {
        try {
            return Level.valueOf(value.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            LoggerFactory.getLogger(Leaks.class).warn("-D{}={} is not one of disabled, simple, paranoid; using simple",
                    PROPERTY, value);
            return Level.SIMPLE;
        }
    }

    /** A throwable recording the current stack if this resource is to be tracked, else {@code null}. */
    public static Throwable creationSite() {
        return switch (LEVEL) {
            case DISABLED -> null;
            case SIMPLE -> ThreadLocalRandom.current().nextInt(SAMPLING_INTERVAL) == 0 ? new Throwable("created here") : null;
            case PARANOID -> new Throwable("created here");
        };
    }

    /**
     * Watches {@code handle}: once it is unreachable, reports {@code what} when
     * {@code leaked} is then true. Does nothing when {@code site} is null (the
     * resource was not sampled). Neither supplier may refer to {@code handle}.
     */
    public static void watch(Object handle, Throwable site, BooleanSupplier leaked, Supplier<String> what) {
        if (site == null) {
            return;
        }
        Objects.requireNonNull(leaked, "leaked");
        Objects.requireNonNull(what, "what");
        CLEANER.register(handle, () -> {
            if (leaked.getAsBoolean()) {
                report(what.get(), site);
            }
        });
    }

    /** Logs one {@code LEAK:} report. */
    public static void report(String what, Throwable site) {
        REPORTS.incrementAndGet();
        LOG.error("LEAK: {}. Created at {}", what, firstUserFrame(site), site);
    }

    /** Reports made so far in this JVM (tests fail when this is not zero). */
    public static long reportCount() {
        return REPORTS.get();
    }

    /**
     * The first stack frame of {@code site} that is neither panbuf's library
     * nor the JDK: the line that called panbuf. When there is none (the
     * resource was made for native code, such as a Python thread, with no
     * Java caller), says so and names panbuf's outermost frame.
     */
    public static String firstUserFrame(Throwable site) {
        StackTraceElement[] frames = site.getStackTrace();
        StackTraceElement outermostLibrary = null;
        for (StackTraceElement e : frames) {
            if (isLibraryFrame(e)) {
                outermostLibrary = e;
            } else if (!isJdkFrame(e)) {
                return e.toString();
            }
        }
        if (outermostLibrary != null) {
            return "native code with no Java caller (such as a Python thread), through " + outermostLibrary;
        }
        return frames.length == 0 ? "(unknown)" : frames[frames.length - 1].toString();
    }

    /** True for a frame of a class of panbuf's library (see the class comment). */
    public static boolean isLibraryFrame(StackTraceElement e) {
        String name = e.getClassName();
        int dot = name.lastIndexOf('.');
        if (dot < 0 || !LIBRARY_PACKAGES.contains(name.substring(0, dot))) {
            return false;
        }
        return LIBRARY_CLASSES.computeIfAbsent(name, Leaks::loadedWithTheLibrary);
    }

    private static boolean loadedWithTheLibrary(String className) {
        if (LIBRARY_LOCATION == null) {
            return true;   // no code source to compare with: the package decides
        }
        try {
            Class<?> c = Class.forName(className, false, Leaks.class.getClassLoader());
            return LIBRARY_LOCATION.equals(location(c));
        } catch (ClassNotFoundException | LinkageError e) {
            return false;   // not ours to load: a caller's class of the same package name
        }
    }

    private static boolean isJdkFrame(StackTraceElement e) {
        String module = e.getModuleName();
        if (module != null && (module.startsWith("java.") || module.startsWith("jdk."))) {
            return true;
        }
        String name = e.getClassName();
        return name.startsWith("java.") || name.startsWith("jdk.") || name.startsWith("sun.") || name.startsWith("com.sun.");
    }

    private static URL location(Class<?> c) {
        ProtectionDomain domain = c.getProtectionDomain();
        CodeSource source = domain == null ? null : domain.getCodeSource();
        return source == null ? null : source.getLocation();
    }
}
