package dev.panbuf.shim;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Finds and loads panbuf's native libraries once per class loader.
 *
 * <p>The libraries travel inside the jar under {@code native/<platform>/}; they
 * are copied to a private temporary folder and loaded from there, because the
 * dynamic linker cannot open a file inside a jar. The system property
 * {@value #PATH_PROPERTY} names a folder to load them from instead (a
 * development build, or a platform whose library the jar does not carry).
 */
public final class NativeLibrary {

    /** Folder holding {@code libpanbuf.so}; overrides the copy inside the jar. */
    public static final String PATH_PROPERTY = "panbuf.library.path";

    /** The shim every binding needs. */
    public static final String SHIM = "panbuf";
    /** The example C library that the demo and tests call. */
    public static final String EXAMPLES = "panbuf_examples";

    private static final String[] IN_JAR = {SHIM, EXAMPLES};

    private static volatile Path directory;

    private NativeLibrary() {}

    /**
     * The platform folder name of this JVM, such as {@code linux-x86_64}, or
     * {@code null} when panbuf has no native build for it.
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

    /** Loads the shim (idempotent, thread-safe). */
    public static void loadShim() {
        load(SHIM);
    }

    /**
     * Loads {@code lib<name>.so} into this class loader, so that
     * {@link java.lang.foreign.SymbolLookup#loaderLookup()} finds its symbols,
     * and returns its path.
     *
     * @throws UnsatisfiedLinkError naming the platform, the folders searched and the
     *         property to set, when the library is not available
     */
    public static Path load(String name) {
        Path file = directory().resolve(System.mapLibraryName(name));
        if (!Files.isRegularFile(file)) {
            throw new UnsatisfiedLinkError("panbuf: native library " + file.getFileName() + " not found in " + file.getParent()
                    + "; rebuild with `mvn package` or point -D" + PATH_PROPERTY + " at the folder holding it");
        }
        synchronized (NativeLibrary.class) {
            System.load(file.toString());
        }
        return file;
    }

    private static Path directory() {
        Path dir = directory;
        if (dir == null) {
            synchronized (NativeLibrary.class) {
                dir = directory;
                if (dir == null) {
                    dir = locate();
                    directory = dir;
                }
            }
        }
        return dir;
    }

    private static Path locate() {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path dir = Path.of(override);
            return Files.isRegularFile(dir) ? dir.toAbsolutePath().getParent() : dir.toAbsolutePath();
        }
        String platform = platform();
        if (platform == null) {
            throw new UnsatisfiedLinkError("panbuf: unsupported platform " + System.getProperty("os.name") + "/"
                    + System.getProperty("os.arch") + "; the jar carries native code for linux-x86_64 and linux-aarch64."
                    + " Build native/ for this platform and set -D" + PATH_PROPERTY + " to the folder holding libpanbuf");
        }
        String resourceDir = "/native/" + platform + "/";
        if (NativeLibrary.class.getResource(resourceDir + System.mapLibraryName(SHIM)) == null) {
            throw new UnsatisfiedLinkError("panbuf: this jar has no native library for " + platform
                    + " (looked for " + resourceDir + System.mapLibraryName(SHIM) + "); rebuild it with `mvn package` on "
                    + platform + " or set -D" + PATH_PROPERTY + " to a folder holding libpanbuf");
        }
        try {
            Path dir = Files.createTempDirectory("panbuf-native-");
            dir.toFile().deleteOnExit();
            for (String lib : IN_JAR) {
                String fileName = System.mapLibraryName(lib);
                try (InputStream in = NativeLibrary.class.getResourceAsStream(resourceDir + fileName)) {
                    if (in == null) {
                        continue; // optional library, reported by load() if someone asks for it
                    }
                    Path target = dir.resolve(fileName);
                    Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                    target.toFile().deleteOnExit();
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("panbuf: cannot copy the native library out of the jar into a temporary folder", e);
        }
    }
}
