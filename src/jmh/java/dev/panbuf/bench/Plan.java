package dev.panbuf.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Which benchmarks a {@code panbuf bench} run measures, one {@link Case} per
 * benchmark method and parameter combination, in report order. The full plan
 * is every method with every {@code @Param} value; the quick plan is the
 * subset that decides the targets, sized for five minutes on two cores. Either
 * way the baseline of every target is added, so no ratio is missing because
 * its baseline was left out.
 */
final class Plan {

    /** The suite, in report order. */
    static final List<Class<?>> CLASSES = List.of(
            Float32SumBenchmark.class, Float32StridedSumBenchmark.class, Float32Sum2dBenchmark.class,
            Int32SumBenchmark.class, Int32StridedSumBenchmark.class, Int32Sum2dBenchmark.class, RowLengthBenchmark.class,
            CopyContiguousBenchmark.class, TransposeCopyBenchmark.class, StridedCopyBenchmark.class, AllocateBenchmark.class,
            ExportCallBenchmark.class, HeapToCBenchmark.class, DowncallBenchmark.class, ViewCreateBenchmark.class,
            GrowableViewBenchmark.class, ElementIndexBenchmark.class, PythonHandOffBenchmark.class,
            NpyWriteBenchmark.class, NpyIoBenchmark.class, ArrowExportBenchmark.class, DuckDbArrowScanBenchmark.class);

    /** One benchmark method with one value per parameter. */
    record Case(Class<?> type, String method, Map<String, String> params) {

        /** {@code Float32SumBenchmark.nativeView}. */
        String name() {
            return type.getSimpleName() + "." + method;
        }

