package dev.panbuf.shim;

import dev.panbuf.NativeAccessDeniedException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;

/**
 * Finds and loads libpanbuf, panbuf's C shim, once per class loader, and is
 * the gate every native call of panbuf passes first.
 *
 * <p>The shim travels inside the jar under {@code native/<platform>/}; it is
 * copied to a private temporary folder and loaded from there, because the
 * dynamic linker cannot open a file inside a jar. The system property
 * {@value #PATH_PROPERTY} names a folder to load it from instead (a
 * development build, or a platform whose library the jar does not carry).
 *
 * <p>Why a gate: a class whose static initializer fails is unusable for the
 * rest of the JVM's life ({@code ExceptionInInitializerError} once,
 * {@code NoClassDefFoundError} after, neither saying what to do). So the
 * classes that hold native handles ({@link Shim}, {@link DLPackShim}, the
 * generated bindings) are first touched only after {@link #loadShim()}
 * succeeded, and a failure here (native access denied, no library for this
 * platform) is remembered and thrown afresh, with its explanation, by every
 * later call.
 *
 * <p>The shim's symbols are made global ({@code RTLD_GLOBAL}): a C library
 * loaded later that calls {@code pb_validate} without having been linked with
 * {@code -lpanbuf} binds to this copy instead of ending the process with
 * "symbol lookup error" at its first call. The shim's soname
 * ({@code libpanbuf.so}) binds libraries that were linked with {@code -lpanbuf}
 * to this same copy, wherever it was extracted to.
 */
public final class NativeLibrary {

    /** Folder holding {@code libpanbuf.so}; overrides the copy inside the jar. */
    public static final String PATH_PROPERTY = "panbuf.library.path";

    /** The shim every binding needs. */
    public static final String SHIM = "panbuf";

    /** Platforms panbuf's build knows; the jar carries the ones it was built on. */
    static final List<String> PLATFORMS = List.of("linux-x86_64", "linux-aarch64");

    // glibc's values (the same on x86_64 and aarch64).
    private static final int RTLD_NOW = 2;
    private static final int RTLD_NOLOAD = 4;
    private static final int RTLD_GLOBAL = 0x100;

    /** The loaded shim; null until {@link #loadShim()} succeeds. */
    private static volatile Path shimFile;
    /** The JDK's refusal of native access, once seen; guarded by the class lock. */
    private static IllegalCallerException denied;
    /** A link failure that cannot change while this JVM runs (no library for this platform); guarded by the class lock. */
    private static String linkFailure;

    private static volatile String version;

    private NativeLibrary() {}

