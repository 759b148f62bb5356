package dev.panbuf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Property test against a flat model, with seeded generators (plain JUnit):
 * a view is modelled as nothing but its shape and the list of its elements'
 * byte offsets in C order. Each view operation is applied to the model by its
 * meaning alone (which source element each result element is), never through
 * strides; random chains of operations on panbuf views must then agree with
 * the model at every element: {@code byteOffsetOf}, the typed accessors and
 * {@code varHandle()} read what the raw memory at the model's offset holds,
 * and writes through accessors and VarHandles land exactly there (or are
 * refused on read-only views, changing nothing).
 *
 * <p>{@code -Dpanbuf.model.seed} and {@code -Dpanbuf.model.chains} override the
 * seed and the number of chains; a failure prints the seed, the chain number
 * and the operations.
 */
@ExtendWith(LeakCheck.class)
class IndexModelTest {

    private static final long SEED = Long.getLong("panbuf.model.seed", 20261123L);
    private static final int CHAINS = Integer.getInteger("panbuf.model.chains", 3000);

    private static final String[] SCALARS = {"|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4",
            "<i8", ">i8", "<u8", ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8"};

    /** The model: a shape and the byte offset of each element, in C order. */
    record Model(long[] shape, long[] offsets) {
        long count() {
            return offsets.length;
        }

        long offset(long[] idx) {
            return offsets[(int) ravelC(idx, shape)];
        }

        @Override
        public String toString() {
            return "Model" + Arrays.toString(shape);
        }
    }

    @Test
    void randomIndexChainsAgreeWithTheFlatModel() {
        SplittableRandom seeds = new SplittableRandom(SEED);
        long checked = 0;
        for (int chain = 0; chain < CHAINS; chain++) {
            SplittableRandom rnd = seeds.split();
            List<String> ops = new ArrayList<>();
            try (Arena arena = Arena.ofConfined()) {
                checked += runChain(rnd, arena, ops);
            } catch (AssertionError | RuntimeException e) {
                fail("seed " + SEED + ", chain " + chain + ": " + e + "\n  operations:\n    " + String.join("\n    ", ops), e);
            }
        }
        System.out.println("IndexModelTest: seed " + SEED + ", " + CHAINS + " chains, " + checked + " element checks agree");
    }

    private long runChain(SplittableRandom rnd, Arena arena, List<String> ops) {
        DType dtype = DType.parse(SCALARS[rnd.nextInt(SCALARS.length)]);
        long item = dtype.byteSize();
        int ndim = rnd.nextInt(5);
        long[] shape = new long[ndim];
        for (int i = 0; i < ndim; i++) {
            shape[i] = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(5);
        }
        NdArray v;
        Model model;
        MemorySegment memory;
        if (rnd.nextBoolean()) {
            Order order = rnd.nextBoolean() ? Order.C : Order.F;
            v = NdArray.allocate(arena, dtype, order, shape);
            memory = v.segment();
            long[] offsets = new long[(int) product(shape)];
            for (int k = 0; k < offsets.length; k++) {
                long[] idx = unravelC(k, shape);
                offsets[k] = item * (order == Order.C ? k : ravelF(idx, shape));
            }
            model = new Model(shape, offsets);
            ops.add("allocate(" + dtype + ", Order." + order + ", " + Arrays.toString(shape) + ")");
        } else {
            // Packed in a random axis order, with gaps and reversed axes; rarely a zero stride.
            long[] strides = new long[ndim];
            Integer[] order = new Integer[ndim];
            for (int i = 0; i < ndim; i++) {
                order[i] = i;
            }
            java.util.Collections.shuffle(Arrays.asList(order), new java.util.Random(rnd.nextLong()));
            long step = item * (1 + rnd.nextInt(2));
            for (int k = ndim - 1; k >= 0; k--) {
                int ax = order[k];
                strides[ax] = rnd.nextInt(12) == 0 ? 0 : (rnd.nextInt(4) == 0 ? -step : step);
                step *= Math.max(1, shape[ax]) * (1 + rnd.nextInt(2));
            }
            long low = 0;
            long high = item;
            for (int i = 0; i < ndim; i++) {
                long e = strides[i] * Math.max(0, shape[i] - 1);
                if (e < 0) {
                    low += e;
                } else {
                    high += e;
                }
            }
            long offset = -low + rnd.nextInt(8);
            memory = arena.allocate(offset + high + rnd.nextInt(8), 8);
            v = NdArray.asStrided(memory, dtype, offset, shape, strides);
            long[] offsets = new long[(int) product(shape)];
            for (int k = 0; k < offsets.length; k++) {
                long[] idx = unravelC(k, shape);
                long at = offset;
                for (int i = 0; i < ndim; i++) {
                    at += idx[i] * strides[i];
                }
                offsets[k] = at;
            }
            model = new Model(shape, offsets);
            ops.add("asStrided(" + dtype + ", offset " + offset + ", " + Arrays.toString(shape) + ", "
                    + Arrays.toString(strides) + ")" + (v.isReadOnly() ? " read-only" : ""));
        }
        for (long i = 0; i < memory.byteSize(); i++) {
            memory.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        }
        long checked = check(v, model, memory, rnd);
        int steps = 1 + rnd.nextInt(6);
        for (int s = 0; s < steps; s++) {
            Object[] next = step(v, model, rnd, ops);
            if (next == null) {
                continue;   // refused (e.g. a reshape that needs a copy): the chain goes on from the same view
            }
            v = (NdArray) next[0];
            model = (Model) next[1];
            checked += check(v, model, memory, rnd);
        }
        return checked;
    }

    /** One random operation on both: {view, model}, or null when panbuf refused it. */
    private Object[] step(NdArray v, Model m, SplittableRandom rnd, List<String> ops) {
        int nd = v.ndim();
        switch (rnd.nextInt(7)) {
            case 0, 1 -> {
                Index[] items = randomIndex(rnd, m.shape());
                ops.add("get(" + Arrays.toString(items) + ")");
                NdArray out;
                try {
                    out = v.get(items);
                } catch (IndexOutOfBoundsException e) {
                    ops.add("  refused: " + e.getMessage());
                    if (modelAcceptsIndex(m.shape(), items)) {
                        throw new AssertionError("panbuf refused an index the model accepts: " + e.getMessage());
                    }
                    return null;
                }
                return new Object[] {out, indexModel(m, items)};
            }
            case 2 -> {
                int[] perm = permutation(rnd, nd);
                ops.add("transpose(" + Arrays.toString(perm) + ")");
                long[] outShape = new long[nd];
                for (int j = 0; j < nd; j++) {
                    outShape[j] = m.shape()[perm[j]];
                }
                return new Object[] {v.transpose(perm), mapModel(m, outShape, out -> {
                    long[] in = new long[nd];
                    for (int j = 0; j < nd; j++) {
                        in[perm[j]] = out[j];
                    }
                    return in;
                })};
            }
            case 3 -> {
                long[] target = randomShapeOfSize(rnd, m.count());
                Order order = rnd.nextBoolean() ? Order.C : Order.F;
                ops.add("reshape(Order." + order + ", " + Arrays.toString(target) + ")");
                NdArray out;
                try {
                    out = v.reshape(order, target);
                } catch (IllegalArgumentException e) {
                    ops.add("  refused: " + e.getMessage());
                    if (!e.getMessage().contains("needs a copy")) {
                        throw e;
                    }
                    return null;
                }
                long[] inShape = m.shape();
                return new Object[] {out, mapModel(m, target, out2 -> order == Order.C
                        ? unravelC(ravelC(out2, target), inShape)
                        : unravelF(ravelF(out2, target), inShape))};
            }
            case 4 -> {
                long[] target = new long[nd + rnd.nextInt(3)];
                int lead = target.length - nd;
                for (int i = 0; i < target.length; i++) {
                    long from = i < lead ? 1 : m.shape()[i - lead];
                    target[i] = from == 1 ? rnd.nextInt(4) : from;
                }
                if (product(target) > 2000) {
                    return null;
                }
                ops.add("broadcastTo(" + Arrays.toString(target) + ")");
                long[] inShape = m.shape();
                return new Object[] {v.broadcastTo(target), mapModel(m, target, out -> {
                    long[] in = new long[inShape.length];
                    for (int i = 0; i < in.length; i++) {
                        in[i] = inShape[i] == 1 ? 0 : out[lead + i];
                    }
                    return in;
                })};
            }
            case 5 -> {
                List<Integer> ones = new ArrayList<>();
                for (int i = 0; i < nd; i++) {
                    if (m.shape()[i] == 1) {
                        ones.add(i);
                    }
                }
                long[] kept = Arrays.stream(m.shape()).filter(d -> d != 1).toArray();
                if (rnd.nextBoolean() || ones.isEmpty()) {
                    ops.add("squeeze()");
                    return new Object[] {v.squeeze(), new Model(kept, m.offsets())};
                }
                int axis = ones.get(rnd.nextInt(ones.size()));
                int given = rnd.nextBoolean() ? axis : axis - nd;
                ops.add("squeeze(" + given + ")");
                long[] shape = new long[nd - 1];
                for (int i = 0, o = 0; i < nd; i++) {
                    if (i != axis) {
                        shape[o++] = m.shape()[i];
                    }
                }
                return new Object[] {v.squeeze(given), new Model(shape, m.offsets())};
            }
            default -> {
                int axis = rnd.nextInt(nd + 1);
                int given = rnd.nextBoolean() ? axis : axis - nd - 1;
                ops.add("expandDims(" + given + ")");
                long[] shape = new long[nd + 1];
                for (int i = 0, o = 0; i <= nd; i++) {
                    shape[i] = i == axis ? 1 : m.shape()[o++];
                }
                return new Object[] {v.expandDims(given), new Model(shape, m.offsets())};
            }
        }
    }

    // ---------------------------------------------------------------- the model's operations

    private static Model mapModel(Model m, long[] outShape, java.util.function.Function<long[], long[]> sourceIndex) {
        long[] offsets = new long[(int) product(outShape)];
        for (int k = 0; k < offsets.length; k++) {
            offsets[k] = m.offset(sourceIndex.apply(unravelC(k, outShape)));
        }
        return new Model(outShape.clone(), offsets);
    }

    /** The source indices a Python slice takes from an axis of {@code n}, by enumeration. */
    static long[] sliceIndices(Slice s, long n) {
        // Parse the slice back from its Python text: the model does not use Slice.resolve.
        String[] parts = s.toString().split(":", -1);
        Long start = parts[0].isEmpty() ? null : Long.parseLong(parts[0]);
        Long stop = parts[1].isEmpty() ? null : Long.parseLong(parts[1]);
        long step = parts.length == 3 ? Long.parseLong(parts[2]) : 1;
        List<Long> out = new ArrayList<>();
        if (step > 0) {
            long a = start == null ? 0 : start < 0 ? Math.max(0, start + n) : Math.min(start, n);
            long b = stop == null ? n : stop < 0 ? Math.max(0, stop + n) : Math.min(stop, n);
            for (long i = a; i < b; ) {
                out.add(i);
                long next = i + step;
                if (next < i) {
                    break;   // overflow: past any axis
                }
                i = next;
            }
        } else {
            long a = start == null ? n - 1 : start < 0 ? Math.max(-1, start + n) : Math.min(start, n - 1);
            long b = stop == null ? -1 : stop < 0 ? Math.max(-1, stop + n) : Math.min(stop, n - 1);
            for (long i = a; i > b; ) {
                out.add(i);
                long next = i + step;
                if (next > i) {
                    break;
                }
                i = next;
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private static boolean modelAcceptsIndex(long[] shape, Index[] items) {
        int axis = 0;
        int consuming = (int) Arrays.stream(items).filter(i -> i instanceof Index.At || i instanceof Slice).count();
        for (Index it : items) {
            if (it instanceof Index.Ellipsis) {
                axis += shape.length - consuming;
            } else if (it instanceof Index.At at) {
                long n = shape[axis++];
                if (at.index() < -n || at.index() >= n) {
                    return false;
                }
            } else if (it instanceof Slice) {
                axis++;
            }
        }
        return true;
    }

    private static Model indexModel(Model m, Index[] items) {
        long[] inShape = m.shape();
        int consuming = (int) Arrays.stream(items).filter(i -> i instanceof Index.At || i instanceof Slice).count();
        // For each output axis: the source axis and the source positions it takes; integers fix a source axis.
        List<long[]> outPositions = new ArrayList<>();
        List<Integer> outSource = new ArrayList<>();   // -1 for a new axis
        long[] fixed = new long[inShape.length];
        int axis = 0;
        List<Index> all = new ArrayList<>(Arrays.asList(items));
        if (all.stream().noneMatch(i -> i instanceof Index.Ellipsis)) {
            all.add(Index.ellipsis());
        }
        for (Index it : all) {
            switch (it) {
                case Index.Ellipsis e -> {
                    for (int k = 0; k < inShape.length - consuming; k++, axis++) {
                        long[] every = new long[(int) inShape[axis]];
                        for (int p = 0; p < every.length; p++) {
                            every[p] = p;
                        }
                        outPositions.add(every);
                        outSource.add(axis);
                    }
                }
                case Index.NewAxis n -> {
                    outPositions.add(new long[] {0});
                    outSource.add(-1);
                }
                case Index.At at -> {
                    fixed[axis] = at.index() < 0 ? at.index() + inShape[axis] : at.index();
                    axis++;
                }
                case Slice s -> {
                    outPositions.add(sliceIndices(s, inShape[axis]));
                    outSource.add(axis);
                    axis++;
                }
            }
        }
        long[] outShape = outPositions.stream().mapToLong(p -> p.length).toArray();
        return mapModel(m, outShape, out -> {
            long[] in = fixed.clone();
            for (int j = 0; j < out.length; j++) {
                if (outSource.get(j) >= 0) {
                    in[outSource.get(j)] = outPositions.get(j)[(int) out[j]];
                }
            }
            return in;
        });
    }

    // ---------------------------------------------------------------- generators

    /** Items for some leading axes, maybe an ellipsis and items for some trailing axes, with new axes anywhere. */
    private static Index[] randomIndex(SplittableRandom rnd, long[] shape) {
        int nd = shape.length;
        boolean ellipsis = rnd.nextInt(3) == 0;
        int leading = rnd.nextInt(nd + 1);
        int trailing = ellipsis ? rnd.nextInt(nd - leading + 1) : 0;
        List<Index> items = new ArrayList<>();
        for (int ax = 0; ax < leading; ax++) {
            maybeNewAxis(rnd, items);
            items.add(randomItem(rnd, shape[ax]));
        }
        if (ellipsis) {
            maybeNewAxis(rnd, items);
            items.add(Index.ellipsis());
        }
        for (int ax = nd - trailing; ax < nd; ax++) {
            maybeNewAxis(rnd, items);
            items.add(randomItem(rnd, shape[ax]));
        }
        maybeNewAxis(rnd, items);
        return items.toArray(Index[]::new);
    }

    private static void maybeNewAxis(SplittableRandom rnd, List<Index> items) {
        if (rnd.nextInt(8) == 0) {
            items.add(Index.newAxis());
        }
    }

    /** An integer (in range, counting from either end; rarely just out of range) or a slice. */
    private static Index randomItem(SplittableRandom rnd, long len) {
        if (rnd.nextBoolean()) {
            return randomSlice(rnd, len);
        }
        if (rnd.nextInt(30) == 0 || len == 0) {
            return Index.at(rnd.nextBoolean() ? len : -len - 1);
        }
        return Index.at(rnd.nextLong(-len, len));
    }

    private static Slice randomSlice(SplittableRandom rnd, long len) {
        long step = switch (rnd.nextInt(12)) {
            case 0 -> Long.MAX_VALUE;
            case 1 -> Long.MIN_VALUE;
            default -> {
                long s = 1 + rnd.nextInt(3);
                yield rnd.nextBoolean() ? s : -s;
            }
        };
        long span = len + 3;
        long start = rnd.nextInt(20) == 0 ? Long.MIN_VALUE : rnd.nextLong(-span, span + 1);
        long stop = rnd.nextInt(20) == 0 ? Long.MAX_VALUE : rnd.nextLong(-span, span + 1);
        return switch (rnd.nextInt(4)) {
            case 0 -> Slice.of(start, stop, step);
            case 1 -> Slice.from(start, step);
            case 2 -> Slice.to(stop, step);
            default -> Slice.every(step);
        };
    }

    private static int[] permutation(SplittableRandom rnd, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static long[] randomShapeOfSize(SplittableRandom rnd, long size) {
        List<Long> dims = new ArrayList<>();
        if (size == 0) {
            dims.add(0L);
            if (rnd.nextBoolean()) {
                dims.add(1L + rnd.nextInt(3));
            }
        } else {
            long rest = size;
            for (long p = 2; rest > 1; ) {
                if (rest % p == 0) {
                    long d = p;
                    rest /= p;
                    while (rest % p == 0 && rnd.nextBoolean()) {
                        d *= p;
                        rest /= p;
                    }
                    dims.add(d);
                } else {
                    p++;
                }
            }
            java.util.Collections.shuffle(dims, new java.util.Random(rnd.nextLong()));
        }
        for (int k = rnd.nextInt(3); k > 0; k--) {
            dims.add(rnd.nextInt(dims.size() + 1), 1L);
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    // ---------------------------------------------------------------- the comparison

    /** Every element against the model; a few reads and writes through VarHandle and accessors. */
    private static long check(NdArray v, Model m, MemorySegment memory, SplittableRandom rnd) {
        if (!Arrays.equals(v.shape(), m.shape())) {
            throw new AssertionError("shape " + Arrays.toString(v.shape()) + ", model " + Arrays.toString(m.shape()));
        }
        DType t = v.dtype();
        for (int k = 0; k < m.count(); k++) {
            long[] idx = unravelC(k, m.shape());
            long want = m.offsets()[k];
            if (v.byteOffsetOf(idx) != want) {
                throw new AssertionError("byteOffsetOf" + Arrays.toString(idx) + " = " + v.byteOffsetOf(idx) + ", model " + want
                        + "; view " + v.describe());
            }
            Object raw = raw(memory, want, t);
            Object typed = ViewOracleTest.typedGet(v, idx);
            if (!ViewOracleTest.bitsEqual(raw, typed)) {
                throw new AssertionError("element " + Arrays.toString(idx) + ": accessor " + typed + ", memory " + raw);
            }
        }
        if (m.count() == 0) {
            return 1;
        }
        VarHandle vh = v.varHandle();
        MethodHandle get = vh.toMethodHandle(VarHandle.AccessMode.GET);
        MethodHandle set = vh.toMethodHandle(VarHandle.AccessMode.SET);
        for (int probe = 0; probe < 4; probe++) {
            long[] idx = unravelC(rnd.nextLong(m.count()), m.shape());
            long at = m.offset(idx);
            Object viaHandle = invoke(get, idx);
            if (!ViewOracleTest.bitsEqual(raw(memory, at, t), viaHandle)) {
                throw new AssertionError("varHandle get " + Arrays.toString(idx) + " = " + viaHandle + ", memory "
                        + raw(memory, at, t));
            }
            Object value = randomValue(t, rnd);
            boolean viaVarHandle = probe % 2 == 0;
            if (v.isReadOnly()) {
                byte[] before = memory.toArray(ValueLayout.JAVA_BYTE);
                try {
                    if (viaVarHandle) {
                        invoke(set, idx, value);
                    } else {
                        typedSet(v, value, idx);
                    }
                    throw new AssertionError("a write to a read-only view succeeded at " + Arrays.toString(idx));
                } catch (IllegalArgumentException expected) {
                    if (!expected.getMessage().contains("read-only")) {
                        throw expected;
                    }
                }
                if (!Arrays.equals(before, memory.toArray(ValueLayout.JAVA_BYTE))) {
                    throw new AssertionError("a refused write changed memory");
                }
                continue;
            }
            if (viaVarHandle) {
                invoke(set, idx, value);
            } else {
                typedSet(v, value, idx);
            }
            Object stored = stored(t, value);
            Object inMemory = raw(memory, at, t);
            Object typed = ViewOracleTest.typedGet(v, idx);
            Object handle = invoke(get, idx);
            if (!ViewOracleTest.bitsEqual(stored, inMemory) || !ViewOracleTest.bitsEqual(stored, typed)
                    || !ViewOracleTest.bitsEqual(stored, handle)) {
                throw new AssertionError((viaVarHandle ? "varHandle" : "typed") + " set " + value + " at " + Arrays.toString(idx)
                        + ": memory at model offset " + at + " holds " + inMemory + ", accessor " + typed + ", varHandle " + handle);
            }
        }
        return m.count();
    }

    private static Object invoke(MethodHandle h, long[] idx, Object... value) {
        Object[] args = new Object[idx.length + value.length];
        for (int i = 0; i < idx.length; i++) {
            args[i] = idx[i];
        }
        System.arraycopy(value, 0, args, idx.length, value.length);
        try {
            return h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** The element at byte {@code at}, read straight from memory. */
    private static Object raw(MemorySegment s, long at, DType t) {
        ByteOrder o = t.byteOrder() == null ? ByteOrder.LITTLE_ENDIAN : t.byteOrder();
        return switch (t.kind()) {
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, at) != 0;
            case SIGNED, UNSIGNED -> switch ((int) t.byteSize()) {
                case 1 -> s.get(ValueLayout.JAVA_BYTE, at);
                case 2 -> s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(o), at);
                case 4 -> s.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(o), at);
                default -> s.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(o), at);
            };
            case FLOAT -> switch ((int) t.byteSize()) {
                case 2 -> Float.float16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(o), at));
                case 4 -> s.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(o), at);
                default -> s.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(o), at);
            };
            default -> throw new AssertionError(t);
        };
    }

    private static Object randomValue(DType t, SplittableRandom rnd) {
        Class<?> c = t.carrier();
        if (c == boolean.class) {
            return rnd.nextBoolean();
        } else if (c == byte.class) {
            return (byte) rnd.nextInt();
        } else if (c == short.class) {
            return (short) rnd.nextInt();
        } else if (c == int.class) {
            return rnd.nextInt();
        } else if (c == long.class) {
            return rnd.nextLong();
        } else if (c == float.class) {
            return (float) rnd.nextDouble(-1e4, 1e4);
        }
        return rnd.nextDouble(-1e300, 1e300);
    }

    /** What reading back a written value gives: float16 rounds to nearest even. */
    private static Object stored(DType t, Object value) {
        if (t.kind() == DType.Kind.FLOAT && t.byteSize() == 2) {
            return Float.float16ToFloat(Float.floatToFloat16((Float) value));
        }
        return value;
    }

    private static void typedSet(NdArray v, Object value, long[] idx) {
        switch (value) {
            case Boolean b -> v.setBoolean(b, idx);
            case Byte b -> v.setByte(b, idx);
            case Short s -> v.setShort(s, idx);
            case Integer i -> v.setInt(i, idx);
            case Long l -> v.setLong(l, idx);
            case Float f -> v.setFloat(f, idx);
            case Double d -> v.setDouble(d, idx);
            default -> throw new AssertionError(value);
        }
    }

    // ---------------------------------------------------------------- index arithmetic

    static long product(long[] shape) {
        long p = 1;
        for (long d : shape) {
            p *= d;
        }
        return p;
    }

    static long ravelC(long[] idx, long[] shape) {
        long k = 0;
        for (int i = 0; i < shape.length; i++) {
            k = k * shape[i] + idx[i];
        }
        return k;
    }

    static long ravelF(long[] idx, long[] shape) {
        long k = 0;
        for (int i = shape.length - 1; i >= 0; i--) {
            k = k * shape[i] + idx[i];
        }
        return k;
    }

    static long[] unravelC(long k, long[] shape) {
        long[] idx = new long[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = k % shape[i];
            k /= shape[i];
        }
        return idx;
    }

    static long[] unravelF(long k, long[] shape) {
        long[] idx = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            idx[i] = k % shape[i];
            k /= shape[i];
        }
        return idx;
    }
}
