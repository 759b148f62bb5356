package dev.panbuf.interop;

import dev.panbuf.BlasLayout;
import dev.panbuf.NdArray;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * {@code cblas_sgemm} and {@code cblas_dgemm} of the system's OpenBLAS,
 * bound the way an application would bind them, fed by {@link BlasLayout}:
 * no copy, no JNI, the views' own memory. {@link #LIBRARY} is null when no
 * OpenBLAS is installed (Debian: libopenblas-dev, which ./run-tests installs).
 */
final class OpenBlas {

    private OpenBlas() {}

    /** The name that loaded, or null when none of the usual names did. */
    static final String NAME = find();
    /** The library, or null. */
    static final SymbolLookup LIBRARY = NAME == null ? null : SymbolLookup.libraryLookup(NAME, Arena.global());

    private static String find() {
        for (String name : List.of("libopenblas.so.0", "libopenblas.so", "libblas.so.3")) {
            try {
                if (SymbolLookup.libraryLookup(name, Arena.global()).find("cblas_sgemm").isPresent()) {
                    return name;
                }
            } catch (IllegalArgumentException notInstalled) {
                // try the next name
            }
        }
        return null;
    }

    private static final ValueLayout I = ValueLayout.JAVA_INT;
    private static final ValueLayout P = ValueLayout.ADDRESS;

    /** void cblas_sgemm(order, transA, transB, M, N, K, float alpha, A, lda, B, ldb, float beta, C, ldc). */
    static final MethodHandle SGEMM = LIBRARY == null ? null : Linker.nativeLinker().downcallHandle(
            LIBRARY.findOrThrow("cblas_sgemm"), FunctionDescriptor.ofVoid(I, I, I, I, I, I, ValueLayout.JAVA_FLOAT, P, I, P, I,
                    ValueLayout.JAVA_FLOAT, P, I));
    /** The same with double alpha, beta and matrices. */
    static final MethodHandle DGEMM = LIBRARY == null ? null : Linker.nativeLinker().downcallHandle(
            LIBRARY.findOrThrow("cblas_dgemm"), FunctionDescriptor.ofVoid(I, I, I, I, I, I, ValueLayout.JAVA_DOUBLE, P, I, P, I,
                    ValueLayout.JAVA_DOUBLE, P, I));

    /** {@code c = alpha * a x b + beta * c} in float32, on the views' memory. */
    static void sgemm(float alpha, NdArray a, NdArray b, float beta, NdArray c) throws Throwable {
        BlasLayout.Gemm g = BlasLayout.gemm(a, b, c);
        SGEMM.invokeExact(g.order().cblas(), g.a().transpose().cblas(), g.b().transpose().cblas(), g.m(), g.n(), g.k(),
                alpha, g.a().data(), g.a().leadingDimension(), g.b().data(), g.b().leadingDimension(),
                beta, g.c().data(), g.c().leadingDimension());
    }

    /** {@code c = alpha * a x b + beta * c} in float64, on the views' memory. */
    static void dgemm(double alpha, NdArray a, NdArray b, double beta, NdArray c) throws Throwable {
        BlasLayout.Gemm g = BlasLayout.gemm(a, b, c);
        DGEMM.invokeExact(g.order().cblas(), g.a().transpose().cblas(), g.b().transpose().cblas(), g.m(), g.n(), g.k(),
                alpha, g.a().data(), g.a().leadingDimension(), g.b().data(), g.b().leadingDimension(),
                beta, g.c().data(), g.c().leadingDimension());
    }
}