    /**
     * The platform folder name of this JVM, such as {@code linux-x86_64}, or
     * {@code null} when panbuf has no native build for it.
     *
     * @return the platform name, or null
     */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osName = os.startsWith("linux") ? "linux" : null;
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> null;
        };
        return osName == null || archName == null ? null : osName + "-" + archName;
    }

    /**
     * The version of panbuf this class belongs to, as the build stamped it.
     *
     * @return the version, such as {@code 0.1.0}
     */
    public static String version() {
        String v = version;
        if (v == null) {
            Properties p = new Properties();
            try (InputStream in = NativeLibrary.class.getResourceAsStream("panbuf.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("panbuf: cannot read its own version resource", e);
            }
            v = p.getProperty("version", "unknown");
            version = v;
        }
        return v;
    }

    /**
     * Loads the shim (once; thread-safe) and returns the file it was loaded from.
     * Every class of panbuf that calls C calls this before it first touches a
     * class holding native handles.
     *
     * @return the loaded {@code libpanbuf.so}
     * @throws NativeAccessDeniedException when the JVM denies native access to panbuf,
     *         naming the flag to add; the same (a new instance) on every later call
     * @throws UnsatisfiedLinkError naming the platform, the folders searched and the
     *         property to set, when the library is not available
     */
    public static Path loadShim() {
        Path file = shimFile;
        return file != null ? file : loadShimOnce();
    }

    private static synchronized Path loadShimOnce() {
        if (shimFile != null) {
            return shimFile;
        }
        if (denied != null) {
            throw deniedException(denied);
        }
        if (linkFailure != null) {
            throw new UnsatisfiedLinkError(linkFailure);
        }
        Path file;
        try {
            file = locate().resolve(System.mapLibraryName(SHIM));
        } catch (UnsatisfiedLinkError e) {
            linkFailure = e.getMessage();   // the platform and the jar do not change: say it again each time
            throw e;
        }
        if (!Files.isRegularFile(file)) {
            throw new UnsatisfiedLinkError("panbuf: native library " + file.getFileName() + " not found in " + file.getParent()
                    + "; rebuild with `mvn package` or point -D" + PATH_PROPERTY + " at the folder holding it");
        }
        try {
            System.load(file.toString());
            makeGlobal(file);
        } catch (IllegalCallerException e) {
            denied = e;
            throw deniedException(e);
        }
        shimFile = file;
        return file;
    }

    /**
     * The exception for denied native access, naming the flag for the way panbuf
     * was loaded: its module's name on the module path, ALL-UNNAMED on the class path.
     */
    private static NativeAccessDeniedException deniedException(IllegalCallerException cause) {
        Module module = NativeLibrary.class.getModule();
        String flag = "--enable-native-access=" + (module.isNamed() ? module.getName() : "ALL-UNNAMED");
        String where = module.isNamed() ? "module " + module.getName() + " (panbuf on the module path)"
                : "the class path, where panbuf is";
        return new NativeAccessDeniedException("panbuf needs native access to call its C shim (libpanbuf), and this JVM"
                + " denies it to " + where + ": start java with " + flag
                + (module.isNamed() ? "" : " (for an executable jar, the manifest attribute Enable-Native-Access: ALL-UNNAMED"
                + " does the same)") + ". Views of memory work without it; exports, imports, DLPack, CriticalCall"
                + " and the Python bridge need it", cause);
    }

    /**
     * Promotes the already loaded shim to global symbol visibility: {@code System.load}
     * opens libraries with {@code RTLD_LOCAL}, which hides {@code pb_*} from libraries
     * loaded later that were not linked with {@code -lpanbuf}.
     */
    private static void makeGlobal(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) Dl.OPEN.invokeExact(arena.allocateFrom(file.toString()),
                    RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
            if (handle.address() == 0) {
                throw new UnsatisfiedLinkError("panbuf: cannot make the symbols of " + file + " global: " + Dl.error());
            }
            // The extra reference is kept on purpose: the shim stays loaded for the JVM's life.
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Loads a C library that uses the shim, after the shim: every symbol it
     * needs is bound now ({@code RTLD_NOW}), so a missing one is an exception
     * here rather than "symbol lookup error" ending the process at its first
     * call; then returns the JDK's lookup of it, which keeps it loaded until
     * {@code arena} closes.
     *
     * @param library the library file
     * @param arena what keeps the library loaded
     * @return a lookup of the library's symbols
     * @throws IllegalArgumentException when {@code library} is not a file
     * @throws UnsatisfiedLinkError with the dynamic linker's reason when it cannot be loaded
     * @throws NativeAccessDeniedException when the JVM denies native access to panbuf
     */
    public static SymbolLookup consumerLookup(Path library, Arena arena) {
        Objects.requireNonNull(library, "library");
        Objects.requireNonNull(arena, "arena");
        loadShim();
        Path file = library.toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("cannot load " + file + ": no such file");
        }
        MemorySegment handle;
        try (Arena temp = Arena.ofConfined()) {
            handle = (MemorySegment) Dl.OPEN.invokeExact(temp.allocateFrom(file.toString()), RTLD_NOW);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (handle.address() == 0) {
            String reason = Dl.error();
            throw new UnsatisfiedLinkError("panbuf: cannot load " + file + ": " + reason
                    + (reason.contains("undefined symbol") ? "; no library loaded in this JVM defines that symbol (panbuf's"
                    + " shim, loaded first, defines every pb_* function of panbuf " + version() + "): link the library"
                    + " with the libraries it needs, or build it against the panbuf.h of this version" : ""));
        }
        try {
            return SymbolLookup.libraryLookup(file, arena);
        } finally {
            Dl.close(handle);   // the JDK's lookup holds its own reference
        }
    }

    private static Path locate() {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path dir = Path.of(override);
            return Files.isRegularFile(dir) ? dir.toAbsolutePath().getParent() : dir.toAbsolutePath();
        }
        String platform = platform();
        if (platform == null) {
            List<String> carried = carriedPlatforms();
            throw new UnsatisfiedLinkError("panbuf: unsupported platform " + System.getProperty("os.name") + "/"
                    + System.getProperty("os.arch") + "; this jar carries native code for "
                    + (carried.isEmpty() ? "no platform" : String.join(" and ", carried))
                    + ". Build native/ for this platform (make -C native lib) and set -D" + PATH_PROPERTY
                    + " to the folder holding libpanbuf.so");
        }
        String resource = resourceOf(platform);
        if (NativeLibrary.class.getResource(resource) == null) {
            List<String> carried = carriedPlatforms();
            throw new UnsatisfiedLinkError("panbuf: this jar has no native library for " + platform
                    + " (looked for " + resource + "; it carries " + (carried.isEmpty() ? "none" : String.join(", ", carried))
                    + "); rebuild it with `mvn package` on " + platform + " or set -D" + PATH_PROPERTY
                    + " to a folder holding libpanbuf.so");
        }
        try {
            Path dir = Files.createTempDirectory("panbuf-native-");
            dir.toFile().deleteOnExit();
            Path target = dir.resolve(System.mapLibraryName(SHIM));
            try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
                Files.copy(Objects.requireNonNull(in, resource), target, StandardCopyOption.REPLACE_EXISTING);
            }
            target.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("panbuf: cannot copy the native library out of the jar into a temporary folder", e);
        }
    }

    /** The resource path of the shim for {@code platform} inside the jar. */
    static String resourceOf(String platform) {
        return "/native/" + platform + "/" + System.mapLibraryName(SHIM);
    }

    /** The platforms whose shim this jar (or class folder) carries. */
    static List<String> carriedPlatforms() {
        List<String> carried = new ArrayList<>();
        for (String p : PLATFORMS) {
            if (NativeLibrary.class.getResource(resourceOf(p)) != null) {
                carried.add(p);
            }
        }
        return carried;
    }

    /** libc's dynamic-linking calls; initialized only after {@code System.load} proved native access. */
    private static final class Dl {
        private static final Linker LINKER = Linker.nativeLinker();
        static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("dlopen"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        static final MethodHandle ERROR = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("dlerror"),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("dlclose"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

        private Dl() {}

        static String error() {
            try {
                MemorySegment message = (MemorySegment) ERROR.invokeExact();
                return message.address() == 0 ? "(no reason given)" : message.reinterpret(4096).getString(0);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        static void close(MemorySegment handle) {
            try {
                int rc = (int) CLOSE.invokeExact(handle);
                assert rc == 0 : "dlclose failed: " + rc;
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
    }
}
