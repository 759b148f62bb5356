package dev.panbuf.python;

import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import dev.panbuf.shim.CPython;
import dev.panbuf.shim.DLPackShim;
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
import java.util.concurrent.ConcurrentHashMap;
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
 * <h2>Which Python</h2>
 * The user's own interpreter, found as JEP, JPype and PyO3 users expect:
 * {@code -Dpanbuf.python=/path/to/python} (or {@code $PANBUF_PYTHON}), else
 * the active virtual environment ({@code $VIRTUAL_ENV}) or conda environment
 * ({@code $CONDA_PREFIX}), else {@code python3} on the {@code PATH}. panbuf
 * asks that interpreter (in a subprocess) for its shared libpython, prefix
 * and module path, loads that libpython, starts it as that interpreter
 * ({@code Py_SetProgramName} with its {@code sys.executable}) and gives it the
 * same {@code sys.path}, so the packages installed for it (NumPy, PyTorch,
 * JAX, in a virtual environment or not) are the ones that import.
 * {@code -Dpanbuf.libpython=/path/to/libpython3.X.so} loads another file
 * instead (of the interpreter's version). A static build of CPython has no
 * libpython to load: {@link #unavailableReason()} then says how to get one.
 * {@link #describe()} says which interpreter, libpython and NumPy were found.
 *
 * <p>Nothing else in panbuf needs Python. {@link #isAvailable()} says whether
 * it could be started here; {@link #get()} starts it on first use, once per
 * process ({@code Py_InitializeEx(0)}: Python installs no signal handlers,
 * which stay the JVM's), and it is never finalized. One libpython per JVM:
 * a second interpreter needs a second JVM.
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
 *     an {@link dev.panbuf.NdArray}, {@link PyScope#putNumpy},
 *     {@link PyScope#putTensor}) is exported as a {@code pb_buffer} (a
 *     {@code Py_buffer} by layout) held by a small Python object of type
 *     {@code panbuf.SharedBuffer}. The object implements the buffer protocol
 *     and DLPack ({@code __dlpack__}, {@code __dlpack_device__}); every
 *     memoryview and NumPy array made from it keeps it alive, and its
 *     deallocator (which Python code cannot call: the type has no
 *     {@code __del__}) releases the export when the last reference to it is
 *     gone, including the reference each {@code Py_buffer} holds. Until then
 *     the memory is pinned: its {@link dev.panbuf.BufferArena} refuses to
 *     close with {@link dev.panbuf.LiveExportsException} (and frees nothing),
 *     and its {@link dev.panbuf.GrowableBuffer} refuses to resize.</li>
 * <li>Each DLPack tensor that {@code __dlpack__} makes (for
 *     {@code numpy.from_dlpack}, {@code torch.from_dlpack},
 *     {@code jax.dlpack.from_dlpack}) is an export of its own, named by the
 *     arena's refusal to close, released when the consumer calls its deleter
 *     (or when its capsule dies unconsumed).</li>
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
    // typeslots.h
    private static final int SLOT_BF_GETBUFFER = 1, SLOT_TP_DEALLOC = 52, SLOT_TP_METHODS = 64, SLOT_TP_FREE = 74;
    // methodobject.h
    private static final int METH_VARARGS = 0x0001, METH_KEYWORDS = 0x0002, METH_NOARGS = 0x0004;
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

            def _take_dlpack(x):
                '''A DLPack capsule of x's memory: DLPack 1.x, on the CPU, never a copy.'''
                if not hasattr(x, '__dlpack__'):
                    t = type(x)
                    raise TypeError(t.__module__ + '.' + t.__qualname__ + ' has no __dlpack__ method: it is not a'
                                    ' DLPack producer')
                try:
                    return x.__dlpack__(max_version=(1, 0), dl_device=(1, 0), copy=False)
                except TypeError:
                    return x.__dlpack__()  # a producer older than the DLPack 1.0 keywords (NumPy < 2.1): legacy

            def _says_read_only(x):
                '''Whether x's buffer protocol says read-only: what a legacy DLPack tensor cannot (an immutable JAX array).'''
                try:
                    with memoryview(x) as m:
                        return m.readonly
                except Exception:
                    return False

            class _NumpyOwner(tuple):
                '''The base of a NumPy array that PyScope.putNumpy makes: holds its panbuf.SharedBuffer (so the memory
                stays pinned while the array lives) and NumPy's description of that memory. Unlike a memoryview, the
                base NumPy gives arrays of buffers, it has nothing that Python code could release early.'''
                __slots__ = ()
                @property
                def __array_interface__(self):
                    return self[0]

            def _numpy_of(shared):
                import numpy
                with memoryview(shared) as m:   # only to read the geometry
                    interface = dict(numpy.asarray(m).__array_interface__)
                    # Read-only exactly when the buffer is: for an empty buffer NumPy makes an array of its own
                    # (no element to reach, but writable), so its flag cannot be trusted.
                    interface['data'] = (interface['data'][0], m.readonly)
                return numpy.asarray(_NumpyOwner((interface, shared)))

            class DLPackHolder:
                '''Hands one DLPack capsule to a consumer such as numpy.from_dlpack.'''
                def __init__(self, capsule, versioned):
                    self._capsule = capsule
                    self._versioned = versioned
                def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
                    if self._capsule is None:
                        raise BufferError('this DLPack tensor was already consumed')
                    if self._versioned and (max_version is None or max_version[0] < 1):
                        raise BufferError('this is a versioned DLPack tensor (DLManagedTensorVersioned) and the consumer'
                                          ' asked for a legacy one (max_version=' + repr(max_version) + '); give it a'
                                          ' DLPack.exportLegacy tensor, or use PyScope.putTensor')
                    if dl_device is not None and tuple(dl_device) != (1, 0):
                        raise BufferError('this DLPack tensor is on the CPU, device (1, 0), not ' + repr(dl_device))
                    if copy:
                        raise BufferError('this DLPack tensor is shared, never copied; use PyScope.putTensor for copies')
                    c, self._capsule = self._capsule, None
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
    private final Installation installation;     // null when only -Dpanbuf.libpython named the library
    private final boolean libraryOverridden;
    private final String version;
    final long none, trueObj, boolType, floatType, bufferError, runtimeError, typeError;
    private final long bridge;          // private globals: helpers, never reachable from user code
    private final long sharedType;      // panbuf.SharedBuffer
    private final long sharedFree;      // its tp_free
    private final long slotOffset;      // where a SharedBuffer keeps its pb_buffer *
    private final long cpuDevice;       // the tuple (1, 0): kDLCPU, device 0
    private final long builtinsKey, builtins;   // "__builtins__" and the builtins module, kept for good
    private final MemorySegment countingDeleter;
    final long capsuleLegacy, capsuleVersioned, capsuleUsedLegacy, capsuleUsedVersioned;
    final long capsuleDestructor;
    final AtomicLong liveShared = new AtomicLong();
    final AtomicLong liveImports = new AtomicLong();
    /** The view behind each live SharedBuffer, by its pb_buffer address: what __dlpack__ exports. */
    private final Map<Long, NdArray> sharedViews = new ConcurrentHashMap<>();
    /** panbuf's own deleter of each DLPack tensor handed to Python, by tensor address, until it runs. */
    private final Map<Long, Long> tensorDeleters = new ConcurrentHashMap<>();
    /** DLPack tensors that __dlpack__ handed out, and deleter calls that reached them. */
    final AtomicLong dlpackExported = new AtomicLong(), dlpackDeleted = new AtomicLong();
    /** Deleter calls for a tensor that was already deleted, or never panbuf's (a consumer's bug); ignored. */
    final AtomicLong dlpackStrayDeletes = new AtomicLong();
    /** DLPack tensors PyScope.fromDLPack took from Python producers, and producer deleters panbuf called. */
    final AtomicLong dlpackImported = new AtomicLong(), dlpackImportDeleted = new AtomicLong();
    private volatile String numpyVersion;
    private volatile String numpyProblem;
    /**
     * Code objects by mode and source, least recently used first, so that code run again and again (a
     * hand-off in a loop) is compiled once: compiling takes most of the time of a short statement. Only
     * read or changed holding the GIL.
     */
    private final LinkedHashMap<String, Long> compiled = new LinkedHashMap<>(64, 0.75f, true);
    private static final int COMPILED_ENTRIES = 256, COMPILED_MAX_CHARS = 4096;

    // ------------------------------------------------------------------ availability

    /**
     * {@return true when the user's Python is found and starts here (tried once;
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
     * {@return why {@link #isAvailable()} is false (no interpreter found, a
     * static build, no libpython installed, ...), or empty when it is true}
     */
    public static Optional<String> unavailableReason() {
        return isAvailable() ? Optional.empty() : Optional.of(String.valueOf(failure.getMessage()));
    }

    /**
     * {@return the interpreter, started on first use}
     *
     * @throws IllegalStateException when no usable Python is found or it cannot be started, saying why
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
        String override = System.getProperty(CPython.LIBRARY_PROPERTY);
        libraryOverridden = override != null && !override.isBlank();
        Installation found;
        String notFound = null;
        try {
            found = Installation.find();
        } catch (IllegalStateException e) {
            if (!libraryOverridden) {
                throw e;
            }
            found = null;
            notFound = e.getMessage();
        }
        String library;
        if (libraryOverridden) {
            library = override.strip();
        } else {
            library = found.requireLibpython().toString();
        }
        CPython a = CPython.load(library);
        String libVersion = a.version().split("\\s+", 2)[0];
        String programName;
        if (found != null) {
            if (!majorMinor(libVersion).equals(found.majorMinor())) {
                throw new IllegalStateException((libraryOverridden ? "-D" + CPython.LIBRARY_PROPERTY + "=" + library
                        : library) + " is CPython " + libVersion + " but the interpreter " + found.describe() + " is "
                        + found.version() + ": the embedded interpreter would read another version's standard library;"
                        + " name an interpreter of version " + majorMinor(libVersion) + " with -D"
                        + Installation.PYTHON_PROPERTY);
            }
            programName = found.executable();
        } else {
            String why = notFound;
            programName = CPython.executableBeside(a.library).map(Path::toString).orElseThrow(() ->
                    new IllegalStateException("-D" + CPython.LIBRARY_PROPERTY + "=" + library + " names CPython "
                            + libVersion + ", but no interpreter of it was found to give it its module path (" + why
                            + "); name one with -D" + Installation.PYTHON_PROPERTY));
        }
        this.installation = found;
        this.api = a;
        boolean started = a.isInitialized() != 0;
        int gil = -1;
        if (!started) {
            if (!a.canSetProgramName()) {
                throw new IllegalStateException(a.library + " (CPython " + libVersion + ") has no Py_SetProgramName;"
                        + " panbuf's Python bridge starts CPython 3.8 to 3.14");
            }
            // As the interpreter itself starts: its prefix, its venv (pyvenv.cfg beside it), its site-packages.
            a.setProgramName(programName);
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
            typeError = a.globalObject("PyExc_TypeError");
            bridge = a.dictNew();
            check(a.runString(SETUP, PY_FILE_INPUT, bridge, bridge), true);
            if (found != null && !started) {
                // The same module path as the interpreter's own, entry for entry.
                long paths = check(a.unicodeFrom(String.join("\0", found.path())), false);
                try {
                    a.dictSetItem(bridge, "_paths", paths);
                } finally {
                    a.decRef(paths);
                }
                check(a.runString("sys.path[:] = [p for p in _paths.split('\\0') if p]; del _paths", PY_FILE_INPUT, bridge,
                        bridge), true);
            }
            version = (String) convert(check(a.runString("sys.version.split()[0]", PY_EVAL_INPUT, bridge, bridge), false), 0,
                    true);
            long basic = (Long) convert(check(a.runString("object.__basicsize__", PY_EVAL_INPUT, bridge, bridge), false),
                    0, true);
            slotOffset = basic;
            cpuDevice = check(a.runString("(1, 0)", PY_EVAL_INPUT, bridge, bridge), false);   // kept for good
            builtinsKey = check(a.unicodeFrom("__builtins__"), false);
            builtins = a.dictGetItem(bridge, builtinsKey);   // PyRun_String put it there
            a.incRef(builtins);
            Arena g = Arena.global();
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            long getbuffer = CPython.upcall(lookup, Python.class, "getbufferUpcall",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            long dealloc = CPython.upcall(lookup, Python.class, "deallocUpcall", FunctionDescriptor.ofVoid(ADDRESS));
            long dlpack = CPython.upcall(lookup, Python.class, "dlpackUpcall",
                    FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
            long dlpackDevice = CPython.upcall(lookup, Python.class, "dlpackDeviceUpcall",
                    FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
            capsuleDestructor = CPython.upcall(lookup, Python.class, "capsuleDestructorUpcall",
                    FunctionDescriptor.ofVoid(ADDRESS));
            countingDeleter = MemorySegment.ofAddress(CPython.upcall(lookup, Python.class, "tensorDeleterUpcall",
                    FunctionDescriptor.ofVoid(ADDRESS)));
            // PyMethodDef {const char *ml_name; PyCFunction ml_meth; int ml_flags; const char *ml_doc;} x 3
            MemorySegment methods = g.allocate(32 * 3, 8);
            methods.set(ADDRESS, 0, g.allocateFrom("__dlpack__"));
            methods.set(JAVA_LONG, 8, dlpack);
            methods.set(JAVA_INT, 16, METH_VARARGS | METH_KEYWORDS);
            methods.set(ADDRESS, 24, g.allocateFrom("__dlpack__($self, /, *, stream=None, max_version=None,"
                    + " dl_device=None, copy=None)\n--\n\nA DLPack capsule of this memory: shared, or copied when copy="
                    + " or the consumer requires it."));
            methods.set(ADDRESS, 32, g.allocateFrom("__dlpack_device__"));
            methods.set(JAVA_LONG, 40, dlpackDevice);
            methods.set(JAVA_INT, 48, METH_NOARGS);
            methods.set(ADDRESS, 56, g.allocateFrom("__dlpack_device__($self, /)\n--\n\n(1, 0): the CPU."));
            // PyType_Slot {int slot; void *pfunc;} x 4 (the last one ends the list). No tp_finalize: Python code
            // could call it as __del__ while NumPy still holds the memory. The deallocator runs only when no
            // reference is left, and nothing in Python can call it.
            MemorySegment slots = g.allocate(16 * 4, 8);
            slots.set(JAVA_INT, 0, SLOT_BF_GETBUFFER);
            slots.set(JAVA_LONG, 8, getbuffer);
            slots.set(JAVA_INT, 16, SLOT_TP_DEALLOC);
            slots.set(JAVA_LONG, 24, dealloc);
            slots.set(JAVA_INT, 32, SLOT_TP_METHODS);
            slots.set(ADDRESS, 40, methods);
            // PyType_Spec {const char *name; int basicsize; int itemsize; unsigned flags; PyType_Slot *slots;}
            MemorySegment spec = g.allocate(32, 8);
            spec.set(ADDRESS, 0, g.allocateFrom("panbuf.SharedBuffer"));
            spec.set(JAVA_INT, 8, (int) (basic + 8));
            spec.set(JAVA_INT, 12, 0);
            spec.set(JAVA_INT, 16, (int) (TPFLAGS_DISALLOW_INSTANTIATION | TPFLAGS_IMMUTABLETYPE));
            spec.set(ADDRESS, 24, slots);
            sharedType = check(a.typeFromSpec(spec), false);
            sharedFree = a.typeSlot(sharedType, SLOT_TP_FREE);
            if (sharedFree == 0) {
                throw new IllegalStateException("panbuf.SharedBuffer has no tp_free");
            }
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

    private static String majorMinor(String version) {
        int second = version.indexOf('.', version.indexOf('.') + 1);
        return second < 0 ? version : version.substring(0, second);
    }

    // ------------------------------------------------------------------ public API

    /** {@return the interpreter's version, such as {@code "3.11.7"}} */
    public String version() {
        return version;
    }

    /** {@return the libpython file this interpreter was loaded from} */
    public Path library() {
        return api.library;
    }

    /**
     * {@return the interpreter whose paths the embedded one took ({@code sys.executable}
     * of the user's Python), or empty when only {@code -Dpanbuf.libpython}
     * named the library}
     */
    public Optional<Path> interpreter() {
        return installation == null ? Optional.empty() : Optional.of(Path.of(installation.executable()));
    }

    /** {@return NumPy's version when {@code import numpy} works in this interpreter (tried once), else empty} */
    public Optional<String> numpyVersion() {
        probeNumpy();
        return Optional.ofNullable(numpyVersion);
    }

    /** {@return why {@code import numpy} fails here ({@code "ModuleNotFoundError: No module named 'numpy'"}), or empty} */
    public Optional<String> numpyProblem() {
        probeNumpy();
        return Optional.ofNullable(numpyProblem);
    }

    private void probeNumpy() {
        if (numpyVersion != null || numpyProblem != null) {
            return;
        }
        runWithGil(() -> {
            if (numpyVersion != null || numpyProblem != null) {
                return;
            }
            long r = run("__import__('numpy').__version__", PY_EVAL_INPUT, bridge, bridge);
            if (r == 0) {
                numpyProblem = fetchError().getMessage();
            } else {
                numpyVersion = (String) convert(r, 0, true);
            }
        });
    }

    /**
     * {@return which Python this is, in three lines: the interpreter (and how it
     * was found), the libpython loaded, and NumPy's version or why it does not
     * import}
     */
    public String describe() {
        String interpreter = installation != null ? installation.describe()
                : api.library + " named by -D" + CPython.LIBRARY_PROPERTY + " (CPython " + version + ")";
        return "Python: " + interpreter + "\n"
                + "libpython: " + api.library + (libraryOverridden ? " (-D" + CPython.LIBRARY_PROPERTY + ")" : "") + "\n"
                + "NumPy: " + numpyVersion().orElseGet(() -> "not importable (" + numpyProblem().orElse("") + ")");
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

    /** {@return DLPack tensors of panbuf memory handed to Python consumers whose deleter has not run yet} */
    public long liveDLPackExports() {
        return dlpackExported.get() - dlpackDeleted.get();
    }

    /** {@return DLPack tensors taken from Python producers ({@link PyScope#fromDLPack}) not yet handed back} */
    public long liveDLPackImports() {
        return dlpackImported.get() - dlpackImportDeleted.get();
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

    // ------------------------------------------------------------------ running code (GIL held)

    /**
     * As {@code PyRun_String(source, start, globals, locals)}: a new reference,
     * or 0 with the Python error set. Each short source is compiled once.
     */
    long run(String source, int start, long globals, long locals) {
        if (source.length() > COMPILED_MAX_CHARS) {
            return api.runString(source, start, globals, locals);
        }
        String key = (start == PY_EVAL_INPUT ? 'e' : 'f') + source;
        Long code = compiled.get(key);
        if (code == null) {
            long c = api.compileString(source, start);
            if (c == 0) {
                return 0;   // a SyntaxError, set: never cached
            }
            code = c;
            compiled.put(key, code);
            if (compiled.size() > COMPILED_ENTRIES) {
                var eldest = compiled.entrySet().iterator();
                api.decRef(eldest.next().getValue());
                eldest.remove();
            }
        }
        // As PyRun_String does: code run in a dict without __builtins__ gets the builtins module there.
        if (api.dictGetItem(globals, builtinsKey) == 0 && api.dictSetItem(globals, builtinsKey, builtins) != 0) {
            return 0;
        }
        // Held for the run: code that another thread evicts meanwhile (when this run lets the GIL go) stays alive.
        api.incRef(code);
        try {
            return api.evalCode(code, globals, locals);
        } finally {
            api.decRef(code);
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
            long r = run("_format(_t, _v, _tb)", PY_EVAL_INPUT, bridge, locals);
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
            long r = check(run("_norm(_o)", PY_EVAL_INPUT, bridge, locals), false);
            try {
                if (r != o) {
                    return convert0(r, depth + 1);
                }
                long s = check(run("type(_o).__module__ + '.' + type(_o).__qualname__", PY_EVAL_INPUT, bridge,
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
     * {@code pb_buffer *}) of {@code view}: a new reference. From the moment
     * this returns, releasing the export is the object's duty (its deallocator
     * does it); when this throws, the export is still the caller's.
     */
    long newSharedBuffer(long pb, NdArray view) {
        long obj = api.typeGenericAlloc(sharedType);
        if (obj == 0) {
            throw fetchError();
        }
        sharedViews.put(pb, view);
        CPython.at(obj + slotOffset, 8).set(JAVA_LONG, 0, pb);
        liveShared.incrementAndGet();
        return obj;
    }

    /** Whether {@code tensor} is one that __dlpack__ made and whose deleter has not run yet. */
    boolean isOwnTensor(long tensor) {
        return tensorDeleters.containsKey(tensor);
    }

    /** Whether {@code obj} is a {@code panbuf.SharedBuffer} (its type is final: no subclass can exist). */
    boolean isSharedBuffer(long obj) {
        long type = api.type(obj);
        api.decRef(type);
        return type == sharedType;
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

    /**
     * tp_dealloc: Python drops the last reference to a SharedBuffer, so no
     * Py_buffer of it is left either (each holds a reference in its
     * {@code obj}). Only now is the export released. CPython calls this from
     * no Python-visible attribute: unlike tp_finalize, which becomes a
     * callable {@code __del__}, it cannot be called early.
     */
    @SuppressWarnings("unused") // an upcall: destructor
    private static void deallocUpcall(MemorySegment self) {
        Python p = instance;
        try {
            MemorySegment slot = CPython.at(self.address() + p.slotOffset, 8);
            long pb = slot.get(JAVA_LONG, 0);
            if (pb != 0) {
                slot.set(JAVA_LONG, 0, 0L);
                p.sharedViews.remove(pb);
                p.liveShared.decrementAndGet();
                Shim.release(Shim.structAt(pb));   // pb_release: unpins; Java sees it at its next look
            }
        } catch (Throwable ignored) {
            // an exception must not escape an upcall; pb_release itself cannot fail
        }
        try {
            // As every heap type's deallocator does: free the object, then drop its reference to the type.
            CPython.callVoid(p.sharedFree, self.address());
            p.api.decRef(p.sharedType);
        } catch (Throwable ignored) {
            // cannot happen short of a broken libpython; nothing can cross back into C
        }
    }

    /** A Python exception to raise from an upcall: its type object and message. */
    private static final class Raise extends Exception {
        private static final long serialVersionUID = 1L;
        final long type;

        Raise(long type, String message) {
            super(message, null, false, false);
            this.type = type;
        }
    }

    @SuppressWarnings("unused") // an upcall: PyCFunctionWithKeywords, the method __dlpack__
    private static MemorySegment dlpackUpcall(MemorySegment self, MemorySegment args, MemorySegment kwargs) {
        Python p = instance;
        try {
            return MemorySegment.ofAddress(p.dlpack(self.address(), args.address(), kwargs.address()));
        } catch (Raise r) {
            p.api.errSetString(r.type, r.getMessage());
        } catch (PythonException e) {
            p.api.errSetString(p.bufferError, e.getMessage());   // a Python call inside failed; it was cleared
        } catch (Throwable t) {
            try {
                p.api.errSetString(p.bufferError, "panbuf: " + t);
            } catch (Throwable ignored) {
                // nothing more can be done without letting an exception escape the upcall
            }
        }
        return MemorySegment.NULL;
    }

    @SuppressWarnings("unused") // an upcall: PyCFunction (METH_NOARGS), the method __dlpack_device__
    private static MemorySegment dlpackDeviceUpcall(MemorySegment self, MemorySegment unused) {
        Python p = instance;
        try {
            p.api.incRef(p.cpuDevice);
            return MemorySegment.ofAddress(p.cpuDevice);
        } catch (Throwable t) {
            return MemorySegment.NULL;   // cannot happen: Py_IncRef does not fail
        }
    }

    /**
     * {@code __dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None)}
     * of a SharedBuffer, as the Python array API standard describes it: a new
     * capsule, {@code "dltensor_versioned"} when the consumer reads DLPack 1.x
     * ({@code max_version >= (1, 0)}), else {@code "dltensor"}. The tensor is
     * an export of its own (the arena names it while it lives); its memory is
     * the view's unless {@code copy=True}, or unless the view cannot be shared
     * with this consumer ({@link #reasonNotToShare}) and {@code copy} is not
     * {@code False}. Runs holding the GIL; pins the memory without it.
     */
    private long dlpack(long self, long args, long kwargs) throws Raise {
        if (args != 0 && api.tupleSize(args) != 0) {
            throw new Raise(typeError, "__dlpack__() takes keyword arguments only (stream, max_version, dl_device, copy),"
                    + " but " + api.tupleSize(args) + " positional argument(s) were given");
        }
        Object stream = null, maxVersion = null, dlDevice = null, copy = null;
        if (kwargs != 0) {
            long[] pos = {0};
            long[] kv;
            while ((kv = api.dictNext(kwargs, pos)) != null) {
                String key = String.valueOf(convert(kv[0], 0, false));
                Object value;
                try {
                    value = convert(kv[1], 0, false);
                } catch (IllegalArgumentException e) {
                    value = e;   // not a plain value: refused below with the argument's name
                }
                switch (key) {
                    case "stream" -> stream = value;
                    case "max_version" -> maxVersion = value;
                    case "dl_device" -> dlDevice = value;
                    case "copy" -> copy = value;
                    default -> throw new Raise(typeError, "__dlpack__() got an unexpected keyword argument '" + key
                            + "' (it takes stream, max_version, dl_device and copy)");
                }
            }
        }
        if (stream != null) {
            throw new Raise(bufferError, "panbuf memory is on the CPU, which has no DLPack streams: __dlpack__ takes"
                    + " stream=None, got " + pyRepr(stream));
        }
        boolean versioned;
        if (maxVersion == null) {
            versioned = false;
        } else if (maxVersion instanceof List<?> v && v.size() == 2 && v.get(0) instanceof Long major
                && v.get(1) instanceof Long) {
            versioned = major >= 1;
        } else {
            throw new Raise(typeError, "__dlpack__(max_version=...) takes None or a tuple (major, minor) of ints, got "
                    + pyRepr(maxVersion));
        }
        if (dlDevice != null) {
            if (!(dlDevice instanceof List<?> d && d.size() == 2 && d.get(0) instanceof Long && d.get(1) instanceof Long)) {
                throw new Raise(typeError, "__dlpack__(dl_device=...) takes None or a tuple (device_type, device_id) of"
                        + " ints, got " + pyRepr(dlDevice));
            }
            if (!dlDevice.equals(List.of(1L, 0L))) {
                throw new Raise(bufferError, "panbuf memory is on the CPU, device (1, 0), and cannot be exported to"
                        + " device " + pyRepr(dlDevice) + "; let the consumer copy it there");
            }
        }
        if (copy != null && !(copy instanceof Boolean)) {
            throw new Raise(typeError, "__dlpack__(copy=...) takes None, True or False, got " + pyRepr(copy));
        }
        long pb = CPython.at(self + slotOffset, 8).get(JAVA_LONG, 0);
        NdArray view = pb == 0 ? null : sharedViews.get(pb);
        if (view == null) {
            throw new Raise(bufferError, "panbuf: this shared buffer holds no memory");
        }
        DType d = view.dtype();
        if (d.kind() == DType.Kind.RECORD || d.kind() == DType.Kind.BYTES) {
            throw new Raise(bufferError, "cannot export " + view.describe() + " through DLPack: DLPack has no type for "
                    + d.kind().name().toLowerCase(java.util.Locale.ROOT) + " dtype " + d + "; share one field at a time"
                    + " (view.field(name))");
        }
        String noShare = reasonNotToShare(view, versioned, callerIsTorch());
        boolean copied = Boolean.TRUE.equals(copy) || noShare != null;
        if (noShare != null && Boolean.FALSE.equals(copy)) {
            throw new Raise(bufferError, "cannot share " + view.describe() + " through DLPack without a copy: " + noShare
                    + "; call __dlpack__ with copy=None or copy=True for a copy");
        }
        // Pinning takes the arena's lock, which a thread closing that arena holds while it waits for the GIL
        // (to release Python buffers): pin without the GIL.
        long threadState = api.saveThread();
        DLPackExport export;
        RuntimeException failed = null;
        try {
            NdArray source = copied ? copyForConsumer(view) : view;
            export = versioned ? DLPack.export(source) : DLPack.exportLegacy(source);
        } catch (RuntimeException e) {
            export = null;
            failed = e;
        } finally {
            api.restoreThread(threadState);
        }
        if (failed != null) {
            throw new Raise(bufferError, "panbuf: " + failed.getMessage());
        }
        long tensor = export.pointer().address();
        if (copied && versioned) {
            DLPackShim.setFlags(tensor, DLPackShim.readVersioned(tensor).flags() | DLPackShim.FLAG_IS_COPIED);
        }
        tensorDeleters.put(tensor, DLPackShim.replaceDeleter(tensor, versioned, countingDeleter));
        long capsule = api.capsuleNew(tensor, versioned ? capsuleVersioned : capsuleLegacy, capsuleDestructor);
        if (capsule == 0) {
            export.close();   // deletes the tensor (through the counting deleter); the error stays set
            return 0;
        }
        export.handOff();    // the capsule, then its consumer, owns it
        dlpackExported.incrementAndGet();
        return capsule;
    }

    /**
     * Why {@code view} must not be shared with this consumer (then it gets a
     * copy, or a refusal under {@code copy=False}), or null when it may.
     */
    static String reasonNotToShare(NdArray view, boolean versioned, boolean torch) {
        DType d = view.dtype();
        if (!d.isNativeOrder()) {
            return "dtype " + d.str() + " is not in the platform's byte order, and DLPack data always is";
        }
        long[] strides = view.byteStrides();
        for (int k = 0; k < strides.length; k++) {
            if (strides[k] % d.byteSize() != 0) {
                return "byte stride " + strides[k] + " of axis " + k + " is not a multiple of the item size "
                        + d.byteSize() + " (DLPack counts strides in elements)";
            }
        }
        if (view.isReadOnly() && !versioned) {
            return "the view is read-only and the consumer asked for a legacy DLPack tensor (no max_version >= (1, 0)),"
                    + " which cannot say so";
        }
        if (view.isReadOnly() && torch) {
            return "the view is read-only and PyTorch ignores DLPack's read-only flag (its tensor would write to the"
                    + " memory)";
        }
        if (torch) {
            long[] shape = view.shape();
            for (int k = 0; k < strides.length; k++) {
                if (strides[k] < 0 && shape[k] > 1) {
                    return "axis " + k + " has the negative stride " + strides[k] + ", and PyTorch aborts the whole"
                            + " process on a DLPack tensor with a negative stride";
                }
            }
        }
        return null;
    }

    /** A C-ordered, native-order, writable copy in memory that lives as long as its export needs it. */
    private static NdArray copyForConsumer(NdArray view) {
        DType d = view.dtype().isNativeOrder() ? view.dtype() : view.dtype().withNativeOrder();
        NdArray copy = NdArray.allocate(Arena.ofAuto(), d, view.shape());
        view.copyTo(copy);
        return copy;
    }

    /** Whether the Python code calling right now is PyTorch's ({@code torch.from_dlpack}, ...). */
    private boolean callerIsTorch() {
        long globals = api.currentGlobals();
        if (globals == 0) {
            return false;
        }
        long name = api.dictGetItem(globals, "__name__");   // borrowed
        if (name == 0) {
            return false;
        }
        long type = api.type(name);
        long flags = api.typeFlags(type);
        api.decRef(type);
        if ((flags & TPFLAGS_UNICODE) == 0) {
            return false;
        }
        String module = api.unicodeText(name);
        if (module == null) {
            api.errClear();
            return false;
        }
        return module.equals("torch") || module.startsWith("torch.");
    }

    private static String pyRepr(Object value) {
        if (value instanceof Exception e) {
            return "an object that is not a plain value (" + e.getMessage() + ")";
        }
        if (value instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < l.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(pyRepr(l.get(i)));
            }
            return sb.append(l.size() == 1 ? ",)" : ")").toString();
        }
        if (value instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (value instanceof String s) {
            return "'" + s + "'";
        }
        return String.valueOf(value);
    }

    /**
     * The deleter of every tensor {@code __dlpack__} hands out: counts the
     * call, then runs panbuf's own deleter once. A second call for the same
     * tensor (a consumer's bug) finds nothing to run and is only counted.
     * Needs no GIL: consumers call it from any thread.
     */
    @SuppressWarnings("unused") // an upcall: the DLPack deleter
    private static void tensorDeleterUpcall(MemorySegment tensor) {
        try {
            Python p = instance;
            Long original = p.tensorDeleters.remove(tensor.address());
            if (original == null) {
                p.dlpackStrayDeletes.incrementAndGet();
                return;
            }
            p.dlpackDeleted.incrementAndGet();
            if (original != 0) {
                CPython.callVoid(original, tensor.address());   // frees the tensor, releases its export
            }
        } catch (Throwable ignored) {
            // an exception must not escape an upcall
        }
    }

    @SuppressWarnings("unused") // an upcall: PyCapsule_Destructor
    private static void capsuleDestructorUpcall(MemorySegment capsule) {
        try {
            Python p = instance;
            long c = capsule.address();
            if (p.api.capsuleIsValid(c, p.capsuleVersioned)) {
                DLPackShim.delete(p.api.capsulePointer(c, p.capsuleVersioned));
            } else if (p.api.capsuleIsValid(c, p.capsuleLegacy)) {
                DLPackShim.deleteLegacy(p.api.capsulePointer(c, p.capsuleLegacy));
            }
            // a consumer renamed it ("used_dltensor..."): the consumer owns the tensor now
        } catch (Throwable ignored) {
            // an exception must not escape an upcall
        }
    }
}
