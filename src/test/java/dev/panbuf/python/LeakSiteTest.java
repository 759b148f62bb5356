package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import dev.panbuf.internal.Leaks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where an export was made, as the arena's refusal to close and the leak
 * report name it, is the caller's line, however deep inside panbuf the export
 * was made (DESIGN.md "Lifetimes" rule 8): through {@code NdArray.export},
 * {@code DLPack.export}, {@code PyScope.putNumpy}, and a Python consumer's
 * {@code __dlpack__} call run by {@code PyScope.exec}. These tests live in a
 * package of the library's own name, so a skipper that went by package names
 * alone would skip them too.
 */
@ExtendWith(LeakCheck.class)
class LeakSiteTest {

    /** The line of the caller. */
    private static int line() {
        return StackWalker.getInstance().walk(s -> s.skip(1).findFirst()).orElseThrow().getLineNumber();
    }

    private static String site(String method, int line) {
        return "dev.panbuf.python.LeakSiteTest." + method + "(LeakSiteTest.java:" + line + ")";
    }

    private static String closeRefusal(BufferArena arena) {
        return assertThrows(LiveExportsException.class, arena::close).getMessage();
    }

    @Test
    void anExportNamesTheLineThatMadeIt() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT32, 4);
            Export e = m.export(); int line = line();
            String message = closeRefusal(arena);
            assertTrue(message.contains("created at ") && message.contains(site("anExportNamesTheLineThatMadeIt", line)),
                    message);
            e.close();
        }
    }

    @Test
    void aDLPackExportNamesTheLineThatMadeIt() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT32, 4);
            DLPackExport e = DLPack.export(m); int line = line();
            String message = closeRefusal(arena);
            assertTrue(message.contains(site("aDLPackExportNamesTheLineThatMadeIt", line)), message);
            e.close();
        }
    }

    @Test
    void aViewGivenToNumpyNamesTheLineThatGaveIt() {
        TestPython.require();
        try (BufferArena arena = BufferArena.ofConfined(); PyScope scope = Python.get().newScope()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT32, 4);
            scope.putNumpy("a", m); int line = line();
            String message = closeRefusal(arena);
            assertTrue(message.contains(site("aViewGivenToNumpyNamesTheLineThatGaveIt", line)), message);
            scope.exec("del a");
        }
    }

    @Test
    void aTensorThatPythonTookNamesTheLineThatRanTheConsumer() {
        TestPython.require();
        try (BufferArena arena = BufferArena.ofConfined(); PyScope scope = Python.get().newScope()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT32, 4);
            scope.putTensor("t", m);
            scope.exec("c = t.__dlpack__(max_version=(1, 0)); del t"); int line = line();
            String message = closeRefusal(arena);
            assertTrue(message.contains("1 live export"), message);
            assertTrue(message.contains(site("aTensorThatPythonTookNamesTheLineThatRanTheConsumer", line)), message);
            scope.exec("del c");
        }
    }

    @Test
    void aTensorThatAPythonThreadTookSaysItHadNoJavaCaller() {
        TestPython.require();
        try (BufferArena arena = BufferArena.ofShared(); PyScope scope = Python.get().newScope()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT32, 4);
            scope.putTensor("t", m);
            scope.exec("import threading\nbox = []\nth = threading.Thread(target=lambda: box.append("
                    + "t.__dlpack__(max_version=(1, 0))))\nth.start(); th.join(); del t");
            String message = closeRefusal(arena);
            assertTrue(message.contains("created at native code with no Java caller (such as a Python thread), through"
                    + " dev.panbuf"), message);
            scope.exec("del box");
        }
    }

    @Test
    void theSkippedPackagesAreExactlyTheLibrarysOwnButTheCommands() throws IOException {
        Path main = Path.of("src", "main", "java");
        Set<String> packages = new TreeSet<>();
        try (Stream<Path> files = Files.walk(main.resolve("dev"))) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f ->
                    packages.add(main.relativize(f.getParent()).toString().replace('/', '.')));
        }
        packages.remove("dev.panbuf.cli");
        assertEquals(packages, new TreeSet<>(Leaks.LIBRARY_PACKAGES));
        // A class of a library package loaded from elsewhere (this test) is a caller; panbuf's own are not.
        assertTrue(Leaks.isLibraryFrame(new StackTraceElement("dev.panbuf.python.PyScope", "exec", "PyScope.java", 1)));
        assertTrue(!Leaks.isLibraryFrame(new StackTraceElement(LeakSiteTest.class.getName(), "x", "LeakSiteTest.java", 1)));
        assertTrue(!Leaks.isLibraryFrame(new StackTraceElement("dev.panbuf.cli.Demo", "run", "Demo.java", 1)));
    }

    @Test
    void aDLPackExportDroppedWhileJavaOwnsItIsReportedWithItsLine() throws Exception {
        ChildJvm.Result r = ChildJvm.run(DLPackLeakScenario.class, List.of("-Dpanbuf.leakDetection=paranoid"));
        assertEquals(0, r.exitCode(), r.stdout() + r.stderr());
        List<String> leaks = r.stderr().lines().filter(l -> l.contains("LEAK:")).toList();
        assertEquals(1, leaks.size(), r.stderr());
        String line = r.value("LINE");
        assertTrue(leaks.get(0).contains("was never deleted (DLPackExport.close()) nor handed off before its handle became"
                + " unreachable; its memory stays pinned. Created at "), leaks.get(0));
        assertTrue(leaks.get(0).endsWith("dev.panbuf.python.DLPackLeakScenario.main(DLPackLeakScenario.java:" + line + ")"),
                leaks.get(0));
        assertEquals("1", r.value("REPORTS"));
    }
}
