package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Versioned DLPack both ways with the NumPy of this JVM (1.x: legacy
 * capsules only; 2.x: {@code max_version}, {@code copy}, the read-only flag):
 * {@link PyScope#putTensor}'s {@code __dlpack__} against the array API
 * standard's rules, {@link PyScope#fromDLPack} of NumPy's, the read-only rule
 * for every view panbuf makes of Python memory, and each deleter counted:
 * exactly once, also when Python raises half-way.
 */
@ExtendWith(LeakCheck.class)
class TensorDLPackTest {

    /** DLPACK_FLAG_BITMASK_READ_ONLY and _IS_COPIED. */
    private static final long READ_ONLY = 1, IS_COPIED = 2;

    private static final String CAPSULE_INFO = """
            import ctypes
            _get = ctypes.pythonapi.PyCapsule_GetPointer
            _get.restype = ctypes.c_void_p
            _get.argtypes = [ctypes.py_object, ctypes.c_char_p]
            def info(c):
                '''(capsule name, data address, flags) of an unconsumed DLPack capsule.'''
                name = 'dltensor_versioned' if '"dltensor_versioned"' in repr(c) else 'dltensor'
                p = _get(c, name.encode())
                if name == 'dltensor':
                    return (name, ctypes.c_void_p.from_address(p).value or 0, 0)
                return (name, ctypes.c_void_p.from_address(p + 32).value or 0, ctypes.c_uint64.from_address(p + 24).value)
            """;

    private Python py;
    private PyScope scope;
    private long exported, deleted;

    @BeforeAll
    static void needsNumpy() {
        TestPython.require();
    }

    @BeforeEach
    void open() {
        py = Python.get();
        scope = py.newScope();
        scope.exec("import numpy as np, gc, sys, threading");
        scope.exec(CAPSULE_INFO);
        exported = py.dlpackExported.get();
        deleted = py.dlpackDeleted.get();
    }

    @AfterEach
    void close() {
        scope.close();
        try (PyScope s = py.newScope()) {
            s.exec("import gc; gc.collect()");
        }
        assertEquals(py.dlpackExported.get() - exported, py.dlpackDeleted.get() - deleted,
                "every tensor __dlpack__ handed out had its deleter run exactly once");
        assertEquals(0, py.dlpackStrayDeletes.get(), "no deleter ran twice");
        assertEquals(0, py.liveDLPackImports(), "every tensor taken from Python was handed back");
        assertEquals(0, py.liveSharedBuffers());
    }

    private static NdArray filled(Arena arena, DType dtype, long... shape) {
        NdArray m = NdArray.allocate(arena, dtype, shape);
        NdArray flat = m.reshape(m.elementCount());
        for (long i = 0; i < m.elementCount(); i++) {
            switch (dtype.str()) {
                case "<f8" -> flat.setDouble(i * 0.5 - 3, i);
                case "<f4" -> flat.setFloat((float) (i * 0.5 - 3), i);
                default -> flat.setInt((int) i - 3, i);
            }
        }
        return m;
    }

    @Test
    void numpyTakesTheTensorWithItsStridesAndTheSameMemory() {
        int major = TestPython.numpyMajor();
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = filled(arena, DType.FLOAT64, 4, 6);
            List<NdArray> views = List.of(m, m.transpose(), m.get("1:, ::2"), m.get("::-1, 1::2"), m.get("2"));
            for (NdArray v : views) {
                long before = py.dlpackExported.get();
                scope.putTensor("t", v);
                scope.exec("a = np.from_dlpack(t)");
                assertEquals(before + 1, py.dlpackExported.get(), "one tensor per from_dlpack");
                assertEquals(v.address(), scope.eval("a.__array_interface__['data'][0]"), v.describe());
                assertEquals(toList(v.shape()), scope.eval("list(a.shape)"), v.describe());
                assertEquals(toList(v.byteStrides()), scope.eval("list(a.strides)"), v.describe());
                assertEquals(major >= 2, scope.eval("a.flags.writeable"), "NumPy 2 reads the versioned tensor's flags");
                long[] first = new long[v.ndim()];
                v.setDouble(1234.5, first);                              // Java writes, NumPy reads
                assertEquals(1234.5, scope.eval("float(a[" + (v.ndim() == 1 ? "0" : "0, 0") + "])"));
                if (major >= 2) {
                    scope.exec("a[" + (v.ndim() == 1 ? "0" : "0, 0") + "] = -8.25");   // NumPy writes, Java reads
                    assertEquals(-8.25, v.getDouble(first));
                }
                LiveExportsException held = assertThrows(LiveExportsException.class, arena::close);
                assertTrue(held.getMessage().contains("2 live exports"), held.getMessage());   // the object and the tensor
                scope.exec("del a, t; gc.collect()");
                assertEquals(py.dlpackExported.get() - exported, py.dlpackDeleted.get() - deleted);
            }
        }
    }

    @Test
    void aReadOnlyViewIsSharedFlaggedOrCopiedNeverWritable() {
        int major = TestPython.numpyMajor();
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = filled(arena, DType.FLOAT32, 8);
            scope.putTensor("t", m.asReadOnly());
            scope.exec("a = np.from_dlpack(t)");
            assertEquals(false, scope.eval("a.flags.writeable"));
            if (major >= 2) {
                assertEquals(m.address(), scope.eval("a.__array_interface__['data'][0]"), "shared, flagged read-only");
            } else {
                // NumPy 1.x asks for a legacy tensor, which cannot say read-only: it gets a copy
                assertNotEquals(m.address(), scope.eval("a.__array_interface__['data'][0]"));
                assertEquals(toList(m.toFloatArray()), scope.eval("[float(x) for x in a]"));
            }
            PythonException e = assertThrows(PythonException.class, () -> scope.exec("a[0] = 1"));
            assertEquals("ValueError: assignment destination is read-only", e.getMessage());
            assertEquals(-3.0f, m.getFloat(0));
            scope.exec("del a, t");
        }
    }

    @Test
    void dunderDlpackHonoursMaxVersionCopyDeviceAndStream() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = filled(arena, DType.INT32, 3, 4);
            scope.putTensor("t", m);
            scope.putTensor("r", m.asReadOnly());
            long a = m.address();
            assertEquals(List.of(1L, 0L), scope.eval("list(t.__dlpack_device__())"));
            assertEquals(List.of("dltensor", a, 0L), scope.eval("list(info(t.__dlpack__()))"));
            assertEquals(List.of("dltensor", a, 0L), scope.eval("list(info(t.__dlpack__(max_version=None)))"));
            assertEquals(List.of("dltensor", a, 0L), scope.eval("list(info(t.__dlpack__(max_version=(0, 8))))"));
            assertEquals(List.of("dltensor_versioned", a, 0L), scope.eval("list(info(t.__dlpack__(max_version=(1, 0))))"));
            assertEquals(List.of("dltensor_versioned", a, 0L), scope.eval("list(info(t.__dlpack__(max_version=(2, 3))))"));
            assertEquals(List.of("dltensor_versioned", a, 0L), scope.eval("list(info(t.__dlpack__(stream=None,"
                    + " max_version=(1, 0), dl_device=(1, 0), copy=False)))"));
            assertEquals(List.of("dltensor_versioned", a, READ_ONLY), scope.eval("list(info(r.__dlpack__(max_version=(1,"
                    + " 0), copy=False)))"));
            // copy=True: a copy, flagged so, with the same values
            List<?> copied = (List<?>) scope.eval("list(info(t.__dlpack__(max_version=(1, 0), copy=True)))");
            assertNotEquals(a, copied.get(1));
            assertEquals(IS_COPIED, copied.get(2));
            List<?> copiedLegacy = (List<?>) scope.eval("list(info(r.__dlpack__()))");   // read-only, legacy: a copy
            assertNotEquals(a, copiedLegacy.get(1));
            // what cannot be done is refused, naming it
            assertEquals("BufferError: cannot share NdArray[dtype=<i4, shape=(3, 4), byteStrides=(16, 4), byteOffset=0,"
                    + " C=true, F=false, readOnly=true, memory=native] through DLPack without a copy: the view is read-only"
                    + " and the consumer asked for a legacy DLPack tensor (no max_version >= (1, 0)), which cannot say so;"
                    + " call __dlpack__ with copy=None or copy=True for a copy", raised("r.__dlpack__(copy=False)"));
            assertEquals("BufferError: panbuf memory is on the CPU, device (1, 0), and cannot be exported to device (2, 0);"
                    + " let the consumer copy it there", raised("t.__dlpack__(dl_device=(2, 0))"));
            assertEquals("BufferError: panbuf memory is on the CPU, device (1, 0), and cannot be exported to device (1, 1);"
                    + " let the consumer copy it there", raised("t.__dlpack__(dl_device=(1, 1))"));
            assertEquals("BufferError: panbuf memory is on the CPU, which has no DLPack streams: __dlpack__ takes"
                    + " stream=None, got 1", raised("t.__dlpack__(stream=1)"));
            assertEquals("TypeError: __dlpack__() got an unexpected keyword argument 'device' (it takes stream, max_version,"
                    + " dl_device and copy)", raised("t.__dlpack__(device='cpu')"));
            assertEquals("TypeError: __dlpack__() takes keyword arguments only (stream, max_version, dl_device, copy), but 1"
                    + " positional argument(s) were given", raised("t.__dlpack__(None)"));
            assertEquals("TypeError: __dlpack__(max_version=...) takes None or a tuple (major, minor) of ints, got '1.0'",
                    raised("t.__dlpack__(max_version='1.0')"));
            assertEquals("TypeError: __dlpack__(copy=...) takes None, True or False, got 1", raised("t.__dlpack__(copy=1)"));
            assertEquals("TypeError: __dlpack__(dl_device=...) takes None or a tuple (device_type, device_id) of ints,"
                    + " got 'cpu'", raised("t.__dlpack__(dl_device='cpu')"));
            scope.exec("del t, r");
        }
    }

    @Test
    void whatDLPackCannotCarryIsCopiedOrRefused() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray ints = filled(arena, DType.INT32, 12);
            NdArray odd = NdArray.asStrided(ints, 0, new long[] {3}, new long[] {6});   // 6-byte strides: not elements
            scope.putTensor("odd", odd);
            List<?> copied = (List<?>) scope.eval("list(info(odd.__dlpack__(max_version=(1, 0))))");
            assertNotEquals(odd.address(), copied.get(1));
            assertEquals(IS_COPIED, copied.get(2));
            assertEquals("BufferError: cannot share " + odd.describe() + " through DLPack without a copy: byte stride 6 of"
                    + " axis 0 is not a multiple of the item size 4 (DLPack counts strides in elements); call __dlpack__ with"
                    + " copy=None or copy=True for a copy", raised("odd.__dlpack__(max_version=(1, 0), copy=False)"));
            NdArray big = NdArray.allocate(arena, DType.parse(">f4"), 3);
            big.setFloat(2.5f, 1);
            scope.putTensor("big", big);
            assertEquals(List.of(0.0, 2.5, 0.0), scope.eval("np.from_dlpack(big).tolist()"), "a native-order copy");
            NdArray records = NdArray.allocate(arena, DType.fromFormat("T{<i:x:<d:y:}"), 2);
            scope.putTensor("rec", records);
            assertEquals("BufferError: cannot export " + records.describe() + " through DLPack: DLPack has no type for"
                    + " record dtype " + records.dtype() + "; share one field at a time (view.field(name))",
                    raised("rec.__dlpack__(max_version=(1, 0))"));
            scope.exec("del odd, big, rec; gc.collect()");
        }
    }

    @Test
    void eachDeleterRunsExactlyOnceAlsoWhenPythonRaisesHalfWay() throws Exception {
        BufferArena arena = BufferArena.ofShared();
        NdArray m = filled(arena, DType.FLOAT64, 16);
        scope.putTensor("t", m);
        long e0 = py.dlpackExported.get(), d0 = py.dlpackDeleted.get();
        // a capsule nobody consumed deletes its tensor
        scope.exec("c = t.__dlpack__(max_version=(1, 0)); del c");
        assertEquals(1, py.dlpackExported.get() - e0);
        assertEquals(1, py.dlpackDeleted.get() - d0);
        // a consumer that raises after taking the capsule
        PythonException boom = assertThrows(PythonException.class, () -> scope.exec(
                "def consume():\n    c = t.__dlpack__(max_version=(1, 0))\n    raise ValueError('boom after taking it')\nconsume()"));
        assertEquals("ValueError: boom after taking it", boom.getMessage());
        assertEquals(2, py.dlpackExported.get() - e0);
        assertEquals(2, py.dlpackDeleted.get() - d0, "the capsule died with the traceback");
        // an exception in the middle of a scope, with NumPy's array still alive
        PythonException half = assertThrows(PythonException.class,
                () -> scope.exec("a = np.from_dlpack(t)\nraise RuntimeError('half-way')"));
        assertEquals("RuntimeError: half-way", half.getMessage());
        assertEquals(3, py.dlpackExported.get() - e0);
        assertEquals(2, py.dlpackDeleted.get() - d0, "NumPy's array still holds the tensor");
        LiveExportsException held = assertThrows(LiveExportsException.class, arena::close);
        assertTrue(held.getMessage().contains("2 live exports"), held.getMessage());
        // Python threads taking and dropping tensors at once
        scope.exec("def work():\n    for _ in range(100):\n        b = np.from_dlpack(t)\n        assert b[3] == t_3\n"
                + "t_3 = float(np.from_dlpack(t)[3])\n"
                + "ts = [threading.Thread(target=work) for _ in range(4)]\nfor th in ts: th.start()\nfor th in ts: th.join()");
        assertEquals(404, py.dlpackExported.get() - e0);
        assertEquals(403, py.dlpackDeleted.get() - d0);
        scope.close();   // drops a and t
        try (PyScope s = py.newScope()) {
            s.exec("import gc; gc.collect()");
        }
        assertEquals(404, py.dlpackDeleted.get() - d0);
        assertEquals(0, py.dlpackStrayDeletes.get());
        arena.close();
    }

    @Test
    void numpysTensorsAreViewsOfTheSameMemoryAndTheirDeleterRunsOnce() {
        int major = TestPython.numpyMajor();
        scope.exec("x = np.arange(30, dtype=np.float32).reshape(5, 6)[1:, ::2]");
        long refs = (Long) scope.eval("sys.getrefcount(x)");
        long taken = py.dlpackImported.get(), handed = py.dlpackImportDeleted.get();
        try (Arena arena = Arena.ofConfined()) {
            NdArray v = scope.fromDLPack("x", arena);
            assertEquals(scope.eval("x.__array_interface__['data'][0]"), v.address());
            assertArrayEquals(new long[] {4, 3}, v.shape());
            assertArrayEquals(new long[] {24, 8}, v.byteStrides());
            assertFalse(v.isReadOnly());
            v.setFloat(-1f, 0, 0);                                   // Java writes, NumPy reads
            assertEquals(-1.0, scope.eval("float(x[0, 0])"));
            scope.exec("x[3, 2] = 77");                             // NumPy writes, Java reads
            assertEquals(77f, v.getFloat(3, 2));
            assertEquals(1, py.dlpackImported.get() - taken);
            assertEquals(0, py.dlpackImportDeleted.get() - handed);
            assertEquals(refs + 1, scope.eval("sys.getrefcount(x)"));
        }
        assertEquals(1, py.dlpackImportDeleted.get() - handed, "closing the arena called NumPy's deleter once");
        assertEquals(refs, scope.eval("sys.getrefcount(x)"));
        // a read-only array: a read-only view and segment (NumPy 2), or NumPy's own refusal (NumPy 1.x: legacy only)
        scope.exec("ro = np.arange(4.0); ro.flags.writeable = False");
        try (Arena arena = Arena.ofConfined()) {
            if (major >= 2) {
                NdArray v = scope.fromDLPack("ro", arena);
                assertTrue(v.isReadOnly());
                assertTrue(v.segment().isReadOnly());
                IllegalArgumentException w = assertThrows(IllegalArgumentException.class, () -> v.setDouble(9, 1));
                assertEquals("setDouble: this array is read-only; copy() it, or write through a writable view of the same"
                        + " memory", w.getMessage());
                IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
                        () -> v.segment().set(ValueLayout.JAVA_DOUBLE, 8, 9.0));
                assertEquals("Attempt to write a read-only segment", s.getMessage());
                IllegalArgumentException re = assertThrows(IllegalArgumentException.class,
                        () -> NdArray.of(v.segment(), DType.FLOAT64, 4).setDouble(9, 1));
                assertEquals("setDouble: this array is read-only; copy() it, or write through a writable view of the same"
                        + " memory", re.getMessage());
            } else {
                PythonException e = assertThrows(PythonException.class, () -> scope.fromDLPack("ro", arena));
                assertEquals("BufferError", e.pythonType());
            }
        }
        assertEquals(List.of(0.0, 1.0, 2.0, 3.0), scope.eval("ro.tolist()"));
    }

    @Test
    void aTensorPanbufCannotViewIsHandedBackAtOnce() {
        scope.exec("z = np.zeros(3, dtype=np.complex128)");
        long refs = (Long) scope.eval("sys.getrefcount(z)");
        long handed = py.dlpackImportDeleted.get();
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> scope.fromDLPack("z", arena));
            assertTrue(e.getMessage().matches("DLPack tensor at 0x[0-9a-f]+: data type complex128 \\(code 5, 128 bits\\) has"
                    + " no panbuf dtype \\(its deleter was called\\)"), e.getMessage());
        }
        assertEquals(1, py.dlpackImportDeleted.get() - handed);
        assertEquals(refs, scope.eval("sys.getrefcount(z)"));
        PythonException notAProducer = assertThrows(PythonException.class, () -> scope.fromDLPack("object()",
                Arena.ofAuto()));
        assertEquals("TypeError: builtins.object has no __dlpack__ method: it is not a DLPack producer",
                notAProducer.getMessage());
    }

    @Test
    void everyViewOfAReadOnlyPythonBufferIsReadOnlyDownToItsSegment() {
        scope.exec("b = b'immutable'\nro = np.arange(4, dtype=np.int32); ro.flags.writeable = False\n"
                + "ba = bytearray(b'mutable'); rmv = memoryview(ba).toreadonly()");
        try (Arena arena = Arena.ofConfined()) {
            for (String name : List.of("b", "ro", "rmv")) {
                NdArray v = scope.buffer(name, arena);
                assertTrue(v.isReadOnly(), name);
                assertTrue(v.segment().isReadOnly(), name);
                IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
                        () -> v.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 'X'), name);
                assertEquals("Attempt to write a read-only segment", s.getMessage());
                assertTrue(NdArray.of(v.segment(), DType.UINT8).isReadOnly(), name + ": rewrapping keeps it read-only");
                assertThrows(IllegalArgumentException.class, () -> v.copyTo(v), name);
            }
            NdArray b = scope.buffer("b", arena);
            IllegalArgumentException w = assertThrows(IllegalArgumentException.class, () -> b.setByte((byte) 'X', 0));
            assertEquals("setByte: this array is read-only; copy() it, or write through a writable view of the same memory",
                    w.getMessage());
            PythonException refused = assertThrows(PythonException.class, () -> scope.writableBuffer("b", arena));
            assertEquals("BufferError", refused.pythonType());
            NdArray writable = scope.buffer("ba", arena);
            assertFalse(writable.isReadOnly());
            assertFalse(writable.segment().isReadOnly());
        }
        assertEquals("immutable|[0, 1, 2, 3]|mutable", scope.eval("b.decode() + '|' + str(ro.tolist()) + '|' + ba.decode()"));
        scope.exec("del rmv");
    }

    @Test
    void javaMemoryTakenBackFromPythonIntoItsOwnArenaLetsTheArenaClose() {
        // Java -> NumPy -> Java (buffer protocol), into the very arena the memory lives in
        BufferArena arena = BufferArena.ofConfined();
        NdArray m = filled(arena, DType.FLOAT64, 6);
        scope.putNumpy("a", m);
        NdArray back = scope.buffer("a", arena);
        assertEquals(m.address(), back.address());
        LiveExportsException held = assertThrows(LiveExportsException.class, arena::close);
        assertTrue(held.getMessage().contains("(held by Python: the panbuf.SharedBuffer first bound to 'a', released when"
                + " Python drops its last reference to it and to everything made of it)"), held.getMessage());
        scope.exec("del a");
        arena.close();   // the arena hands its import back first; then nothing holds the export
        assertTrue(arena.isClosed());
        // Java -> __dlpack__ -> Java (DLPack): panbuf's own tensor, imported into its own arena
        BufferArena again = BufferArena.ofConfined();
        NdArray n = filled(again, DType.FLOAT64, 6);
        long taken = py.dlpackImported.get();
        scope.putTensor("t", n);
        NdArray round = scope.fromDLPack("t", again);
        assertEquals(n.address(), round.address());
        round.setDouble(42, 5);
        assertEquals(42.0, n.getDouble(5));
        assertEquals(taken, py.dlpackImported.get(), "panbuf's own tensor counts where it was made");
        scope.exec("del t");
        again.close();
        assertTrue(again.isClosed());
        // an empty buffer is a view of no elements
        try (Arena a = Arena.ofConfined()) {
            NdArray empty = scope.buffer("bytearray()", a);
            assertEquals(0, empty.elementCount());
        }
    }

    private String raised(String expression) {
        return assertThrows(PythonException.class, () -> scope.eval(expression), expression).getMessage();
    }

    private static List<Long> toList(long[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }

    private static List<Double> toList(float[] a) {
        List<Double> out = new java.util.ArrayList<>();
        for (float f : a) {
            out.add((double) f);
        }
        return out;
    }
}
