package dev.panbuf;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * NumPy is the oracle: {@code src/test/python/view_oracle.py} builds thousands
 * of random strided views and chains of view operations with real NumPy and
 * prints NumPy's verdict for each step; this test replays every case on panbuf
 * over native memory holding the same bytes and requires exact agreement of
 * shape, byte strides, byte offset, contiguity flags, writability, and of
 * {@code toBytes} in both orders with NumPy's {@code tobytes}. The final view
 * of each chain is also copied ({@code copy}, {@code copyTo} into several
 * layouts, byte orders and an overlapping view of the same memory), converted
 * ({@code toArray}), compared ({@code equals}) and read element by element
 * (typed accessors, {@code varHandle()}), all against NumPy's bytes. Where
 * NumPy refuses, panbuf must refuse with {@link IllegalArgumentException}
 * ({@link IndexOutOfBoundsException} for an integer index out of range) and a
 * message naming the offending value.
 *
 * <p>Deliberate differences from NumPy are listed in the script's docstring and
 * marked in its output ({@code "why"}); in short: a reshape that needs a copy
 * (NumPy copies, panbuf refuses), negative reshape dimensions other than -1,
 * a full integer index (a 0-d view, not a scalar), a non-empty view of a
 * 0-byte buffer (NumPy accepts it, reaching past the buffer), and views whose
 * elements may overlap (read-only in panbuf, by {@code asStrided}'s rule,
 * where NumPy leaves them writable: checked against NumPy's own overlap test).
 *
 * <p>System properties: {@code panbuf.oracle.seed} (default {@value #DEFAULT_SEED}),
 * {@code panbuf.oracle.cases} (default {@value #DEFAULT_CASES}),
 * {@code panbuf.oracle.maxChain} (default {@value #DEFAULT_MAX_CHAIN}),
 * {@code panbuf.python} (the interpreter with NumPy; default {@code /usr/bin/python3}).
 * A failing case prints its JSON line and the command that regenerates it.
 */
@ExtendWith(LeakCheck.class)
class ViewOracleTest {

    static final long DEFAULT_SEED = 20261123L;
    static final int DEFAULT_CASES = 10000;
    static final int DEFAULT_MAX_CHAIN = 6;
    private static final int MAX_REPORTED_FAILURES = 25;

    @TestFactory
    Stream<DynamicTest> panbufAgreesWithNumpy() throws Exception {
        long seed = Long.getLong("panbuf.oracle.seed", DEFAULT_SEED);
        int cases = Integer.getInteger("panbuf.oracle.cases", DEFAULT_CASES);
        int maxChain = Integer.getInteger("panbuf.oracle.maxChain", DEFAULT_MAX_CHAIN);
        String python = System.getProperty("panbuf.python", "/usr/bin/python3");
        Path script = Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve("src/test/python/view_oracle.py");

        long t0 = System.nanoTime();
        List<String> lines = runOracle(python, script, seed, cases, maxChain);
        long t1 = System.nanoTime();
        Stats stats = new Stats();
        List<DynamicTest> failures = new ArrayList<>();
        int failed = 0;
        for (String line : lines) {
            Replay r = new Replay(line, seed, python, maxChain, stats);
            String problem = r.run();
            if (problem != null) {
                failed++;
                if (failures.size() < MAX_REPORTED_FAILURES) {
                    String name = "case " + r.number + " (seed " + seed + "): " + firstLine(problem);
                    String detail = r.report(problem);
                    failures.add(DynamicTest.dynamicTest(name, () -> fail(detail)));
                }
            }
        }
        long t2 = System.nanoTime();
        String summary = String.format("NumPy view oracle: seed %d, %d cases, max chain %d: %d steps (%d refused by both), "
                        + "%d final views checked, %d deliberate differences, %d views read-only by panbuf's conservative "
                        + "overlap rule that NumPy proves disjoint; %d disagreements; python %.1f s, replay %.1f s",
                seed, lines.size(), maxChain, stats.steps, stats.refused, stats.finals, stats.deliberate,
                stats.conservativeOverlap, failed, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        System.out.println(summary);
        if (lines.size() != cases) {
            failures.add(DynamicTest.dynamicTest("oracle printed " + lines.size() + " cases", () ->
                    fail("expected " + cases + " cases from " + script)));
        }
        int shown = failures.size();
        int total = failed;
        DynamicTest head = DynamicTest.dynamicTest(summary, () -> {
            if (total > 0) {
                fail(total + " of " + lines.size() + " cases disagree with NumPy (" + shown + " shown as separate tests)");
            }
        });
        return Stream.concat(Stream.of(head), failures.stream());
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 160 ? line.substring(0, 160) + "..." : line;
    }

    static List<String> runOracle(String python, Path script, long seed, int cases, int maxChain)
            throws IOException, InterruptedException {
        if (!Files.isRegularFile(script)) {
            fail("oracle script not found: " + script + " (run the tests from the project directory)");
        }
        if (!Files.isExecutable(Path.of(python))) {
            fail("panbuf.python=" + python + " is not an executable Python interpreter; ViewOracleTest needs Python 3 with NumPy");
        }
        Process p = new ProcessBuilder(python, script.toString(), "--seed", Long.toString(seed),
                "--cases", Integer.toString(cases), "--max-chain", Integer.toString(maxChain))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        StringBuilder err = new StringBuilder();
        Thread drain = Thread.ofPlatform().daemon().start(() -> {
            try (InputStream in = p.getErrorStream()) {
                err.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the exit status reports the failure
            }
        });
        List<String> lines = new ArrayList<>(cases);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("view_oracle.py did not finish in 5 minutes");
        }
        drain.join(10_000);
        if (p.exitValue() != 0) {
            fail("view_oracle.py exited with " + p.exitValue() + " (" + python + " needs NumPy):\n" + err);
        }
        return lines;
    }

    static final class Stats {
        long steps;
        long refused;
        long finals;
        long deliberate;
        long conservativeOverlap;
    }

    /** Thrown inside a replay when panbuf and NumPy disagree. */
    static final class Mismatch extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Mismatch(String message) {
            super(message, null, false, false);
        }
    }

    /** One case: the JSON line, replayed step by step, with a log of what panbuf did. */
    static final class Replay {
        final String line;
        final long seed;
        final String python;
        final int maxChain;
        final Stats stats;
        final Map<String, Object> c;
        final long number;
        final List<String> log = new ArrayList<>();
        private MemorySegment base;
        private Arena arena;
        private boolean forcedReadOnly;

        Replay(String line, long seed, String python, int maxChain, Stats stats) {
            this.line = line;
            this.seed = seed;
            this.python = python;
            this.maxChain = maxChain;
            this.stats = stats;
            this.c = Json.object(Json.parse(line));
            this.number = Json.num(c.get("case"));
        }

        String report(String problem) {
            return problem + "\n  seed " + seed + ", case " + number
                    + "\n  panbuf, step by step:\n    " + String.join("\n    ", log)
                    + "\n  the case with NumPy's results:\n    " + line
                    + "\n  regenerate: " + python + " src/test/python/view_oracle.py --seed " + seed + " --cases "
                    + (number + 1) + " --max-chain " + maxChain + " --first " + number;
        }

        /** Null when panbuf agrees with NumPy, else what differs. */
        String run() {
            arena = Arena.ofConfined();
            try {
                replay();
                return null;
            } catch (Mismatch m) {
                return m.getMessage();
            } catch (RuntimeException | AssertionError e) {
                java.io.StringWriter sw = new java.io.StringWriter();
                e.printStackTrace(new java.io.PrintWriter(sw));
                return "panbuf threw unexpectedly: " + sw;
            } finally {
                arena.close();
            }
        }

        private void replay() {
            long nbytes = Json.num(c.get("nbytes"));
            long salt = Json.num(c.get("salt"));
            base = arena.allocate(nbytes, 1);
            fillBase(base, salt);
            DType dtype = dtypeOf(Json.object(c.get("dtype")));
            Map<String, Object> root = Json.object(c.get("root"));
            long offset = Json.num(root.get("offset"));
            long[] shape = Json.longs(root.get("shape"));
            long[] strides = Json.longs(root.get("strides"));
            String what = "asStrided(segment of " + nbytes + " bytes, " + dtype + ", offset " + offset + ", shape "
                    + Arrays.toString(shape) + ", strides " + Arrays.toString(strides) + ")";
            NdArray v = expect("root", what, root, false, () -> NdArray.asStrided(base, dtype, offset, shape, strides));
            if (v == null) {
                return;
            }
            List<Object> steps = Json.list(c.get("steps"));
            for (int k = 0; k < steps.size(); k++) {
                Map<String, Object> step = Json.object(steps.get(k));
                stats.steps++;
                NdArray in = v;
                String op = (String) step.get("op");
                v = switch (op) {
                    case "index" -> index(k, in, step);
                    case "transpose" -> {
                        List<Object> axes = Json.list(step.get("axes"));
                        yield axes == null ? expect("step " + k, "transpose()", step, false, in::transpose)
                                : expect("step " + k, "transpose(" + axes + ")", step, false, () -> in.transpose(Json.ints(axes)));
                    }
                    case "reshape" -> {
                        Order order = Order.valueOf((String) step.get("order"));
                        long[] dims = Json.longs(step.get("shape"));
                        NdArray out = expect("step " + k, "reshape(Order." + order + ", " + Arrays.toString(dims) + ")", step,
                                false, () -> in.reshape(order, dims));
                        if (order == Order.C && (dims.length == 1 || dims.length == 2)) {
                            agree("reshape" + Arrays.toString(dims) + " (fixed arity)", out,
                                    () -> dims.length == 1 ? in.reshape(dims[0]) : in.reshape(dims[0], dims[1]));
                        }
                        yield out;
                    }
                    case "broadcast" -> {
                        long[] dims = Json.longs(step.get("shape"));
                        yield expect("step " + k, "broadcastTo(" + Arrays.toString(dims) + ")", step, false,
                                () -> in.broadcastTo(dims));
                    }
                    case "squeeze" -> {
                        List<Object> axes = Json.list(step.get("axes"));
                        yield axes == null ? expect("step " + k, "squeeze()", step, false, in::squeeze)
                                : expect("step " + k, "squeeze(" + axes + ")", step, false, () -> in.squeeze(Json.ints(axes)));
                    }
                    case "expand" -> {
                        int axis = (int) Json.num(step.get("axis"));
                        yield expect("step " + k, "expandDims(" + axis + ")", step, false, () -> in.expandDims(axis));
                    }
                    case "field" -> {
                        String name = (String) step.get("name");
                        yield expect("step " + k, "field(\"" + name + "\")", step, false, () -> in.field(name));
                    }
                    case "strided" -> {
                        long off = Json.num(step.get("offset"));
                        long[] sh = Json.longs(step.get("shape"));
                        long[] st = Json.longs(step.get("strides"));
                        yield expect("step " + k, "asStrided(view, " + off + ", " + Arrays.toString(sh) + ", "
                                + Arrays.toString(st) + ")", step, true, () -> NdArray.asStrided(in, off, sh, st));
                    }
                    default -> throw new Mismatch("unknown op " + op);
                };
                if (v == null) {
                    return;
                }
            }
            Map<String, Object> fin = Json.object(c.get("final"));
            if (fin == null) {
                throw new Mismatch("the chain ended without a refusal, but the oracle printed no final bytes");
            }
            stats.finals++;
            checkFinal(v, HexFormat.of().parseHex((String) fin.get("c_hex")), HexFormat.of().parseHex((String) fin.get("f_hex")));
        }

        private NdArray index(int k, NdArray in, Map<String, Object> step) {
            List<Object> items = Json.list(step.get("items"));
            StringBuilder text = new StringBuilder();
            boolean zeroStep = false;
            for (Object item : items) {
                if (!text.isEmpty()) {
                    text.append(", ");
                }
                if (item instanceof String s) {
                    text.append(s);
                } else {
                    Map<String, Object> m = Json.object(item);
                    if (m.containsKey("i")) {
                        text.append(Json.num(m.get("i")));
                    } else {
                        List<Object> s = Json.list(m.get("s"));
                        Object st = s.get(2);
                        zeroStep |= st != null && Json.num(st) == 0;
                        text.append(s.get(0) == null ? "" : Json.num(s.get(0))).append(':')
                                .append(s.get(1) == null ? "" : Json.num(s.get(1)));
                        if (st != null) {
                            text.append(':').append(Json.num(st));
                        }
                    }
                }
            }
            String what = "get(" + text + ")" + (Boolean.TRUE.equals(step.get("scalar")) ? " [NumPy: a scalar; compared with ...]" : "");
            NdArray out = expect("step " + k, what, step, false, () -> in.get(toIndex(items)));
            if (items.size() == 1 || items.size() == 2) {
                agree("get(" + text + ") (fixed arity)", out, () -> {
                    Index[] ix = toIndex(items);
                    return ix.length == 1 ? in.get(ix[0]) : in.get(ix[0], ix[1]);
                });
            }
            if (!zeroStep) {
                agree("get(\"" + text + "\") (the string form)", out, () -> in.get(text.toString()));
            }
            return out;
        }

        /**
         * Another spelling of an operation (the string form of an index, the
         * fixed-arity overloads get(Index), reshape(long, long), ...) must give the
         * view, or the refusal, of the varargs form already checked against NumPy.
         */
        private static void agree(String what, NdArray expected, java.util.function.Supplier<NdArray> call) {
            NdArray got;
            try {
                got = call.get();
            } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                if (expected != null) {
                    throw new Mismatch(what + " threw " + e + " but the varargs form gave " + expected.describe());
                }
                return;
            }
            if (expected == null) {
                throw new Mismatch(what + " gave " + got.describe() + " but the varargs form refused");
            }
            if (!expected.describe().equals(got.describe())) {
                throw new Mismatch(what + " gave " + got.describe() + " but the varargs form gave " + expected.describe());
            }
        }

        private static Index[] toIndex(List<Object> items) {
            Index[] out = new Index[items.size()];
            for (int i = 0; i < out.length; i++) {
                Object item = items.get(i);
                if ("newaxis".equals(item)) {
                    out[i] = Index.newAxis();
                } else if ("...".equals(item)) {
                    out[i] = Index.ellipsis();
                } else {
                    Map<String, Object> m = Json.object(item);
                    if (m.containsKey("i")) {
                        out[i] = Index.at(Json.num(m.get("i")));
                    } else {
                        List<Object> s = Json.list(m.get("s"));
                        Long start = s.get(0) == null ? null : Json.num(s.get(0));
                        Long stop = s.get(1) == null ? null : Json.num(s.get(1));
                        long step = s.get(2) == null ? 1 : Json.num(s.get(2));
                        out[i] = start != null && stop != null ? Slice.of(start, stop, step)
                                : start != null ? Slice.from(start, step)
                                : stop != null ? Slice.to(stop, step)
                                : Slice.every(step);
                    }
                }
            }
            return out;
        }

        /**
         * Runs one operation and compares it with NumPy's result for it: the
         * same geometry, or a refusal of the right type naming the offending value.
         */
        private NdArray expect(String where, String what, Map<String, Object> expected, boolean stridedStep,
                               java.util.function.Supplier<NdArray> op) {
            Map<String, Object> ok = Json.object(expected.get("ok"));
            Map<String, Object> err = Json.object(expected.get("err"));
            NdArray v;
            try {
                v = op.get();
            } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                log.add(where + ": " + what + " -> threw " + e);
                if (err == null) {
                    throw new Mismatch(where + ": panbuf refused " + what + " (" + e + ") but NumPy gave " + ok);
                }
                stats.refused++;
                if (err.containsKey("why")) {
                    stats.deliberate++;
                }
                String type = (String) err.get("type");
                String msg = (String) err.get("msg");
                boolean wantIndexError = "IndexError".equals(type) && msg.contains("out of bounds for axis");
                Class<?> want = wantIndexError ? IndexOutOfBoundsException.class : IllegalArgumentException.class;
                if (!want.isInstance(e)) {
                    throw new Mismatch(where + ": " + what + " threw " + e.getClass().getSimpleName() + ", expected "
                            + want.getSimpleName() + " as NumPy's " + type + ": " + msg);
                }
                for (Object token : Json.list(err.get("tokens"))) {
                    if (e.getMessage() == null || !e.getMessage().contains((String) token)) {
                        throw new Mismatch(where + ": " + what + " refused, but the message \"" + e.getMessage()
                                + "\" does not name \"" + token + "\" (NumPy: " + type + ": " + msg + ")");
                    }
                }
                return null;
            }
            log.add(where + ": " + what + " -> " + v.describe());
            if (ok == null) {
                throw new Mismatch(where + ": panbuf accepted " + what + " giving " + v.describe() + " but NumPy refused: "
                        + err.get("type") + ": " + err.get("msg") + (err.containsKey("why") ? " (" + err.get("why") + ")" : ""));
            }
            compareGeometry(where, what, v, ok, stridedStep || where.equals("root"));
            return v;
        }

        private void compareGeometry(String where, String what, NdArray v, Map<String, Object> ok, boolean madeByAsStrided) {
            List<String> diffs = new ArrayList<>();
            long[] shape = Json.longs(ok.get("shape"));
            long[] strides = Json.longs(ok.get("strides"));
            if (!Arrays.equals(shape, v.shape())) {
                diffs.add("shape " + Arrays.toString(v.shape()) + " != NumPy " + Arrays.toString(shape));
            }
            if (!Arrays.equals(strides, v.byteStrides())) {
                diffs.add("strides " + Arrays.toString(v.byteStrides()) + " != NumPy " + Arrays.toString(strides));
            }
            if (Json.num(ok.get("offset")) != v.byteOffset()) {
                diffs.add("byte offset " + v.byteOffset() + " != NumPy " + Json.num(ok.get("offset")));
            }
            if ((Boolean) ok.get("c") != v.isContiguous(Order.C)) {
                diffs.add("C-contiguous " + v.isContiguous(Order.C) + " != NumPy " + ok.get("c"));
            }
            if ((Boolean) ok.get("f") != v.isContiguous(Order.F)) {
                diffs.add("F-contiguous " + v.isContiguous(Order.F) + " != NumPy " + ok.get("f"));
            }
            if (madeByAsStrided) {
                // panbuf makes a view whose elements may overlap read-only (NumPy leaves it writable);
                // views of it stay read-only.
                boolean mayOverlap = Geometry.mayOverlap(v.shape(), v.byteStrides(), v.dtype().byteSize());
                boolean overlaps = Boolean.TRUE.equals(ok.get("ov"));
                if (overlaps && !mayOverlap) {
                    diffs.add("NumPy finds overlapping elements, but Geometry.mayOverlap says they are disjoint");
                }
                if (mayOverlap && !overlaps) {
                    stats.conservativeOverlap++;
                }
                forcedReadOnly |= mayOverlap;
            }
            boolean expectReadOnly = !(Boolean) ok.get("w") || forcedReadOnly;
            if (expectReadOnly != v.isReadOnly()) {
                diffs.add("read-only " + v.isReadOnly() + ", expected " + expectReadOnly + " (NumPy writeable " + ok.get("w")
                        + (forcedReadOnly ? ", and an asStrided step made elements overlap" : "") + ")");
            }
            if (!diffs.isEmpty()) {
                throw new Mismatch(where + ": " + what + ": " + String.join("; ", diffs));
            }
        }

        // ------------------------------------------------------------ final view

        private void checkFinal(NdArray v, byte[] cBytes, byte[] fBytes) {
            sameBytes("toBytes(Order.C)", cBytes, v.toBytes(Order.C));
            sameBytes("toBytes(Order.F)", fBytes, v.toBytes(Order.F));
            sameBytes("toBytes()", cBytes, v.toBytes());

            NdArray cc = v.copy(Order.C, arena);
            NdArray fc = v.copy(Order.F, arena);
            checkCopy("copy(Order.C)", v, cc, Order.C, cBytes, fBytes);
            checkCopy("copy(Order.F)", v, fc, Order.F, cBytes, fBytes);
            if (!v.equals(cc) || !cc.equals(v) || !v.equals(fc) || !fc.equals(cc)) {
                throw new Mismatch("equals: the view and its copies differ: view.equals(copy C) " + v.equals(cc)
                        + ", view.equals(copy F) " + v.equals(fc) + ", copy F equals copy C " + fc.equals(cc));
            }
            if (v.hashCode() != cc.hashCode() || v.hashCode() != fc.hashCode()) {
                throw new Mismatch("hashCode differs between the view and its copies");
            }

            // copyTo into an F-ordered array, and into a C-ordered array with every axis reversed.
            NdArray f = NdArray.allocate(arena, v.dtype(), Order.F, v.shape());
            v.copyTo(f);
            sameBytes("copyTo(F-order array).toBytes(C)", cBytes, f.toBytes(Order.C));
            NdArray rev = NdArray.allocate(arena, v.dtype(), v.shape());
            Index[] flip = new Index[v.ndim()];
            Arrays.fill(flip, Slice.every(-1));
            NdArray reversed = rev.get(flip);
            v.copyTo(reversed);
            sameBytes("copyTo(reversed view).toBytes(C)", cBytes, reversed.toBytes(Order.C));

            // copyTo into the other byte order, which converts.
            DType dt = v.dtype();
            if (dt.byteSize() > 1 && (dt.byteOrder() != null || dt.isRecord())) {
                ByteOrder other = dt.isRecord() ? ByteOrder.BIG_ENDIAN
                        : dt.byteOrder() == ByteOrder.BIG_ENDIAN ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
                NdArray swapped = NdArray.allocate(arena, dt.withByteOrder(other), v.shape());
                v.copyTo(swapped);
                if (!dt.isRecord()) {
                    sameBytes("copyTo(" + swapped.dtype() + " array).toBytes(C)", swapEach(cBytes, (int) dt.byteSize()),
                            swapped.toBytes(Order.C));
                }
                NdArray back = NdArray.allocate(arena, dt, Order.F, v.shape());
                swapped.copyTo(back);
                if (!dt.isRecord()) {
                    sameBytes("copyTo there and back", cBytes, back.toBytes(Order.C));
                }
                if (!swapped.equals(v) || !v.equals(swapped) || swapped.hashCode() != v.hashCode()) {
                    throw new Mismatch("equals/hashCode: the view and its " + swapped.dtype() + " copy differ (equals "
                            + swapped.equals(v) + ", " + v.equals(swapped) + ")");
                }
            }

            copyToOverlapping(v, cBytes);
            checkFill(v);
            checkElements(v, cBytes);
            if (dt.carrier() != null) {
                checkToArray(v, cBytes);
            }
        }

        private void checkCopy(String what, NdArray v, NdArray copy, Order order, byte[] cBytes, byte[] fBytes) {
            long[] contiguous = Geometry.contiguousStrides(v.shape(), v.dtype().byteSize(), order);
            if (!Arrays.equals(copy.shape(), v.shape()) || !Arrays.equals(copy.byteStrides(), contiguous)
                    || !copy.isContiguous(order) || copy.isReadOnly() || !copy.dtype().equals(v.dtype())) {
                throw new Mismatch(what + " gave " + copy.describe() + "; expected shape " + Arrays.toString(v.shape())
                        + ", strides " + Arrays.toString(contiguous) + ", writable, dtype " + v.dtype());
            }
            sameBytes(what + ".toBytes(C)", cBytes, copy.toBytes(Order.C));
            sameBytes(what + ".toBytes(F)", fBytes, copy.toBytes(Order.F));
        }

        /**
         * copyTo between two views of the same memory whose bytes intersect:
         * the source is the final view rebuilt over a scratch copy of the base
         * buffer, the destination a packed (maybe reversed) view in the middle
         * of the source's bytes. The result must be NumPy's tobytes, as if the
         * source had been read completely before anything was written.
         */
        private void copyToOverlapping(NdArray v, byte[] cBytes) {
            long[] span = Geometry.reach(v.byteOffset(), v.shape(), v.byteStrides(), v.dtype().byteSize());
            if (span == null) {
                return;
            }
            long size = Math.max(base.byteSize(), v.byteSize()) + 16;
            MemorySegment scratch = arena.allocate(size, 1);
            MemorySegment.copy(base, 0, scratch, 0, base.byteSize());
            NdArray src = NdArray.asStrided(scratch, v.dtype(), v.byteOffset(), v.shape(), v.byteStrides(),
                    NdArray.Overlap.ALLOW_WRITES);
            long middle = (span[0] + span[1]) / 2 - v.byteSize() / 2;
            long at = Math.max(0, Math.min(size - v.byteSize(), middle));
            long[] packed = Geometry.contiguousStrides(v.shape(), v.dtype().byteSize(), Order.C);
            NdArray dst = NdArray.asStrided(scratch, v.dtype(), at, v.shape(), packed);
            if (number % 2 == 1 && v.ndim() > 0) {
                Index[] flip = new Index[v.ndim()];
                Arrays.fill(flip, Slice.every(-1));
                dst = dst.get(flip);
            }
            src.copyTo(dst);
            sameBytes("copyTo(an overlapping view at byte " + at + " of the same memory)", cBytes, dst.toBytes(Order.C));
        }

        /**
         * fillBytes on the view rebuilt over a scratch copy of the base buffer:
         * every element then holds the fill, and every byte that no element
         * covers still holds what it held.
         */
        private void checkFill(NdArray v) {
            if (v.elementCount() == 0) {
                return;   // an empty view's offset may lie anywhere (NumPy's slices move it): nothing to rebuild
            }
            int item = (int) v.dtype().byteSize();
            long[] shape = v.shape();
            long[] strides = v.byteStrides();
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] > 1 && strides[i] % item != 0) {
                    return;   // elements may overlap in part: the last write wins, no element need hold the fill
                }
            }
            MemorySegment scratch = arena.allocate(Math.max(1, base.byteSize()), 1);
            MemorySegment.copy(base, 0, scratch, 0, base.byteSize());
            NdArray w = NdArray.asStrided(scratch, v.dtype(), v.byteOffset(), v.shape(), v.byteStrides(),
                    NdArray.Overlap.ALLOW_WRITES);   // elements that overlap coincide: each holds the fill
            byte[] element = new byte[item];
            for (int k = 0; k < item; k++) {
                element[k] = (byte) (0xA5 ^ (k * 29 + number));
            }
            w.fillBytes(element);
            byte[] filled = w.toBytes(Order.C);
            for (int e = 0; e < filled.length; e += item) {
                if (!Arrays.equals(filled, e, e + item, element, 0, item)) {
                    throw new Mismatch("fillBytes: element " + e / item + " does not hold the fill");
                }
            }
            boolean[] covered = new boolean[(int) base.byteSize()];
            for (long k = 0; k < v.elementCount(); k++) {
                long[] idx = unravel(k, shape);
                long at = v.byteOffset();
                for (int i = 0; i < shape.length; i++) {
                    at += idx[i] * strides[i];
                }
                Arrays.fill(covered, (int) at, (int) at + item, true);
            }
            for (int i = 0; i < covered.length; i++) {
                if (!covered[i] && scratch.get(ValueLayout.JAVA_BYTE, i) != base.get(ValueLayout.JAVA_BYTE, i)) {
                    throw new Mismatch("fillBytes changed byte " + i + ", which no element of the view covers");
                }
            }
        }

        /** Typed accessors and varHandle() at a few indices, against NumPy's C-order bytes. */
        private void checkElements(NdArray v, byte[] cBytes) {
            long count = v.elementCount();
            if (count == 0 || v.dtype().carrier() == null) {
                return;
            }
            SplittableRandom rnd = new SplittableRandom(number);
            VarHandle vh = v.varHandle();
            int item = (int) v.dtype().byteSize();
            for (int probe = 0; probe < 3; probe++) {
                long flat = rnd.nextLong(count);
                long[] idx = unravel(flat, v.shape());
                ByteBuffer bb = ByteBuffer.wrap(cBytes, (int) (flat * item), item)
                        .order(v.dtype().byteOrder() == null ? ByteOrder.LITTLE_ENDIAN : v.dtype().byteOrder());
                Object expected = decode(v.dtype(), bb);
                Object typed = typedGet(v, idx);
                Object handle = varHandleGet(vh, v.ndim(), idx);
                if (!bitsEqual(expected, typed) || !bitsEqual(expected, handle)) {
                    throw new Mismatch("element " + Arrays.toString(idx) + ": NumPy's bytes say " + expected + ", typed accessor "
                            + typed + ", varHandle " + handle);
                }
            }
        }

        private void checkToArray(NdArray v, byte[] cBytes) {
            Object array = v.toArray();
            int n = java.lang.reflect.Array.getLength(array);
            if (n != v.elementCount()) {
                throw new Mismatch("toArray() has " + n + " elements, the view " + v.elementCount());
            }
            int item = (int) v.dtype().byteSize();
            ByteBuffer bb = ByteBuffer.wrap(cBytes).order(v.dtype().byteOrder() == null ? ByteOrder.LITTLE_ENDIAN
                    : v.dtype().byteOrder());
            for (int i = 0; i < n; i++) {
                bb.position(i * item);
                Object expected = decode(v.dtype(), bb);
                Object got = java.lang.reflect.Array.get(array, i);
                if (!bitsEqual(expected, got)) {
                    throw new Mismatch("toArray()[" + i + "] = " + got + ", NumPy's bytes say " + expected);
                }
            }
        }

        private void sameBytes(String what, byte[] expected, byte[] actual) {
            if (!Arrays.equals(expected, actual)) {
                int at = Arrays.mismatch(expected, actual);
                throw new Mismatch(what + " differs from NumPy's tobytes at byte " + at + ": NumPy " + expected.length
                        + " bytes " + hex(expected) + ", panbuf " + actual.length + " bytes " + hex(actual));
            }
        }

        private static String hex(byte[] b) {
            String h = HexFormat.of().formatHex(b);
            return h.length() > 400 ? h.substring(0, 400) + "..." : h;
        }

        private void fillBase(MemorySegment s, long salt) {
            for (long i = 0; i < s.byteSize(); i++) {
                s.set(ValueLayout.JAVA_BYTE, i, baseByte(i, salt));
            }
        }

        /** The oracle's base buffer: byte i is ((((i + salt) * 0x9E3779B1) mod 2^32) >> 24). */
        static byte baseByte(long i, long salt) {
            return (byte) ((((i + salt) * 0x9E3779B1L) & 0xFFFFFFFFL) >>> 24);
        }

        static DType dtypeOf(Map<String, Object> d) {
            if (d.containsKey("str")) {
                return DType.parse((String) d.get("str"));
            }
            Map<String, Object> rec = Json.object(d.get("record"));
            List<DType.Field> fields = new ArrayList<>();
            for (Object f : Json.list(rec.get("fields"))) {
                List<Object> triple = Json.list(f);
                fields.add(new DType.Field((String) triple.get(0), dtypeOf(Json.object(triple.get(1))), Json.num(triple.get(2))));
            }
            return DType.record(fields, Json.num(rec.get("itemsize")));
        }
    }

    // ---------------------------------------------------------------- element helpers

    static long[] unravel(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = flat % shape[i];
            flat /= shape[i];
        }
        return idx;
    }

    static byte[] swapEach(byte[] bytes, int item) {
        byte[] out = new byte[bytes.length];
        for (int e = 0; e < bytes.length; e += item) {
            for (int k = 0; k < item; k++) {
                out[e + k] = bytes[e + item - 1 - k];
            }
        }
        return out;
    }

    /** One element from {@code bb} at its position, boxed in the dtype's carrier. */
    static Object decode(DType t, ByteBuffer bb) {
        int p = bb.position();
        return switch (t.kind()) {
            case BOOL -> bb.get(p) != 0;
            case SIGNED, UNSIGNED -> switch ((int) t.byteSize()) {
                case 1 -> bb.get(p);
                case 2 -> bb.getShort(p);
                case 4 -> bb.getInt(p);
                default -> bb.getLong(p);
            };
            case FLOAT -> switch ((int) t.byteSize()) {
                case 2 -> Float.float16ToFloat(bb.getShort(p));
                case 4 -> bb.getFloat(p);
                default -> bb.getDouble(p);
            };
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    /** Equal values, floats compared by their bits (NaN payloads included). */
    static boolean bitsEqual(Object a, Object b) {
        if (a instanceof Float x && b instanceof Float y) {
            return Float.floatToRawIntBits(x) == Float.floatToRawIntBits(y);
        }
        if (a instanceof Double x && b instanceof Double y) {
            return Double.doubleToRawLongBits(x) == Double.doubleToRawLongBits(y);
        }
        return a.equals(b);
    }

    static Object typedGet(NdArray v, long[] idx) {
        Class<?> carrier = v.dtype().carrier();
        if (carrier == boolean.class) {
            return v.getBoolean(idx);
        } else if (carrier == byte.class) {
            return v.getByte(idx);
        } else if (carrier == short.class) {
            return v.getShort(idx);
        } else if (carrier == int.class) {
            return v.getInt(idx);
        } else if (carrier == long.class) {
            return v.getLong(idx);
        } else if (carrier == float.class) {
            return v.getFloat(idx);
        } else {
            return v.getDouble(idx);
        }
    }

    /** {@code vh.get(indices...)} for a view of any rank (invokeWithArguments, so no static signature). */
    static Object varHandleGet(VarHandle vh, int ndim, long[] idx) {
        try {
            Object[] args = new Object[ndim];
            for (int i = 0; i < ndim; i++) {
                args[i] = idx[i];
            }
            return vh.toMethodHandle(VarHandle.AccessMode.GET).invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    // ---------------------------------------------------------------- a small JSON reader

    /** Just enough JSON for the oracle's output: objects, arrays, strings, integers, booleans, null. */
    static final class Json {
        private final String s;
        private int at;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json j = new Json(text);
            Object v = j.value();
            j.space();
            if (j.at != text.length()) {
                throw j.error("trailing text");
            }
            return v;
        }

        @SuppressWarnings("unchecked")
        static Map<String, Object> object(Object o) {
            return (Map<String, Object>) o;
        }

        @SuppressWarnings("unchecked")
        static List<Object> list(Object o) {
            return (List<Object>) o;
        }

        static long num(Object o) {
            return (Long) o;
        }

        static long[] longs(Object o) {
            return list(o).stream().mapToLong(x -> (Long) x).toArray();
        }

        static int[] ints(List<Object> o) {
            return o.stream().mapToInt(x -> Math.toIntExact((Long) x)).toArray();
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("bad JSON at " + at + ": " + what);
        }

        private void space() {
            while (at < s.length() && Character.isWhitespace(s.charAt(at))) {
                at++;
            }
        }

        private Object value() {
            space();
            if (at >= s.length()) {
                throw error("unexpected end");
            }
            char ch = s.charAt(at);
            switch (ch) {
                case '{' -> {
                    at++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    space();
                    if (s.charAt(at) == '}') {
                        at++;
                        return m;
                    }
                    while (true) {
                        space();
                        String key = string();
                        space();
                        expect(':');
                        m.put(key, value());
                        space();
                        if (s.charAt(at) == ',') {
                            at++;
                        } else {
                            expect('}');
                            return m;
                        }
                    }
                }
                case '[' -> {
                    at++;
                    List<Object> l = new ArrayList<>();
                    space();
                    if (s.charAt(at) == ']') {
                        at++;
                        return l;
                    }
                    while (true) {
                        l.add(value());
                        space();
                        if (s.charAt(at) == ',') {
                            at++;
                        } else {
                            expect(']');
                            return l;
                        }
                    }
                }
                case '"' -> {
                    return string();
                }
                case 't' -> {
                    literal("true");
                    return Boolean.TRUE;
                }
                case 'f' -> {
                    literal("false");
                    return Boolean.FALSE;
                }
                case 'n' -> {
                    literal("null");
                    return null;
                }
                default -> {
                    int start = at;
                    if (ch == '-') {
                        at++;
                    }
                    while (at < s.length() && Character.isDigit(s.charAt(at))) {
                        at++;
                    }
                    if (at == start || at < s.length() && (s.charAt(at) == '.' || s.charAt(at) == 'e' || s.charAt(at) == 'E')) {
                        throw error("expected an integer");
                    }
                    return Long.parseLong(s, start, at, 10);
                }
            }
        }

        private void literal(String word) {
            if (!s.startsWith(word, at)) {
                throw error("expected " + word);
            }
            at += word.length();
        }

        private void expect(char ch) {
            if (at >= s.length() || s.charAt(at) != ch) {
                throw error("expected '" + ch + "'");
            }
            at++;
        }

        private String string() {
            expect('"');
            StringBuilder sb = new StringBuilder();
            while (true) {
                char ch = s.charAt(at++);
                if (ch == '"') {
                    return sb.toString();
                }
                if (ch != '\\') {
                    sb.append(ch);
                    continue;
                }
                char e = s.charAt(at++);
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'u' -> {
                        sb.append((char) Integer.parseInt(s, at, at + 4, 16));
                        at += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            }
        }
    }
}
