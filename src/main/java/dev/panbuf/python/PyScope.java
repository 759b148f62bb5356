package dev.panbuf.python;

import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.NdArray;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import dev.panbuf.shim.CPython;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A Python namespace (a globals dict) in the embedded interpreter: run code
 * in it, move values in and out, and share memory with it.
 *
 * <h2>Values</h2>
 * {@link #eval} and {@link #get} convert the result to Java:
 * <table>
 * <caption>Python to Java</caption>
 * <tr><th>Python</th><th>Java</th></tr>
 * <tr><td>{@code None}</td><td>{@code null}</td></tr>
 * <tr><td>{@code bool}</td><td>{@link Boolean}</td></tr>
 * <tr><td>{@code int} (and subclasses)</td><td>{@link Long}, or {@link java.math.BigInteger} beyond 64 bits</td></tr>
 * <tr><td>{@code float} (and subclasses)</td><td>{@link Double}</td></tr>
 * <tr><td>{@code str}</td><td>{@link String}</td></tr>
 * <tr><td>{@code bytes}</td><td>{@code byte[]} (a copy)</td></tr>
 * <tr><td>{@code list}, {@code tuple}</td><td>unmodifiable {@link java.util.List}, converted element by element</td></tr>
 * <tr><td>{@code dict}</td><td>unmodifiable {@link java.util.Map} in insertion order</td></tr>
 * <tr><td>NumPy scalars</td><td>as their {@code .item()}</td></tr>
 * </table>
 * Anything else is refused with {@link IllegalArgumentException} (convert it
 * in Python, or take its memory with {@link #buffer}). {@link #put} goes the
 * other way for {@code null}, {@link Boolean}, {@link Long}, {@link Integer},
 * {@link Short}, {@link Byte}, {@link Double}, {@link Float}, {@link String}
 * and {@code byte[]} (copied), and shares an {@link NdArray} (no copy).
 *
 * <h2>Memory, both ways</h2>
 * {@link #put put(name, ndArray)} binds a {@code memoryview} over the view's
 * memory and {@link #putNumpy} a NumPy array over it: Python reads and
 * writes the same bytes, read-only views stay read-only in Python, and the
 * memory stays pinned until Python drops its last reference (see
 * {@link Python}). {@link #buffer} does the reverse for any Python object
 * with the buffer protocol.
 *
 * <p>Python exceptions come out as {@link PythonException}. A scope may be
 * used from any thread; {@link #close()} clears its dict, dropping
 * Python's references to whatever the scope held.
 */
public final class PyScope implements AutoCloseable {

    private final Python py;
    private final CPython api;
    private volatile long globals;

    PyScope(Python py, long globals) {
        this.py = py;
        this.api = py.api;
        this.globals = globals;
    }

    private long globals() {
        long g = globals;
        if (g == 0) {
            throw new IllegalStateException("Already closed: this PyScope was closed");
        }
        return g;
    }

    /**
     * Runs statements ({@code exec}).
     *
     * @param code Python statements
     */
    public void exec(String code) {
        Objects.requireNonNull(code, "code");
        py.runWithGil(() -> {
            long g = globals();
            py.check(api.runString(code, Python.PY_FILE_INPUT, g, g), true);
        });
    }

    /**
     * Evaluates an expression and converts its value to Java (see the class comment).
     *
     * @param expression a Python expression
     * @return its value in Java
     */
    public Object eval(String expression) {
        Objects.requireNonNull(expression, "expression");
        return py.withGil(() -> {
            long g = globals();
            long r = py.check(api.runString(expression, Python.PY_EVAL_INPUT, g, g), false);
            return py.convert(r, 0, true);
        });
    }

    /**
     * {@return the value bound to {@code name}, converted to Java}
     *
     * @param name the Python variable's name
     */
    public Object get(String name) {
        return py.withGil(() -> {
            long v = api.dictGetItem(globals(), name);
            if (v == 0) {
                throw new IllegalArgumentException("no variable '" + name + "' in this scope");
            }
            return py.convert(v, 0, false);
        });
    }

    /**
     * {@return true when {@code name} is bound in this scope}
     *
     * @param name the Python variable's name
     */
    public boolean contains(String name) {
        return py.withGil(() -> api.dictGetItem(globals(), name) != 0);
    }

    /**
     * Unbinds {@code name}, dropping the scope's reference; no error when it is not bound.
     *
     * @param name the Python variable's name
     */
    public void remove(String name) {
        py.runWithGil(() -> {
            if (api.dictDelItem(globals(), name) != 0) {
                api.errClear();
            }
        });
    }

    /**
     * Binds {@code name} to a Python value for {@code value} (see the class
     * comment); an {@link NdArray} becomes a {@code memoryview} of the same
     * memory, as {@link #putMemoryView}.
     *
     * @param name the Python variable's name
     * @param value the value to write
     */
    public void put(String name, Object value) {
        Objects.requireNonNull(name, "name");
        if (value instanceof NdArray a) {
            putMemoryView(name, a);
            return;
        }
        py.runWithGil(() -> {
            long o = py.toPython(value);
            try {
                bind(name, o);
            } finally {
                api.decRef(o);
            }
        });
    }

    /**
     * Binds {@code name} to a {@code memoryview} of the view's memory (no
     * copy): same address, same shape, strides and format, read-only when the
     * view is. The memory is pinned while Python holds any reference.
     *
     * @param name the Python variable to bind
     * @param view the memory to share
     * @throws IllegalArgumentException when the view lives on the Java heap, or in an arena whose
     *         lifetime panbuf cannot pin (allocate from a {@link dev.panbuf.BufferArena})
     */
    public void putMemoryView(String name, NdArray view) {
        share(name, view, false);
    }

    /**
     * Binds {@code name} to a NumPy array over the view's memory (no copy), as
     * {@code numpy.asarray(memoryview)}: NumPy sees the same address, shape and
     * strides; a read-only view gives a read-only array ("assignment
     * destination is read-only").
     *
     * @param name the Python variable to bind
     * @param view the memory to share
     * @throws PythonException when NumPy cannot be imported
     */
    public void putNumpy(String name, NdArray view) {
        share(name, view, true);
    }

    private void share(String name, NdArray view, boolean numpy) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(view, "view");
        // Pin outside the GIL: pinning takes the arena's lock, and an arena that
        // closes holds that lock while it waits for the GIL (to release Python buffers).
        Export export = view.export();
        boolean[] adopted = {false};
        try {
            py.runWithGil(() -> {
                globals();
                long obj = py.newSharedBuffer(export.pointer().address());
                export.handOff();   // from here on the Python object releases it
                adopted[0] = true;
                bindShared(name, obj, numpy);
            });
        } finally {
            if (!adopted[0]) {
                export.close();
            }
        }
    }

    /** Binds a memoryview (or NumPy array) of a new SharedBuffer, consuming the reference {@code obj}. */
    private void bindShared(String name, long obj, boolean numpy) {
        long mv = api.memoryViewFromObject(obj);
        api.decRef(obj);   // the memoryview holds it now (or, on failure, this finalizes it)
        py.check(mv, false);
        try {
            if (!numpy) {
                bind(name, mv);
                return;
            }
            long locals = api.dictNew();
            try {
                api.dictSetItem(locals, "_m", mv);
                long arr = py.check(api.runString("__import__('numpy').asarray(_m)", Python.PY_EVAL_INPUT,
                        py.bridgeGlobals(), locals), false);
                try {
                    bind(name, arr);
                } finally {
                    api.decRef(arr);
                }
            } finally {
                api.decRef(locals);
            }
        } finally {
            api.decRef(mv);
        }
    }

    private void bind(String name, long value) {
        if (api.dictSetItem(globals(), name, value) != 0) {
            throw py.fetchError();
        }
    }

    /**
     * {@return the memory of the Python object that {@code expression} evaluates to
     * (a NumPy array, {@code bytearray}, {@code array.array}, {@code memoryview},
     * {@code bytes}, ...) as a view, with no copy: {@code PyObject_GetBuffer}
     * with {@code PyBUF_RECORDS_RO}} The view is writable when the object
     * allows writing, read-only otherwise. Python keeps the buffer exported
     * until {@code arena} closes (then {@code PyBuffer_Release} runs under the
     * GIL): meanwhile it cannot resize or free the memory.
     *
     * @param expression a Python expression whose value supports the buffer protocol
     * @param arena the arena whose closing gives the buffer back to Python
     * @throws PythonException when the object has no buffer or refuses it
     * @throws IllegalArgumentException when panbuf cannot type the buffer's format, or it has suboffsets
     */
    public NdArray buffer(String expression, Arena arena) {
        return takeBuffer(expression, arena, Python.PyBUF_RECORDS_RO);
    }

    /**
     * As {@link #buffer}, asking for a writable buffer ({@code PyBUF_RECORDS}):
     * a read-only object (say, {@code bytes}) refuses with {@code BufferError}.
     *
     * @param expression a Python expression whose value supports the buffer protocol
     * @param arena the arena whose closing gives the buffer back to Python
     * @return the view
     */
    public NdArray writableBuffer(String expression, Arena arena) {
        return takeBuffer(expression, arena, Python.PyBUF_RECORDS);
    }

    private NdArray takeBuffer(String expression, Arena arena, int flags) {
        Objects.requireNonNull(expression, "expression");
        Objects.requireNonNull(arena, "arena");
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("Already closed: cannot take a Python buffer into a closed arena");
        }
        long view = api.malloc(Python.PY_BUFFER_BYTES);
        if (view == 0) {
            throw new OutOfMemoryError("panbuf: malloc of a Py_buffer failed");
        }
        BufferInfo info;
        try {
            info = py.withGil(() -> {
                long g = globals();
                long obj = py.check(api.runString(expression, Python.PY_EVAL_INPUT, g, g), false);
                try {
                    if (api.getBuffer(obj, view, flags) != 0) {
                        throw py.fetchError();
                    }
                } finally {
                    api.decRef(obj);   // the Py_buffer holds its own reference to the exporter
                }
                try {
                    return BufferInfo.read(view, expression);
                } catch (RuntimeException e) {
                    api.bufferRelease(view);
                    throw e;
                }
            });
        } catch (RuntimeException | Error e) {
            api.free(view);
            throw e;
        }
        Runnable release = () -> {
            try {
                py.runWithGil(() -> api.bufferRelease(view));
            } finally {
                api.free(view);
                py.liveImports.decrementAndGet();
            }
        };
        py.liveImports.incrementAndGet();
        MemorySegment memory;
        try {
            memory = CPython.at(info.base, info.byteSize, arena, release);
        } catch (RuntimeException | Error e) {
            release.run();   // the arena closed meanwhile: hand the buffer back now
            throw e;
        }
        // Nothing below can fail: the geometry was proved in BufferInfo.read.
        NdArray v = NdArray.asStrided(memory, info.dtype, info.byteOffset, info.shape, info.strides);
        return info.readOnly ? v.asReadOnly() : v;
    }

    /** What a Py_buffer describes, checked before any arena takes it. */
    private record BufferInfo(long base, long byteSize, long byteOffset, long[] shape, long[] strides, DType dtype,
                              boolean readOnly) {

        static BufferInfo read(long view, String expression) {
            MemorySegment b = CPython.at(view, Python.PY_BUFFER_BYTES);
            long buf = b.get(JAVA_LONG, 0);
            long itemSize = b.get(JAVA_LONG, 24);
            boolean readOnly = b.get(JAVA_INT, 32) != 0;
            int ndim = b.get(JAVA_INT, 36);
            long format = b.get(JAVA_LONG, 40);
            long shapeAt = b.get(JAVA_LONG, 48);
            long stridesAt = b.get(JAVA_LONG, 56);
            if (b.get(JAVA_LONG, 64) != 0) {
                throw new IllegalArgumentException("the buffer of " + expression + " has suboffsets (an indirect,"
                        + " PIL-style buffer), which panbuf does not support");
            }
            if (ndim < 0 || ndim > NdArray.MAX_NDIM || ndim > 0 && shapeAt == 0) {
                throw new IllegalArgumentException("the buffer of " + expression + " has ndim " + ndim
                        + (ndim > 0 && shapeAt == 0 ? " and no shape" : ""));
            }
            String fmt = format == 0 ? "B" : CPython.string(format);
            DType dtype;
            try {
                dtype = DType.fromFormat(fmt);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the buffer of " + expression + " has format \"" + fmt
                        + "\" that panbuf cannot type: " + e.getMessage(), e);
            }
            if (dtype.byteSize() != itemSize) {
                throw new IllegalArgumentException("the buffer of " + expression + " has format \"" + fmt + "\" ("
                        + dtype.byteSize() + " bytes) but itemsize " + itemSize);
            }
            long[] shape = ndim == 0 ? new long[0] : CPython.at(shapeAt, 8L * ndim).toArray(JAVA_LONG);
            long[] strides = new long[ndim];
            if (stridesAt != 0) {
                MemorySegment.copy(CPython.at(stridesAt, 8L * ndim), JAVA_LONG, 0, strides, 0, ndim);
            } else {
                long step = itemSize;
                for (int k = ndim - 1; k >= 0; k--) {
                    strides[k] = step;
                    step *= Math.max(1, shape[k]);
                }
            }
            long lo = 0, hi = 0;
            boolean empty = false;
            for (int k = 0; k < ndim; k++) {
                if (shape[k] < 0) {
                    throw new IllegalArgumentException("the buffer of " + expression + " has a negative dimension");
                }
                if (shape[k] == 0) {
                    empty = true;
                    continue;
                }
                long reach = Math.multiplyExact(strides[k], shape[k] - 1);
                if (reach < 0) {
                    lo = Math.addExact(lo, reach);
                } else {
                    hi = Math.addExact(hi, reach);
                }
            }
            if (empty) {
                return new BufferInfo(buf, 0, 0, shape, strides, dtype, readOnly);
            }
            if (buf == 0) {
                throw new IllegalArgumentException("the buffer of " + expression + " has a NULL pointer but elements");
            }
            long size = Math.addExact(hi - lo, itemSize);
            long base = buf + lo;
            // Prove the geometry now, so that building the view later cannot fail.
            NdArray.asStrided(CPython.at(base, size), dtype, -lo, shape, strides);
            return new BufferInfo(base, size, -lo, shape, strides, dtype, readOnly);
        }
    }

    // ------------------------------------------------------------------ DLPack

    /**
     * Binds {@code name} to an object whose {@code __dlpack__()} hands
     * {@code export}'s tensor to a consumer such as {@code numpy.from_dlpack(name)}
     * (a capsule named {@code "dltensor"} for a legacy export,
     * {@code "dltensor_versioned"} for a versioned one). The export is handed
     * off: the consumer calls its deleter, or the capsule does when nobody
     * consumed it.
     *
     * @param name the Python variable to bind
     * @param export the tensor to hand over
     */
    public void putDLPack(String name, DLPackExport export) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(export, "export");
        boolean versioned = export.isVersioned();
        long tensor = export.pointer().address();
        py.runWithGil(() -> {
            long g = globals();
            long capsule = api.capsuleNew(tensor, versioned ? py.capsuleVersioned : py.capsuleLegacy, py.capsuleDestructor);
            if (capsule == 0) {
                throw py.fetchError();   // the export is still Java's
            }
            export.handOff();   // the capsule (or its consumer) deletes the tensor now
            long locals = api.dictNew();
            try {
                api.dictSetItem(locals, "_c", capsule);
                long holder = py.check(api.runString("DLPackHolder(_c)", Python.PY_EVAL_INPUT, py.bridgeGlobals(), locals),
                        false);
                try {
                    if (api.dictSetItem(g, name, holder) != 0) {
                        throw py.fetchError();
                    }
                } finally {
                    api.decRef(holder);
                }
            } finally {
                api.decRef(locals);
                api.decRef(capsule);
            }
        });
    }

    /**
     * Takes the DLPack tensor of the object {@code expression} evaluates to
     * (its {@code __dlpack__()}: a NumPy array, a PyTorch tensor on the CPU,
     * ...) into {@code arena}, with no copy, as
     * {@link DLPack#importVersioned}/{@link DLPack#importLegacy} do; the
     * producer's deleter runs under the GIL when the arena closes.
     *
     * @param expression a Python expression whose value has {@code __dlpack__}
     * @param arena the arena whose closing runs the producer's deleter
     * @return the view
     */
    public NdArray fromDLPack(String expression, Arena arena) {
        Objects.requireNonNull(expression, "expression");
        Objects.requireNonNull(arena, "arena");
        long[] taken = py.withGil(() -> {
            long g = globals();
            long capsule = py.check(api.runString("(" + expression + ").__dlpack__()", Python.PY_EVAL_INPUT, g, g), false);
            try {
                boolean versioned = api.capsuleIsValid(capsule, py.capsuleVersioned);
                if (!versioned && !api.capsuleIsValid(capsule, py.capsuleLegacy)) {
                    throw new IllegalArgumentException("(" + expression + ").__dlpack__() did not return a DLPack capsule"
                            + " named \"dltensor\" or \"dltensor_versioned\" (was it already consumed?)");
                }
                long name = versioned ? py.capsuleVersioned : py.capsuleLegacy;
                long tensor = api.capsulePointer(capsule, name);
                if (tensor == 0 || api.capsuleSetName(capsule, versioned ? py.capsuleUsedVersioned : py.capsuleUsedLegacy) != 0) {
                    throw py.fetchError();
                }
                return new long[] {tensor, versioned ? 1 : 0};
            } finally {
                api.decRef(capsule);
            }
        });
        MemorySegment tensor = MemorySegment.ofAddress(taken[0]);
        // The producer's deleter may touch Python objects: run it under the GIL.
        return taken[1] == 1
                ? DLPack.importVersioned(tensor, arena, py::runWithGil)
                : DLPack.importLegacy(tensor, arena, py::runWithGil);
    }

    /** Drops Python's references to everything bound in this scope; calling it again is harmless. */
    @Override
    public void close() {
        long g = globals;
        if (g == 0) {
            return;
        }
        py.runWithGil(() -> {
            if (globals == 0) {
                return;
            }
            globals = 0;
            api.dictClear(g);
            api.decRef(g);
        });
    }
}
