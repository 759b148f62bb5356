package dev.panbuf.bench;

/**
 * JNI peers of {@link NativeBaselines} ({@code src/jmh/c/bench_jni.c}), so the
 * downcall benchmarks measure JNI on this machine. {@link #AVAILABLE} is false
 * when the build found no {@code jni.h}; the JNI benchmarks then fail in setup,
 * saying so, and the report marks their comparisons as not measured.
 */
@SuppressWarnings("restricted")   // loads the JNI library
final class Jni {

    /** Whether the JNI library loaded. */
    static final boolean AVAILABLE = load();

    private Jni() {}

    /** {@code void noop(void)}. */
    static native void noop();

    /** Reads element {@code [0, ..., 0]} of the {@code pb_buffer} at address {@code view}. */
    static native float pbFirstF32(long view);

    /** Reads {@code array[0]} under {@code GetPrimitiveArrayCritical}. */
    static native float firstF32Critical(float[] array);

    private static boolean load() {
        try {
            System.load(NativeBaselines.library("panbuf_bench_jni").toString());
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    static void require() {
        if (!AVAILABLE) {
            throw new IllegalStateException("JNI baseline unavailable: libpanbuf_bench_jni was not built (no jni.h in the JDK)");
        }
    }
}
