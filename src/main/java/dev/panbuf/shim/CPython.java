package dev.panbuf.shim;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The hand-written FFM layer over CPython's C API (no generated bindings):
 * loads a {@code libpython3.X.so} and calls the few functions the bridge in
 * {@code dev.panbuf.python} needs. Which libpython to load is the bridge's
 * choice (it asks the user's interpreter); this class only opens the file it
 * is given. Object pointers are plain {@code long} addresses; every method
 * here is a thin call, with no GIL handling and no reference counting of its
 * own: the caller holds the GIL and owns the references, exactly as C code
 * calling the same functions would.
 *
 * <p>libpython is opened with {@code RTLD_GLOBAL}, because CPython extension
 * modules (NumPy's among them) are not linked against libpython and find its
 * symbols in the global namespace.
 *
 * <p>Loading this class does not load libpython; {@link #load} does.
 */
public final class CPython {

    /** System property naming libpython (a path, or a file name the dynamic linker finds). */
    public static final String LIBRARY_PROPERTY = "panbuf.libpython";

    private static final int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;
    private static final Linker LINKER = Linker.nativeLinker();
    /** The file libpython was loaded from. */
    public final Path library;

    private final SymbolLookup symbols;
    private static final MethodHandle CALL_VOID_POINTER = LINKER.downcallHandle(FunctionDescriptor.ofVoid(ADDRESS));

    private final MethodHandle isInitialized, setProgramName, getVersion, initializeEx, saveThread, restoreThread,
            evalGetGlobals, typeGetSlot, gilEnsure, gilRelease,
            incRef, decRef, dictNew, dictSetItemString, dictGetItemString, dictDelItemString, dictClear, runString,
            compileString, evalCode, dictGetItemObject, dictSetItemObject,
            errOccurred, errFetch, errNormalize, errClear, errSetString, objectStr, unicodeAsUtf8AndSize,
            unicodeFromStringAndSize, longFromLongLong, longAsLongLong, floatFromDouble, floatAsDouble, boolFromLong,
            bytesFromStringAndSize, bytesAsStringAndSize, listSize, listGetItem, tupleSize, tupleGetItem, dictNext,
            typeGetFlags, objectType, objectIsInstance, getBuffer, bufferRelease, memoryViewFromObject, typeFromSpec,
            typeGenericAlloc, capsuleNew, capsuleIsValid, capsuleGetPointer, capsuleSetName, malloc, free;

    private CPython(Path library, SymbolLookup symbols) {
        this.library = library;
        this.symbols = symbols;
        FunctionDescriptor p = FunctionDescriptor.of(ADDRESS);
        FunctionDescriptor pP = FunctionDescriptor.of(ADDRESS, ADDRESS);
        FunctionDescriptor vP = FunctionDescriptor.ofVoid(ADDRESS);
        isInitialized = h("Py_IsInitialized", FunctionDescriptor.of(JAVA_INT));
        // Deprecated since 3.11 and due to go: used when present (it only tells sys.prefix where to look).
        setProgramName = symbols.find("Py_SetProgramName").map(a -> LINKER.downcallHandle(a, vP)).orElse(null);
        getVersion = h("Py_GetVersion", p);
        initializeEx = h("Py_InitializeEx", FunctionDescriptor.ofVoid(JAVA_INT));
        saveThread = h("PyEval_SaveThread", p);
        restoreThread = h("PyEval_RestoreThread", vP);
        evalGetGlobals = h("PyEval_GetGlobals", p);
        typeGetSlot = h("PyType_GetSlot", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        gilEnsure = h("PyGILState_Ensure", FunctionDescriptor.of(JAVA_INT));
        gilRelease = h("PyGILState_Release", FunctionDescriptor.ofVoid(JAVA_INT));
        incRef = h("Py_IncRef", vP);
        decRef = h("Py_DecRef", vP);
        dictNew = h("PyDict_New", p);
        dictSetItemString = h("PyDict_SetItemString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        dictGetItemString = h("PyDict_GetItemString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        dictDelItemString = h("PyDict_DelItemString", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        dictClear = h("PyDict_Clear", vP);
        dictGetItemObject = h("PyDict_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        dictSetItemObject = h("PyDict_SetItem", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        runString = h("PyRun_StringFlags", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        compileString = h("Py_CompileString", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        evalCode = h("PyEval_EvalCode", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        errOccurred = h("PyErr_Occurred", p);
        errFetch = h("PyErr_Fetch", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        errNormalize = h("PyErr_NormalizeException", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        errClear = h("PyErr_Clear", FunctionDescriptor.ofVoid());
        errSetString = h("PyErr_SetString", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        objectStr = h("PyObject_Str", pP);
        unicodeAsUtf8AndSize = h("PyUnicode_AsUTF8AndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        unicodeFromStringAndSize = h("PyUnicode_FromStringAndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        longFromLongLong = h("PyLong_FromLongLong", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        longAsLongLong = h("PyLong_AsLongLong", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        floatFromDouble = h("PyFloat_FromDouble", FunctionDescriptor.of(ADDRESS, JAVA_DOUBLE));
        floatAsDouble = h("PyFloat_AsDouble", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS));
        boolFromLong = h("PyBool_FromLong", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        bytesFromStringAndSize = h("PyBytes_FromStringAndSize", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        bytesAsStringAndSize = h("PyBytes_AsStringAndSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        listSize = h("PyList_Size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        listGetItem = h("PyList_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        tupleSize = h("PyTuple_Size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        tupleGetItem = h("PyTuple_GetItem", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        dictNext = h("PyDict_Next", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        typeGetFlags = h("PyType_GetFlags", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        objectType = h("PyObject_Type", pP);
        objectIsInstance = h("PyObject_IsInstance", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getBuffer = h("PyObject_GetBuffer", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        bufferRelease = h("PyBuffer_Release", vP);
        memoryViewFromObject = h("PyMemoryView_FromObject", pP);
        typeFromSpec = h("PyType_FromSpec", pP);
        typeGenericAlloc = h("PyType_GenericAlloc", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG));
        capsuleNew = h("PyCapsule_New", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        capsuleIsValid = h("PyCapsule_IsValid", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        capsuleGetPointer = h("PyCapsule_GetPointer", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        capsuleSetName = h("PyCapsule_SetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        SymbolLookup libc = LINKER.defaultLookup();
        malloc = LINKER.downcallHandle(libc.findOrThrow("malloc"), FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        free = LINKER.downcallHandle(libc.findOrThrow("free"), FunctionDescriptor.ofVoid(ADDRESS));
    }

    private MethodHandle h(String name, FunctionDescriptor fd) {
        MemorySegment address = symbols.find(name).orElseThrow(() -> new UnsatisfiedLinkError("panbuf: " + library
                + " has no symbol " + name + "; panbuf's Python bridge needs CPython 3.8 or newer"));
        return LINKER.downcallHandle(address, fd);
    }

    // ------------------------------------------------------------------ loading

    /**
     * Opens libpython with {@code RTLD_NOW | RTLD_GLOBAL}: {@code library} is
     * a path, or a file name the dynamic linker looks up.
     *
     * @throws UnsatisfiedLinkError with the dynamic linker's reason
     */
    public static CPython load(String library) {
        MethodHandle dlopen = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("dlopen"),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        MethodHandle dlerror = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("dlerror"),
                FunctionDescriptor.of(ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) dlopen.invokeExact(arena.allocateFrom(library), RTLD_NOW | RTLD_GLOBAL);
            if (handle.address() == 0) {
                MemorySegment err = (MemorySegment) dlerror.invokeExact();
                throw new UnsatisfiedLinkError("panbuf: cannot load libpython " + library + ": "
                        + (err.address() == 0 ? "dlopen failed" : err.reinterpret(4096).getString(0)));
            }
            SymbolLookup lookup = SymbolLookup.libraryLookup(library.contains("/") ? Path.of(library).toString() : library,
                    Arena.global());
            MemorySegment init = lookup.find("Py_InitializeEx").orElseThrow(() -> new UnsatisfiedLinkError("panbuf: "
                    + library + " is not libpython: it has no symbol Py_InitializeEx"));
            return new CPython(pathOf(init).orElse(Path.of(library)), lookup);
        } catch (UnsatisfiedLinkError e) {
            throw e;
        } catch (Throwable t) {
            if (t instanceof Error e) {
                throw e;
            }
            UnsatisfiedLinkError e = new UnsatisfiedLinkError("panbuf: cannot load libpython " + library + ": " + t);
            e.initCause(t);
            throw e;
        }
    }

    /** The file a symbol was loaded from (dladdr). */
    private static Optional<Path> pathOf(MemorySegment symbol) {
        try (Arena arena = Arena.ofConfined()) {
            MethodHandle dladdr = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("dladdr"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
            MemorySegment info = arena.allocate(MemoryLayout.sequenceLayout(4, ADDRESS));
            int ok = (int) dladdr.invokeExact(symbol, info);
            MemorySegment name = info.get(ADDRESS, 0);
            if (ok == 0 || name.address() == 0) {
                return Optional.empty();
            }
            return Optional.of(Path.of(name.reinterpret(4096).getString(0)));
        } catch (Throwable t) {
            return Optional.empty();
        }
    }

    /**
     * The interpreter installed beside a libpython ({@code <prefix>/bin/python3.X}
     * for {@code <prefix>/lib[/<multiarch>]/libpython3.X.so...}), if any.
     */
    public static Optional<Path> executableBeside(Path library) {
        String file = library.getFileName().toString();
        int at = file.indexOf(".so");
        if (!file.startsWith("libpython") || at < 0) {
            return Optional.empty();
        }
        String version = file.substring("libpython".length(), at);   // "3.11"
        Path dir = library.toAbsolutePath().getParent();
        for (int up = 0; up < 3 && dir != null; up++, dir = dir.getParent()) {
            Path candidate = dir.resolve("bin").resolve("python" + version);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** True when this libpython has {@code Py_SetProgramName} (CPython 3.8 to 3.14). */
    public boolean canSetProgramName() {
        return setProgramName != null;
    }

    // ------------------------------------------------------------------ data symbols

    /** The address of a data symbol ({@code PyFloat_Type}, {@code _Py_NoneStruct}, ...). */
    public long symbol(String name) {
        return symbols.find(name).orElseThrow(() -> new UnsatisfiedLinkError("panbuf: " + library + " has no symbol "
                + name)).address();
    }

    /** The value of a {@code PyObject *} global variable ({@code PyExc_BufferError}, ...). */
    public long globalObject(String name) {
        return MemorySegment.ofAddress(symbol(name)).reinterpret(8).get(ADDRESS, 0).address();
    }

    // ------------------------------------------------------------------ raw memory

    /** {@code byteSize} bytes at an address, with no lifetime: only for memory the caller knows is live. */
    public static MemorySegment at(long address, long byteSize) {
        return MemorySegment.ofAddress(address).reinterpret(byteSize);
    }

    /**
     * {@code byteSize} bytes at an address as memory of {@code arena};
     * {@code cleanup} runs once when the arena closes.
     */
    public static MemorySegment at(long address, long byteSize, Arena arena, Runnable cleanup) {
        return MemorySegment.ofAddress(address).reinterpret(byteSize, arena, unused -> cleanup.run());
    }

    /** A NUL-terminated C string at an address (UTF-8). */
    public static String string(long address) {
        return MemorySegment.ofAddress(address).reinterpret(Long.MAX_VALUE).getString(0, StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ upcalls

    /**
     * A C function pointer that calls {@code target} (a static method), valid
     * for the life of the process. The target must never throw: an exception
     * escaping an upcall ends the JVM.
     */
    public static long upcall(MethodHandles.Lookup lookup, Class<?> owner, String method, FunctionDescriptor fd) {
        try {
            MethodType type = fd.toMethodType();
            MethodHandle target = lookup.findStatic(owner, method, type);
            return LINKER.upcallStub(target, fd, Arena.global()).address();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("panbuf: cannot make an upcall to " + owner.getName() + "." + method, e);
        }
    }

    // ------------------------------------------------------------------ the C API (caller holds the GIL)

    public int isInitialized() {
        try {
            return (int) isInitialized.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code Py_SetProgramName}; the string is kept for the life of the process, as CPython requires.
     * Does nothing on a CPython without the (deprecated) function.
     */
    public void setProgramName(String name) {
        if (setProgramName == null) {
            return;
        }
        byte[] utf32 = (name + "\0").getBytes(java.nio.charset.Charset.forName("UTF-32LE"));
        MemorySegment w = Arena.global().allocate(utf32.length, 4);
        MemorySegment.copy(utf32, 0, w, ValueLayout.JAVA_BYTE, 0, utf32.length);
        try {
            setProgramName.invokeExact(w);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void initializeEx(int initSignals) {
        try {
            initializeEx.invokeExact(initSignals);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code Py_GetVersion()}, which may be called before the interpreter starts: {@code "3.11.7 (main, ...)"}. */
    public String version() {
        try {
            return ((MemorySegment) getVersion.invokeExact()).reinterpret(4096).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long saveThread() {
        try {
            return ((MemorySegment) saveThread.invokeExact()).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyEval_RestoreThread(state)}: takes the GIL back after {@link #saveThread()}. */
    public void restoreThread(long state) {
        try {
            restoreThread.invokeExact(MemorySegment.ofAddress(state));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyEval_GetGlobals()}: the globals of the Python code running now (borrowed), or 0. */
    public long currentGlobals() {
        try {
            return ((MemorySegment) evalGetGlobals.invokeExact()).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyType_GetSlot(type, slot)}: a heap type's slot function, or 0. */
    public long typeSlot(long type, int slot) {
        try {
            return ((MemorySegment) typeGetSlot.invokeExact(MemorySegment.ofAddress(type), slot)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Calls a C function {@code void f(void *)} through its pointer. */
    public static void callVoid(long function, long argument) {
        try {
            CALL_VOID_POINTER.invokeExact(MemorySegment.ofAddress(function), MemorySegment.ofAddress(argument));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public int gilEnsure() {
        try {
            return (int) gilEnsure.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void gilRelease(int state) {
        try {
            gilRelease.invokeExact(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void incRef(long o) {
        try {
            incRef.invokeExact(MemorySegment.ofAddress(o));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void decRef(long o) {
        try {
            decRef.invokeExact(MemorySegment.ofAddress(o));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long dictNew() {
        try {
            return ((MemorySegment) dictNew.invokeExact()).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyDict_SetItemString} (the dict takes its own reference). */
    public int dictSetItem(long dict, String key, long value) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) dictSetItemString.invokeExact(MemorySegment.ofAddress(dict), arena.allocateFrom(key),
                    MemorySegment.ofAddress(value));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyDict_GetItemString}: a borrowed reference, or 0. */
    public long dictGetItem(long dict, String key) {
        try (Arena arena = Arena.ofConfined()) {
            return ((MemorySegment) dictGetItemString.invokeExact(MemorySegment.ofAddress(dict), arena.allocateFrom(key)))
                    .address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyDict_GetItem(dict, key)} for a key object: borrowed, or 0 (no error set). */
    public long dictGetItem(long dict, long key) {
        try {
            return ((MemorySegment) dictGetItemObject.invokeExact(MemorySegment.ofAddress(dict), MemorySegment.ofAddress(key)))
                    .address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyDict_SetItem(dict, key, value)} for a key object (the dict takes its own references). */
    public int dictSetItem(long dict, long key, long value) {
        try {
            return (int) dictSetItemObject.invokeExact(MemorySegment.ofAddress(dict), MemorySegment.ofAddress(key),
                    MemorySegment.ofAddress(value));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public int dictDelItem(long dict, String key) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) dictDelItemString.invokeExact(MemorySegment.ofAddress(dict), arena.allocateFrom(key));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void dictClear(long dict) {
        try {
            dictClear.invokeExact(MemorySegment.ofAddress(dict));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyDict_Next}: {key, value} borrowed, advancing {@code pos[0]}; null at the end. */
    public long[] dictNext(long dict, long[] pos) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(JAVA_LONG, pos[0]);
            MemorySegment k = arena.allocate(ADDRESS);
            MemorySegment v = arena.allocate(ADDRESS);
            int more = (int) dictNext.invokeExact(MemorySegment.ofAddress(dict), p, k, v);
            pos[0] = p.get(JAVA_LONG, 0);
            return more == 0 ? null : new long[] {k.get(ADDRESS, 0).address(), v.get(ADDRESS, 0).address()};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyRun_StringFlags(code, start, globals, locals, NULL)}: a new reference, or 0 with an error set. */
    public long runString(String code, int start, long globals, long locals) {
        try (Arena arena = Arena.ofConfined()) {
            return ((MemorySegment) runString.invokeExact(arena.allocateFrom(code), start, MemorySegment.ofAddress(globals),
                    MemorySegment.ofAddress(locals), MemorySegment.NULL)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code Py_CompileString(code, "<string>", start)}: a new code object, or 0 with an error set. */
    public long compileString(String code, int start) {
        try (Arena arena = Arena.ofConfined()) {
            return ((MemorySegment) compileString.invokeExact(arena.allocateFrom(code), arena.allocateFrom("<string>"), start))
                    .address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyEval_EvalCode(code, globals, locals)}: a new reference, or 0 with an error set. */
    public long evalCode(long code, long globals, long locals) {
        try {
            return ((MemorySegment) evalCode.invokeExact(MemorySegment.ofAddress(code), MemorySegment.ofAddress(globals),
                    MemorySegment.ofAddress(locals))).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long errOccurred() {
        try {
            return ((MemorySegment) errOccurred.invokeExact()).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyErr_Fetch} then {@code PyErr_NormalizeException}: new references {type, value, traceback} (each may be 0). */
    public long[] errFetchNormalized() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(ADDRESS);
            MemorySegment v = arena.allocate(ADDRESS);
            MemorySegment tb = arena.allocate(ADDRESS);
            errFetch.invokeExact(t, v, tb);
            errNormalize.invokeExact(t, v, tb);
            return new long[] {t.get(ADDRESS, 0).address(), v.get(ADDRESS, 0).address(), tb.get(ADDRESS, 0).address()};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void errClear() {
        try {
            errClear.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyErr_SetString(type, message)}. */
    public void errSetString(long type, String message) {
        try (Arena arena = Arena.ofConfined()) {
            errSetString.invokeExact(MemorySegment.ofAddress(type), arena.allocateFrom(message));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long objectStr(long o) {
        try {
            return ((MemorySegment) objectStr.invokeExact(MemorySegment.ofAddress(o))).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The UTF-8 text of a str object, or null with an error set. */
    public String unicodeText(long o) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG);
            MemorySegment chars = (MemorySegment) unicodeAsUtf8AndSize.invokeExact(MemorySegment.ofAddress(o), size);
            if (chars.address() == 0) {
                return null;
            }
            long n = size.get(JAVA_LONG, 0);
            byte[] bytes = chars.reinterpret(n).toArray(ValueLayout.JAVA_BYTE);
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A new str from Java text (UTF-8). */
    public long unicodeFrom(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chars = arena.allocate(Math.max(1, b.length));
            MemorySegment.copy(b, 0, chars, ValueLayout.JAVA_BYTE, 0, b.length);
            return ((MemorySegment) unicodeFromStringAndSize.invokeExact(chars, (long) b.length)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long longFrom(long v) {
        try {
            return ((MemorySegment) longFromLongLong.invokeExact(v)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long longValue(long o) {
        try {
            return (long) longAsLongLong.invokeExact(MemorySegment.ofAddress(o));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long floatFrom(double v) {
        try {
            return ((MemorySegment) floatFromDouble.invokeExact(v)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public double floatValue(long o) {
        try {
            return (double) floatAsDouble.invokeExact(MemorySegment.ofAddress(o));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long boolFrom(boolean v) {
        try {
            return ((MemorySegment) boolFromLong.invokeExact(v ? 1L : 0L)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long bytesFrom(byte[] b) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(Math.max(1, b.length));
            MemorySegment.copy(b, 0, data, ValueLayout.JAVA_BYTE, 0, b.length);
            return ((MemorySegment) bytesFromStringAndSize.invokeExact(data, (long) b.length)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The contents of a bytes object, or null with an error set. */
    public byte[] bytesValue(long o) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(ADDRESS);
            MemorySegment size = arena.allocate(JAVA_LONG);
            int rc = (int) bytesAsStringAndSize.invokeExact(MemorySegment.ofAddress(o), data, size);
            if (rc != 0) {
                return null;
            }
            return data.get(ADDRESS, 0).reinterpret(size.get(JAVA_LONG, 0)).toArray(ValueLayout.JAVA_BYTE);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long listSize(long o) {
        try {
            return (long) listSize.invokeExact(MemorySegment.ofAddress(o));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Borrowed. */
    public long listItem(long o, long i) {
        try {
            return ((MemorySegment) listGetItem.invokeExact(MemorySegment.ofAddress(o), i)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long tupleSize(long o) {
        try {
            return (long) tupleSize.invokeExact(MemorySegment.ofAddress(o));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Borrowed. */
    public long tupleItem(long o, long i) {
        try {
            return ((MemorySegment) tupleGetItem.invokeExact(MemorySegment.ofAddress(o), i)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyObject_Type}: a new reference to the object's type. */
    public long type(long o) {
        try {
            return ((MemorySegment) objectType.invokeExact(MemorySegment.ofAddress(o))).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long typeFlags(long type) {
        try {
            return (long) typeGetFlags.invokeExact(MemorySegment.ofAddress(type));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyObject_IsInstance}: 1, 0, or -1 with an error set. */
    public int isInstance(long o, long type) {
        try {
            return (int) objectIsInstance.invokeExact(MemorySegment.ofAddress(o), MemorySegment.ofAddress(type));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyObject_GetBuffer(obj, view, flags)}: 0, or -1 with an error set. */
    public int getBuffer(long obj, long view, int flags) {
        try {
            return (int) getBuffer.invokeExact(MemorySegment.ofAddress(obj), MemorySegment.ofAddress(view), flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void bufferRelease(long view) {
        try {
            bufferRelease.invokeExact(MemorySegment.ofAddress(view));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long memoryViewFromObject(long obj) {
        try {
            return ((MemorySegment) memoryViewFromObject.invokeExact(MemorySegment.ofAddress(obj))).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyType_FromSpec(spec)}: a new type, or 0 with an error set. The spec must outlive the type. */
    public long typeFromSpec(MemorySegment spec) {
        try {
            return ((MemorySegment) typeFromSpec.invokeExact(spec)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long typeGenericAlloc(long type) {
        try {
            return ((MemorySegment) typeGenericAlloc.invokeExact(MemorySegment.ofAddress(type), 0L)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code PyCapsule_New(pointer, name, destructor)}; name and destructor must outlive the capsule. */
    public long capsuleNew(long pointer, long name, long destructor) {
        try {
            return ((MemorySegment) capsuleNew.invokeExact(MemorySegment.ofAddress(pointer), MemorySegment.ofAddress(name),
                    MemorySegment.ofAddress(destructor))).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public boolean capsuleIsValid(long capsule, long name) {
        try {
            return (int) capsuleIsValid.invokeExact(MemorySegment.ofAddress(capsule), MemorySegment.ofAddress(name)) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long capsulePointer(long capsule, long name) {
        try {
            return ((MemorySegment) capsuleGetPointer.invokeExact(MemorySegment.ofAddress(capsule),
                    MemorySegment.ofAddress(name))).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public int capsuleSetName(long capsule, long name) {
        try {
            return (int) capsuleSetName.invokeExact(MemorySegment.ofAddress(capsule), MemorySegment.ofAddress(name));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** libc {@code malloc}; 0 when it fails. */
    public long malloc(long bytes) {
        try {
            return ((MemorySegment) malloc.invokeExact(bytes)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void free(long p) {
        try {
            free.invokeExact(MemorySegment.ofAddress(p));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }
}
