package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.GrowableBuffer;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.Slice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The in-process bridge against the real CPython and NumPy of this machine:
 * same addresses on both sides, writes visible both ways, read-only kept,
 * resizes refused while exported, lifetimes that cannot be broken from
 * either side, and reference counts back where they started.
 */
@ExtendWith(LeakCheck.class)
class PythonBridgeTest {

    private Python py;
    private PyScope scope;

    @BeforeAll
    static void needsPython() {
        TestPython.require();
    }

    @BeforeEach
    void open() {
        py = Python.get();
        scope = py.newScope();
        scope.exec("import numpy as np, sys, gc");
    }

    @AfterEach
    void close() {
        scope.close();
        collectPython();
        assertEquals(0, py.liveSharedBuffers(), "Python still holds shared panbuf buffers");
        assertEquals(0, py.liveBufferImports(), "Java still holds Python buffers");
    }

    private void collectPython() {
        try (PyScope s = py.newScope()) {
            s.exec("import gc; gc.collect()");
        }
    }

    @Test
    void embedsTheUsersInterpreterWithItsNumpy() {
        assertTrue(py.version().startsWith("3."), py.version());
        assertEquals(py.numpyVersion().orElseThrow(), scope.eval("np.__version__"));
        assertEquals(py.version(), scope.eval("sys.version.split()[0]"));
        assertEquals(py.interpreter().orElseThrow().toString(), scope.eval("sys.executable"));
    }

