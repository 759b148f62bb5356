package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import dev.panbuf.dlpack.DLPack;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The executable half of the Python rows ({@code PY1}, {@code PY2}, ...) of
 * {@code docs/BAD_INPUTS.md}, as {@code BadInputCatalogTest} is for the
 * others: every row has a probe here that makes the bad input happen, and the
 * exception's type and whole message must be the row's ("…" matches
 * anything); then nothing may have changed: the fixture's bytes, its arena's
 * live exports, and the bridge's counters (shared objects, Python buffers
 * held, DLPack tensors out and in). It runs in every Python test JVM, so
 * against NumPy 1.x and 2.x. {@code -Dpanbuf.catalogue.print=FILE} writes
 * what each probe throws today.
 */
@ExtendWith(LeakCheck.class)
class PythonBadInputCatalogTest {

    private static final Path DOCUMENT = Path.of("docs", "BAD_INPUTS.md");

    @TempDir
    static Path dir;

    private Python py;
    private PyScope scope;
    private BufferArena arena;
    private NdArray m;

    @BeforeAll
    static void needsPython() {
        TestPython.require();
    }

    @BeforeEach
    void setUp() {
        py = Python.get();
        scope = py.newScope();
        scope.exec("import numpy as np, gc");
        arena = BufferArena.builder().name("catalogue arena").build();
        m = NdArray.allocate(arena, DType.FLOAT32, 4);
        for (int i = 0; i < 4; i++) {
            m.setFloat(i + 0.5f, i);
        }
    }

    @AfterEach
    void tearDown() {
        scope.close();
        try (PyScope s = py.newScope()) {
            s.exec("import gc; gc.collect()");
        }
        arena.close();
    }

    @FunctionalInterface
    interface Probe {
        Throwable run() throws Exception;
    }

