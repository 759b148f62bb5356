package dev.panbuf.cli;

import dev.panbuf.DType;
import dev.panbuf.NativeShim;
import dev.panbuf.NdArray;
import dev.panbuf.npy.Npy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code panbuf} command line: {@code --version}, {@code --help} for every
 * command, usage errors on standard error with exit code 2 (never a stack
 * trace), and the output of {@code inspect} and {@code config}.
 */
class CommandLineTest {

    /** Exit code, standard output, standard error. */
    private record Result(int code, String out, String err) {
        void assertUsageError(String message) {
            assertEquals(2, code, this::toString);
            assertEquals("", out, this::toString);
            assertTrue(err.contains(message), this::toString);
            assertFalse(err.contains("Exception") || err.contains("\tat "), "a usage error shows no stack trace: " + err);
        }
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(strings = {"--version", "-V", "version"})
    void versionPrintsPanbufsVersionAndTheJvm(String flag) {
        Result r = run(flag);
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().startsWith("panbuf " + NativeShim.version() + " (Java " + Runtime.version()), r.out());
        assertEquals("", r.err());
    }

    @Test
    void theVersionIsTheBuildsNotAPlaceholder() {
        assertFalse(NativeShim.version().contains("${") || NativeShim.version().equals("unknown"), NativeShim.version());
    }

    @Test
    void helpListsEveryCommandOnStandardOutput() {
        Result r = run("--help");
        assertEquals(0, r.code());
        for (String command : new String[] {"demo", "bench", "inspect", "config", "--version"}) {
            assertTrue(r.out().contains("  " + command), r.out());
        }
        assertEquals("", r.err());
    }

    @Test
    void noCommandIsAUsageError() {
        run().assertUsageError("panbuf: no command given");
        assertTrue(run().err().contains("usage: panbuf <command>"));
    }

    @Test
    void anUnknownCommandIsAUsageError() {
        run("frobnicate").assertUsageError("panbuf: unknown command 'frobnicate'");
        run("--quick").assertUsageError("(an option goes after a command)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "bench", "inspect", "config"})
    void everyCommandHasItsOwnHelp(String command) {
        for (String[] args : new String[][] {{command, "--help"}, {command, "-h"}, {"help", command}}) {
            Result r = run(args);
            assertEquals(0, r.code(), r::toString);
            assertTrue(r.out().startsWith("usage: panbuf " + command), r.out());
            assertEquals("", r.err(), r::toString);
        }
    }

    @Test
    void inspectHelpIsNotReadAsAFileName() {
        Result help = run("inspect", "--help");
        assertEquals(0, help.code());
        assertFalse(help.err().contains("cannot read"), help.err());
        // After --, a name that starts with '-' is a file name (here, one that does not exist).
        Result file = run("inspect", "--", "--help");
        assertEquals(1, file.code(), file::toString);
        assertTrue(file.err().startsWith("panbuf inspect: cannot read --help"), file.err());
    }

    @Test
    void inspectUsageErrors() {
        run("inspect").assertUsageError("panbuf inspect: no file given");
        run("inspect", "a.npy", "b.npy").assertUsageError("panbuf inspect: takes one file, got 2: a.npy b.npy");
        run("inspect", "-x").assertUsageError("panbuf inspect: unknown option '-x' (a file whose name starts with '-' goes after --)");
        assertTrue(run("inspect").err().contains("usage: panbuf inspect FILE.npy"));
    }

    @Test
    void inspectCountsOneByteAndOneElementInTheSingular(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("one.npy");
        Npy.write(file, NdArray.of(MemorySegment.ofArray(new byte[] {7}), DType.UINT8, 1));
        Result r = run("inspect", file.toString());
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("dtype:    |u1 (uint8, 1 byte per element)"), r.out());
        assertTrue(r.out().contains("size:     1 element, 1 byte"), r.out());
        assertTrue(r.out().contains("array([7], dtype=uint8)"), r.out());
    }

    @Test
    void demoTakesNoArguments() {
        run("demo", "extra").assertUsageError("panbuf demo: takes no arguments, got extra");
    }

    @Test
    void benchOptionsWithoutTheirValueAreUsageErrors() {
        run("bench", "--only").assertUsageError("panbuf bench: --only needs a value (a regular expression over Class.method");
        run("bench", "--quick", "--only").assertUsageError("--only needs a value");
        run("bench", "--only", "--quick").assertUsageError("--only needs a value");
        run("bench", "--out").assertUsageError("panbuf bench: --out needs a value (the folder the report goes to)");
        run("bench", "--forks").assertUsageError("panbuf bench: --forks needs a value (a number of forked JVMs, 1 to 50)");
        run("bench", "--forks", "0").assertUsageError("panbuf bench: --forks takes a number of forked JVMs from 1 to 50, not '0'");
        run("bench", "--forks", "51").assertUsageError("panbuf bench: --forks takes a number of forked JVMs from 1 to 50, not '51'");
        run("bench", "--forks", "five").assertUsageError("panbuf bench: --forks takes a number of forked JVMs from 1 to 50, not 'five'");
        run("bench", "--only", "[").assertUsageError("panbuf bench: --only [ is not a valid regular expression: Unclosed character class near index 0");
        assertTrue(run("bench", "--only").err().contains("usage: panbuf bench ["), run("bench", "--only").err());
    }

    @Test
    void configUsageErrors() {
        Result unknown = run("config", "--cflag");
        assertEquals(2, unknown.code());
        assertEquals("panbuf config: unknown option '--cflag' (try --help)\n", unknown.err());
        Result missing = run("config", "--cache-dir");
        assertEquals(2, missing.code());
        assertEquals("panbuf config: --cache-dir needs a folder (try --help)\n", missing.err());
    }

    @Test
    void configPrintsCompilerAndLinkerFlags(@TempDir Path dir) {
        Result r = run("config", "--cache-dir", dir.toString(), "--cflags", "--libs");
        assertEquals(0, r.code(), r::toString);
        String[] flags = r.out().strip().split(" ");
        assertEquals(3, flags.length, r.out());
        assertTrue(flags[0].startsWith("-I" + dir.resolve(NativeShim.version())) && flags[0].endsWith("/include"), flags[0]);
        assertTrue(flags[1].startsWith("-L" + dir.resolve(NativeShim.version())) && flags[1].endsWith("/lib"), flags[1]);
        assertEquals("-lpanbuf", flags[2]);
        assertTrue(Files.isRegularFile(Path.of(flags[0].substring(2), "panbuf.h")));
        assertTrue(Files.isRegularFile(Path.of(flags[1].substring(2), "libpanbuf.so")));
        Result all = run("config", "--cache-dir", dir.toString());
        assertTrue(all.out().contains("cflags:           " + flags[0]), all.out());
    }
}