    @Test
    void convertsValuesBothWays() {
        assertNull(scope.eval("None"));
        assertEquals(true, scope.eval("1 < 2"));
        assertEquals(42L, scope.eval("6 * 7"));
        assertEquals(new BigInteger("100000000000000000000"), scope.eval("10 ** 20"));
        assertEquals(0.5, scope.eval("1 / 2"));
        assertEquals("héllo ☃", scope.eval("'héllo ☃'"));
        assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) scope.eval("bytes([1, 2, 3])"));
        assertEquals(List.of(1L, "a", List.of(2.5, true)), scope.eval("[1, 'a', (2.5, True)]"));
        assertEquals(Map.of("k", 1L), scope.eval("{'k': 1}"));
        assertEquals(3.0f, ((Double) scope.eval("np.float32(3)")).floatValue());
        assertEquals(7L, scope.eval("np.int64(7)"));
        scope.put("s", "Java ✓");
        scope.put("n", 5);
        scope.put("x", 1.25);
        scope.put("b", new byte[] {9});
        scope.put("nothing", null);
        assertEquals("Java ✓|5|1.25|b'\\t'|None", scope.eval("'|'.join(map(str, [s, n, x, b, nothing]))"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> scope.eval("object()"));
        assertTrue(e.getMessage().contains("builtins.object"), e.getMessage());
    }

    @Test
    void pythonExceptionsArriveWithTypeMessageAndTraceback() {
        PythonException e = assertThrows(PythonException.class, () -> scope.exec("def f():\n    raise KeyError('x')\nf()"));
        assertEquals("KeyError", e.pythonType());
        assertEquals("'x'", e.pythonMessage());
        assertTrue(e.pythonTraceback().contains("in f"), e.pythonTraceback());
        assertEquals(2L, scope.eval("1 + 1"), "the interpreter stays usable");
        PythonException syntax = assertThrows(PythonException.class, () -> scope.eval("1 +"));
        assertEquals("SyntaxError", syntax.pythonType());
    }

    @Test
    void codeRunAgainAndAgainBehavesAsFreshCode() {
        // each short source is compiled once and kept (256 of them); more than that are evicted and compiled again
        for (int i = 0; i < 600; i++) {
            scope.exec("v" + (i % 300) + " = " + i);
        }
        assertEquals(599L, scope.eval("v299"));
        scope.exec("n = 0");
        for (int i = 0; i < 5; i++) {
            scope.exec("n += 1");
        }
        assertEquals(5L, scope.eval("n"));
        for (int i = 0; i < 2; i++) {
            PythonException e = assertThrows(PythonException.class, () -> scope.exec("1 +"));
            assertEquals("SyntaxError", e.pythonType(), "a syntax error is raised each time, never cached");
        }
        scope.exec("del __builtins__");
        assertEquals(3L, scope.eval("len('abc')"), "a namespace without __builtins__ gets them back, as with PyRun_String");
        String big = "w = 0\n" + "w += 1\n".repeat(1000);   // longer than what is kept compiled
        scope.exec(big);
        scope.exec(big);
        assertEquals(1000L, scope.eval("w"));
    }

    @Test
    void javaMemoryIsANumpyArrayAtTheSameAddress() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT32, 3, 4);
            for (int i = 0; i < 12; i++) {
                m.setFloat(i, i / 4, i % 4);
            }
            scope.putNumpy("a", m);
            assertEquals(m.address(), scope.eval("a.__array_interface__['data'][0]"));
            assertEquals(List.of(3L, 4L), scope.eval("a.shape"));
            assertEquals(List.of(16L, 4L), scope.eval("a.strides"));
            assertEquals(66.0, scope.eval("float(a.sum())"));
            scope.exec("a[2, 3] = -1.5");                       // Python writes, Java reads
            assertEquals(-1.5f, m.getFloat(2, 3));
            m.setFloat(100f, 0, 0);                             // Java writes, Python reads
            assertEquals(100.0, scope.eval("float(a[0, 0])"));
            scope.putMemoryView("mv", m);
            assertEquals(false, scope.eval("mv.readonly"));
            assertEquals(m.dtype().format(), scope.eval("mv.format"));
            assertEquals(List.of(3L, 4L), scope.eval("mv.shape"));
            assertEquals(true, scope.eval("np.shares_memory(a, np.asarray(mv))"));
            scope.exec("del a, mv");
        }
    }

    @Test
    void stridedViewsAgreeOnBothSides() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.INT32, 4, 6);
            for (int i = 0; i < 24; i++) {
                m.setInt(i, i / 6, i % 6);
            }
            NdArray[] views = {m.transpose(), m.get("::-1, 1::2"), m.get("::2, ::3").transpose(),
                NdArray.asStrided(m, 4, new long[] {3, 3}, new long[] {24, 4})};
            for (int k = 0; k < views.length; k++) {
                NdArray v = views[k];
                scope.putNumpy("v", v);
                scope.putMemoryView("mv", v);
                assertEquals(v.address(), scope.eval("v.__array_interface__['data'][0]"), v.describe());
                assertEquals(toList(v.shape()), scope.eval("list(v.shape)"), v.describe());
                assertEquals(toList(v.byteStrides()), scope.eval("list(v.strides)"), v.describe());
                assertEquals(toList(v.byteStrides()), scope.eval("list(mv.strides)"), v.describe());
                assertEquals(toList(v.toIntArray()), scope.eval("[int(x) for x in v.ravel()]"), v.describe());
                assertEquals(!v.isReadOnly(), scope.eval("v.flags.writeable"), v.describe());
                // NumPy's as_strided on the shared array agrees with panbuf's asStrided
                scope.exec("w = np.lib.stride_tricks.as_strided(v, shape=(2,), strides=(v.strides[0],))");
                NdArray w = NdArray.asStrided(v, 0, new long[] {2}, new long[] {v.byteStride(0)});
                assertEquals(toList(w.toIntArray()), scope.eval("[int(x) for x in w]"));
                assertEquals(true, scope.eval("np.shares_memory(v, w)"));
                scope.exec("del v, mv, w");
            }
            collectPython();
        }
    }

    @Test
    void readOnlyViewsStayReadOnlyInPython() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT64, 5);
            scope.putNumpy("a", m.asReadOnly());
            scope.putMemoryView("mv", m.asReadOnly());
            PythonException e = assertThrows(PythonException.class, () -> scope.exec("a[0] = 1"));
            assertEquals("ValueError", e.pythonType());
            assertEquals("assignment destination is read-only", e.pythonMessage());
            PythonException e2 = assertThrows(PythonException.class, () -> scope.exec("mv[0] = 1.0"));
            assertEquals("TypeError", e2.pythonType());
            PythonException e3 = assertThrows(PythonException.class, () -> scope.exec("a.flags.writeable = True"));
            assertEquals("ValueError", e3.pythonType());
            assertEquals(0.0, m.getDouble(0));
            scope.exec("del a, mv");
        }
    }

    /** Found by the lifetime fuzzer: NumPy builds an array of its own, writable, for an empty buffer. */
    @Test
    void emptyReadOnlyViewsStayReadOnlyInPythonAndBack() {
        try (BufferArena arena = BufferArena.ofConfined(); BufferArena other = BufferArena.ofConfined()) {
            NdArray full = NdArray.allocate(arena, DType.INT64, 6);
            for (NdArray empty : List.of(full.get(Slice.of(3, 3)), full.get(Slice.of(4, 5, -1)),
                    NdArray.allocate(arena, DType.INT64, 0))) {
                scope.putNumpy("e", empty.asReadOnly());
                assertEquals(false, scope.eval("e.flags.writeable"));
                assertEquals(0L, scope.eval("e.size"));
                NdArray back = scope.buffer("e", other);
                assertTrue(back.isReadOnly());
                assertTrue(back.segment().isReadOnly());
                scope.putNumpy("w", empty);
                assertEquals(true, scope.eval("w.flags.writeable"));
                scope.exec("del e, w");
            }
        }
    }

    @Test
    void theSharedBufferAnswersEachBufferRequestAsCPythonsRulesSay() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.INT16, 3, 4);
            for (int i = 0; i < 12; i++) {
                m.setShort((short) i, i / 4, i % 4);
            }
            scope.putMemoryView("mc", m);
            scope.putMemoryView("mt", m.transpose());
            scope.putMemoryView("mr", m.asReadOnly());
            scope.exec("import ctypes\nc, t, r = mc.obj, mt.obj, mr.obj");
            assertEquals("panbuf.SharedBuffer", scope.eval("type(c).__module__ + '.' + type(c).__name__"));
            PythonException create = assertThrows(PythonException.class, () -> scope.exec("type(c)()"));
            assertEquals("TypeError", create.pythonType());
            // a contiguous, writable request (ctypes) gets the very memory
            assertEquals(m.address(), scope.eval("ctypes.addressof((ctypes.c_int16 * 12).from_buffer(c))"));
            // a strided consumer gets the strides; bytes() copies in C order
            assertArrayEquals(m.transpose().toBytes(), (byte[]) scope.eval("bytes(t)"));
            assertEquals(List.of(2L, 8L), scope.eval("memoryview(t).strides"));
            // what cannot be given is refused with BufferError, never a crash
            PythonException strided = assertThrows(PythonException.class, () -> scope.exec("np.frombuffer(t, np.int16)"));
            assertEquals("BufferError", strided.pythonType());
            assertTrue(strided.pythonMessage().contains("not C-contiguous"), strided.pythonMessage());
            PythonException ro = assertThrows(PythonException.class, () -> scope.writableBuffer("r", arena));
            assertEquals("BufferError", ro.pythonType());
            assertTrue(ro.pythonMessage().contains("read-only"), ro.pythonMessage());
            PythonException ctypesRo = assertThrows(PythonException.class,
                    () -> scope.exec("(ctypes.c_int16 * 12).from_buffer(r)"));
            assertEquals("TypeError", ctypesRo.pythonType());   // ctypes' own words for a read-only buffer
            assertEquals(true, scope.eval("memoryview(r).readonly"));
            scope.exec("del c, t, r, mc, mt, mr");
            collectPython();
        }
    }

    @Test
    void closingAnArenaPythonStillUsesIsRefusedAndFreesNothing() {
        BufferArena arena = BufferArena.ofConfined();
        NdArray m = NdArray.allocate(arena, DType.INT64, 8);
        m.setLong(7, 3);
        scope.putNumpy("a", m);
        scope.exec("b = a[2:5]; keep = memoryview(b); del a, b");   // only a derived memoryview is left
        LiveExportsException e = assertThrows(LiveExportsException.class, arena::close);
        assertTrue(e.getMessage().contains("1 live export"), e.getMessage());
        assertFalse(arena.isClosed());
        assertEquals(7L, scope.eval("keep[1]"), "Python still reads the memory");
        scope.exec("del keep");
        collectPython();
        arena.close();   // the last Python reference is gone: the export was released
        assertTrue(arena.isClosed());
    }

    @Test
    void heapAndUnpinnableMemoryIsRefusedWithAClearMessage() {
        IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                () -> scope.putNumpy("a", NdArray.wrap(new float[4])));
        assertTrue(heap.getMessage().contains("heap"), heap.getMessage());
        try (Arena plain = Arena.ofConfined()) {
            NdArray v = NdArray.allocate(plain, DType.UINT8, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> scope.putNumpy("a", v));
            assertTrue(e.getMessage().contains("BufferArena"), e.getMessage());
        }
        assertFalse(scope.contains("a"));
    }

    @Test
    void pythonBuffersAreViewsInJava() {
        scope.exec("ba = bytearray(b'hello world')");
        long before = (Long) scope.eval("sys.getrefcount(ba)");
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray v = scope.buffer("ba", arena);
            assertEquals(scope.eval("memoryview(ba).tobytes() and __import__('ctypes').addressof("
                    + "(__import__('ctypes').c_char * len(ba)).from_buffer(ba))"), v.address());
            assertEquals(11, v.elementCount());
            assertFalse(v.isReadOnly());
            v.setByte((byte) 'J', 0);                          // Java writes, Python reads
            assertEquals("Jello world", scope.eval("ba.decode()"));
            scope.exec("ba[1] = ord('E')");                    // Python writes, Java reads
            assertEquals('E', (char) v.getByte(1));
            assertEquals(before + 1, scope.eval("sys.getrefcount(ba)"), "the Py_buffer holds one reference");
            PythonException e = assertThrows(PythonException.class, () -> scope.exec("ba.append(33)"));
            assertEquals("BufferError", e.pythonType());
            assertTrue(e.pythonMessage().contains("Existing exports of data: object cannot be re-sized"), e.pythonMessage());
            assertEquals(11L, scope.eval("len(ba)"), "the failed resize changed nothing");
        }
        assertEquals(before, scope.eval("sys.getrefcount(ba)"), "PyBuffer_Release ran when the arena closed");
        scope.exec("ba.append(33)");                           // no export: resizing works again
        assertEquals(12L, scope.eval("len(ba)"));
    }

    @Test
    void numpyArraysAndArrayModuleBuffersKeepTheirGeometry() {
        scope.exec("x = np.arange(24, dtype='<i2').reshape(4, 6)[::-1, ::2]\nimport array\naa = array.array('d', [1.5, 2.5])");
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray v = scope.buffer("x", arena);
            assertEquals(scope.eval("x.__array_interface__['data'][0]"), v.address());
            assertArrayEquals(new long[] {4, 3}, v.shape());
            assertArrayEquals(new long[] {-12, 4}, v.byteStrides());
            assertEquals(toList(v.toShortArray()), scope.eval("[int(i) for i in x.ravel()]"));
            NdArray d = scope.buffer("aa", arena);
            assertEquals(DType.FLOAT64, d.dtype());
            assertEquals(2.5, d.getDouble(1));
            NdArray ro = scope.buffer("b'abc'", arena);
            assertTrue(ro.isReadOnly());
            PythonException e = assertThrows(PythonException.class, () -> scope.writableBuffer("b'abc'", arena));
            assertEquals("BufferError", e.pythonType());
            NdArray rec = scope.buffer("np.zeros(3, dtype=[('x', '<i4'), ('y', '<f8')])", arena);
            assertEquals(List.of("x", "y"), rec.dtype().fields().stream().map(DType.Field::name).toList());
        }
    }

    @Test
    void aGrowableBufferSharedWithPythonRefusesToResize() {
        try (GrowableBuffer g = GrowableBuffer.ofConfined(16)) {
            g.append(new byte[] {1, 2, 3, 4});
            scope.putMemoryView("mv", g.view(DType.UINT8));
            LiveExportsException e = assertThrows(LiveExportsException.class, () -> g.resize(1 << 20));
            assertTrue(e.getMessage().contains("export"), e.getMessage());
            assertEquals(4, g.byteSize());
            scope.exec("del mv");
            collectPython();
            g.resize(1 << 20);
            assertEquals(1 << 20, g.byteSize());
        }
    }

    @Test
    void anyJavaThreadMayCallPythonIncludingVirtualThreads() throws Exception {
        scope.exec("counter = [0]\ndef bump():\n    counter[0] += 1\n    return counter[0]");
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int t = 0; t < 8; t++) {
            Runnable body = () -> {
                try {
                    for (int i = 0; i < 50; i++) {
                        scope.eval("bump()");
                    }
                } catch (Throwable x) {
                    failure.set(x);
                }
            };
            threads.add(t % 2 == 0 ? Thread.ofPlatform().start(body) : Thread.ofVirtual().start(body));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertNull(failure.get());
        assertEquals(400L, scope.eval("counter[0]"));
    }

    @Test
    void aPythonThreadMayDropTheLastReference() throws Exception {
        try (BufferArena arena = BufferArena.ofShared()) {
            NdArray m = NdArray.allocate(arena, DType.UINT8, 32);
            scope.putNumpy("a", m);
            scope.exec("import threading\nbox = [a]\ndel a\nt = threading.Thread(target=box.clear)\nt.start()\nt.join()");
            collectPython();
            assertEquals(0, arena.liveExportCount());
        }
    }

    @Test
    void sharingAndTakingBuffersLeaksNothing() throws Exception {
        scope.exec("ba = bytearray(64)");
        long refs = (Long) scope.eval("sys.getrefcount(ba)");
        for (int round = 0; round < 3; round++) {
            long nmtBefore = dev.panbuf.python.NativeMemory.otherCommittedBytes();
            long blocksBefore = (Long) scope.eval("sys.getallocatedblocks()");
            for (int i = 0; i < 200; i++) {
                try (BufferArena arena = BufferArena.ofConfined()) {
                    NdArray m = NdArray.allocate(arena, DType.FLOAT32, Order.F, 8, 8);
                    scope.putNumpy("a", m);
                    scope.exec("s = float(a.sum()); del a");
                    NdArray b = scope.buffer("ba", arena);
                    b.setByte((byte) i, 0);
                }
            }
            collectPython();
            long blocksAfter = (Long) scope.eval("sys.getallocatedblocks()");
            long nmtAfter = dev.panbuf.python.NativeMemory.otherCommittedBytes();
            if (round == 2) {
                assertTrue(blocksAfter - blocksBefore < 50, "Python blocks grew by " + (blocksAfter - blocksBefore));
                assertTrue(nmtAfter - nmtBefore < 64 * 1024, "NMT 'Other' grew by " + (nmtAfter - nmtBefore) + " bytes");
            }
        }
        assertEquals(refs, scope.eval("sys.getrefcount(ba)"));
    }

    private static List<Long> toList(long[] a) {
        List<Long> out = new ArrayList<>();
        for (long x : a) {
            out.add(x);
        }
        return out;
    }

    private static List<Long> toList(int[] a) {
        List<Long> out = new ArrayList<>();
        for (int x : a) {
            out.add((long) x);
        }
        return out;
    }

    private static List<Long> toList(short[] a) {
        List<Long> out = new ArrayList<>();
        for (short x : a) {
            out.add((long) x);
        }
        return out;
    }
}
