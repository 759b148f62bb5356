package dev.panbuf.fuzz;

import dev.panbuf.Accounting;
import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.GrowableBuffer;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.Slice;
import dev.panbuf.arrow.Arrow;
import dev.panbuf.arrow.ArrowExport;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import dev.panbuf.python.PyScope;
import dev.panbuf.python.Python;
import dev.panbuf.python.PythonException;
import dev.panbuf.shim.ArrowShim;
import dev.panbuf.shim.DLPackShim;
import dev.panbuf.shim.Shim;

import java.io.IOException;
import java.io.Writer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model-checked interpreter of random lifetime sequences: arenas (confined
 * and shared), growable buffers, allocations, slices, read-only views, reads
 * and writes (through accessors and through {@code segment()}), exports
 * ({@code pb_buffer}, DLPack and Arrow, writable and read-only), hand-offs, imports
 * of those pointers (into other arenas and into the exporting arena itself),
 * exports of imported memory, releases from C on another thread, closes,
 * growth that moves memory, and a second thread writing while the first
 * closes or grows; and, when the user's Python with NumPy is found, memory
 * shared with Python ({@code putNumpy}, {@code putMemoryView}), NumPy views of
 * it, reads and writes from Python, {@code del} (on another thread too),
 * Python code trying to release what NumPy still holds, and imports back
 * from Python through the buffer protocol and DLPack, into any arena
 * including the exporting one. Every step is checked against a model that knows what the
 * lifetime rules promise:
 * <ul>
 * <li>every read returns the last value written, or throws
 *     {@link IllegalStateException} because the memory is gone; every write
 *     that returned is never lost, even across a move of a growable buffer;
 * <li>writes through read-only views, and through their {@code segment()},
 *     are refused; refused operations change nothing;
 * <li>an import of a pointer Java owns, or of one already imported, is
 *     refused; an import keeps its source pinned;
 * <li>an arena closes exactly when no export of its memory (or of memory it
 *     imported) is live, after releasing what it imported; its refusal names
 *     every live export (one held by Python by the variable it was bound to);
 * <li>memory shared with Python stays pinned while any Python name, NumPy
 *     view or import of it lives, and is released as soon as none does;
 * <li>panbuf's counters (live exports and imports) agree with the model after
 *     every step, and at the end, after releasing exactly what each refusal
 *     named, every arena closes and every counter is back where it started.
 * </ul>
 * A disagreement throws {@link AssertionError} with the sequence so far. A
 * JVM crash is possible only if panbuf is broken, so campaigns run in a child
 * JVM ({@link LifetimeCampaign}) that writes each step to a log before doing
 * it.
 */
public final class LifetimeSequences {

    /** Where the choices come from: a seeded {@link Random}, or fuzzed bytes. */
    public interface Choices {
        /** False once the sequence should end. */
        boolean more();

        /** {@code 0 <= result < bound}, for {@code 1 <= bound <= 256}. */
        int below(int bound);

        /** Any value to write. */
        long value();
    }

    /** Choices from a seeded generator, {@code steps} of them. */
    public static Choices seeded(long seed, int steps) {
        Random r = new Random(seed);
        return new Choices() {
            int left = steps;

            @Override
            public boolean more() {
                return left-- > 0;
            }

            @Override
            public int below(int bound) {
                return r.nextInt(bound);
            }

            @Override
            public long value() {
                return r.nextLong();
            }
        };
    }

    /** Choices from fuzzed bytes. */
    static Choices fuzzed(Fuzz.Input in) {
        return new Choices() {
            int steps;

            @Override
            public boolean more() {
                return !in.exhausted() && steps++ < 200;
            }

            @Override
            public int below(int bound) {
                return in.below(bound);
            }

            @Override
            public long value() {
                return in.s64();
            }
        };
    }

    // ------------------------------------------------------------------ the model

    /**
     * Kinds of step a survey of an old, broken build leaves out, to see past
     * the findings it already has: {@code -Dpanbuf.lifetime.skip=} a comma list of
     * {@code javaOwnedImport}, {@code secondImport}, {@code segmentWrite},
     * {@code readOnlyImport}, {@code closedImport}, {@code counters}, {@code python}. Empty (nothing skipped) in
     * every test.
     */
    private static final java.util.Set<String> SKIP = java.util.Set.of(
            System.getProperty("panbuf.lifetime.skip", "").split(","));

    private static final int JAVA_OWNED = 0, HANDED_OFF = 1, IMPORTED = 2, RELEASED = 3;
    private static final String[] STATES = {"owned by Java", "handed off", "imported", "released"};
    private static final Pattern EXPORT_ID = Pattern.compile("export #(\\d+)");

    private static final class ArenaM {
        final int id;
        final BufferArena real;
        final boolean shared;
        boolean closed;
        final List<ImpM> imports = new ArrayList<>();

        ArenaM(int id, BufferArena.Builder builder, boolean shared) {
            this.id = id;
            this.shared = shared;
            this.real = (shared ? builder.shared() : builder.confined()).build();
        }

        @Override
        public String toString() {
            return "arena" + id;
        }
    }

    private static final class GrowM {
        final int id;
        final GrowableBuffer real;
        final boolean shared;
        final Block block;
        boolean closed;
        int generation;

        GrowM(int id, GrowableBuffer real, boolean shared) {
            this.id = id;
            this.real = real;
            this.shared = shared;
            this.block = new Block(null, this, new long[0]);
        }

        @Override
        public String toString() {
            return "grow" + id;
        }
    }

    /** int64 elements: an arena allocation or a growable buffer's contents. */
    private static final class Block {
        final ArenaM arena;
        final GrowM grow;
        long[] values;

        Block(ArenaM arena, GrowM grow, long[] values) {
            this.arena = arena;
            this.grow = grow;
            this.values = values;
        }
    }