    private static Throwable thrown(Executable call) {
        try {
            call.execute();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** A Python statement's exception, after which {@code cleanup} runs (so that nothing stays changed). */
    private Throwable python(String statement, String cleanup) {
        Throwable t = thrown(() -> scope.exec(statement));
        scope.exec(cleanup + "\ngc.collect()");
        return t;
    }

    /** An interpreter answering for the real one, but with sysconfig values the probe wants and no libpython anywhere. */
    private static Path lyingInterpreter(String name, String overrides) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!" + Python.get().interpreter().orElseThrow() + "\n"
                + "import sys, sysconfig\nmm = '%d.%d' % sys.version_info[:2]\n_real = sysconfig.get_config_var\n"
                + "_fake = {" + overrides + "}\nsysconfig.get_config_var = lambda k: _fake.get(k, _real(k))\n"
                + "sys.prefix = sys.base_prefix = sys.exec_prefix = sys.base_exec_prefix = '/nonexistent'\n"
                + "exec(sys.argv[2])\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** Every Python row's probe, by id, in the document's order. */
    private Map<String, Probe> probes() {
        Map<String, Probe> p = new LinkedHashMap<>();
        // ---- finding the user's Python
        p.put("PY1", () -> thrown(() -> Installation.candidate("/nonexistent/python3", null, null, null, null)));
        p.put("PY2", () -> thrown(() -> Installation.candidate(null, null, null, null, "/nonexistent")));
        p.put("PY3", () -> thrown(() -> Installation.ask(new Installation.Candidate(lyingInterpreter("static",
                "'Py_ENABLE_SHARED': 0, 'LIBDIR': '/nonexistent', 'LIBPL': '/nonexistent', 'LDLIBRARY': 'libpython'"
                        + " + mm + '.a', 'INSTSONAME': 'libpython' + mm + '.a'"), "-Dpanbuf.python")).requireLibpython()));
        p.put("PY4", () -> thrown(() -> Installation.ask(new Installation.Candidate(lyingInterpreter("no-library",
                "'Py_ENABLE_SHARED': 1, 'LIBDIR': '/nonexistent', 'LIBPL': '/nonexistent', 'INSTSONAME': 'libpython'"
                        + " + mm + '.so.1.0', 'LDLIBRARY': 'libpython' + mm + '.so'"), "-Dpanbuf.python")).requireLibpython()));
        // ---- memory given to Python
        p.put("PY5", () -> {
            scope.putNumpy("a", m);
            return python("a.base[1].__del__()", "del a");
        });
        p.put("PY6", () -> {
            scope.putNumpy("a", m);
            return python("a.base.release()", "del a");
        });
        p.put("PY7", () -> {
            scope.putTensor("t", m.asReadOnly());
            return python("t.__dlpack__(copy=False)", "del t");
        });
        p.put("PY8", () -> {
            scope.putTensor("t", m.asReadOnly());
            scope.exec(TORCH_LIKE);
            return python("torch_like(t)", "del t, torch_like");
        });
        p.put("PY9", () -> {
            scope.putTensor("t", m.get("::-1"));
            scope.exec(TORCH_LIKE);
            return python("torch_like(t)", "del t, torch_like");
        });
        p.put("PY10", () -> {
            scope.putTensor("t", m);
            return python("t.__dlpack__(max_version=(1, 0), dl_device=(2, 0))", "del t");
        });
        p.put("PY11", () -> {
            scope.putTensor("t", m);
            return python("t.__dlpack__(stream=1)", "del t");
        });
        p.put("PY12", () -> {
            scope.putTensor("t", m);
            return python("t.__dlpack__(device='cpu')", "del t");
        });
        p.put("PY13", () -> {
            try (BufferArena records = BufferArena.ofConfined()) {
                scope.putTensor("r", NdArray.allocate(records, DType.fromFormat("T{<i:x:<d:y:}"), 2));
                return python("r.__dlpack__(max_version=(1, 0))", "del r");
            }
        });
        p.put("PY14", () -> {
            scope.putTensor("t", m);
            scope.exec("a = np.from_dlpack(t); del t");
            Throwable t = thrown(arena::close);
            scope.exec("del a; gc.collect()");
            return t;
        });
        // ---- Python memory taken into Java
        p.put("PY15", () -> {
            try (Arena a = Arena.ofConfined()) {
                return thrown(() -> scope.buffer("b'abc'", a).setByte((byte) 1, 0));
            }
        });
        p.put("PY16", () -> {
            try (Arena a = Arena.ofConfined()) {
                return thrown(() -> scope.buffer("b'abc'", a).segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
            }
        });
        p.put("PY17", () -> {
            try (Arena a = Arena.ofConfined()) {
                return thrown(() -> scope.writableBuffer("b'abc'", a));
            }
        });
        p.put("PY18", () -> {
            scope.exec("ro = np.arange(4, dtype=np.int32); ro.flags.writeable = False");
            try (Arena a = Arena.ofConfined()) {
                return thrown(() -> scope.buffer("ro", a).setInt(7, 0));
            }
        });
        p.put("PY19", () -> thrown(() -> scope.fromDLPack("object()", Arena.ofAuto())));
        p.put("PY20", () -> {
            try (Arena a = Arena.ofConfined()) {
                return thrown(() -> scope.fromDLPack("np.zeros(3, dtype=np.complex128)", a));
            }
        });
        return p;
    }

    /** A function that calls __dlpack__ as torch.from_dlpack does: from a module named torch.*. */
    private static final String TORCH_LIKE = "g = {'__name__': 'torch.utils.dlpack'}\n"
            + "exec('def torch_like(x):\\n    return x.__dlpack__(max_version=(1, 0), copy=False)', g)\n"
            + "torch_like = g['torch_like']; del g";

    record Row(String id, String exception, String message) {}

    static List<Row> rows() throws IOException {
        Pattern row = Pattern.compile("^\\|\\s*(PY\\d+)\\s*\\|.*?\\|\\s*(`[A-Za-z]+`|—)\\s*\\|\\s*(`.*`|—)\\s*\\|[^|]*\\|\\s*$");
        List<Row> out = new ArrayList<>();
        for (String line : Files.readAllLines(DOCUMENT, StandardCharsets.UTF_8)) {
            Matcher mm = row.matcher(line.replace("\\|", "\u0000"));
            if (mm.matches()) {
                String message = mm.group(3).equals("—") ? "—" : mm.group(3).substring(1, mm.group(3).length() - 1);
                out.add(new Row(mm.group(1), mm.group(2).replace("`", ""), message.replace("\u0000", "|")));
            }
        }
        return out;
    }

    static boolean matches(String pattern, String message) {
        StringBuilder regex = new StringBuilder();
        for (String part : pattern.split("…", -1)) {
            if (!regex.isEmpty()) {
                regex.append(".*?");
            }
            regex.append(Pattern.quote(part));
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL).matcher(message).matches();
    }

    private String snapshot() {
        scope.exec("gc.collect()");
        return Arrays.toString(m.toFloatArray()) + " live exports " + arena.liveExportCount() + ", shared " + py.liveSharedBuffers()
                + ", Python buffers " + py.liveBufferImports() + ", DLPack out " + py.liveDLPackExports() + ", DLPack in "
                + py.liveDLPackImports() + ", DLPack imports " + DLPack.liveImports();
    }

    @TestFactory
    Stream<DynamicTest> everyPythonRowThrowsExactlyWhatItSays() throws Exception {
        String print = System.getProperty("panbuf.catalogue.print");
        if (print != null) {
            StringBuilder out = new StringBuilder();
            for (Map.Entry<String, Probe> e : probes().entrySet()) {
                Throwable t = e.getValue().run();
                out.append(e.getKey()).append('\t').append(t == null ? "—" : t.getClass().getSimpleName()).append('\t')
                        .append(t == null ? "—" : t.getMessage()).append('\n');
            }
            Files.writeString(Path.of(print), out);
        }
        List<Row> rows = rows();
        Map<String, Probe> probes = probes();
        assertEquals(List.copyOf(probes.keySet()), rows.stream().map(Row::id).toList(),
                "the catalogue's Python rows and this test's probes, in order");
        return rows.stream().map(row -> DynamicTest.dynamicTest(row.id(), () -> {
            String before = snapshot();
            Throwable t = probes.get(row.id()).run();
            if (row.exception().equals("—")) {
                assertNull(t, row.id() + " must not throw");
            } else {
                assertNotNull(t, row.id() + " must throw " + row.exception());
                assertEquals(row.exception(), t.getClass().getSimpleName(), row.id() + ": " + t);
                assertTrue(matches(row.message(), String.valueOf(t.getMessage())),
                        row.id() + ": the message is\n  " + t.getMessage() + "\nbut the catalogue says\n  " + row.message());
            }
            assertEquals(before, snapshot(), row.id() + " changed the memory or left something held");
        }));
    }
}
