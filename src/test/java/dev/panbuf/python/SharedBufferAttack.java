package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;

import java.util.List;

/**
 * A child JVM's program for {@link SharedBufferLifetimeTest}: gives NumPy a
 * view of Java memory through each kind of shared object, then tries, from
 * plain Python, every way we know to make the shared object let go of the
 * memory while NumPy and a memoryview still hold it, and checks after each
 * that the arena still refuses to close and NumPy still reads the right
 * bytes. Prints {@code TRICK name=outcome} lines, then {@code RESULT=ok}; a
 * use-after-free would crash this JVM instead.
 */
public final class SharedBufferAttack {

    /** Python statements that try to release the memory early ({@code o} is the shared object). */
    static final List<String> TRICKS = List.of(
            "o.__del__()",
            "type(o).__del__(o)",
            "o.__dealloc__()",
            "o.__reduce__()",
            "o.__reduce_ex__(2)",
            "copy.copy(o)",
            "copy.deepcopy(o)",
            "pickle.dumps(o)",
            "gc.get_referents(o)",
            "object.__new__(type(o))",
            "type(o)()",
            "o.__init__()",
            "o.__class__ = bytearray",
            "setattr(type(o), '__del__', lambda self: None)",
            "a.base.release()",
            "mv.release()",
            "b.base.release()",
            "del a.base",
            "o.__dlpack__(max_version=(1, 0))",
            "gc.collect()");

    private SharedBufferAttack() {}

    public static void main(String[] args) {
        Python py = Python.get();
        for (String kind : List.of("putNumpy", "putMemoryView", "putTensor")) {
            BufferArena arena = BufferArena.ofConfined();
            NdArray m = NdArray.allocate(arena, DType.INT64, 4096);
            for (long i = 0; i < 4096; i++) {
                m.setLong(i, i);
            }
            try (PyScope scope = py.newScope()) {
                scope.exec("import numpy as np, gc, copy, pickle");
                switch (kind) {
                    case "putNumpy" -> {
                        scope.putNumpy("a", m);
                        scope.exec("o = a.base[1]");
                    }
                    case "putMemoryView" -> {
                        scope.putMemoryView("v", m);
                        scope.exec("o = v.obj; a = np.asarray(v); del v");
                    }
                    default -> {
                        scope.putTensor("o", m);
                        scope.exec("a = np.asarray(o)");
                    }
                }
                scope.exec("mv = memoryview(a); b = np.asarray(mv)");   // mv now has an export of its own
                for (String trick : TRICKS) {
                    String outcome;
                    try {
                        scope.exec(trick);
                        outcome = "returned";
                    } catch (PythonException e) {
                        outcome = e.getMessage();
                    }
                    System.out.println("TRICK " + kind + " " + trick + "=" + outcome);
                    // NumPy and the memoryview must still see the memory, and Java must not be able to free it.
                    long last = (Long) scope.eval("int(a[4095]) + int(b[4095])");
                    if (last != 2 * 4095) {
                        throw new AssertionError(kind + ": after " + trick + " NumPy reads " + last);
                    }
                    try {
                        arena.close();
                        throw new AssertionError(kind + ": after " + trick + " the arena closed while NumPy holds it");
                    } catch (LiveExportsException expected) {
                        // still pinned
                    }
                }
                m.setLong(-7, 4095);
                System.out.println("READ " + kind + "=" + scope.eval("int(a[4095])"));
                scope.exec("del o, a, mv, b; gc.collect()");
            }
            arena.close();   // Python let go: the export was released exactly when the last holder went
            System.out.println("CLOSED " + kind + "=" + py.liveSharedBuffers());
        }
        // The array putNumpy makes is the only holder: its base offers nothing to release.
        BufferArena arena = BufferArena.ofConfined();
        NdArray m = NdArray.allocate(arena, DType.INT64, 4096);
        m.setLong(42, 4095);
        try (PyScope scope = py.newScope()) {
            scope.putNumpy("a", m);
            for (String trick : List.of("a.base.release()", "a.base[1].release()", "a.base.__class__ = tuple",
                    "gc.collect()")) {
                String outcome;
                try {
                    scope.exec("import gc\n" + trick);
                    outcome = "returned";
                } catch (PythonException e) {
                    outcome = e.getMessage();
                }
                System.out.println("ALONE " + trick + "=" + outcome);
                try {
                    arena.close();
                    throw new AssertionError("after " + trick + " the arena closed while NumPy's array holds it");
                } catch (LiveExportsException expected) {
                    // still pinned
                }
            }
            System.out.println("ALONE READ=" + scope.eval("int(a[4095])"));
        }
        arena.close();
        System.out.println("RESULT=ok");
    }
}