        /** {@code size=1MiB}, or empty. */
        String paramText() {
            StringBuilder sb = new StringBuilder();
            params.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ",").append(k).append('=').append(v));
            return sb.toString();
        }

        List<Goal> goals() {
            try {
                return Arrays.asList(type.getMethod(method).getAnnotationsByType(Goal.class));
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public String toString() {
            return name() + (params.isEmpty() ? "" : " " + paramText());
        }
    }

    private Plan() {}

    /** Every benchmark with every parameter value. */
    static List<Case> full() {
        List<Case> out = new ArrayList<>();
        for (Class<?> type : CLASSES) {
            for (Map<String, String> params : combinations(declaredParams(type))) {
                for (String method : methods(type)) {
                    out.add(new Case(type, method, params));
                }
            }
        }
        return out;
    }

    /** The benchmarks behind the targets, each at the sizes that show them. */
    static List<Case> quick() {
        List<Case> out = new ArrayList<>();
        add(out, Float32SumBenchmark.class, "size=1MiB,64MiB", "floatArray", "floatArrayUnrolled", "floatArrayVector",
                "heapView", "nativeView", "nativeViewUnrolled", "nativeViewUnrolledCounted", "nativeViewVector",
                "nativeViewVarHandle");
        add(out, Float32SumBenchmark.class, "size=64MiB", "cVectorized");
        add(out, Float32StridedSumBenchmark.class, "size=1MiB", "floatArray", "nativeView", "floatArrayUnrolled",
                "nativeViewUnrolled", "nativeViewUnrolledCounted");
        add(out, Float32Sum2dBenchmark.class, "size=1MiB", "floatArray", "nativeView", "nativeViewVarHandle",
                "floatArrayUnrolled", "nativeViewUnrolled", "nativeViewUnrolledCounted", "nativeViewRowsUnrolledCounted",
                "nativeSegmentRowsUnrolledCounted");
        add(out, Int32SumBenchmark.class, "size=1MiB", "intArray", "nativeView", "intArrayVector", "nativeViewVector");
        add(out, CopyContiguousBenchmark.class, "size=4KiB,64MiB", "systemArraycopy", "memcpy", "viewCopyToNative");
        add(out, TransposeCopyBenchmark.class, "side=4096", "cBlocked", "viewCopyTo", "viewCopyOrderC");
        add(out, StridedCopyBenchmark.class, "layout=perm021,perm210,perm102,nchw2nhwc,nhwc2nchw,reverse,broadcast,swapF4,swapF8",
                "viewCopyTo");
        add(out, AllocateBenchmark.class, "size=64B", "arenaConfined", "bufferArena", "ndArrayAllocate");
        add(out, ExportCallBenchmark.class, "size=1KiB,64MiB,1GiB", "exportCallRelease");
        add(out, HeapToCBenchmark.class, "size=1KiB", "nativeSegmentCall", "criticalCallView", "criticalHeapArray");
        add(out, HeapToCBenchmark.class, "size=64MiB", "copyInCopyOut");
        add(out, DowncallBenchmark.class, "", "jniNoop", "ffmNoop", "jniExportedBuffer", "ffmExportedBuffer");
        add(out, ViewCreateBenchmark.class, "", "slice", "transpose", "reshape", "frombuffer");
        add(out, GrowableViewBenchmark.class, "size=1MiB", "plainViewSum", "growableViewSum", "growableView");
        add(out, PythonHandOffBenchmark.class, "size=1KiB,64MiB,256MiB", "numpyBufferProtocol", "numpyDLPack", "numpyCopy",
                "torchDLPack", "torchCopy");
        add(out, ArrowExportBenchmark.class, "size=1KiB,64MiB", "exportToArrowJava", "copyIntoArrowJavaVector");
        add(out, DuckDbArrowScanBenchmark.class, "rows=10000000", "sumOverPanbufStream", "sumOverAppenderTable");
        for (String m : List.of("legacyInPlace", "inPlace", "atomic", "atomicDurable")) {   // tmpfs: no disk traffic
            out.add(new Case(NpyWriteBenchmark.class, m, new TreeMap<>(Map.of("folder", "tmpfs", "size", "256MiB"))));
        }
        add(out, NpyIoBenchmark.class, "size=4KiB,1GiB", "read", "writeInPlace", "writeAtomic", "map", "mapSum");
        return out;
    }

    /** Two benchmarks in-process for CI: proves the suite compiles, starts, and reaches panbuf's and the bench's C. */
    static List<Case> smoke() {
        List<Case> out = new ArrayList<>();
        add(out, Float32SumBenchmark.class, "size=1MiB", "nativeView");
        add(out, DowncallBenchmark.class, "", "ffmExportedBuffer");
        return out;
    }

    /**
     * {@code cases} restricted to names matching {@code only} (if given), with the
     * Java baselines of their targets added, in report order.
     */
    static List<Case> complete(List<Case> cases, Pattern only, boolean addBaselines) {
        Set<Case> chosen = new LinkedHashSet<>();
        for (Case c : cases) {
            if (only == null || only.matcher(c.name()).find()) {
                chosen.add(c);
            }
        }
        List<Case> work = new ArrayList<>(chosen);
        for (int i = 0; i < work.size() && addBaselines; i++) {
            Case c = work.get(i);
            for (Goal g : c.goals()) {
                if (Goals.applies(g, c) && Goals.hasTarget(g)) {
                    Case base = Goals.javaBaseline(g, c);
                    if (base != null && chosen.add(base)) {
                        work.add(base);
                    }
                }
            }
        }
        List<Case> ordered = new ArrayList<>(chosen);
        Map<Class<?>, Integer> classOrder = new LinkedHashMap<>();
        for (Class<?> t : CLASSES) {
            classOrder.put(t, classOrder.size());
        }
        ordered.sort(Comparator.comparing((Case c) -> classOrder.getOrDefault(c.type(), 99))
                .thenComparing(c -> sizeKey(c.params()))
                .thenComparing(c -> methods(c.type()).indexOf(c.method())));
        return ordered;
    }

    /** Benchmark method names of {@code type}, in alphabetical order (as JMH lists them). */
    static List<String> methods(Class<?> type) {
        List<String> names = new ArrayList<>();
        for (Method m : type.getMethods()) {
            if (m.isAnnotationPresent(Benchmark.class)) {
                names.add(m.getName());
            }
        }
        names.sort(Comparator.naturalOrder());
        return names;
    }

    static Map<String, List<String>> declaredParams(Class<?> type) {
        Map<String, List<String>> params = new TreeMap<>();
        for (Field f : type.getFields()) {
            Param p = f.getAnnotation(Param.class);
            if (p != null) {
                params.put(f.getName(), List.of(p.value()));
            }
        }
        return params;
    }

    private static void add(List<Case> out, Class<?> type, String params, String... methods) {
        for (Map<String, String> p : combinations(parse(params))) {
            for (String m : methods) {
                if (!methods(type).contains(m)) {
                    throw new IllegalStateException("no benchmark " + type.getSimpleName() + "." + m);
                }
                out.add(new Case(type, m, p));
            }
        }
    }

    /** {@code "size=1MiB,64MiB"} (one parameter, several values) to its map. */
    private static Map<String, List<String>> parse(String spec) {
        Map<String, List<String>> out = new TreeMap<>();
        if (!spec.isEmpty()) {
            int eq = spec.indexOf('=');
            out.put(spec.substring(0, eq), List.of(spec.substring(eq + 1).split(",")));
        }
        return out;
    }

    private static List<Map<String, String>> combinations(Map<String, List<String>> params) {
        List<Map<String, String>> out = new ArrayList<>();
        out.add(new TreeMap<>());
        for (Map.Entry<String, List<String>> e : params.entrySet()) {
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> partial : out) {
                for (String v : e.getValue()) {
                    Map<String, String> m = new TreeMap<>(partial);
                    m.put(e.getKey(), v);
                    next.add(m);
                }
            }
            out = next;
        }
        return out;
    }

    /** Sorts sizes numerically ({@code 4KiB} before {@code 1MiB}) and other values as text. */
    private static String sizeKey(Map<String, String> params) {
        StringBuilder sb = new StringBuilder();
        for (String v : params.values()) {
            try {
                sb.append(String.format("%020d", Sizes.bytes(v)));
            } catch (NumberFormatException e) {
                sb.append(v);
            }
            sb.append('|');
        }
        return sb.toString();
    }
}
