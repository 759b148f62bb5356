package dev.panbuf.python;

import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.NdArray;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import dev.panbuf.shim.CPython;
import dev.panbuf.shim.Lifetimes;

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
            py.check(py.run(code, Python.PY_FILE_INPUT, g, g), true);
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
            long r = py.check(py.run(expression, Python.PY_EVAL_INPUT, g, g), false);
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
        share(name, view, Binding.MEMORYVIEW);
    }

    /**
     * Binds {@code name} to a NumPy array over the view's memory (no copy):
     * NumPy sees the same address, shape and strides; a read-only view gives a
     * read-only array ("assignment destination is read-only"). The array's
     * {@code base} holds panbuf's shared object itself, which has nothing
     * Python code can release: the memory stays pinned while the array, or
     * any view NumPy makes of it, lives. (An array that NumPy builds from a
     * memoryview, {@code numpy.asarray(mv)}, holds the memory only through a
     * memoryview that {@code a.base.release()} lets go, as it does for every
     * object with the buffer protocol; prefer putNumpy.)
     *
     * @param name the Python variable to bind
     * @param view the memory to share
     * @throws PythonException when NumPy cannot be imported
     */
    public void putNumpy(String name, NdArray view) {
        share(name, view, Binding.NUMPY);
    }

    /**
     * Binds {@code name} to the {@code panbuf.SharedBuffer} object itself: the
     * view's memory (no copy) through both the buffer protocol
     * ({@code memoryview(t)}, {@code numpy.asarray(t)}) and DLPack
     * ({@code numpy.from_dlpack(t)}, {@code torch.from_dlpack(t)},
     * {@code jax.dlpack.from_dlpack(t)}).
     *
     * <p>Its {@code __dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None)}
     * follows the Python array API standard: a {@code "dltensor_versioned"}
     * capsule for consumers that read DLPack 1.x ({@code max_version >= (1, 0)},
     * with the read-only flag for read-only views), else a legacy
     * {@code "dltensor"}; strides in elements; device {@code (1, 0)} (the CPU)
     * only. The tensor is the view's own memory unless {@code copy=True}, or
     * unless the view cannot be shared with that consumer: a read-only view
     * asked for as a legacy tensor (which cannot say read-only) or by PyTorch
     * (which ignores the flag), a negative stride asked for by PyTorch (which
     * aborts the process on one), a byte stride that is not a whole number of
     * elements, a non-native byte order. Those get a copy, flagged
     * {@code DLPACK_FLAG_BITMASK_IS_COPIED}, or with {@code copy=False} a
     * {@code BufferError} naming the reason. Each tensor is an export of its
     * own: while it lives the view's arena refuses to close and names it; its
     * deleter runs exactly once (when the consumer drops it, or when its
     * capsule dies unconsumed).
     *
     * @param name the Python name to bind
     * @param view the memory to share (off-heap, in memory whose lifetime panbuf can pin)
     * @throws IllegalArgumentException as {@link #putMemoryView}
     */
    public void putTensor(String name, NdArray view) {
        share(name, view, Binding.OBJECT);
    }

    /** What {@link #share} binds: a memoryview, a NumPy array, or the SharedBuffer itself. */
    private enum Binding { MEMORYVIEW, NUMPY, OBJECT }

    private void share(String name, NdArray view, Binding binding) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(view, "view");
        // Pin outside the GIL: pinning takes the arena's lock, and an arena that
        // closes holds that lock while it waits for the GIL (to release Python buffers).
        Export export = view.export();
        Lifetimes.get().describeHolder(export, () -> "held by Python: the panbuf.SharedBuffer first bound to '" + name
                + "', released when Python drops its last reference to it and to everything made of it");
        boolean[] adopted = {false};
        try {
            py.runWithGil(() -> {
                globals();
                long obj = py.newSharedBuffer(export.pointer().address(), view);
                export.handOff();   // from here on the Python object releases it
                adopted[0] = true;
                bindShared(name, obj, binding);
            });
        } finally {
            if (!adopted[0]) {
                export.close();
            }
        }
    }

    /** Binds a new SharedBuffer (or a memoryview or NumPy array of it), consuming the reference {@code obj}. */
    private void bindShared(String name, long obj, Binding binding) {
        switch (binding) {
            case OBJECT -> {
                try {
                    bind(name, obj);
                } finally {
                    api.decRef(obj);
                }
            }
            case MEMORYVIEW -> {
                long mv = api.memoryViewFromObject(obj);
                api.decRef(obj);   // the memoryview holds it now (or, on failure, this deallocates it)
                py.check(mv, false);
                try {
                    bind(name, mv);
                } finally {
                    api.decRef(mv);
                }
            }
            case NUMPY -> {
                // The array's base holds the SharedBuffer itself: no memoryview that a.base.release() could let go.
                long locals = api.dictNew();
                long arr;
                try {
                    api.dictSetItem(locals, "_o", obj);
                    arr = py.run("_numpy_of(_o)", Python.PY_EVAL_INPUT, py.bridgeGlobals(), locals);
                } finally {
                    api.decRef(locals);
                    api.decRef(obj);   // the array holds it now (or, on failure, this deallocates it)
                }
                py.check(arr, false);
                try {
                    bind(name, arr);
                } finally {
                    api.decRef(arr);
                }
            }
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
     * {@code bytes}, ...) as a view, with no copy}: {@code PyObject_GetBuffer}
     * asking for a writable buffer ({@code PyBUF_RECORDS}) and, when the object
     * refuses, for a read-only one ({@code PyBUF_RECORDS_RO}), as NumPy does.
     * The view is writable only when the object gave a writable buffer;
     * otherwise the view and its {@link NdArray#segment() segment} are
     * read-only, so no Java write can reach an immutable object such as
     * {@code bytes}. Python keeps the buffer exported until {@code arena}
     * closes (then {@code PyBuffer_Release} runs under the GIL): meanwhile it
     * cannot resize or free the memory.
     *
     * @param expression a Python expression whose value supports the buffer protocol
     * @param arena the arena whose closing gives the buffer back to Python
     * @throws PythonException when the object has no buffer or refuses it
     * @throws IllegalArgumentException when panbuf cannot type the buffer's format, or it has suboffsets
     */
    public NdArray buffer(String expression, Arena arena) {
        return takeBuffer(expression, arena, false);
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
        return takeBuffer(expression, arena, true);
    }

    private NdArray takeBuffer(String expression, Arena arena, boolean writableOnly) {
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
                long obj = py.check(py.run(expression, Python.PY_EVAL_INPUT, g, g), false);
                boolean readOnly = false;
                try {
                    if (api.getBuffer(obj, view, Python.PyBUF_RECORDS) != 0) {
                        if (writableOnly) {
                            throw py.fetchError();
                        }
                        // It refuses to be written (bytes, a read-only NumPy array, ...): read-only, whatever it says.
                        api.errClear();
                        readOnly = true;
                        if (api.getBuffer(obj, view, Python.PyBUF_RECORDS_RO) != 0) {
                            throw py.fetchError();
                        }
                    }
                } finally {
                    api.decRef(obj);   // the Py_buffer holds its own reference to the exporter
                }
                try {
                    return BufferInfo.read(view, expression, readOnly);
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
            // An import like any other: a BufferArena releases it before it counts its exports, so a view of
            // Java memory taken back from Python (putNumpy, then buffer) never keeps its own arena open.
            memory = Lifetimes.get().holdImport(arena, "the buffer of " + expression + " (PyObject_GetBuffer)", 0,
                    info.base, info.byteSize, release);
        } catch (RuntimeException | Error e) {
            release.run();   // the arena closed meanwhile: hand the buffer back now
            throw e;
        }
        // Nothing below can fail: the geometry was proved in BufferInfo.read. A read-only buffer gives a
        // read-only segment too, so not even segment() can write it.
        return NdArray.asStrided(info.readOnly ? memory.asReadOnly() : memory, info.dtype, info.byteOffset, info.shape,
                info.strides);
    }

    /** What a Py_buffer describes, checked before any arena takes it. */
    private record BufferInfo(long base, long byteSize, long byteOffset, long[] shape, long[] strides, DType dtype,
                              boolean readOnly) {

        static BufferInfo read(long view, String expression, boolean refusedWritable) {
            MemorySegment b = CPython.at(view, Python.PY_BUFFER_BYTES);
            long buf = b.get(JAVA_LONG, 0);
            long itemSize = b.get(JAVA_LONG, 24);
            boolean readOnly = refusedWritable || b.get(JAVA_INT, 32) != 0;
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
                long holder = py.check(py.run("DLPackHolder(_c, " + (versioned ? "True" : "False") + ")",
                        Python.PY_EVAL_INPUT, py.bridgeGlobals(), locals), false);
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
     * (a NumPy array, a PyTorch tensor on the CPU, a JAX array, ...) into
     * {@code arena} as a view of the same memory, with no copy, as
     * {@link DLPack#importVersioned}/{@link DLPack#importLegacy} do. The
     * producer is asked for {@code __dlpack__(max_version=(1, 0), dl_device=(1, 0), copy=False)}
     * (a producer older than those keywords, such as NumPy before 2.1, for
     * {@code __dlpack__()}): DLPack 1.x when it speaks it, on the CPU, and
     * never a copy. The view is read-only when the tensor is flagged
     * read-only, or when it is a legacy tensor of an object whose buffer is
     * read-only (a JAX array: JAX arrays are immutable). The producer's
     * deleter runs exactly once, under the GIL, when the arena closes (or at
     * once, when panbuf refuses the tensor).
     *
     * @param expression a Python expression whose value has {@code __dlpack__}
     * @param arena the arena whose closing runs the producer's deleter
     * @return the view
     * @throws PythonException when the object is no DLPack producer, or its {@code __dlpack__} raises
     * @throws IllegalArgumentException when panbuf cannot view the tensor (its deleter has then run)
     */
    public NdArray fromDLPack(String expression, Arena arena) {
        Objects.requireNonNull(expression, "expression");
        Objects.requireNonNull(arena, "arena");
        long[] taken = py.withGil(() -> {
            long g = globals();
            long obj = py.check(py.run(expression, Python.PY_EVAL_INPUT, g, g), false);
            long locals = api.dictNew();
            long capsule;
            boolean readOnlyHint = false;
            try {
                api.dictSetItem(locals, "_x", obj);
                capsule = py.check(py.run("_take_dlpack(_x)", Python.PY_EVAL_INPUT, py.bridgeGlobals(), locals), false);
                if (!api.capsuleIsValid(capsule, py.capsuleVersioned)) {
                    api.errClear();
                    long ro = py.run("_says_read_only(_x)", Python.PY_EVAL_INPUT, py.bridgeGlobals(), locals);
                    if (ro == 0) {
                        api.decRef(capsule);
                        throw py.fetchError();
                    }
                    readOnlyHint = ro == py.trueObj;
                    api.decRef(ro);
                }
            } finally {
                api.decRef(locals);
                api.decRef(obj);
            }
            try {
                boolean versioned = api.capsuleIsValid(capsule, py.capsuleVersioned);
                if (!versioned && !api.capsuleIsValid(capsule, py.capsuleLegacy)) {
                    api.errClear();
                    throw new IllegalArgumentException("(" + expression + ").__dlpack__() did not return a DLPack capsule"
                            + " named \"dltensor\" or \"dltensor_versioned\" (was it already consumed?)");
                }
                long name = versioned ? py.capsuleVersioned : py.capsuleLegacy;
                long tensor = api.capsulePointer(capsule, name);
                if (tensor == 0 || api.capsuleSetName(capsule, versioned ? py.capsuleUsedVersioned : py.capsuleUsedLegacy) != 0) {
                    throw py.fetchError();
                }
                // Renamed "used_...": the capsule no longer deletes it; panbuf does, exactly once. A tensor that a
                // panbuf.SharedBuffer made is counted where it was made (its deleter counts itself).
                if (!py.isOwnTensor(tensor)) {
                    py.dlpackImported.incrementAndGet();
                }
                return new long[] {tensor, versioned ? 1 : 0, readOnlyHint ? 1 : 0};
            } finally {
                api.decRef(capsule);
            }
        });
        MemorySegment tensor = MemorySegment.ofAddress(taken[0]);
        // The producer's deleter may touch Python objects: run it under the GIL.
        java.util.function.Consumer<Runnable> underGil = delete -> {
            py.dlpackImportDeleted.incrementAndGet();
            py.runWithGil(delete);
        };
        return taken[1] == 1
                ? DLPack.importVersioned(tensor, arena, underGil)
                : DLPack.importLegacy(tensor, arena, underGil, taken[2] == 1);
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
