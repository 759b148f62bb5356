package dev.panbuf.shim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code panbuf config}'s copy of the C headers and the shim: one folder per
 * version and content, made atomically, the same for every concurrent run,
 * repaired when damaged, and readable by {@code pkg-config}.
 */
class NativeConfigTest {

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = NativeConfig.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        }
    }

    @Test
    void theFolderHoldsTheJarsHeadersShimAndLicence(@TempDir Path root) throws IOException {
        Path prefix = NativeConfig.install(root);
        assertEquals(root.resolve(NativeLibrary.version()), prefix.getParent());
        assertTrue(prefix.getFileName().toString().matches(NativeLibrary.platform() + "-[0-9a-f]{12}"), prefix.toString());
        assertArrayEquals(resource("/native/include/panbuf.h"), Files.readAllBytes(prefix.resolve("include/panbuf.h")));
        assertArrayEquals(resource(NativeLibrary.resourceOf(NativeLibrary.platform())), Files.readAllBytes(prefix.resolve("lib/libpanbuf.so")));
        assertTrue(Files.isExecutable(prefix.resolve("lib/libpanbuf.so")));
        assertTrue(Files.isRegularFile(prefix.resolve("LICENSE")));
        String pc = Files.readString(prefix.resolve("lib/pkgconfig/panbuf.pc"));
        assertTrue(pc.contains("prefix=" + prefix + "\n") && pc.contains("Libs: -L${libdir} -lpanbuf\n")
                && pc.contains("Version: " + NativeLibrary.version() + "\n"), pc);
        assertEquals(prefix, NativeConfig.install(root), "a second run finds the same folder");
    }

    @Test
    void concurrentRunsAllGetOneCompleteFolderAndLeaveNoTemporaryOne(@TempDir Path root) throws Exception {
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return NativeConfig.install(root);
                }));
            }
            start.countDown();
            Set<Path> prefixes = new HashSet<>();
            for (Future<Path> f : results) {
                prefixes.add(f.get(60, TimeUnit.SECONDS));
            }
            assertEquals(1, prefixes.size(), prefixes.toString());
            Path prefix = prefixes.iterator().next();
            assertArrayEquals(resource("/native/include/panbuf.h"), Files.readAllBytes(prefix.resolve("include/panbuf.h")));
            try (Stream<Path> left = Files.list(prefix.getParent())) {
                assertEquals(List.of(prefix), left.toList(), "no .tmp- or .stale- folder is left behind");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aDamagedFolderIsMadeAgain(@TempDir Path root) throws IOException {
        Path prefix = NativeConfig.install(root);
        Path lib = prefix.resolve("lib/libpanbuf.so");
        Files.write(lib, new byte[] {1, 2, 3});
        Files.delete(prefix.resolve("include/panbuf.h"));
        assertEquals(prefix, NativeConfig.install(root));
        assertArrayEquals(resource(NativeLibrary.resourceOf(NativeLibrary.platform())), Files.readAllBytes(lib));
        assertTrue(Files.isRegularFile(prefix.resolve("include/panbuf.h")));
        // A symbolic link where the shim should be is replaced by the file itself.
        Files.delete(lib);
        Files.createSymbolicLink(lib, root.resolve("elsewhere.so"));
        assertEquals(prefix, NativeConfig.install(root));
        assertFalse(Files.isSymbolicLink(lib));
    }

    @Test
    void pkgConfigReadsTheFileItWrites(@TempDir Path root) throws Exception {
        Path prefix = NativeConfig.install(root);
        Process p;
        try {
            p = new ProcessBuilder("pkg-config", "--cflags", "--libs", "panbuf").redirectErrorStream(true).start();
            p.destroy();
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "pkg-config is not installed");
            return;
        }
        ProcessBuilder pb = new ProcessBuilder("pkg-config", "--cflags", "--libs", "panbuf").redirectErrorStream(true);
        pb.environment().put("PKG_CONFIG_PATH", prefix.resolve("lib/pkgconfig").toString());
        p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals("-I" + prefix.resolve("include") + " -L" + prefix.resolve("lib") + " -lpanbuf", out);
    }

    @Test
    void pathsWithSpacesAreEscapedAsPkgConfigEscapesThem() {
        assertEquals("/a\\ b/c\\$d", NativeConfig.escape(Path.of("/a b/c$d")));
        assertEquals("/home/u/.cache/panbuf/0.1.0-SNAPSHOT/linux-x86_64-0123456789ab",
                NativeConfig.escape(Path.of("/home/u/.cache/panbuf/0.1.0-SNAPSHOT/linux-x86_64-0123456789ab")));
    }
}
