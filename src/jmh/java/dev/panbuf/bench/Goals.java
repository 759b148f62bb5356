package dev.panbuf.bench;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** Reads {@link Goal}s: which runs they apply to, what their baseline is, and how they read. */
final class Goals {

    static final String NUMPY = "numpy:";

    private Goals() {}

    static boolean hasTarget(Goal g) {
        return !Double.isNaN(g.maxRatio()) || !Double.isNaN(g.maxExtraNs()) || !Double.isNaN(g.maxNs());
    }

    /** Whether {@code g} applies to {@code c}: its {@code when} parameters all match. */
    static boolean applies(Goal g, Plan.Case c) {
        for (Map.Entry<String, String> e : parse(g.when()).entrySet()) {
            if (!e.getValue().equals(c.params().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** The parameters the baseline runs with: the case's, overridden by {@code baselineParams}. */
    static Map<String, String> baselineParams(Goal g, Plan.Case c) {
        Map<String, String> p = new TreeMap<>(c.params());
        p.putAll(parse(g.baselineParams()));
        return p;
    }

    /** The benchmark {@code g} compares {@code c} with, or {@code null} for NumPy and absolute goals. */
    static Plan.Case javaBaseline(Goal g, Plan.Case c) {
        String b = g.baseline();
        if (b.isEmpty() || b.startsWith(NUMPY)) {
            return null;
        }
        Class<?> type = c.type();
        String method = b;
        int dot = b.indexOf('.');
        if (dot >= 0) {
            String simple = b.substring(0, dot);
            method = b.substring(dot + 1);
            type = Plan.CLASSES.stream().filter(t -> t.getSimpleName().equals(simple)).findFirst()
                    .orElseThrow(() -> new IllegalStateException("@Goal of " + c.name() + ": no benchmark class " + simple));
        }
        if (!Plan.methods(type).contains(method)) {
            throw new IllegalStateException("@Goal of " + c.name() + ": no benchmark " + type.getSimpleName() + "." + method);
        }
        Map<String, String> params = new TreeMap<>();
        Map<String, String> wanted = baselineParams(g, c);
        for (String name : Plan.declaredParams(type).keySet()) {
            if (wanted.containsKey(name)) {
                params.put(name, wanted.get(name));
            }
        }
        return new Plan.Case(type, method, params);
    }

    /** How the baseline reads in the report: {@code floatArray}, {@code NumPy transpose_copy}, ... */
    static String baselineLabel(Goal g) {
        String b = g.baseline();
        String label = b.startsWith(NUMPY) ? "NumPy " + b.substring(NUMPY.length()) : b;
        if (!g.baselineParams().isEmpty()) {
            label += " (" + g.baselineParams() + ")";
        }
        return label;
    }

    /** The target as text: {@code ≤ 1.05×}, {@code ≤ baseline + 5 ns}, {@code ≤ 20 ns}, plus the goal's own wording. */
    static String targetText(Goal g) {
        StringBuilder sb = new StringBuilder();
        if (!Double.isNaN(g.maxRatio())) {
            sb.append("≤ ").append(ratio(g.maxRatio())).append('×');
        }
        if (!Double.isNaN(g.maxExtraNs())) {
            sb.append(sb.isEmpty() ? "" : ", ").append("≤ baseline + ").append(number(g.maxExtraNs())).append(" ns");
        }
        if (!Double.isNaN(g.maxNs())) {
            sb.append(sb.isEmpty() ? "" : ", ").append("≤ ").append(number(g.maxNs())).append(" ns");
        }
        if (!g.text().isEmpty()) {
            sb.append(" (").append(g.text()).append(')');
        }
        return sb.toString();
    }

    static String ratio(double r) {
        if (r == 0 || Double.isNaN(r) || Double.isInfinite(r)) {
            return String.valueOf(r);
        }
        if (r < 0.001) {
            return String.format(Locale.ROOT, "%.1e", r);
        }
        if (r < 0.1) {
            return String.format(Locale.ROOT, "%.4f", r);
        }
        return String.format(Locale.ROOT, "%.2f", r);
    }

    private static String number(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }

    /** {@code "size=1KiB,side=4"} to a map. */
    static Map<String, String> parse(String spec) {
        Map<String, String> out = new TreeMap<>();
        if (spec.isEmpty()) {
            return out;
        }
        for (String part : spec.split(",")) {
            int eq = part.indexOf('=');
            out.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
        }
        return out;
    }
}
