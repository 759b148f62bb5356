package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DLPack both ways with the real PyTorch and JAX (and NumPy 2) of the
 * project's peer venv ({@code scripts/python-venv}; the {@code python-peers}
 * surefire execution): the same address and writes visible both ways where
 * memory is shared, a copy where the consumer would otherwise write through
 * read-only memory or crash, the arena refusing to close while a consumer
 * holds a tensor, and every deleter counted: exactly once, also when the
 * consumer raises after taking the capsule.
 */
@Tag("python-peers")
@ExtendWith(LeakCheck.class)
class PeersDLPackTest {

    private Python py;
    private PyScope scope;
    private long exported, deleted, imported, importDeleted;

    @BeforeAll
    static void needsTorchAndJax() {
        TestPython.requireModules("torch", "jax", "jax.numpy", "jax.dlpack");
    }

    @BeforeEach
    void open() {
        py = Python.get();
        scope = py.newScope();
        scope.exec("import numpy as np, torch, jax, jax.numpy as jnp, jax.dlpack, gc, sys");
        exported = py.dlpackExported.get();
        deleted = py.dlpackDeleted.get();
        imported = py.dlpackImported.get();
        importDeleted = py.dlpackImportDeleted.get();
    }

    @AfterEach
    void close() {
        scope.close();
        try (PyScope s = py.newScope()) {
            s.exec("import gc; gc.collect()");
        }
        assertEquals(py.dlpackExported.get() - exported, py.dlpackDeleted.get() - deleted,
                "each tensor handed to PyTorch or JAX had its deleter run exactly once");
        assertEquals(py.dlpackImported.get() - imported, py.dlpackImportDeleted.get() - importDeleted,
                "each tensor taken from PyTorch or JAX was handed back exactly once");
        assertEquals(0, py.dlpackStrayDeletes.get());
        assertEquals(0, py.liveSharedBuffers());
    }

    private static NdArray filled(Arena arena, long... shape) {
        NdArray m = NdArray.allocate(arena, DType.FLOAT32, shape);
        NdArray flat = m.reshape(m.elementCount());
        for (long i = 0; i < m.elementCount(); i++) {
            flat.setFloat(i - 5, i);
        }
        return m;
    }

    private static List<Long> elementStrides(NdArray v) {
        return Arrays.stream(v.byteStrides()).map(s -> s / v.dtype().byteSize()).boxed().toList();
    }

    @Test
    void theVenvIsEmbeddedAsItselfWithItsSitePackages() {
        Installation venv = Installation.find();
        assertTrue(venv.isVirtualEnvironment(), venv.describe());
        assertEquals(java.nio.file.Path.of(venv.executable()), py.interpreter().orElseThrow());
        assertEquals(venv.prefix(), scope.eval("sys.prefix"), "the venv's own prefix, from its pyvenv.cfg");
        assertEquals(venv.basePrefix(), scope.eval("sys.base_prefix"));
        assertEquals(venv.path(), scope.eval("list(sys.path)"));
        assertTrue(((String) scope.eval("torch.__file__")).startsWith(venv.prefix() + "/"), "PyTorch from the venv");
        assertTrue(py.describe().contains(", virtual environment of " + venv.basePrefix() + "; -Dpanbuf.python)"),
                py.describe());
    }

