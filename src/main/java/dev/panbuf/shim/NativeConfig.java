package dev.panbuf.shim;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code panbuf config}: what a C build outside panbuf's own needs to compile
 * and link against the shim. The public headers and {@code libpanbuf.so} are
 * copied out of this jar into a per-version cache folder, and the compiler and
 * linker flags for them are printed the way {@code pkg-config} prints them; a
 * {@code panbuf.pc} beside them serves {@code pkg-config} itself.
 *
 * <p>The main class of the library jar
 * ({@code java -jar panbuf-VERSION.jar config --cflags --libs}); the
 * {@code panbuf} command's {@code config} runs the same code. It needs no
 * native access: it only copies files.
 *
 * <p>The folder is
 * {@code ${XDG_CACHE_HOME:-~/.cache}/panbuf/VERSION/PLATFORM-HASH/}, holding
 * {@code include/*.h}, {@code lib/libpanbuf.so}, {@code lib/pkgconfig/panbuf.pc},
 * {@code LICENSE} and {@code NOTICE}. HASH is the start of the SHA-256 of
 * those files, so a folder's content never changes once made and a rebuilt
 * snapshot gets a folder of its own. It is made atomically: the files are
 * written into a temporary sibling, which is renamed into place; a concurrent
 * run either wins the rename or finds the finished folder. A folder whose
 * files differ from the jar's (edited, truncated) is moved aside and made
 * again.
 */
public final class NativeConfig {

    /** The public headers, under {@code native/include/} in the jar. */
    public static final List<String> HEADERS = List.of("panbuf.h");

    /** The folder the headers travel in, inside the jar. */
    public static final String HEADER_RESOURCES = "/native/include/";

    private static final String USAGE = """
            usage: panbuf config [--cflags] [--libs] [--prefix] [--pkg-config-path] [--modversion] [--cache-dir DIR]
                   (from the library jar alone: java -jar panbuf-VERSION.jar config ...)

            Copies panbuf's C headers and libpanbuf.so out of the jar into a per-version folder
            (${XDG_CACHE_HOME:-~/.cache}/panbuf/VERSION/PLATFORM-HASH/) and prints what a C build needs:
              --cflags           the compiler flags: -I<folder>/include
              --libs             the linker flags: -L<folder>/lib -lpanbuf
              --prefix           the folder itself
              --pkg-config-path  the folder holding panbuf.pc, for PKG_CONFIG_PATH
              --modversion       panbuf's version
              --cache-dir DIR    use DIR instead of ${XDG_CACHE_HOME:-~/.cache}/panbuf
            With no option it prints all of them, one per line.""";

    private NativeConfig() {}

    /**
     * The usage text of {@code panbuf config}.
     *
     * @return the text, without a trailing newline
     */
    public static String usage() {
        return USAGE;
    }

    /**
     * The library jar's entry point: {@code config [options]} (the word
     * {@code config} may be left out), {@code --version} or {@code --help}.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        String[] rest = args.length > 0 && args[0].equals("config") ? Arrays.copyOfRange(args, 1, args.length) : args;
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            System.out.println("panbuf " + NativeLibrary.version());
            System.exit(0);
        }
        if (args.length == 0) {
            System.err.println("panbuf " + NativeLibrary.version() + ": the library jar; its one command is `config`.");
            System.err.println(USAGE);
            System.exit(2);
        }
        System.exit(run(rest, System.out, System.err));
    }

    /**
     * Runs {@code panbuf config} with the options that follow the word {@code config}.
     *
     * @param args the options
     * @param out  where the flags go
     * @param err  where errors go
     * @return the exit code: 0, 1 when the files cannot be installed, 2 for a usage error
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> wanted = new ArrayList<>();
        Path cacheRoot = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--cflags", "--libs", "--prefix", "--pkg-config-path", "--modversion" -> wanted.add(a);
                case "--cache-dir" -> {
                    if (i + 1 >= args.length || args[i + 1].isEmpty()) {
                        err.println("panbuf config: --cache-dir needs a folder (try --help)");
                        return 2;
                    }
                    cacheRoot = Path.of(args[++i]).toAbsolutePath();
                }
                case "-h", "--help" -> {
                    out.println(USAGE);
                    return 0;
                }
                default -> {
                    err.println("panbuf config: unknown option '" + a + "' (try --help)");
                    return 2;
                }
            }
        }
        Path prefix;
        try {
            prefix = install(cacheRoot != null ? cacheRoot : defaultCacheRoot());
        } catch (IOException | UncheckedIOException e) {
            err.println("panbuf config: cannot install panbuf's C headers and libpanbuf.so: " + e.getMessage());
            return 1;
        } catch (IllegalStateException e) {
            err.println("panbuf config: " + e.getMessage());
            return 1;
        }
        if (wanted.isEmpty()) {
            out.println("version:          " + NativeLibrary.version());
            out.println("prefix:           " + prefix);
            out.println("cflags:           " + flag("--cflags", prefix));
            out.println("libs:             " + flag("--libs", prefix));
            out.println("pkg-config path:  " + flag("--pkg-config-path", prefix));
            return 0;
        }
        List<String> parts = new ArrayList<>();
        for (String w : wanted) {
            parts.add(flag(w, prefix));
        }
        out.println(String.join(" ", parts));
        return 0;
    }

    private static String flag(String option, Path prefix) {
        return switch (option) {
            case "--cflags" -> "-I" + escape(prefix.resolve("include"));
            case "--libs" -> "-L" + escape(prefix.resolve("lib")) + " -lpanbuf";
            case "--prefix" -> escape(prefix);
            case "--pkg-config-path" -> escape(prefix.resolve("lib/pkgconfig"));
            case "--modversion" -> NativeLibrary.version();
            default -> throw new IllegalArgumentException(option);
        };
    }

    /** As pkg-config does: a backslash before each character a shell would split or expand. */
    static String escape(Path path) {
        String s = path.toString();
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(Character.isLetterOrDigit(c) || "/._-+,:@%=".indexOf(c) >= 0)) {
                sb.append('\\');
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /**
     * {@code $XDG_CACHE_HOME/panbuf} when that is an absolute path, else {@code ~/.cache/panbuf}.
     *
     * @return the folder under which each version gets its own
     */
    public static Path defaultCacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "panbuf");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "panbuf");
    }

    /**
     * Makes (or finds, verified) this version's folder under {@code cacheRoot}.
     *
     * @param cacheRoot the folder under which each version gets its own
     * @return the folder holding {@code include/}, {@code lib/} and {@code lib/pkgconfig/panbuf.pc}
     * @throws IOException when the files cannot be written
     * @throws IllegalStateException when this jar carries no shim for this platform
     */
    public static Path install(Path cacheRoot) throws IOException {
        String platform = NativeLibrary.platform();
        if (platform == null) {
            throw new IllegalStateException("unsupported platform " + System.getProperty("os.name") + "/"
                    + System.getProperty("os.arch") + "; this jar carries libpanbuf.so for "
                    + String.join(" and ", NativeLibrary.carriedPlatforms()));
        }
        Map<String, byte[]> files = filesOf(platform);
        String version = NativeLibrary.version();
        Path versionDir = cacheRoot.resolve(safeName(version));
        Path prefix = versionDir.resolve(platform + "-" + hash(files).substring(0, 12));
        files.put("lib/pkgconfig/panbuf.pc", pkgConfig(prefix, version).getBytes(StandardCharsets.UTF_8));
        for (int attempt = 0; ; attempt++) {
            if (matches(prefix, files)) {
                return prefix;
            }
            Files.createDirectories(versionDir);
            Path temp = Files.createTempDirectory(versionDir, ".tmp-");
            try {
                write(temp, files);
                if (Files.exists(prefix, LinkOption.NOFOLLOW_LINKS)) {
                    if (matches(prefix, files)) {   // a concurrent run finished it meanwhile
                        deleteTree(temp);
                        return prefix;
                    }
                    // Present but not what this jar holds (concurrent runs rename complete
                    // folders only, so it was edited or damaged): move it aside, take its place.
                    Path stale = Files.createTempDirectory(versionDir, ".stale-");
                    try {
                        Files.move(prefix, stale.resolve("old"), StandardCopyOption.ATOMIC_MOVE);
                    } catch (NoSuchFileException gone) {
                        // another run moved it first
                    }
                    deleteTree(stale);
                }
                Files.move(temp, prefix, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                deleteTree(temp);
                throw new IOException("the file system of " + versionDir + " cannot rename folders atomically; use"
                        + " --cache-dir to name a folder on a local file system", e);
            } catch (IOException e) {
                deleteTree(temp);
                // Another run renamed its folder into place first: use it if it is complete.
                if (matches(prefix, files)) {
                    return prefix;
                }
                if (attempt >= 3) {
                    throw new IOException("cannot make " + prefix + ": " + e, e);
                }
                continue;
            }
            if (matches(prefix, files)) {
                return prefix;
            }
            if (attempt >= 3) {
                throw new IOException(prefix + " keeps changing under panbuf config; is another program writing there?");
            }
        }
    }

    /** What the folder holds, by relative path: the headers, the shim, the licence. */
    private static Map<String, byte[]> filesOf(String platform) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String h : HEADERS) {
            files.put("include/" + h, resource(HEADER_RESOURCES + h, true));
        }
        byte[] shim = resource(NativeLibrary.resourceOf(platform), false);
        if (shim == null) {
            throw new IllegalStateException("this jar has no libpanbuf.so for " + platform + " (it carries "
                    + String.join(", ", NativeLibrary.carriedPlatforms()) + "); rebuild it with `mvn package` on " + platform);
        }
        files.put("lib/" + System.mapLibraryName(NativeLibrary.SHIM), shim);
        for (String legal : List.of("LICENSE", "NOTICE")) {
            byte[] text = resource("/META-INF/" + legal, false);
            if (text != null) {
                files.put(legal, text);
            }
        }
        return files;
    }

    private static byte[] resource(String name, boolean required) throws IOException {
        try (InputStream in = NativeConfig.class.getResourceAsStream(name)) {
            if (in == null) {
                if (required) {
                    throw new IOException("the jar lacks " + name + "; it was not built by panbuf's pom.xml");
                }
                return null;
            }
            return in.readAllBytes();
        }
    }

    private static String pkgConfig(Path prefix, String version) {
        return "# panbuf's C shim, installed by `panbuf config`.\n"
                + "prefix=" + escape(prefix) + "\n"
                + "includedir=${prefix}/include\n"
                + "libdir=${prefix}/lib\n"
                + "\n"
                + "Name: panbuf\n"
                + "Description: pb_buffer, a Py_buffer-compatible view of Java memory, and its helpers\n"
                + "Version: " + version + "\n"
                + "URL: https://panbuf.dev\n"
                + "Cflags: -I${includedir}\n"
                + "Libs: -L${libdir} -lpanbuf\n";
    }

    private static String hash(Map<String, byte[]> files) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                sha.update(f.getKey().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(Long.toString(f.getValue().length).getBytes(StandardCharsets.US_ASCII));
                sha.update((byte) 0);
                sha.update(f.getValue());
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK lacks SHA-256", e);
        }
    }

    /** True when every file is in place, a regular file (not a link), with exactly the jar's bytes. */
    private static boolean matches(Path prefix, Map<String, byte[]> files) throws IOException {
        if (!Files.isDirectory(prefix, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Path p = prefix.resolve(f.getKey());
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || Files.size(p) != f.getValue().length) {
                return false;
            }
            try {
                if (!Arrays.equals(Files.readAllBytes(p), f.getValue())) {
                    return false;
                }
            } catch (NoSuchFileException e) {
                return false;   // moved aside by a concurrent run
            }
        }
        return true;
    }

    private static void write(Path dir, Map<String, byte[]> files) throws IOException {
        setMode(dir, "rwxr-xr-x");
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Path p = dir.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, f.getValue());
            setMode(p, f.getKey().endsWith(".so") ? "rwxr-xr-x" : "rw-r--r--");
        }
    }

    private static void setMode(Path p, String mode) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: its defaults will do
        }
    }

    /** A version string as one safe folder name. */
    private static String safeName(String version) {
        String s = version.replaceAll("[^A-Za-z0-9._+-]", "_");
        return s.isEmpty() || s.startsWith(".") ? "v" + s : s;
    }

    private static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // best effort: a leftover temporary folder is harmless (its name starts with a dot)
        }
    }
}