    private static final class ViewM {
        final int id;
        final NdArray real;
        final Block block;
        final int[] pos;         // element i of the view is block element pos[i]
        final boolean readOnly;
        final int generation;    // of the growable buffer, when it made this view
        final ImpM via;          // an imported view: alive while the import is

        ViewM(int id, NdArray real, Block block, int[] pos, boolean readOnly, int generation, ImpM via) {
            this.id = id;
            this.real = real;
            this.block = block;
            this.pos = pos;
            this.readOnly = readOnly;
            this.generation = generation;
            this.via = via;
        }

        boolean alive() {
            if (via != null) {
                return !via.released;
            }
            if (block.arena != null) {
                return !block.arena.closed;
            }
            return !block.grow.closed && block.grow.generation == generation;
        }

        @Override
        public String toString() {
            return "view" + id;
        }
    }

    private static final class ExpM {
        final int id;
        final Export export;        // pb_buffer exports
        final DLPackExport tensor;  // DLPack exports
        final ArrowExport arrow;    // Arrow exports
        final ViewM view;
        final boolean readOnly;
        final long realId;          // the number in "export #N"; -1 for memory shared with Python
        int state = JAVA_OWNED;
        MemorySegment pointer;      // once handed off
        /** Memory shared with Python: the name it was first bound to, and every Python name that holds it now. */
        final String pyFirstName;
        final List<PyName> pyNames = new ArrayList<>();
        final List<ImpM> pyImports = new ArrayList<>();

        ExpM(int id, Export export, DLPackExport tensor, ViewM view, boolean readOnly) {
            this.id = id;
            this.export = export;
            this.tensor = tensor;
            this.arrow = null;
            this.view = view;
            this.readOnly = readOnly;
            this.pyFirstName = null;
            Matcher m = EXPORT_ID.matcher(tensor != null ? tensor.toString() : export.toString());
            if (!m.find()) {
                throw new AssertionError("no export number in " + (tensor != null ? tensor : export));
            }
            this.realId = Long.parseLong(m.group(1));
        }

        /** Memory shared with Python under {@code name}: Python holds the release duty from the start. */
        ExpM(int id, ViewM view, boolean readOnly, String name) {
            this.id = id;
            this.export = null;
            this.tensor = null;
            this.arrow = null;
            this.view = view;
            this.readOnly = readOnly;
            this.realId = -1;
            this.pyFirstName = name;
            this.state = HANDED_OFF;
        }

        /** An Arrow array and schema: refusals name it by the array's address. */
        ExpM(int id, ArrowExport arrow, ViewM view, boolean readOnly) {
            this.id = id;
            this.export = null;
            this.tensor = null;
            this.arrow = arrow;
            this.view = view;
            this.readOnly = readOnly;
            this.realId = -1;
            this.pyFirstName = null;
        }

        boolean python() {
            return pyFirstName != null;
        }

        /** Java's {@code close()} of whichever handle this is. */
        void closeHandle() {
            if (arrow != null) {
                arrow.close();
            } else if (tensor != null) {
                tensor.close();
            } else {
                export.close();
            }
        }

        /** What the consumer that holds a handed-off export does to release it: each struct's release, once. */
        void releaseAsConsumer() {
            if (arrow != null) {
                ArrowShim.releaseSchema(arrow.schema().address());
                ArrowShim.releaseArray(arrow.array().address());
            } else if (tensor != null) {
                DLPackShim.delete(pointer.address());
            } else {
                Shim.release(pointer);
            }
        }

        boolean live() {
            return state != RELEASED;
        }

        @Override
        public String toString() {
            if (python()) {
                return "py" + id + "('" + pyFirstName + "', " + (live() ? "held by Python" : "released") + ")";
            }
            if (arrow != null) {
                return "arrow" + id + "(0x" + Long.toHexString(arrow.array().address()) + ", " + STATES[state] + ")";
            }
            return (tensor != null ? "dlpack" : "exp") + id + "(#" + realId + ", " + STATES[state] + ")";
        }
    }

    /** A Python variable over memory shared with Python: element i is block element pos[i]. */
    private record PyName(String name, ExpM export, int[] pos, boolean numpy) { }

    private static final class ImpM {
        final int id;
        final ExpM source;
        final ArenaM arena;
        boolean released;
        final List<ExpM> reexports = new ArrayList<>();

        ImpM(int id, ExpM source, ArenaM arena) {
            this.id = id;
            this.source = source;
            this.arena = arena;
        }

        @Override
        public String toString() {
            return "imp" + id + "(of " + source + " in " + arena + ")";
        }
    }

