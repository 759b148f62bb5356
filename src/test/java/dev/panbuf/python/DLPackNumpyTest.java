package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DLPack against NumPy (1.x and 2.x) in the same process: {@code np.from_dlpack} of a
 * {@link DLPackExport} handed over with {@link PyScope#putDLPack} (a legacy
 * capsule named "dltensor", which every NumPy takes), and
 * panbuf's import of NumPy's own {@code __dlpack__}: same address both ways,
 * and each producer's deleter called exactly once.
 */
@ExtendWith(LeakCheck.class)
class DLPackNumpyTest {

    private PyScope scope;

    @BeforeAll
    static void needsPython() {
        TestPython.require();
    }

    @BeforeEach
    void open() {
        scope = Python.get().newScope();
        scope.exec("import numpy as np, sys, gc");
    }

    @AfterEach
    void close() {
        scope.close();
    }

    @Test
    void numpyFromDlpackSeesPanbufMemoryAndDeletesOnce() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT64, 3, 4);
            m.setDouble(9.5, 2, 1);
            NdArray view = m.get("::-1, 1::2");
            DLPackExport e = DLPack.exportLegacy(view);
            scope.putDLPack("h", e);
            scope.exec("a = np.from_dlpack(h)");
            assertEquals(view.address(), scope.eval("a.__array_interface__['data'][0]"));
            assertEquals(List.of(3L, 2L), scope.eval("list(a.shape)"));
            assertEquals(List.of(-32L, 16L), scope.eval("list(a.strides)"));
            assertEquals(9.5, scope.eval("float(a[0, 0])"));
            m.setDouble(-4.0, 0, 3);                      // Java writes, NumPy reads
            assertEquals(-4.0, scope.eval("float(a[2, 1])"));
            // NumPy marks every array of a legacy tensor read-only (a legacy tensor cannot say whether it may be written)
            PythonException ro = assertThrows(PythonException.class, () -> scope.exec("a[2, 1] = 1.0"));
            assertEquals("assignment destination is read-only", ro.pythonMessage());
            assertFalse(e.isDeleted());
            assertThrows(LiveExportsException.class, arena::close);
            PythonException twice = assertThrows(PythonException.class, () -> scope.exec("np.from_dlpack(h)"));
            assertEquals("BufferError", twice.pythonType());
            scope.exec("del a, h; gc.collect()");
            assertTrue(e.isDeleted(), "NumPy called the deleter when its array died");
        }
    }

    @Test
    void anUnconsumedCapsuleDeletesItsTensor() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.INT32, 6);
            DLPackExport legacy = DLPack.exportLegacy(m);
            DLPackExport versioned = DLPack.export(m.asReadOnly());
            scope.putDLPack("h1", legacy);
            scope.putDLPack("h2", versioned);
            assertEquals(2, arena.liveExportCount());
            scope.exec("del h1, h2; gc.collect()");
            assertTrue(legacy.isDeleted());
            assertTrue(versioned.isDeleted());
            assertEquals(0, arena.liveExportCount());
        }
    }

    @Test
    void panbufImportsNumpysDlpackAndCallsItsDeleterUnderTheGil() {
        scope.exec("x = np.arange(20, dtype=np.int16).reshape(4, 5)[:, ::2]");
        long refs = (Long) scope.eval("sys.getrefcount(x)");
        try (Arena arena = Arena.ofShared()) {
            NdArray v = scope.fromDLPack("x", arena);
            assertEquals(scope.eval("x.__array_interface__['data'][0]"), v.address());
            assertEquals(DType.INT16, v.dtype());
            assertEquals(List.of(10L, 4L), List.of(v.byteStride(0), v.byteStride(1)));
            assertEquals(12, v.getShort(2, 1));
            v.setShort((short) -1, 0, 0);
            assertEquals(-1L, scope.eval("int(x[0, 0])"));
            assertEquals(refs + 1, scope.eval("sys.getrefcount(x)"), "NumPy's tensor holds the array");
        }
        assertEquals(refs, scope.eval("sys.getrefcount(x)"), "closing the arena called NumPy's deleter");
    }

    @Test
    void javaToNumpyByDlpackAndBackByTheBufferProtocolKeepsTheAddress() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.UINT8, 4, 4);
            scope.putDLPack("h", DLPack.exportLegacy(m.transpose()));
            scope.exec("a = np.from_dlpack(h); del h");
            if (TestPython.numpyMajor() == 1) {
                // NumPy 1.x cannot re-export its read-only from_dlpack array through DLPack (legacy only)
                PythonException refused = assertThrows(PythonException.class, () -> scope.fromDLPack("a", Arena.ofAuto()));
                assertEquals("BufferError", refused.pythonType());
            } else {
                // NumPy 2.x re-exports it as DLPack 1.x flagged read-only: a read-only view of the same memory
                try (Arena again = Arena.ofConfined()) {
                    NdArray v = scope.fromDLPack("a", again);
                    assertEquals(m.address(), v.address());
                    assertTrue(v.isReadOnly());
                    assertTrue(v.segment().isReadOnly());
                }
            }
            // the buffer protocol takes it back either way
            try (Arena back = Arena.ofConfined()) {
                NdArray again = scope.buffer("a", back);
                assertTrue(again.isReadOnly());
                assertEquals(m.address(), again.address());
                assertEquals(java.util.Arrays.toString(m.transpose().byteStrides()), java.util.Arrays.toString(again.byteStrides()));
                assertEquals(java.util.Arrays.toString(m.transpose().shape()), java.util.Arrays.toString(again.shape()));
            }
            scope.exec("del a; gc.collect()");
            assertEquals(0, arena.liveExportCount());
        }
    }
}
