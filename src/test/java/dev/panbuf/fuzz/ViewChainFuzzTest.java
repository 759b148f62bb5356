package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.DType;
import dev.panbuf.Index;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.Slice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Chains of view operations driven by fuzzed bytes (NumPy basic indexing
 * with integers, slices, new axes and ellipses; transposes; reshapes in C
 * and F order; broadcasts; squeezes; expandDims; read-only views; copies;
 * element writes and fills) on an int32 array over a small native buffer,
 * checked after every step against a flat model that knows nothing of
 * strides: the model is the buffer's contents and, for each element of the
 * view in C order, its position in the buffer. After each step:
 * <ul>
 * <li>shape, read-only flag and both contiguity flags are the model's;
 * <li>every element's byte offset is exactly 4 x its model position (so it
 *     is inside the buffer), and reads the model's value;
 * <li>the whole buffer equals the model's contents (no stray writes);
 * <li>an operation the model calls invalid throws the exception type the
 *     model names ({@link IllegalArgumentException}, or
 *     {@link IndexOutOfBoundsException} for an integer index) and changes
 *     nothing; a valid one does not throw.
 * </ul>
 * Input layout: initial ndim (1) and dimensions (1 each), buffer offset (1),
 * then operations, each an opcode byte and its operands, until the input ends.
 */
class ViewChainFuzzTest {

    private static final int MAX_MODEL = 4096;
    private static final MemorySegment MEMORY = Arena.ofAuto().allocate(8192, 64);

    /** The flat model: the buffer's elements, and per view element (C order) its position among them. */
    private int[] mem;
    private long[] shape;
    private int[] pos;
    private boolean readOnly;
    /** The real thing. */
    private NdArray view;
    private MemorySegment buffer;
    private final List<String> log = new ArrayList<>();