    /** The "C side" and the second writer: pooled, as starting a thread per step would dominate the run. */
    private static final java.util.concurrent.ExecutorService SIDE = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "lifetime-side");
        t.setDaemon(true);
        return t;
    });

    private final Choices in;
    private final Writer trace;
    private final List<String> log = new ArrayList<>();
    private final List<ArenaM> arenas = new ArrayList<>();
    private final List<GrowM> grows = new ArrayList<>();
    private final List<ViewM> views = new ArrayList<>();
    private final List<ExpM> exports = new ArrayList<>();
    private final List<ImpM> imports = new ArrayList<>();
    private final long exportsAtStart = Accounting.liveExports();
    private final long importsAtStart = Accounting.liveImports();
    private final long arenasAtStart = Accounting.openArenas();
    private final long bytesAtStart = Accounting.arenaBytes();
    private int ids;
    private PyScope scope;   // made on the first Python step

    /** The user's Python with NumPy, or null (Python steps are then skipped). */
    private static final Python PYTHON = findPython();

    private static Python findPython() {
        if (SKIP.contains("python") || !Python.isAvailable() || Python.get().numpyVersion().isEmpty()) {
            return null;
        }
        return Python.get();
    }

    /** {@return which Python the Python steps use, or why they are skipped} */
    public static String pythonUsed() {
        if (PYTHON != null) {
            return "Python steps with " + PYTHON.describe().lines().findFirst().orElse("") + ", NumPy "
                    + PYTHON.numpyVersion().orElse("?");
        }
        return "Python steps skipped: " + (SKIP.contains("python") ? "panbuf.lifetime.skip has python"
                : Python.unavailableReason().orElse("NumPy is not installed for it"));
    }

    private LifetimeSequences(Choices in, Writer trace) {
        this.in = in;
        this.trace = trace;
    }

    /**
     * Runs one sequence and then releases everything, checking the model at
     * every step. {@code trace}, when not null, receives each step before it
     * runs (flushed), so that a crash leaves the sequence behind.
     *
     * @return the number of steps run
     * @throws AssertionError naming the step and the sequence when panbuf disagrees with the model
     */
    public static int run(Choices in, Writer trace) {
        LifetimeSequences s = new LifetimeSequences(in, trace);
        try {
            int steps = 0;
            while (in.more()) {
                s.step();
                s.checkCounters();
                steps++;
            }
            s.closeEverything();
            if (s.scope != null) {
                s.scope.close();
            }
            return steps;
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nsequence:\n  " + String.join("\n  ", s.log), e.getCause());
        } catch (RuntimeException | Error e) {
            throw new AssertionError("unexpected " + e + "\nsequence:\n  " + String.join("\n  ", s.log), e);
        }
    }

    /** How often each kind of step ran, over all sequences in this JVM (campaigns print it). */
    public static final java.util.concurrent.ConcurrentSkipListMap<String, java.util.concurrent.atomic.LongAdder> STATS =
            new java.util.concurrent.ConcurrentSkipListMap<>();

    private static void count(String what) {
        STATS.computeIfAbsent(what, k -> new java.util.concurrent.atomic.LongAdder()).increment();
    }

    private void note(String step) {
        log.add(step);
        if (trace != null) {
            try {
                trace.write(step);
                trace.write('\n');
                trace.flush();
            } catch (IOException e) {
                throw new IllegalStateException("cannot write the trace", e);
            }
        }
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    /** Runs {@code action}; it must throw {@code type} whose message contains {@code part}. */
    private static <T extends Throwable> T refused(Class<T> type, String part, Runnable action, String what) {
        try {
            action.run();
        } catch (Throwable t) {
            if (type.isInstance(t) && String.valueOf(t.getMessage()).contains(part)) {
                return type.cast(t);
            }
            throw new AssertionError(what + ": expected " + type.getSimpleName() + " containing \"" + part + "\", got " + t, t);
        }
        throw new AssertionError(what + ": expected " + type.getSimpleName() + " containing \"" + part + "\", but it succeeded");
    }

    private <T> T pick(List<T> list) {
        return list.isEmpty() ? null : list.get(in.below(Math.min(list.size(), 256)) % list.size());
    }

    // ------------------------------------------------------------------ steps

    private void step() {
        int op = in.below(PYTHON == null ? 21 : 27);
        switch (op) {
            case 0 -> newArena();
            case 1 -> newGrowable();
            case 2, 3 -> allocate();
            case 4 -> slice();
            case 5 -> readOnly();
            case 6 -> write(false);
            case 7 -> read();
            case 8 -> write(true);
            case 9 -> export(false);
            case 10 -> export(true);
            case 11 -> closeExport();
            case 12 -> handOff();
            case 13, 14 -> importPointer();
            case 15 -> releaseFromC();
            case 16 -> closeArena(pick(arenas));
            case 17 -> grow(pick(grows));
            case 18 -> closeGrowable();
            case 19 -> concurrently();
            case 20 -> exportArrow();
            case 21 -> pyShare();
            case 22 -> pyDerive();
            case 23 -> pyAccess();
            case 24 -> pyDel();
            case 25 -> pyImport();
            default -> pyHostile();
        }
    }

    private void newArena() {
        if (arenas.size() >= 6) {
            return;
        }
        boolean shared = in.below(2) == 0;
        int id = ids++;
        note("arena" + id + " = new " + (shared ? "shared" : "confined") + " BufferArena");
        BufferArena.Builder b = BufferArena.builder().name("arena" + id);
        arenas.add(new ArenaM(id, b, shared));
    }

    private void newGrowable() {
        if (grows.size() >= 3) {
            return;
        }
        boolean shared = in.below(2) == 0;
        int n = 1 + in.below(32);
        int id = ids++;
        note("grow" + id + " = " + (shared ? "shared" : "confined") + " GrowableBuffer of " + n + " int64");
        GrowableBuffer g = shared ? GrowableBuffer.ofShared(8L * n) : GrowableBuffer.ofConfined(8L * n);
        g.resize(8L * n);
        GrowM m = new GrowM(id, g, shared);
        m.block.values = new long[n];
        grows.add(m);
        addView(g.view(DType.INT64), m.block, identity(n), false, 0, null);
    }

    private static int[] identity(int n) {
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = i;
        }
        return pos;
    }

    private ViewM addView(NdArray real, Block block, int[] pos, boolean readOnly, int generation, ImpM via) {
        ViewM v = new ViewM(ids++, real, block, pos, readOnly, generation, via);
        check(real.isReadOnly() == readOnly, v + " read-only is " + real.isReadOnly() + ", the model says " + readOnly);
        check(real.elementCount() == pos.length, v + " has " + real.elementCount() + " elements, the model " + pos.length);
        if (views.size() >= 64) {
            views.remove(in.below(views.size()));
        }
        views.add(v);
        return v;
    }

    private void allocate() {
        ArenaM a = pick(arenas);
        if (a == null) {
            return;
        }
        int n = in.below(40);
        note("view = allocate(" + a + ", INT64, " + n + ")");
        if (a.closed) {
            refused(IllegalStateException.class, "Already closed", () -> NdArray.allocate(a.real, DType.INT64, n),
                    "allocate in a closed arena");
            return;
        }
        NdArray real = NdArray.allocate(a.real, DType.INT64, n);
        addView(real, new Block(a, null, new long[n]), identity(n), false, 0, null);
    }

    private void slice() {
        ViewM v = pick(views);
        if (v == null) {
            return;
        }
        int n = v.pos.length;
        int start = in.below(n + 1);
        int stop = in.below(n + 1);
        int step = in.below(2) == 0 ? 1 + in.below(3) : -1 - in.below(3);
        note(v + ".get(" + start + ":" + stop + ":" + step + ")");
        NdArray real = v.real.get(Slice.of(start, stop, step));   // views are made without touching memory
        addView(real, v.block, sliced(v.pos, start, stop, step), v.readOnly, v.generation, v.via);
    }

    /** The positions {@code pos[start:stop:step]} picks, for {@code 0 <= start, stop <= pos.length} (as NumPy). */
    private static int[] sliced(int[] pos, int start, int stop, int step) {
        List<Integer> picked = new ArrayList<>();
        if (step > 0) {
            for (int i = start; i < stop; i += step) {
                picked.add(pos[i]);
            }
        } else {
            for (int i = Math.min(start, pos.length - 1); i > stop && i >= 0; i += step) {
                picked.add(pos[i]);
            }
        }
        return picked.stream().mapToInt(Integer::intValue).toArray();
    }

    private void readOnly() {
        ViewM v = pick(views);
        if (v == null) {
            return;
        }
        note(v + ".asReadOnly()");
        addView(v.real.asReadOnly(), v.block, v.pos, true, v.generation, v.via);
    }

    private void write(boolean throughSegment) {
        ViewM v = pick(views);
        if (v == null || v.pos.length == 0 || (throughSegment && SKIP.contains("segmentWrite"))) {
            return;
        }
        int i = in.below(v.pos.length);
        long value = in.value();
        note(v + (throughSegment ? ".segment() write [" : ".setLong [") + i + "] = " + value);
        Runnable w = throughSegment
                ? () -> v.real.segment().set(ValueLayout.JAVA_LONG_UNALIGNED, v.real.byteOffset() + i * v.real.byteStride(0), value)
                : () -> v.real.setLong(value, i);
        if (v.readOnly) {   // refused before the memory is touched, so whether it is still there does not matter
            refused(IllegalArgumentException.class, "read-only", w, "write through read-only " + v);
            count(throughSegment ? "write through a read-only segment refused" : "write through a read-only view refused");
        } else if (!v.alive()) {
            refused(IllegalStateException.class, "Already closed", w, "write to freed memory through " + v);
        } else {
            w.run();
            v.block.values[v.pos[i]] = value;
        }
    }

    private void read() {
        ViewM v = pick(views);
        if (v == null || v.pos.length == 0) {
            return;
        }
        int i = in.below(v.pos.length);
        note(v + ".getLong [" + i + "]");
        if (!v.alive()) {
            refused(IllegalStateException.class, "Already closed", () -> v.real.getLong(i), "read of freed memory through " + v);
            return;
        }
        long got = v.real.getLong(i);
        long want = v.block.values[v.pos[i]];
        check(got == want, v + "[" + i + "] reads " + got + ", but the last value written there is " + want);
    }

    private void export(boolean dlpack) {
        ViewM v = pick(views);
        if (v == null || exports.size() >= 48) {
            return;
        }
        boolean asReadOnly = in.below(3) == 0;
        note("exp" + ids + " = " + (dlpack ? "DLPack.export(" : "export(") + v + (asReadOnly ? ".asReadOnly()" : "") + ")");
        NdArray source = asReadOnly ? v.real.asReadOnly() : v.real;
        if (!v.alive()) {
            refused(IllegalStateException.class, "Already closed",
                    () -> { if (dlpack) { DLPack.export(source); } else { source.export(); } }, "export of freed memory");
            return;
        }
        ExpM e = dlpack ? new ExpM(ids++, null, DLPack.export(source), v, v.readOnly || asReadOnly)
                : new ExpM(ids++, source.export(), null, v, v.readOnly || asReadOnly);
        exports.add(e);
        if (v.via != null) {
            v.via.reexports.add(e);
        }
    }

    /** An Arrow array of a view: refused, naming copy(), unless its elements are one item apart. */
    private void exportArrow() {
        ViewM v = pick(views);
        if (v == null || exports.size() >= 48) {
            return;
        }
        boolean asReadOnly = in.below(3) == 0;
        note("arrow" + ids + " = Arrow.exportArray(" + v + (asReadOnly ? ".asReadOnly()" : "") + ")");
        NdArray source = asReadOnly ? v.real.asReadOnly() : v.real;
        // The layout is checked first (it needs no memory): a strided view is refused naming copy(), dead or alive.
        if (v.real.byteStride(0) != 8 && v.pos.length > 1) {
            refused(IllegalArgumentException.class, "copy()", () -> Arrow.exportArray(source),
                    "Arrow export of a view with a byte stride of " + v.real.byteStride(0));
            count("Arrow export of a strided view refused");
            return;
        }
        try {
            ArrowExport got = Arrow.exportArray(source);
            check(v.alive(), "Arrow export of freed memory through " + v + " succeeded");
            addArrow(got, v, asReadOnly);
        } catch (IllegalStateException e) {
            check(!v.alive() && e.getMessage().contains("Already closed"), "Arrow export of " + v + ": " + e);
        } catch (IllegalArgumentException e) {
            // one element or none, at another stride: either answer is right, as long as a refusal names copy()
            check(v.real.byteStride(0) != 8 && e.getMessage().contains("copy()"), "Arrow export of " + v + ": " + e);
        }
    }

    private void addArrow(ArrowExport got, ViewM v, boolean asReadOnly) {
        ExpM e = new ExpM(ids++, got, v, v.readOnly || asReadOnly);
        exports.add(e);
        if (v.via != null) {
            v.via.reexports.add(e);
        }
        count("Arrow export");
    }

    private void closeExport() {
        ExpM e = pick(exports);
        if (e == null || e.python()) {
            return;   // Java holds no handle of memory shared with Python
        }
        note(e + ".close()");
        e.closeHandle();
        if (e.state == JAVA_OWNED) {
            e.state = RELEASED;
        }
    }

    private void handOff() {
        ExpM e = pick(exports);
        if (e == null || e.python()) {
            return;
        }
        note(e + ".handOff()");
        Runnable h = () -> e.pointer = e.arrow != null ? e.arrow.handOff().array()
                : e.tensor != null ? e.tensor.handOff() : e.export.handOff();
        if (e.state != JAVA_OWNED) {
            refused(IllegalStateException.class, "already", h, "hand-off of " + e);
            return;
        }
        h.run();
        e.state = HANDED_OFF;
    }

    private void importPointer() {
        ExpM e = pick(exports);
        ArenaM a = pick(arenas);
        if (e != null && a != null && e.arrow != null) {
            importArrow(e, a);
            return;
        }
        if (e == null || a == null || e.state == RELEASED || e.python()) {
            return;   // a released pointer dangles: using it is the caller's bug, as in C; Python's is not public
        }
        if ((e.state == JAVA_OWNED && SKIP.contains("javaOwnedImport")) || (e.state == IMPORTED && SKIP.contains("secondImport"))
                || (a.closed && SKIP.contains("closedImport"))) {
            return;
        }
        MemorySegment p = e.state == JAVA_OWNED ? (e.tensor != null ? e.tensor.pointer() : e.export.pointer()) : e.pointer;
        note("import " + e + " into " + a);
        Runnable imp = () -> {
            NdArray got = e.tensor != null ? DLPack.importVersioned(p, a.real) : NdArray.fromPbBuffer(p, a.real);
            lastImport.set(got);
        };
        if (a.closed) {
            refused(IllegalStateException.class, "Already closed", imp, "import into closed " + a);
        } else if (e.state == JAVA_OWNED) {
            refused(IllegalArgumentException.class, "still owned by Java", imp, "import of Java-owned " + e);
            count("import of a Java-owned export refused");
        } else if (e.state == IMPORTED) {
            refused(IllegalArgumentException.class, "already imported into", imp, "second import of " + e);
            count("second import refused");
        } else {
            imp.run();
            count(e.tensor != null ? "import of a handed-off tensor" : "import of a handed-off pb_buffer");
            NdArray real = lastImport.get();
            e.state = IMPORTED;
            ImpM i = new ImpM(ids++, e, a);
            imports.add(i);
            a.imports.add(i);
            addView(real, e.view.block, e.view.pos, e.readOnly, e.view.generation, i);
            check(SKIP.contains("readOnlyImport") || real.segment().isReadOnly() == e.readOnly,
                    "the import's segment is read-only exactly when the export is");
        }
    }

    private final AtomicReference<NdArray> lastImport = new AtomicReference<>();

    /**
     * Arrow's rules: a consumer moves the structs (the originals then read as
     * released) and a refused import into a closed arena still releases them,
     * as Arrow's own importers do; panbuf's structs stay readable while their
     * export handle lives, so even a released one can be offered again.
     */
    private void importArrow(ExpM e, ArenaM a) {
        note("import " + e + " into " + a + " (Arrow.importArray)");
        MemorySegment array = e.arrow.array();
        MemorySegment schema = e.arrow.schema();
        Runnable imp = () -> lastImport.set(Arrow.importArray(array, schema, a.real));
        switch (e.state) {
            case JAVA_OWNED -> {
                refused(IllegalArgumentException.class, "still owned by Java", imp, "Arrow import of Java-owned " + e);
                count("Arrow import of a Java-owned export refused");
            }
            case IMPORTED, RELEASED -> {
                refused(IllegalArgumentException.class, "is released (its release is NULL)", imp,
                        "Arrow import of " + STATES[e.state] + " " + e);
                count("Arrow import of a moved or released struct refused");
            }
            default -> {
                if (a.closed) {
                    refused(IllegalStateException.class, "Already closed", imp, "Arrow import into closed " + a);
                    e.state = RELEASED;   // released, as the refusal says
                    count("Arrow import into a closed arena refused, structs released");
                    return;
                }
                imp.run();
                NdArray real = lastImport.get();
                e.state = IMPORTED;
                ImpM i = new ImpM(ids++, e, a);
                imports.add(i);
                a.imports.add(i);
                addView(real, e.view.block, e.view.pos, true, e.view.generation, i);   // Arrow data is immutable
                check(real.segment().isReadOnly(), "an Arrow import has a writable segment");
                count("Arrow import" + (e.view.block.arena == a ? " (into the exporting arena)" : ""));
            }
        }
    }

    private void releaseFromC() {
        ExpM e = pick(exports);
        if (e == null || e.state != HANDED_OFF || e.python()) {
            return;   // C releases only what it owns
        }
        note(e + " released by C on another thread");
        count("release from C");
        join(SIDE.submit(e::releaseAsConsumer));
        e.state = RELEASED;
    }

    private static void join(java.util.concurrent.Future<?> f) {
        try {
            f.get();
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", ex);
        } catch (java.util.concurrent.ExecutionException ex) {
            throw new AssertionError("the other thread failed: " + ex.getCause(), ex.getCause());
        }
    }

    /** Live exports that keep {@code a} open once it has released every import it can. */
    private List<ExpM> blockers(ArenaM a) {
        List<ExpM> live = new ArrayList<>();
        for (ExpM e : exports) {
            if (!e.live()) {
                continue;
            }
            if (e.view.via == null && e.view.block.arena == a) {
                live.add(e);
            } else if (e.view.via != null && e.view.via.arena == a && !e.view.via.released) {
                live.add(e);
            }
        }
        return live;
    }

    /** What closing {@code a} releases first: imports without live exports of their memory, until none is left. */
    private void releaseImportsOf(ArenaM a) {
        boolean more = true;
        while (more) {
            more = false;
            for (ImpM i : a.imports) {
                if (!i.released && i.reexports.stream().noneMatch(ExpM::live)) {
                    i.released = true;
                    if (i.source.python()) {
                        pyRecheck(i.source);   // the Py_buffer (or tensor) goes back; Python may still hold it
                    } else {
                        i.source.state = RELEASED;
                    }
                    more = true;
                }
            }
        }
    }

    private void closeArena(ArenaM a) {
        if (a == null) {
            return;
        }
        note("close " + a);
        if (a.closed) {
            refused(IllegalStateException.class, "Already closed", a.real::close, "second close of " + a);
            return;
        }
        releaseImportsOf(a);
        List<ExpM> live = blockers(a);
        if (live.isEmpty()) {
            a.real.close();
            a.closed = true;
            count(a.imports.isEmpty() ? "arena closed" : "arena closed after releasing its imports");
            return;
        }
        count("arena close refused");
        LiveExportsException e = refused(LiveExportsException.class, "cannot close arena" + a.id, a.real::close,
                "close of " + a + " with live exports " + live);
        checkNamed(e, live);
    }

    private static void checkNamed(LiveExportsException e, List<ExpM> live) {
        for (ExpM x : live) {
            String named = x.python() ? "first bound to '" + x.pyFirstName + "'"
                    : x.arrow != null ? "the Arrow array at 0x" + Long.toHexString(x.arrow.array().address())
                    : "export #" + x.realId + " ";
            check(e.getMessage().contains(named), "the refusal does not name " + x + ": " + e.getMessage());
        }
        check(e.liveExports() == live.size(), "the refusal counts " + e.liveExports() + " live exports, the model " + live + ": "
                + e.getMessage());
    }

    private void grow(GrowM g) {
        if (g == null) {
            return;
        }
        int k = 1 + in.below(64);
        note(g + ".append(" + k + " int64)");
        Runnable append = () -> g.real.append(new byte[8 * k]);
        if (g.closed) {
            refused(IllegalStateException.class, "Already closed", append, "append to closed " + g);
            return;
        }
        List<ExpM> live = growBlockers(g);
        if (!live.isEmpty()) {
            refused(LiveExportsException.class, "live export", append, "append to " + g + " with live exports " + live);
            return;
        }
        boolean moves = g.real.byteSize() + 8L * k > g.real.capacity();
        append.run();
        g.block.values = java.util.Arrays.copyOf(g.block.values, g.block.values.length + k);
        if (moves) {
            g.generation++;
            count("growth that moved the memory");
        }
        addView(g.real.view(DType.INT64), g.block, identity(g.block.values.length), false, g.generation, null);
    }

    private List<ExpM> growBlockers(GrowM g) {
        List<ExpM> live = new ArrayList<>();
        for (ExpM e : exports) {
            if (e.live() && e.view.via == null && e.view.block.grow == g) {
                live.add(e);
            }
        }
        return live;
    }

    private void closeGrowable() {
        GrowM g = pick(grows);
        if (g == null) {
            return;
        }
        note("close " + g);
        if (g.closed) {
            g.real.close();   // harmless
            return;
        }
        List<ExpM> live = growBlockers(g);
        if (!live.isEmpty()) {
            checkNamed(refused(LiveExportsException.class, "live export", g.real::close, "close of " + g), live);
            return;
        }
        g.real.close();
        g.closed = true;
    }

    /**
     * A second thread writes through a view of shared memory, over and over,
     * while this one closes the arena, grows the buffer, or exports and
     * releases. A write either returns, and is then never lost, or throws
     * {@link IllegalStateException} because the memory went away; a writer of
     * a growable buffer then takes a fresh view and goes on, as a user would.
     */
    private void concurrently() {
        ViewM v = pick(views);
        if (v == null || v.pos.length == 0 || v.readOnly || !v.alive()) {
            return;
        }
        boolean shared = v.via == null && (v.block.arena != null ? v.block.arena.shared : v.block.grow.shared);
        if (!shared) {
            return;
        }
        int n = 1 + in.below(200);
        long[] values = new long[n];
        int[] at = new int[n];
        for (int k = 0; k < n; k++) {
            at[k] = in.below(v.pos.length);
            values[k] = in.value();
        }
        int what = in.below(3);
        note("concurrently: writes of " + n + " values through " + v + " while " + (what == 0 ? "closing" : what == 1
                ? "growing" : "exporting and releasing") + " its memory");
        GrowM grow = v.block.grow;
        int blockLength = v.block.values.length;
        long[] last = new long[blockLength];     // per block element, the value of the last write that returned
        boolean[] written = new boolean[blockLength];
        java.util.concurrent.atomic.AtomicInteger progress = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable writes = () -> {
            NdArray through = v.real;
            boolean fresh = false;   // writing through a fresh full view of the growable buffer
            try {
                // Stops as soon as the other thread is done, so that a write lost in the move is not
                // hidden by a later write to the same element; each pass writes different values.
                for (long w = 0; !stop.get(); w++) {
                    int k = (int) (w % n);
                    long value = values[k] + w / n;
                    int pos = v.pos[at[k]];
                    try {
                        through.setLong(value, fresh ? pos : at[k]);
                        last[pos] = value;
                        written[pos] = true;
                    } catch (IllegalStateException gone) {
                        if (!String.valueOf(gone.getMessage()).contains("Already closed")) {
                            throw gone;
                        }
                        if (grow == null) {
                            return;   // the arena is closed: nothing left to write
                        }
                        try {
                            through = grow.real.view(DType.INT64);
                            fresh = true;
                        } catch (IllegalStateException closed) {
                            return;   // the buffer itself was closed
                        }
                    }
                    progress.incrementAndGet();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        };
        java.util.concurrent.Future<?> writer = SIDE.submit(writes);
        try {
            while (progress.get() < n && !writer.isDone()) {
                Thread.onSpinWait();   // the close or move lands in the middle of the writes
            }
            if (what == 0 && v.block.arena != null) {
                closeArena(v.block.arena);
            } else if (what == 1 && grow != null) {
                grow(grow);
            } else {
                export(in.below(2) == 0);
                closeExport();
            }
        } finally {
            stop.set(true);
            join(writer);
        }
        if (failure.get() != null) {
            throw new AssertionError("a concurrent write failed with " + failure.get(), failure.get());
        }
        count("concurrent writes while " + (what == 0 ? "closing" : what == 1 ? "growing" : "exporting"));
        for (int pos = 0; pos < blockLength; pos++) {
            if (written[pos]) {
                v.block.values[pos] = last[pos];
            }
        }
        // Every write that returned must be in the memory now, wherever the memory is.
        if (grow != null && !grow.closed) {
            NdArray now = grow.real.view(DType.INT64);
            for (int pos = 0; pos < blockLength; pos++) {
                if (written[pos]) {
                    long got = now.getLong(pos);
                    check(got == last[pos], "a write that returned was lost: element " + pos + " of " + grow + " holds "
                            + got + ", but the last write that returned put " + last[pos] + " there");
                }
            }
        }
    }

    // ------------------------------------------------------------------ Python

    private PyScope scope() {
        if (scope == null) {
            scope = PYTHON.newScope();
            scope.exec("""
                    import numpy
                    def _try_to_release(x):
                        held = []
                        for path in (('base',), ('base', 'obj'), ('obj',)):
                            try:
                                o = x
                                for name in path:
                                    o = getattr(o, name)
                                held.append(o)
                            except Exception:
                                pass
                        for o in held:
                            for f in ('__del__', 'release'):
                                try:
                                    getattr(o, f)()
                                except Exception:
                                    pass
                    """);
        }
        return scope;
    }

    /** Memory shared with Python is released once no Python name and no import of it is left. */
    private void pyRecheck(ExpM e) {
        if (e.live() && e.pyNames.isEmpty() && e.pyImports.stream().allMatch(i -> i.released)) {
            e.state = RELEASED;
        }
    }

    private List<PyName> pyNames() {
        List<PyName> all = new ArrayList<>();
        for (ExpM e : exports) {
            all.addAll(e.pyNames);
        }
        return all;
    }

    /** {@code putNumpy} or {@code putMemoryView} of a view: an export that Python releases. */
    private void pyShare() {
        ViewM v = pick(views);
        if (v == null || exports.size() >= 48) {
            return;
        }
        boolean numpy = in.below(3) != 0;
        boolean asReadOnly = in.below(3) == 0;
        String name = "a" + ids;
        NdArray source = asReadOnly ? v.real.asReadOnly() : v.real;
        note(name + " = " + (numpy ? "putNumpy(" : "putMemoryView(") + v + (asReadOnly ? ".asReadOnly()" : "") + ")");
        Runnable put = () -> {
            if (numpy) {
                scope().putNumpy(name, source);
            } else {
                scope().putMemoryView(name, source);
            }
        };
        if (!v.alive()) {
            refused(IllegalStateException.class, "Already closed", put, "sharing freed memory with Python");
            return;
        }
        put.run();
        ExpM e = new ExpM(ids++, v, v.readOnly || asReadOnly, name);
        e.pyNames.add(new PyName(name, e, v.pos, numpy));
        exports.add(e);
        if (v.via != null) {
            v.via.reexports.add(e);
        }
        count(numpy ? "putNumpy" : "putMemoryView");
    }

    /** A NumPy slice of a shared array: one more Python name holding the same memory. */
    private void pyDerive() {
        PyName from = pick(pyNames());
        if (from == null || !from.numpy()) {
            return;
        }
        int n = from.pos().length;
        int start = in.below(n + 1);
        int stop = in.below(n + 1);
        int step = in.below(2) == 0 ? 1 + in.below(3) : -1 - in.below(3);
        String name = "b" + ids++;
        note(name + " = " + from.name() + "[" + start + ":" + stop + ":" + step + "] in Python");
        scope().exec(name + " = " + from.name() + "[" + start + ":" + stop + ":" + step + "]");
        from.export().pyNames.add(new PyName(name, from.export(), sliced(from.pos(), start, stop, step), true));
        count("NumPy view in Python");
    }

    /** A read or a write from Python: writes of read-only memory are refused there too. */
    private void pyAccess() {
        PyName x = pick(pyNames());
        if (x == null || x.pos().length == 0) {
            return;
        }
        int i = in.below(x.pos().length);
        Block block = x.export().view.block;
        if (in.below(2) == 0) {
            note("Python reads " + x.name() + "[" + i + "]");
            Object got = scope().eval("int(" + x.name() + "[" + i + "])");
            long want = block.values[x.pos()[i]];
            check(got instanceof Long l && l == want, x.name() + "[" + i + "] reads " + got + " in Python, but the last"
                    + " value written there is " + want);
            return;
        }
        long value = in.value();
        note("Python writes " + x.name() + "[" + i + "] = " + value);
        Runnable w = () -> scope().exec(x.name() + "[" + i + "] = " + value);
        if (x.export().readOnly) {
            refused(PythonException.class, "read-only", w, "write from Python to read-only " + x.name());
            count("write from Python to read-only memory refused");
            return;
        }
        w.run();
        block.values[x.pos()[i]] = value;
    }

    /** {@code del} of a Python name, on this thread or another one. */
    private void pyDel() {
        PyName x = pick(pyNames());
        if (x == null) {
            return;
        }
        boolean elsewhere = in.below(2) == 0;
        note("del " + x.name() + (elsewhere ? " on another thread" : ""));
        PyScope s = scope();
        if (elsewhere) {
            join(SIDE.submit(() -> s.remove(x.name())));
        } else {
            s.remove(x.name());
        }
        x.export().pyNames.remove(x);
        pyRecheck(x.export());
        count(x.export().live() ? "del of a Python name (memory still held)" : "del of the last Python name");
    }

    /** Takes a Python name's memory back into an arena (any, including the exporting one): buffer protocol or DLPack. */
    private void pyImport() {
        PyName x = pick(pyNames());
        ArenaM a = pick(arenas);
        if (x == null || a == null) {
            return;
        }
        // NumPy 1.x cannot say read-only over DLPack and refuses such arrays; the buffer protocol can.
        boolean dlpack = x.numpy() && !x.export().readOnly && in.below(2) == 0;
        note("import " + x.name() + " into " + a + (dlpack ? " through DLPack" : " through the buffer protocol"));
        Runnable imp = () -> lastImport.set(dlpack ? scope().fromDLPack(x.name(), a.real)
                : scope().buffer(x.name(), a.real));
        if (a.closed) {
            refused(IllegalStateException.class, "Already closed", imp, "import from Python into closed " + a);
            return;
        }
        imp.run();
        NdArray real = lastImport.get();
        ExpM e = x.export();
        ImpM i = new ImpM(ids++, e, a);
        imports.add(i);
        a.imports.add(i);
        e.pyImports.add(i);
        addView(real, e.view.block, x.pos(), e.readOnly, e.view.generation, i);
        check(real.segment().isReadOnly() == e.readOnly, "the import of " + x.name() + " has a "
                + (real.segment().isReadOnly() ? "read-only" : "writable") + " segment; the memory is "
                + (e.readOnly ? "read-only" : "writable"));
        count((dlpack ? "import from Python through DLPack" : "import from Python through the buffer protocol")
                + (e.view.block.arena == a ? " (into the exporting arena)" : ""));
    }

    /**
     * Python code tries to release what NumPy still holds: {@code __del__()} and
     * {@code release()} on every object reachable from the name (the array's
     * base, that base's {@code obj}, a memoryview's {@code obj}). Nothing may change.
     */
    private void pyHostile() {
        PyName x = pick(pyNames());
        if (x == null) {
            return;
        }
        String n = x.name();
        note("Python calls __del__() and release() on what " + n + " holds");
        scope().exec("_try_to_release(" + n + ")");
        count("Python tried to release shared memory");
        if (x.pos().length > 0) {   // still there, still the same
            Object got = scope().eval("int(" + n + "[0])");
            long want = x.export().view.block.values[x.pos()[0]];
            check(got instanceof Long l && l == want, "after Python called __del__() and release() on what " + n
                    + " holds, " + n + "[0] reads " + got + ", the model " + want);
        }
    }

    // ------------------------------------------------------------------ checks

    private void checkCounters() {
        if (SKIP.contains("counters")) {
            return;
        }
        long liveExports = exports.stream().filter(ExpM::live).count();
        check(Accounting.liveExports() - exportsAtStart == liveExports, "panbuf counts "
                + (Accounting.liveExports() - exportsAtStart) + " live exports, the model " + liveExports + ": " + exports);
        long liveImports = imports.stream().filter(i -> !i.released).count();
        check(Accounting.liveImports() - importsAtStart == liveImports, "panbuf counts "
                + (Accounting.liveImports() - importsAtStart) + " live imports, the model " + liveImports + ": " + imports);
    }

    /**
     * Closes every arena and buffer, releasing exactly what each refusal
     * names, as a user would: closes Java-owned exports, releases handed-off
     * ones from C, and closes the arenas that hold imports.
     */
    private void closeEverything() {
        for (int round = 0; round < 16; round++) {
            boolean open = false;
            for (ArenaM a : arenas) {
                if (!a.closed) {
                    open = true;
                    closeArena(a);
                    if (!a.closed) {
                        releaseWhatIsNamed(blockers(a));
                    }
                }
            }
            for (GrowM g : grows) {
                if (!g.closed) {
                    open = true;
                    closeGrowable(g);
                }
            }
            if (!open) {
                break;
            }
        }
        for (ArenaM a : arenas) {
            check(a.closed, a + " could not be closed after releasing everything its refusals named");
        }
        for (ExpM e : exports) {
            check(!e.live(), e + " is still live after everything was closed");
        }
        checkCounters();
        check(Accounting.openArenas() == arenasAtStart, "open arenas " + Accounting.openArenas() + ", at the start "
                + arenasAtStart);
        check(Accounting.arenaBytes() == bytesAtStart, "arena bytes " + Accounting.arenaBytes() + ", at the start "
                + bytesAtStart);
    }

    private void closeGrowable(GrowM g) {
        note("close " + g);
        List<ExpM> live = growBlockers(g);
        if (!live.isEmpty()) {
            checkNamed(refused(LiveExportsException.class, "live export", g.real::close, "close of " + g), live);
            releaseWhatIsNamed(live);
            return;
        }
        g.real.close();
        g.closed = true;
    }

    private void releaseWhatIsNamed(List<ExpM> live) {
        for (ExpM e : live) {
            if (e.python()) {
                for (PyName n : List.copyOf(e.pyNames)) {
                    note("del " + n.name() + " (named by the refusal)");
                    scope.remove(n.name());
                    e.pyNames.remove(n);
                }
                pyRecheck(e);
                for (ImpM i : List.copyOf(e.pyImports)) {
                    if (!i.released) {
                        closeArena(i.arena);
                    }
                }
                continue;
            }
            switch (e.state) {
                case JAVA_OWNED -> {
                    note(e + ".close() (named by the refusal)");
                    e.closeHandle();
                    e.state = RELEASED;
                }
                case HANDED_OFF -> {
                    note(e + " released by C (named by the refusal)");
                    e.releaseAsConsumer();
                    e.state = RELEASED;
                }
                case IMPORTED -> {
                    for (ImpM i : imports) {
                        if (i.source == e && !i.released) {
                            closeArena(i.arena);
                        }
                    }
                }
                default -> { }
            }
        }
    }
}
