package dev.panbuf.python;

import dev.panbuf.shim.CPython;
import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A CPython interpreter inside this JVM, reached through FFM downcalls into
 * {@code libpython3.X.so}: run Python code ({@link PyScope}) and share memory
 * with it both ways through the buffer protocol, without copying.
 *
 * <h2>Optional</h2>
 * Nothing else in panbuf needs libpython. {@link #isAvailable()} says whether
 * it could be loaded here ({@link #unavailableReason()} says why not);
 * {@link #get()} loads it on first use, from the file named by the system
 * property {@value CPython#LIBRARY_PROPERTY}, or else the first
 * {@code libpython3.14.so.1.0} ... {@code libpython3.8.so} the dynamic linker
 * finds. The interpreter beside that library ({@code <prefix>/bin/python3.X})
 * gives the embedded interpreter its {@code sys.path}, so it sees the same
 * packages (NumPy) as that interpreter. It is started once per process with
 * {@code Py_InitializeEx(0)} (Python installs no signal handlers, which stay
 * the JVM's) and never finalized.
 *
 * <h2>Threads and the GIL</h2>
 * Any Java thread may call into Python: each call takes the GIL with
 * {@code PyGILState_Ensure} and gives it back with {@code PyGILState_Release}
 * (virtual threads hand their call to a platform thread, because the GIL
 * belongs to an OS thread and a virtual thread may move between OS threads).
 * Between calls no Java thread holds the GIL, so Python threads run freely.
 * Upcalls from Python into Java (the buffer protocol of shared views, the
 * finalizers that release them, DLPack capsule destructors) catch every
 * Java exception: an exception escaping an upcall would end the JVM; they
 * report failures to Python as {@code BufferError} where Python expects one.
 *
 * <h2>Lifetimes</h2>
 * <ul>
 * <li>Java memory shared with Python ({@link PyScope#put(String, Object)} of
 *     an {@link dev.panbuf.NdArray}, {@link PyScope#putNumpy}) is exported as a
 *     {@code pb_buffer} (a {@code Py_buffer} by layout) held by a small Python
 *     object of type {@code panbuf.SharedBuffer}. The object implements the
 *     buffer protocol, every memoryview and NumPy array made from it keeps it
 *     alive, and it releases the export when Python's last reference to it
 *     goes away. Until then the memory is pinned: its
 *     {@link dev.panbuf.BufferArena} refuses to close with
 *     {@link dev.panbuf.LiveExportsException} (and frees nothing), and its
 *     {@link dev.panbuf.GrowableBuffer} refuses to resize.</li>
 * <li>A Python buffer taken into Java ({@link PyScope#buffer}) holds a
 *     {@code Py_buffer} obtained with {@code PyObject_GetBuffer} until the
 *     Java arena closes, when {@code PyBuffer_Release} runs under the GIL.
 *     Meanwhile Python cannot resize or free it: {@code bytearray.append}
 *     raises {@code BufferError}.</li>
 * </ul>
 * Rule for callers: do not close an arena holding Python buffers from a
 * thread that owns a lock a Python thread may wait for inside Java; the
 * release needs the GIL.
 */
public final class Python {

    // PyBUF_* request flags (CPython's pybuffer.h)
    static final int PyBUF_WRITABLE = 0x0001, PyBUF_FORMAT = 0x0004, PyBUF_ND = 0x0008, PyBUF_STRIDES = 0x0018,
            PyBUF_C_CONTIGUOUS = 0x0038, PyBUF_F_CONTIGUOUS = 0x0058, PyBUF_ANY_CONTIGUOUS = 0x0098,
            PyBUF_RECORDS_RO = PyBUF_STRIDES | PyBUF_FORMAT, PyBUF_RECORDS = PyBUF_RECORDS_RO | PyBUF_WRITABLE;
    static final int PY_FILE_INPUT = 257, PY_EVAL_INPUT = 258;
    private static final int SLOT_BF_GETBUFFER = 1, SLOT_TP_FINALIZE = 80;
    private static final long TPFLAGS_DISALLOW_INSTANTIATION = 1L << 7, TPFLAGS_IMMUTABLETYPE = 1L << 8;
    static final long TPFLAGS_LONG = 1L << 24, TPFLAGS_LIST = 1L << 25, TPFLAGS_TUPLE = 1L << 26,
            TPFLAGS_BYTES = 1L << 27, TPFLAGS_UNICODE = 1L << 28, TPFLAGS_DICT = 1L << 29;
    /** Bytes of the 11 Py_buffer fields. */
    static final long PY_BUFFER_BYTES = 80;

    private static final String SETUP = """
            import sys
            if not hasattr(sys, 'argv'):
                sys.argv = ['panbuf']
            import traceback as _traceback

            def _format(t, v, tb):
                name = type(v).__name__ if v is not None else getattr(t, '__name__', str(t))
                text = ''.join(_traceback.format_exception(t, v, tb)) if t is not None else ''
                return (name, '' if v is None else str(v), text)

            def _norm(o):
                np = sys.modules.get('numpy')
                if np is not None and isinstance(o, np.generic):
                    return o.item()
                return o

            class DLPackHolder:
                '''Hands one DLPack capsule to a consumer such as numpy.from_dlpack.'''
                def __init__(self, capsule):
                    self._capsule = capsule
                def __dlpack__(self, stream=None, **kwargs):
                    c, self._capsule = self._capsule, None
                    if c is None:
                        raise BufferError('this DLPack tensor was already consumed')
                    return c
                def __dlpack_device__(self):
                    return (1, 0)
            """;

    private static final Object LOCK = new Object();
    private static volatile Python instance;
    private static volatile Throwable failure;
    /** Platform threads that make Python calls for virtual threads. */
    private static final ExecutorService CARRIERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "panbuf-python-call");
        t.setDaemon(true);
        return t;
    });

    final CPython api;
    private final String version;
    final long none, trueObj, boolType, floatType, bufferError, runtimeError;
    private final long bridge;          // private globals: helpers, never reachable from user code
    private final long sharedType;      // panbuf.SharedBuffer
    private final long slotOffset;      // where a SharedBuffer keeps its pb_buffer *
    final long capsuleLegacy, capsuleVersioned, capsuleUsedLegacy, capsuleUsedVersioned;
    final long capsuleDestructor;
    final AtomicLong liveShared = new AtomicLong();
    final AtomicLong liveImports = new AtomicLong();

    // ------------------------------------------------------------------ availability

    /**
     * {@return true when libpython loads and the interpreter starts here (tried once;
     * the answer is remembered)}
     */
    public static boolean isAvailable() {
        try {
            get();
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /**
     * {@return why {@link #isAvailable()} is false, or empty when it is true}
     */
    public static Optional<String> unavailableReason() {
        return isAvailable() ? Optional.empty() : Optional.of(String.valueOf(failure.getMessage()));
    }

    /**
     * {@return the interpreter, started on first use}
     *
     * @throws IllegalStateException when libpython cannot be loaded or started, saying why
     */
    public static Python get() {
        Python p = instance;
        if (p != null) {
            return p;
        }
        synchronized (LOCK) {
            if (instance == null && failure == null) {
                try {
                    instance = onPlatformThread(Python::new);
                } catch (Throwable t) {
                    failure = t;
                }
            }
            if (instance == null) {
                throw new IllegalStateException("panbuf: Python is not available: " + failure.getMessage(), failure);
            }
            return instance;
        }
    }

    private Python() {
        dev.panbuf.shim.NativeLibrary.loadShim();   // the gate: a denied native access is reported with the flag to add
        CPython a = CPython.load();
        this.api = a;
        boolean started = a.isInitialized() != 0;
        int gil = -1;
        if (!started) {
            a.executable.ifPresent(exe -> a.setProgramName(exe.toString()));
            a.initializeEx(0);   // this thread now holds the GIL
        } else {
            gil = a.gilEnsure();  // someone else embedded Python first: take part politely
        }
        try {
            none = a.symbol("_Py_NoneStruct");
            trueObj = a.symbol("_Py_TrueStruct");
            boolType = a.symbol("PyBool_Type");
            floatType = a.symbol("PyFloat_Type");
            bufferError = a.globalObject("PyExc_BufferError");
            runtimeError = a.globalObject("PyExc_RuntimeError");
            bridge = a.dictNew();
            check(a.runString(SETUP, PY_FILE_INPUT, bridge, bridge), true);
            version = (String) convert(check(a.runString("sys.version.split()[0]", PY_EVAL_INPUT, bridge, bridge), false), 0,
                    true);
            long basic = (Long) convert(check(a.runString("object.__basicsize__", PY_EVAL_INPUT, bridge, bridge), false),
                    0, true);
            slotOffset = basic;
            Arena g = Arena.global();
            long getbuffer = CPython.upcall(MethodHandles.lookup(), Python.class, "getbufferUpcall",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            long finalizer = CPython.upcall(MethodHandles.lookup(), Python.class, "finalizeUpcall",
                    FunctionDescriptor.ofVoid(ADDRESS));
            capsuleDestructor = CPython.upcall(MethodHandles.lookup(), Python.class, "capsuleDestructorUpcall",
                    FunctionDescriptor.ofVoid(ADDRESS));
            // PyType_Slot {int slot; void *pfunc;} x 3 (the last one ends the list)
            MemorySegment slots = g.allocate(16 * 3, 8);
            slots.set(JAVA_INT, 0, SLOT_BF_GETBUFFER);
            slots.set(JAVA_LONG, 8, getbuffer);
            slots.set(JAVA_INT, 16, SLOT_TP_FINALIZE);
            slots.set(JAVA_LONG, 24, finalizer);
            // PyType_Spec {const char *name; int basicsize; int itemsize; unsigned flags; PyType_Slot *slots;}
            MemorySegment spec = g.allocate(32, 8);
            spec.set(ADDRESS, 0, g.allocateFrom("panbuf.SharedBuffer"));
            spec.set(JAVA_INT, 8, (int) (basic + 8));
            spec.set(JAVA_INT, 12, 0);
            spec.set(JAVA_INT, 16, (int) (TPFLAGS_DISALLOW_INSTANTIATION | TPFLAGS_IMMUTABLETYPE));
            spec.set(ADDRESS, 24, slots);
            sharedType = check(a.typeFromSpec(spec), false);
            capsuleLegacy = g.allocateFrom("dltensor").address();
            capsuleVersioned = g.allocateFrom("dltensor_versioned").address();
            capsuleUsedLegacy = g.allocateFrom("used_dltensor").address();
            capsuleUsedVersioned = g.allocateFrom("used_dltensor_versioned").address();
        } finally {
            if (!started) {
                a.saveThread();   // give the GIL away: from now on every call takes it
            } else {
                a.gilRelease(gil);
            }
        }
    }

    // ------------------------------------------------------------------ public API

    /** {@return the interpreter's version, such as {@code "3.11.2"}} */
    public String version() {
        return version;
    }

    /** {@return the libpython file this interpreter was loaded from} */
    public Path library() {
        return api.library;
    }

    /** {@return a new namespace (a globals dict) to run code in} */
    public PyScope newScope() {
        return new PyScope(this, withGil(api::dictNew));
    }

    /**
     * {@return how many Python objects still hold exports of panbuf memory (their memory is pinned)}
     */
    public long liveSharedBuffers() {
        return liveShared.get();
    }

    /**
     * {@return how many Python buffers open Java arenas hold (Python cannot resize or free them)}
     */
    public long liveBufferImports() {
        return liveImports.get();
    }

    // ------------------------------------------------------------------ GIL

    /** Runs {@code body} holding the GIL, on a platform thread. */
    <T> T withGil(Supplier<T> body) {
        if (Thread.currentThread().isVirtual()) {
            return onPlatformThread(() -> withGil(body));
        }
        int state = api.gilEnsure();
        try {
            return body.get();
        } finally {
            api.gilRelease(state);
        }
    }

    void runWithGil(Runnable body) {
        withGil(() -> {
            body.run();
            return null;
        });
    }

    private static <T> T onPlatformThread(Supplier<T> body) {
        if (!Thread.currentThread().isVirtual()) {
            return body.get();
        }
        Future<T> f = CARRIERS.submit(body::get);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a Python call", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    // ------------------------------------------------------------------ errors and conversion (GIL held)

    /** Returns {@code result} when it is not 0; otherwise throws the pending Python exception. */
    long check(long result, boolean decRefResult) {
        if (result == 0) {
            throw fetchError();
        }
        if (decRefResult) {
            api.decRef(result);
            return 0;
        }
        return result;
    }

    /** Takes the pending Python exception (clearing it) as a {@link PythonException}. */
    PythonException fetchError() {
        if (api.errOccurred() == 0) {
            return new PythonException("SystemError", "a Python call failed without setting an exception", "");
        }
        long[] e = api.errFetchNormalized();
        long locals = api.dictNew();
        try {
            api.dictSetItem(locals, "_t", e[0] == 0 ? none : e[0]);
            api.dictSetItem(locals, "_v", e[1] == 0 ? none : e[1]);
            api.dictSetItem(locals, "_tb", e[2] == 0 ? none : e[2]);
            long r = api.runString("_format(_t, _v, _tb)", PY_EVAL_INPUT, bridge, locals);
            if (r == 0) {
                api.errClear();
                return new PythonException("Exception", "(panbuf could not format the Python exception)", "");
            }
            try {
                Object o = convert(r, 0, false);
                List<?> parts = (List<?>) o;
                return new PythonException((String) parts.get(0), (String) parts.get(1), (String) parts.get(2));
            } finally {
                api.decRef(r);
            }
        } finally {
            api.decRef(locals);
            for (long x : e) {
                if (x != 0) {
                    api.decRef(x);
                }
            }
        }
    }

    /**
     * Converts a Python object to Java (see {@link PyScope#eval}); consumes the
     * reference when {@code steal} is true.
     */
    Object convert(long o, int depth, boolean steal) {
        try {
            return convert0(o, depth);
        } finally {
            if (steal) {
                api.decRef(o);
            }
        }
    }

    private Object convert0(long o, int depth) {
        if (depth > 64) {
            throw new IllegalArgumentException("Python value nested deeper than 64 levels");
        }
        if (o == none) {
            return null;
        }
        long type = api.type(o);
        long flags = api.typeFlags(type);
        api.decRef(type);
        if (type == boolType) {
            return o == trueObj;
        }
        if ((flags & TPFLAGS_LONG) != 0) {
            long v = api.longValue(o);
            if (v == -1 && api.errOccurred() != 0) {
                api.errClear();   // too large for a long
                long s = check(api.objectStr(o), false);
                try {
                    return new java.math.BigInteger(api.unicodeText(s));
                } finally {
                    api.decRef(s);
                }
            }
            return v;
        }
        if ((flags & TPFLAGS_UNICODE) != 0) {
            String s = api.unicodeText(o);
            if (s == null) {
                throw fetchError();
            }
            return s;
        }
        if ((flags & TPFLAGS_BYTES) != 0) {
            byte[] b = api.bytesValue(o);
            if (b == null) {
                throw fetchError();
            }
            return b;
        }
        int isFloat = api.isInstance(o, floatType);
        if (isFloat > 0) {
            return api.floatValue(o);
        }
        if ((flags & (TPFLAGS_LIST | TPFLAGS_TUPLE)) != 0) {
            boolean list = (flags & TPFLAGS_LIST) != 0;
            long n = list ? api.listSize(o) : api.tupleSize(o);
            List<Object> out = new ArrayList<>((int) Math.min(n, 1 << 16));
            for (long k = 0; k < n; k++) {
                out.add(convert0(list ? api.listItem(o, k) : api.tupleItem(o, k), depth + 1));
            }
            return Collections.unmodifiableList(out);
        }
        if ((flags & TPFLAGS_DICT) != 0) {
            Map<Object, Object> out = new LinkedHashMap<>();
            long[] pos = {0};
            long[] kv;
            while ((kv = api.dictNext(o, pos)) != null) {
                out.put(convert0(kv[0], depth + 1), convert0(kv[1], depth + 1));
            }
            return Collections.unmodifiableMap(out);
        }
        // numpy scalars and other objects with .item(): one more try after normalizing
        long locals = api.dictNew();
        try {
            api.dictSetItem(locals, "_o", o);
            long r = check(api.runString("_norm(_o)", PY_EVAL_INPUT, bridge, locals), false);
            try {
                if (r != o) {
                    return convert0(r, depth + 1);
                }
                long s = check(api.runString("type(_o).__module__ + '.' + type(_o).__qualname__", PY_EVAL_INPUT, bridge,
                        locals), false);
                String name;
                try {
                    name = api.unicodeText(s);
                } finally {
                    api.decRef(s);
                }
                throw new IllegalArgumentException("cannot convert a Python " + name + " to Java; convert it in Python"
                        + " first (str(), .tolist(), int(), ...), or take its memory with PyScope.buffer");
            } finally {
                api.decRef(r);
            }
        } finally {
            api.decRef(locals);
        }
    }

    /** A new Python object for a Java value (see {@link PyScope#put}); not for NdArrays. */
    long toPython(Object value) {
        if (value == null) {
            api.incRef(none);
            return none;
        }
        long r;
        if (value instanceof Boolean b) {
            r = api.boolFrom(b);
        } else if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
            r = api.longFrom(((Number) value).longValue());
        } else if (value instanceof Double || value instanceof Float) {
            r = api.floatFrom(((Number) value).doubleValue());
        } else if (value instanceof String s) {
            r = api.unicodeFrom(s);
        } else if (value instanceof byte[] b) {
            r = api.bytesFrom(b);
        } else {
            throw new IllegalArgumentException("cannot give a " + value.getClass().getName() + " to Python: put takes null,"
                    + " Boolean, Long, Integer, Short, Byte, Double, Float, String, byte[] (copied) or NdArray (shared)");
        }
        return check(r, false);
    }

    long bridgeGlobals() {
        return bridge;
    }

    // ------------------------------------------------------------------ shared buffers

    /**
     * A new {@code panbuf.SharedBuffer} owning the export {@code pb} (a
     * {@code pb_buffer *}): a new reference. From the moment this returns,
     * releasing the export is the object's duty (its finalizer does it); when
     * this throws, the export is still the caller's.
     */
    long newSharedBuffer(long pb) {
        long obj = api.typeGenericAlloc(sharedType);
        if (obj == 0) {
            throw fetchError();
        }
        CPython.at(obj + slotOffset, 8).set(JAVA_LONG, 0, pb);
        liveShared.incrementAndGet();
        return obj;
    }

    @SuppressWarnings("unused") // an upcall: getbufferproc
    private static int getbufferUpcall(MemorySegment self, MemorySegment view, int flags) {
        Python p = instance;
        try {
            String refusal = p.fillBuffer(self.address(), view.address(), flags);
            if (refusal != null) {
                p.api.errSetString(p.bufferError, refusal);
                return -1;
            }
            return 0;
        } catch (Throwable t) {
            try {
                p.api.errSetString(p.bufferError, "panbuf: " + t);
            } catch (Throwable ignored) {
                // nothing more can be done without letting an exception escape the upcall
            }
            return -1;
        }
    }

    /** Fills a Py_buffer from the SharedBuffer's export; a refusal message, or null when done. */
    private String fillBuffer(long self, long view, int flags) {
        long pb = CPython.at(self + slotOffset, 8).get(JAVA_LONG, 0);
        if (pb == 0) {
            return "panbuf: this shared buffer was already released";
        }
        MemorySegment src = CPython.at(pb, PY_BUFFER_BYTES);
        MemorySegment dst = CPython.at(view, PY_BUFFER_BYTES);
        boolean readOnly = src.get(JAVA_INT, 32) != 0;
        int ndim = src.get(JAVA_INT, 36);
        long itemSize = src.get(JAVA_LONG, 24);
        long[] shape = ndim == 0 ? new long[0] : CPython.at(src.get(JAVA_LONG, 48), 8L * ndim).toArray(JAVA_LONG);
        long[] strides = ndim == 0 ? new long[0] : CPython.at(src.get(JAVA_LONG, 56), 8L * ndim).toArray(JAVA_LONG);
        boolean c = contiguous(shape, strides, itemSize, false);
        boolean f = contiguous(shape, strides, itemSize, true);
        if ((flags & PyBUF_WRITABLE) != 0 && readOnly) {
            return "panbuf: the shared view is read-only";
        }
        if ((flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS && !c) {
            return "panbuf: the shared view is not C-contiguous";
        }
        if ((flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS && !f) {
            return "panbuf: the shared view is not Fortran-contiguous";
        }
        if ((flags & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS && !c && !f) {
            return "panbuf: the shared view is not contiguous";
        }
        boolean wantStrides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES;
        boolean wantShape = (flags & PyBUF_ND) == PyBUF_ND;
        if (!wantStrides && !c) {
            return "panbuf: the shared view is not C-contiguous, and the consumer did not ask for strides";
        }
        MemorySegment.copy(src, 0, dst, 0, PY_BUFFER_BYTES);
        dst.set(JAVA_LONG, 8, self);                                   // obj: the consumer's reference
        dst.set(JAVA_INT, 32, readOnly ? 1 : 0);
        if (!wantShape) {
            dst.set(JAVA_INT, 36, 1);
            dst.set(JAVA_LONG, 48, 0L);
        }
        if (!wantStrides) {
            dst.set(JAVA_LONG, 56, 0L);
        }
        if ((flags & PyBUF_FORMAT) == 0) {
            dst.set(JAVA_LONG, 40, 0L);
        }
        dst.set(JAVA_LONG, 64, 0L);                                    // suboffsets
        dst.set(JAVA_LONG, 72, 0L);                                    // internal
        api.incRef(self);
        return null;
    }

    static boolean contiguous(long[] shape, long[] strides, long itemSize, boolean fortran) {
        long step = itemSize;
        for (int k = 0; k < shape.length; k++) {
            if (shape[k] == 0) {
                return true;
            }
        }
        for (int k = 0; k < shape.length; k++) {
            int axis = fortran ? k : shape.length - 1 - k;
            if (shape[axis] != 1 && strides[axis] != step) {
                return false;
            }
            step *= shape[axis];
        }
        return true;
    }

    @SuppressWarnings("unused") // an upcall: tp_finalize
    private static void finalizeUpcall(MemorySegment self) {
        try {
            Python p = instance;
            MemorySegment slot = CPython.at(self.address() + p.slotOffset, 8);
            long pb = slot.get(JAVA_LONG, 0);
            if (pb != 0) {
                slot.set(JAVA_LONG, 0, 0L);
                p.liveShared.decrementAndGet();
                Shim.release(Shim.structAt(pb));   // pb_release: unpins; Java sees it at its next look
            }
        } catch (Throwable ignored) {
            // an exception must not escape an upcall; pb_release itself cannot fail
        }
    }

    @SuppressWarnings("unused") // an upcall: PyCapsule_Destructor
    private static void capsuleDestructorUpcall(MemorySegment capsule) {
        try {
            Python p = instance;
            long c = capsule.address();
            if (p.api.capsuleIsValid(c, p.capsuleVersioned)) {
                dev.panbuf.shim.DLPackShim.delete(p.api.capsulePointer(c, p.capsuleVersioned));
            } else if (p.api.capsuleIsValid(c, p.capsuleLegacy)) {
                dev.panbuf.shim.DLPackShim.deleteLegacy(p.api.capsulePointer(c, p.capsuleLegacy));
            }
            // a consumer renamed it ("used_dltensor..."): the consumer owns the tensor now
        } catch (Throwable ignored) {
            // an exception must not escape an upcall
        }
    }
}
