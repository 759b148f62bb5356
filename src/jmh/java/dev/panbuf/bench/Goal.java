package dev.panbuf.bench;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What a benchmark is compared with, and the target it must meet, read by
 * {@code panbuf bench} to fill the report's ratio, target and met columns.
 * Ratios are of times per operation measured in the same run, so a ratio below
 * 1 means faster than the baseline.
 *
 * {@snippet :
 * @Goal(baseline = "floatArray", maxRatio = 1.05)           // within 1.05x of the float[] loop
 * @Goal(baseline = "numpy:transpose_copy", maxRatio = 0.5)  // at most half NumPy's time
 * @Goal(maxNs = 20)                                         // an absolute bound
 * }
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@Repeatable(Goal.List.class)
public @interface Goal {

    /**
     * The baseline: a benchmark method of the same class measured with the same
     * parameters (as overridden by {@link #baselineParams}), {@code Class.method}
     * for one of another class of the suite, {@code numpy:<name>} for an
     * operation of {@code src/jmh/python/numpy_bench.py}, or empty for an
     * absolute target.
     */
    String baseline() default "";

    /** Parameters that differ for the baseline, as {@code name=value,...} (e.g. {@code size=1KiB}). */
    String baselineParams() default "";

    /** Only for runs with these parameters ({@code name=value,...}); empty: every run. */
    String when() default "";

    /** Target: at most this many times the baseline's time. */
    double maxRatio() default Double.NaN;

    /** Target: at most this many nanoseconds more than the baseline's time. */
    double maxExtraNs() default Double.NaN;

    /** Target: at most this many nanoseconds per operation. */
    double maxNs() default Double.NaN;

    /** How the target reads in the report when the default wording does not fit. */
    String text() default "";

    /** Holds repeated goals. */
    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    @interface List {
        Goal[] value();
    }
}