    @FuzzTest(maxDuration = "60s")
    void viewChainsMatchAFlatModel(byte[] input) {
        Fuzz.Input in = new Fuzz.Input(input);
        int ndim = 1 + in.below(4);
        long[] dims = new long[ndim];
        int n = 1;
        for (int i = 0; i < ndim; i++) {
            dims[i] = in.below(6);
            n *= (int) dims[i];
        }
        int base = in.below(64);
        buffer = MEMORY.asSlice(base, 4L * n);
        mem = new int[n];
        for (int i = 0; i < n; i++) {
            mem[i] = i * 7 + 1;
            buffer.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, mem[i]);
        }
        shape = dims;
        pos = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = i;
        }
        readOnly = false;
        log.clear();
        log.add("start " + Arrays.toString(dims) + " at byte " + base);
        view = NdArray.of(buffer, DType.INT32, dims);
        verify();
        for (int step = 0; step < 24 && !in.exhausted(); step++) {
            apply(in);
            verify();
        }
    }

    // ------------------------------------------------------------------ operations

    private void apply(Fuzz.Input in) {
        int op = in.below(15);
        int nd = shape.length;
        switch (op) {
            case 0, 1 -> index(in);
            case 2 -> {
                int[] perm = new int[nd];
                for (int i = 0; i < nd; i++) {
                    perm[i] = nd - 1 - i;
                }
                log("transpose()");
                permute(perm);
                view = view.transpose();
            }
            case 3 -> {
                int len = in.bit() ? nd : in.below(nd + 2);
                int[] axes = new int[len];
                for (int i = 0; i < len; i++) {
                    axes[i] = in.below(2 * nd + 3) - nd - 1;
                }
                log("transpose(" + Arrays.toString(axes) + ")");
                int[] perm = permutation(axes, nd);
                if (perm == null) {
                    refused(IllegalArgumentException.class, () -> view.transpose(axes));
                } else {
                    view = view.transpose(axes);
                    permute(perm);
                }
            }
            case 4 -> {
                int a = in.below(2 * nd + 3) - nd - 1;
                int b = in.below(2 * nd + 3) - nd - 1;
                log("swapAxes(" + a + ", " + b + ")");
                if (!inRange(a, nd) || !inRange(b, nd)) {
                    refused(IllegalArgumentException.class, () -> view.swapAxes(a, b));
                } else {
                    int[] perm = new int[nd];
                    for (int i = 0; i < nd; i++) {
                        perm[i] = i;
                    }
                    int x = Math.floorMod(a, nd);
                    int y = Math.floorMod(b, nd);
                    perm[x] = y;
                    perm[y] = x;
                    view = view.swapAxes(a, b);
                    permute(perm);
                }
            }
            case 5, 6 -> reshape(in, op == 6 ? Order.F : Order.C);
            case 7 -> broadcast(in);
            case 8 -> {
                log("squeeze()");
                List<Integer> keep = new ArrayList<>();
                for (int i = 0; i < nd; i++) {
                    if (shape[i] != 1) {
                        keep.add(i);
                    }
                }
                view = view.squeeze();
                dropOnes(keep);
            }
            case 9 -> {
                int len = in.below(3);
                int[] axes = new int[len];
                for (int i = 0; i < len; i++) {
                    axes[i] = in.below(2 * nd + 3) - nd - 1;
                }
                log("squeeze(" + Arrays.toString(axes) + ")");
                boolean[] drop = new boolean[nd];
                boolean ok = true;
                for (int axis : axes) {
                    if (!inRange(axis, nd) || shape[Math.floorMod(axis, nd)] != 1 || drop[Math.floorMod(axis, nd)]) {
                        ok = false;
                        break;
                    }
                    drop[Math.floorMod(axis, nd)] = true;
                }
                if (!ok) {
                    refused(IllegalArgumentException.class, () -> view.squeeze(axes));
                } else {
                    List<Integer> keep = new ArrayList<>();
                    for (int i = 0; i < nd; i++) {
                        if (!drop[i]) {
                            keep.add(i);
                        }
                    }
                    view = view.squeeze(axes);
                    dropOnes(keep);
                }
            }
            case 10 -> {
                int axis = in.below(2 * nd + 5) - nd - 2;
                log("expandDims(" + axis + ")");
                if (nd + 1 > NdArray.MAX_NDIM || !inRange(axis, nd + 1)) {
                    refused(IllegalArgumentException.class, () -> view.expandDims(axis));
                } else {
                    int a = Math.floorMod(axis, nd + 1);
                    long[] next = new long[nd + 1];
                    for (int i = 0, o = 0; i <= nd; i++) {
                        next[i] = i == a ? 1 : shape[o++];
                    }
                    view = view.expandDims(axis);
                    shape = next;
                }
            }
            case 11 -> {
                log("asReadOnly()");
                view = view.asReadOnly();
                readOnly = true;
            }
            case 12 -> {
                Order order = in.bit() ? Order.F : Order.C;
                log("copy(" + order + ")");
                view = view.copy(order, Arena.ofAuto());
                buffer = view.segment();
                int count = pos.length;
                int[] values = new int[count];
                for (int k = 0; k < count; k++) {
                    values[k] = mem[pos[k]];
                }
                mem = new int[count];
                int[] where = new int[count];
                for (int k = 0; k < count; k++) {
                    long[] idx = unflatten(k, shape, Order.C);
                    where[k] = (int) flatten(idx, shape, order);
                    mem[where[k]] = values[k];
                }
                pos = where;
                readOnly = false;
            }
            case 13 -> {
                int value = (int) in.s64();
                if (pos.length == 0) {
                    log("setInt on an empty view");
                    refused(IndexOutOfBoundsException.class, () -> view.setInt(value, new long[shape.length]));
                    return;
                }
                int k = in.u16() % pos.length;
                long[] idx = unflatten(k, shape, Order.C);
                log("setInt(" + value + ", " + Arrays.toString(idx) + ")");
                if (readOnly) {
                    refused(IllegalArgumentException.class, () -> view.setInt(value, idx));
                } else {
                    if (idx.length == 2) {
                        view.setInt(value, idx[0], idx[1]);
                    } else {
                        view.setInt(value, idx);
                    }
                    mem[pos[k]] = value;
                }
            }
            default -> {
                int value = (int) in.s64();
                log("fillInt(" + value + ")");
                if (readOnly) {
                    refused(IllegalArgumentException.class, () -> view.fillInt(value));
                } else {
                    view.fillInt(value);
                    for (int p : pos) {
                        mem[p] = value;
                    }
                }
            }
        }
    }

    /** NumPy basic indexing: the model resolves each item itself (Python's slice rules). */
    private void index(Fuzz.Input in) {
        int items = in.below(6);
        Index[] index = new Index[items];
        for (int i = 0; i < items; i++) {
            switch (in.below(5)) {
                case 0, 1 -> index[i] = Index.at(in.edgy(1));
                case 2 -> {
                    long a = in.edgy(1);
                    long b = in.edgy(1);
                    long fuzzedStep = in.edgy(1);
                    if (fuzzedStep == 0) {
                        log("Slice with step 0");
                        refused(IllegalArgumentException.class, () -> Slice.of(a, b, 0));
                    }
                    long c = fuzzedStep == 0 ? 1 : fuzzedStep;
                    index[i] = switch (in.below(5)) {
                        case 0 -> Slice.of(a, b, c);
                        case 1 -> Slice.from(a, c);
                        case 2 -> Slice.to(b, c);
                        case 3 -> Slice.every(c);
                        default -> Slice.all();
                    };
                }
                case 3 -> index[i] = Index.newAxis();
                default -> index[i] = Index.ellipsis();
            }
        }
        log("get" + Arrays.toString(index));
        int nd = shape.length;
        int consuming = 0;
        int ellipses = 0;
        int newAxes = 0;
        int ats = 0;
        for (Index ix : index) {
            switch (ix) {
                case Index.Ellipsis e -> ellipses++;
                case Index.NewAxis x -> newAxes++;
                case Index.At a -> {
                    consuming++;
                    ats++;
                }
                case Slice s -> consuming++;
            }
        }
        if (ellipses > 1 || consuming > nd || nd - ats + newAxes > NdArray.MAX_NDIM) {
            refused(IllegalArgumentException.class, () -> view.get(index));
            return;
        }
        // Output axes: for each, the source axis, its first index and step (-1 source: a new axis).
        List<long[]> out = new ArrayList<>();
        long[] fixed = new long[nd];
        int axis = 0;
        for (Index ix : index) {
            switch (ix) {
                case Index.Ellipsis e -> {
                    for (int k = 0; k < nd - consuming; k++, axis++) {
                        out.add(new long[] {axis, 0, 1, shape[axis]});
                    }
                }
                case Index.NewAxis x -> out.add(new long[] {-1, 0, 1, 1});
                case Index.At a -> {
                    long i = a.index();
                    long resolved = i < 0 ? i + shape[axis] : i;   // i + size cannot overflow: size is small
                    if (resolved < 0 || resolved >= shape[axis]) {
                        refused(IndexOutOfBoundsException.class, () -> view.get(index));
                        return;
                    }
                    fixed[axis] = resolved;
                    axis++;
                }
                case Slice s -> {
                    long[] r = pythonSlice(s, shape[axis]);
                    out.add(new long[] {axis, r[0], r[1], r[2]});
                    axis++;
                }
            }
        }
        for (; axis < nd; axis++) {
            out.add(new long[] {axis, 0, 1, shape[axis]});
        }
        long[] next = new long[out.size()];
        for (int i = 0; i < next.length; i++) {
            next[i] = out.get(i)[3];
        }
        view = view.get(index);
        int count = Math.toIntExact(product(next));
        int[] nextPos = new int[count];
        for (int k = 0; k < count; k++) {
            long[] o = unflatten(k, next, Order.C);
            long[] src = fixed.clone();
            for (int i = 0; i < o.length; i++) {
                long[] d = out.get(i);
                if (d[0] >= 0) {
                    src[(int) d[0]] = d[1] + o[i] * d[2];
                }
            }
            nextPos[k] = pos[(int) flatten(src, shape, Order.C)];
        }
        shape = next;
        pos = nextPos;
    }

    /**
     * Python's slice.indices, written from the language reference: {first, step, count}.
     * A step of Long.MIN_VALUE counts as -Long.MAX_VALUE, as CPython clamps it.
     */
    static long[] pythonSlice(Slice s, long n) {
        String[] parts = s.toString().split(":", -1);
        long step = parts.length > 2 ? Long.parseLong(parts[2]) : 1;
        BigInteger lower = BigInteger.valueOf(step > 0 ? 0 : -1);
        BigInteger upper = BigInteger.valueOf(step > 0 ? n : n - 1);
        BigInteger len = BigInteger.valueOf(n);
        BigInteger first = parts[0].isEmpty() ? (step > 0 ? lower : upper) : clamp(new BigInteger(parts[0]), len, lower, upper);
        BigInteger last = parts[1].isEmpty() ? (step > 0 ? upper : lower) : clamp(new BigInteger(parts[1]), len, lower, upper);
        BigInteger st = BigInteger.valueOf(step);
        BigInteger count;
        if (step > 0) {
            count = last.compareTo(first) > 0 ? last.subtract(first).subtract(BigInteger.ONE).divide(st).add(BigInteger.ONE)
                    : BigInteger.ZERO;
        } else {
            count = first.compareTo(last) > 0 ? first.subtract(last).subtract(BigInteger.ONE).divide(st.negate())
                    .add(BigInteger.ONE) : BigInteger.ZERO;
        }
        return new long[] {first.longValueExact(), Math.max(step, -Long.MAX_VALUE), count.longValueExact()};
    }

    private static BigInteger clamp(BigInteger bound, BigInteger len, BigInteger lower, BigInteger upper) {
        BigInteger b = bound.signum() < 0 ? bound.add(len) : bound;
        return b.compareTo(lower) < 0 ? lower : b.compareTo(upper) > 0 ? upper : b;
    }

    private void reshape(Fuzz.Input in, Order order) {
        int len = in.below(5);
        long[] target = new long[len];
        for (int i = 0; i < len; i++) {
            int b = in.u8();
            target[i] = b < 0xE0 ? b % 7 : b < 0xF8 ? -1 : -2 - (b & 1);
        }
        log("reshape(" + order + ", " + Arrays.toString(target) + ")");
        long count = pos.length;
        int unknown = -1;
        boolean ok = true;
        long known = 1;
        for (int i = 0; i < len; i++) {
            if (target[i] == -1) {
                ok &= unknown < 0;
                unknown = i;
            } else if (target[i] < 0) {
                ok = false;
            } else {
                known *= target[i];
            }
        }
        long[] dims = target.clone();
        if (ok && unknown >= 0) {
            ok = known != 0 && count % known == 0;
            if (ok) {
                dims[unknown] = count / known;
            }
        } else if (ok) {
            ok = known == count;
        }
        if (Arrays.equals(target, shape)) {
            ok = true;   // the same shape returns the view itself, as NumPy does
        }
        if (!ok) {
            refused(IllegalArgumentException.class, () -> view.reshape(order, target));
            return;
        }
        boolean mustBeView = contiguous(order);
        NdArray next;
        try {
            next = view.reshape(order, target);
        } catch (IllegalArgumentException needsCopy) {
            assertTrue(needsCopy.getMessage().contains("needs a copy"), needsCopy.getMessage());
            if (mustBeView) {
                fail(log + ": a " + order + "-contiguous view refused reshape: " + needsCopy.getMessage());
            }
            return;
        }
        view = next;
        // Elements in `order` of the old shape go to the same places in `order` of the new one.
        int[] nextPos = new int[pos.length];
        for (int k = 0; k < pos.length; k++) {
            long[] oldIndex = unflatten(k, shape, Order.C);
            long f = flatten(oldIndex, shape, order);
            long[] newIndex = unflatten(f, dims, order);
            nextPos[(int) flatten(newIndex, dims, Order.C)] = pos[k];
        }
        shape = dims;
        pos = nextPos;
    }

    private void broadcast(Fuzz.Input in) {
        int nd = shape.length;
        int lead = in.below(3);
        boolean fewer = in.u8() == 0xFF;
        long[] target = new long[fewer ? Math.max(0, nd - 1) : nd + lead];
        boolean ok = !fewer || nd == 0;
        if (fewer && nd == 0) {
            target = new long[0];
        }
        for (int i = 0; i < target.length; i++) {
            int srcAxis = i - (target.length - nd);
            int b = in.u8();
            if (b == 0xFF) {
                target[i] = -1;
                ok = false;
            } else if (srcAxis < 0 || shape[srcAxis] == 1) {
                target[i] = b % 4;
            } else {
                target[i] = b >= 0xF0 ? shape[srcAxis] + 1 : shape[srcAxis];
                ok &= b < 0xF0;
            }
        }
        long[] dims = target;
        log("broadcastTo(" + Arrays.toString(dims) + ")");
        BigInteger bytes = BigInteger.valueOf(4);
        for (long d : dims) {
            bytes = d > 0 ? bytes.multiply(BigInteger.valueOf(d)) : bytes;
        }
        ok &= dims.length <= NdArray.MAX_NDIM && bytes.bitLength() <= 63;
        if (!ok) {
            refused(IllegalArgumentException.class, () -> view.broadcastTo(dims));
            return;
        }
        if (product(dims) > MAX_MODEL) {
            log("(skipped: too large for the model)");
            return;
        }
        view = view.broadcastTo(dims);
        int count = (int) product(dims);
        int[] nextPos = new int[count];
        int lead2 = dims.length - nd;
        for (int k = 0; k < count; k++) {
            long[] o = unflatten(k, dims, Order.C);
            long[] src = new long[nd];
            for (int i = 0; i < nd; i++) {
                src[i] = shape[i] == 1 ? 0 : o[lead2 + i];
            }
            nextPos[k] = pos[(int) flatten(src, shape, Order.C)];
        }
        shape = dims;
        pos = nextPos;
        readOnly = true;
    }

    // ------------------------------------------------------------------ model helpers

    private void permute(int[] perm) {
        long[] next = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            next[i] = shape[perm[i]];
        }
        int[] nextPos = new int[pos.length];
        for (int k = 0; k < pos.length; k++) {
            long[] o = unflatten(k, next, Order.C);
            long[] src = new long[perm.length];
            for (int i = 0; i < perm.length; i++) {
                src[perm[i]] = o[i];
            }
            nextPos[k] = pos[(int) flatten(src, shape, Order.C)];
        }
        shape = next;
        pos = nextPos;
    }

    private void dropOnes(List<Integer> keep) {
        long[] next = new long[keep.size()];
        for (int i = 0; i < next.length; i++) {
            next[i] = shape[keep.get(i)];
        }
        shape = next;   // dropping size-1 axes keeps the C order of the elements
    }

    private static int[] permutation(int[] axes, int nd) {
        if (axes.length != nd) {
            return null;
        }
        int[] perm = new int[nd];
        boolean[] seen = new boolean[nd];
        for (int i = 0; i < nd; i++) {
            if (!inRange(axes[i], nd) || seen[Math.floorMod(axes[i], nd)]) {
                return null;
            }
            perm[i] = Math.floorMod(axes[i], nd);
            seen[perm[i]] = true;
        }
        return perm;
    }

    private static boolean inRange(int axis, int nd) {
        return axis >= -nd && axis < nd;
    }

    /** The model's answer to "are the elements packed in this order": consecutive positions. */
    private boolean contiguous(Order order) {
        if (pos.length == 0) {
            return true;
        }
        long first = -1;
        for (int k = 0; k < pos.length; k++) {
            long f = flatten(unflatten(k, shape, Order.C), shape, order);
            if (f == 0) {
                first = pos[k];
            }
        }
        for (int k = 0; k < pos.length; k++) {
            long f = flatten(unflatten(k, shape, Order.C), shape, order);
            if (pos[k] != first + f) {
                return false;
            }
        }
        return true;
    }

    /** The product of the dimensions, saturated at Long.MAX_VALUE. */
    static long product(long[] shape) {
        long p = 1;
        for (long d : shape) {
            if (d == 0) {
                return 0;
            }
            p = Math.multiplyHigh(p, d) != 0 || p * d < 0 ? Long.MAX_VALUE : p * d;
        }
        return p;
    }

    static long[] unflatten(long k, long[] shape, Order order) {
        long[] idx = new long[shape.length];
        for (int j = 0; j < shape.length; j++) {
            int axis = order == Order.C ? shape.length - 1 - j : j;
            idx[axis] = k % shape[axis];
            k /= shape[axis];
        }
        return idx;
    }

    static long flatten(long[] idx, long[] shape, Order order) {
        long k = 0;
        for (int j = 0; j < shape.length; j++) {
            int axis = order == Order.C ? j : shape.length - 1 - j;
            k = k * shape[axis] + idx[axis];
        }
        return k;
    }

    // ------------------------------------------------------------------ checks

    private void verify() {
        String what = String.join(" -> ", log);
        assertArrayEquals(shape, view.shape(), what);
        assertEquals(readOnly, view.isReadOnly(), what + ": read-only flag");
        assertEquals(pos.length, view.elementCount(), what);
        assertEquals(contiguous(Order.C), view.isContiguous(Order.C), what + ": C-contiguous flag " + view.describe());
        assertEquals(contiguous(Order.F), view.isContiguous(Order.F), what + ": F-contiguous flag " + view.describe());
        int[] values = view.toIntArray();
        for (int k = 0; k < pos.length; k++) {
            long[] idx = unflatten(k, shape, Order.C);
            assertEquals(4L * pos[k], view.byteOffsetOf(idx), what + ": byte offset of " + Arrays.toString(idx));
            assertEquals(mem[pos[k]], values[k], what + ": value of " + Arrays.toString(idx));
        }
        if (pos.length > 0) {
            long[] idx = unflatten(pos.length - 1, shape, Order.C);
            assertEquals(mem[pos[pos.length - 1]], shape.length == 2 ? view.getInt(idx[0], idx[1]) : view.getInt(idx), what);
        }
        // allocate() takes at least one byte, also for an empty copy
        assertEquals(Math.max(1, 4L * mem.length), Math.max(1, buffer.byteSize()), what + ": buffer size");
        for (int i = 0; i < mem.length; i++) {
            assertEquals(mem[i], buffer.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i), what + ": buffer element " + i);
        }
    }

    private void refused(Class<? extends RuntimeException> type, Runnable call) {
        int[] before = mem.clone();
        RuntimeException e = assertThrows(type, call::run, () -> String.join(" -> ", log) + " must throw " + type.getSimpleName());
        Fuzz.checkMessage(e, log);
        assertArrayEquals(before, mem);
    }

    private void log(String step) {
        log.add(step);
    }
}