    @Test
    void torchTakesJavaMemoryWithNoCopyAndWritesGoBothWays() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = filled(arena, 4, 6);
            for (NdArray v : List.of(m, m.transpose(), m.get("1:, ::2"), m.get("::2, newaxis").get(":, 0"))) {
                scope.putTensor("t", v);
                scope.exec("x = torch.from_dlpack(t)");
                assertEquals(v.address(), scope.eval("x.data_ptr()"), v.describe());
                assertEquals(Arrays.stream(v.shape()).boxed().toList(), scope.eval("list(x.shape)"), v.describe());
                assertEquals(elementStrides(v), scope.eval("list(x.stride())"), v.describe());
                if (!v.isReadOnly()) {
                    v.setFloat(1234.5f, 0, 0);                      // Java writes, PyTorch reads
                    assertEquals(1234.5, scope.eval("float(x[0, 0])"));
                    scope.exec("x[1, 1] = -2.25");                  // PyTorch writes, Java reads
                    assertEquals(-2.25f, v.getFloat(1, 1));
                }
                LiveExportsException held = assertThrows(LiveExportsException.class, arena::close);
                assertTrue(held.getMessage().contains("2 live exports"), held.getMessage());
                scope.exec("del x, t; gc.collect()");
            }
        }
    }

    @Test
    void torchGetsACopyOfWhatItWouldWriteThroughOrCrashOn() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = filled(arena, 8);
            float[] before = m.toFloatArray();
            // PyTorch ignores DLPack's read-only flag: it gets a copy, and its writes cannot reach Java's memory
            scope.putTensor("r", m.asReadOnly());
            scope.exec("x = torch.from_dlpack(r); x[0] = 99");
            assertNotEquals(m.address(), scope.eval("x.data_ptr()"));
            assertArrayEquals(before, m.toFloatArray());
            PythonException refused = assertThrows(PythonException.class, () -> scope.exec("torch.from_dlpack(r, copy=False)"));
            assertEquals("BufferError: cannot share " + m.asReadOnly().describe() + " through DLPack without a copy: the"
                    + " view is read-only and PyTorch ignores DLPack's read-only flag (its tensor would write to the memory);"
                    + " call __dlpack__ with copy=None or copy=True for a copy", refused.getMessage());
            // PyTorch aborts the process on a negative stride: it gets a copy, with the values in order
            NdArray reversed = m.get("::-1");
            scope.putTensor("rev", reversed);
            scope.exec("y = torch.from_dlpack(rev)");
            assertNotEquals(reversed.address(), scope.eval("y.data_ptr()"));
            assertEquals(List.of(2.0, 1.0, 0.0), scope.eval("y[:3].tolist()"));
            assertEquals(List.of(1L), scope.eval("list(y.stride())"));
            PythonException negative = assertThrows(PythonException.class,
                    () -> scope.exec("torch.from_dlpack(rev, copy=False)"));
            assertTrue(negative.getMessage().endsWith("axis 0 has the negative stride -4, and PyTorch aborts the whole"
                    + " process on a DLPack tensor with a negative stride; call __dlpack__ with copy=None or copy=True for a"
                    + " copy"), negative.getMessage());
            // NumPy reads the flag and shares the same views
            scope.exec("a = np.from_dlpack(r); b = np.from_dlpack(rev)");
            assertEquals(m.address(), scope.eval("a.__array_interface__['data'][0]"));
            assertEquals(reversed.address(), scope.eval("b.__array_interface__['data'][0]"));
            scope.exec("del x, y, a, b, r, rev");
        }
    }

    @Test
    void aConsumerThatRaisesAfterTakingTheCapsuleStillDeletesItOnce() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            scope.putTensor("t", filled(arena, 16));
            long e0 = py.dlpackExported.get(), d0 = py.dlpackDeleted.get();
            // PyTorch takes the capsule, makes its tensor, then fails to move it to a device it was not built for
            PythonException e = assertThrows(PythonException.class, () -> scope.exec("torch.from_dlpack(t, device='cuda')"));
            assertTrue(e.getMessage().contains("Torch not compiled with CUDA enabled"), e.getMessage());
            scope.exec("gc.collect()");
            assertEquals(1, py.dlpackExported.get() - e0, "PyTorch took one tensor");
            assertEquals(1, py.dlpackDeleted.get() - d0, "and its deleter ran once");
            // JAX takes the capsule, then refuses a layout it cannot use (a negative stride)
            scope.putTensor("w", filled(arena, 8).get("::-1"));
            PythonException jax = assertThrows(PythonException.class, () -> scope.exec("jax.dlpack.from_dlpack(w)"));
            assertTrue(jax.getMessage().contains("Only DLPack tensors with trivial (compact) striding are supported"),
                    jax.getMessage());
            scope.exec("gc.collect()");
            assertEquals(py.dlpackExported.get() - e0, py.dlpackDeleted.get() - d0);
            scope.exec("del t, w");
        }
    }

    @Test
    void jaxTakesJavaMemoryAndCopiesWhatItMustNotShare() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = filled(arena, 64);
            scope.putTensor("t", m);
            scope.exec("j = jax.dlpack.from_dlpack(t)");
            assertEquals(m.address(), scope.eval("j.unsafe_buffer_pointer()"), "64-byte aligned and compact: shared");
            m.setFloat(7.5f, 3);                                  // Java writes, JAX reads
            assertEquals(7.5, scope.eval("float(j[3])"));
            // JAX asks for a legacy tensor (no max_version), which cannot say read-only: a read-only view is copied
            scope.putTensor("r", m.asReadOnly());
            scope.exec("k = jax.dlpack.from_dlpack(r)");
            assertNotEquals(m.address(), scope.eval("k.unsafe_buffer_pointer()"));
            assertEquals(7.5, scope.eval("float(k[3])"));
            // JAX copies on its side what is not 64-byte aligned
            NdArray shifted = m.get("1:");
            scope.putTensor("s", shifted);
            scope.exec("u = jax.dlpack.from_dlpack(s)");
            assertNotEquals(shifted.address(), scope.eval("u.unsafe_buffer_pointer()"));
            scope.exec("del j, k, u, t, r, s");
        }
    }

    @Test
    void torchTensorsAreViewsInJavaOfTheSameMemory() {
        scope.exec("tt = torch.arange(24, dtype=torch.float32).reshape(4, 6)");
        long uses = (Long) scope.eval("tt._use_count()");
        try (Arena arena = Arena.ofConfined()) {
            for (String expr : List.of("tt", "tt.t()", "tt[1:, ::2]")) {
                NdArray v = scope.fromDLPack(expr, arena);
                assertEquals(scope.eval("(" + expr + ").data_ptr()"), v.address(), expr);
                assertEquals(scope.eval("list((" + expr + ").shape)"), Arrays.stream(v.shape()).boxed().toList(), expr);
                assertEquals(scope.eval("list((" + expr + ").stride())"), elementStrides(v), expr);
                assertTrue(!v.isReadOnly() && !v.segment().isReadOnly(), expr);
                v.setFloat(-1f, 0, 1);                                // Java writes, PyTorch reads
                assertEquals(-1.0, scope.eval("float((" + expr + ")[0, 1])"), expr);
            }
            scope.exec("tt[3, 5] = 500");                            // PyTorch writes, Java reads
            NdArray whole = scope.fromDLPack("tt", arena);
            assertEquals(500f, whole.getFloat(3, 5));
            assertEquals(4, py.dlpackImported.get() - imported);
        }
        assertEquals(4, py.dlpackImportDeleted.get() - importDeleted, "closing the arena handed each tensor back once");
        assertEquals(uses, scope.eval("tt._use_count()"), "PyTorch's own count is back where it was");
        PythonException grad = assertThrows(PythonException.class,
                () -> scope.fromDLPack("torch.zeros(3, requires_grad=True)", Arena.ofAuto()));
        assertEquals("BufferError: Can't export tensors that require gradient, use tensor.detach()", grad.getMessage(),
                "PyTorch's own refusal reaches Java as it is");
    }

    @Test
    void jaxArraysAreImmutableSoTheirViewsAreReadOnly() {
        scope.exec("j = jnp.arange(8, dtype=jnp.float32) * 2");
        try (Arena arena = Arena.ofConfined()) {
            NdArray v = scope.fromDLPack("j", arena);
            assertEquals(scope.eval("j.unsafe_buffer_pointer()"), v.address());
            assertArrayEquals(new float[] {0, 2, 4, 6, 8, 10, 12, 14}, v.toFloatArray());
            assertTrue(v.isReadOnly());
            assertTrue(v.segment().isReadOnly());
            IllegalArgumentException w = assertThrows(IllegalArgumentException.class, () -> v.setFloat(1f, 0));
            assertEquals("setFloat: this array is read-only; copy() it, or write through a writable view of the same memory",
                    w.getMessage());
            IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
                    () -> v.segment().set(ValueLayout.JAVA_FLOAT, 0, 1f));
            assertEquals("Attempt to write a read-only segment", s.getMessage());
            assertEquals(1, py.dlpackImported.get() - imported);
        }
        assertEquals(0.0, scope.eval("float(j[0])"));
    }

    @Test
    void theDemoRunsTheTorchWorkloadWithNoCopy() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"demo"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        String section = text.substring(text.indexOf("9. PyTorch on a batch Java allocated"));
        Matcher batch = Pattern.compile("batch \\[32, 3, 224, 224] float32 \\(18.4 MiB\\) at (0x\\w+)").matcher(section);
        assertTrue(batch.find(), section);
        assertTrue(section.contains("x.data_ptr() = " + batch.group(1) + " (the same memory: nothing was copied)"), section);
        assertTrue(section.contains("Java reads batch[7, 2, 100, 50] = 2.5 (was 3.0)"), section);
        Matcher y = Pattern.compile("Java views it at (0x\\w+), PyTorch's y.data_ptr\\(\\) = (0x\\w+)").matcher(section);
        assertTrue(y.find(), section);
        assertEquals(y.group(2), y.group(1));
        Matcher v = Pattern.compile("y\\[5, 3, 100, 60]: PyTorch (\\S+), Java's own sum over the batch (\\S+)").matcher(section);
        assertTrue(v.find(), section);
        assertEquals(Double.parseDouble(v.group(2)), Double.parseDouble(v.group(1)), 1e-4);
        assertTrue(section.contains("LiveExportsException (2 live exports; nothing freed)"), section);
        assertTrue(section.contains("PyTorch let go: both arenas closed"), section);
    }
}
