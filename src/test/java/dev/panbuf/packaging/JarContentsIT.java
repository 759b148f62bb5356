package dev.panbuf.packaging;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What each jar of the build holds: the library jar the library alone (module
 * {@code dev.panbuf}, the shim, the public C headers, the licence) and no part
 * of the command; the command's jar the command and the example C library;
 * sources and javadoc beside them.
 */
class JarContentsIT {

    private static Set<String> entries(Path jar) throws IOException {
        Set<String> names = new TreeSet<>();
        try (ZipFile z = new ZipFile(jar.toFile())) {
            z.stream().map(ZipEntry::getName).forEach(names::add);
        }
        return names;
    }

    private static Path sibling(String classifier) {
        Path jar = ItSupport.libraryJar();
        String name = jar.getFileName().toString();
        return jar.resolveSibling(name.substring(0, name.length() - ".jar".length()) + "-" + classifier + ".jar");
    }

    @Test
    void theLibraryJarHoldsTheLibraryTheHeadersAndTheLicenceAndNoCommand() throws IOException {
        Set<String> names = entries(ItSupport.libraryJar());
        assertTrue(names.contains("native/include/panbuf.h"), names::toString);
        assertTrue(names.contains("native/linux-x86_64/libpanbuf.so") || names.contains("native/linux-aarch64/libpanbuf.so"),
                names::toString);
        for (String required : List.of("module-info.class", "META-INF/LICENSE", "META-INF/NOTICE", "dev/panbuf/NdArray.class",
                "dev/panbuf/NativeShim.class", "dev/panbuf/shim/NativeConfig.class", "dev/panbuf/shim/panbuf.properties")) {
            assertTrue(names.contains(required), () -> required + " missing from the library jar: " + names);
        }
        for (String name : names) {
            assertFalse(name.startsWith("dev/panbuf/cli/"), () -> "the command is in the library jar: " + name);
            assertFalse(name.contains("panbuf_examples"), () -> "the example C library is in the library jar: " + name);
            assertFalse(name.startsWith("dev/panbuf/bench/") || name.startsWith("dev/panbuf/jcstress/"), name);
            assertFalse(name.equals("META-INF/jpms.args"), "a build detail is in the library jar");
        }
        // The C headers in the jar are the ones in the source tree.
        Set<String> headers = new TreeSet<>();
        names.stream().filter(n -> n.startsWith("native/include/") && n.endsWith(".h")).forEach(n -> headers.add(n.substring(15)));
        try (var files = Files.list(Path.of(ItSupport.property("panbuf.home"), "native", "include"))) {
            Set<String> tree = new TreeSet<>();
            files.forEach(f -> tree.add(f.getFileName().toString()));
            assertEquals(tree, headers, "every public header, and only those");
        }
        try (ZipFile z = new ZipFile(ItSupport.libraryJar().toFile()); InputStream in = z.getInputStream(z.getEntry("native/include/panbuf.h"))) {
            assertArrayEquals(Files.readAllBytes(Path.of(ItSupport.property("panbuf.home"), "native", "include", "panbuf.h")),
                    in.readAllBytes());
        }
    }

    @Test
    void theModuleDescriptorNamesTheLibrarysPackagesOnly() throws IOException {
        try (ZipFile z = new ZipFile(ItSupport.libraryJar().toFile()); InputStream in = z.getInputStream(z.getEntry("module-info.class"))) {
            ModuleDescriptor d = ModuleDescriptor.read(in);
            assertEquals("dev.panbuf", d.name());
            assertEquals(Set.of("dev.panbuf", "dev.panbuf.npy", "dev.panbuf.dlpack", "dev.panbuf.arrow", "dev.panbuf.python"),
                    new TreeSet<>(d.exports().stream().map(ModuleDescriptor.Exports::source).toList()));
            assertFalse(d.packages().contains("dev.panbuf.cli"), d.packages()::toString);
            assertTrue(d.packages().contains("dev.panbuf.shim"), d.packages()::toString);
            assertEquals(Set.of("org.slf4j"), new TreeSet<>(d.requires().stream().map(ModuleDescriptor.Requires::name)
                    .filter(n -> !n.equals("java.base")).toList()));
            assertEquals(ItSupport.version(), d.rawVersion().orElse(null));
            assertEquals("dev.panbuf.shim.NativeConfig", d.mainClass().orElse(null));
        }
    }

    @Test
    void theLibraryJarsMainClassIsTheConfigCommand() throws IOException {
        try (JarFile j = new JarFile(ItSupport.libraryJar().toFile())) {
            Manifest m = j.getManifest();
            assertEquals("dev.panbuf.shim.NativeConfig", m.getMainAttributes().getValue("Main-Class"));
            assertEquals(ItSupport.version(), m.getMainAttributes().getValue("Implementation-Version"));
        }
    }

    @Test
    void theCommandsJarHoldsTheCommandAndTheExampleLibrary() throws IOException {
        Path cli = sibling("cli");
        Set<String> names = entries(cli);
        assertTrue(names.contains("dev/panbuf/cli/Main.class"), names::toString);
        assertTrue(names.stream().anyMatch(n -> n.matches("native/linux-[a-z0-9_]+/libpanbuf_examples\\.so")), names::toString);
        assertFalse(names.contains("dev/panbuf/NdArray.class"), "the command's jar repeats the library");
        try (JarFile j = new JarFile(cli.toFile())) {
            assertEquals("dev.panbuf.cli.Main", j.getManifest().getMainAttributes().getValue("Main-Class"));
        }
    }

    @Test
    void sourcesAndJavadocJarsComeWithTheLibrary() throws IOException {
        Set<String> sources = entries(sibling("sources"));
        assertTrue(sources.contains("dev/panbuf/NdArray.java") && sources.contains("module-info.java"), sources::toString);
        assertFalse(sources.stream().anyMatch(n -> n.startsWith("dev/panbuf/cli/")), "the command's sources are in the library's");
        Set<String> javadoc = entries(sibling("javadoc"));
        assertTrue(javadoc.contains("index.html"), javadoc::toString);
        assertTrue(javadoc.stream().anyMatch(n -> n.endsWith("dev/panbuf/NdArray.html")), javadoc::toString);
        assertNotNull(javadoc);
    }
}
