package dev.panbuf.cli;

import dev.panbuf.shim.NativeLibrary;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Downcall handles for {@code native/examples/panbuf_examples.c}, the small C
 * library that consumes {@code pb_buffer}s, written the way an application
 * would bind its own C code: look the symbol up, describe it, call it with
 * {@code invokeExact}.
 */
public final class ExampleLibrary {

    static {
        NativeLibrary.loadShim();
        NativeLibrary.load(NativeLibrary.EXAMPLES);
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP = SymbolLookup.loaderLookup();

    /** {@code int pbx_scale_f32(const pb_buffer *view, float factor)}. */
    public static final MethodHandle SCALE_F32 = handle("pbx_scale_f32",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_FLOAT));
    /** {@code int pbx_row_sums_f32(const pb_buffer *view, float *out)}. */
    public static final MethodHandle ROW_SUMS_F32 = handle("pbx_row_sums_f32",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    /** {@code int64_t pbx_buf_address(const pb_buffer *view)}. */
    public static final MethodHandle BUF_ADDRESS = handle("pbx_buf_address",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    /** {@code int pbx_fill_iota_f32(const pb_buffer *view)}. */
    public static final MethodHandle FILL_IOTA_F32 = handle("pbx_fill_iota_f32",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    private ExampleLibrary() {}

    private static MethodHandle handle(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError(
                "symbol " + name + " not found in " + System.mapLibraryName(NativeLibrary.EXAMPLES)));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    /** {@code pbx_scale_f32}. */
    public static int scale(MemorySegment view, float factor) {
        try {
            return (int) SCALE_F32.invokeExact(view, factor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code pbx_row_sums_f32}. */
    public static int rowSums(MemorySegment view, MemorySegment out) {
        try {
            return (int) ROW_SUMS_F32.invokeExact(view, out);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code pbx_buf_address}. */
    public static long bufAddress(MemorySegment view) {
        try {
            return (long) BUF_ADDRESS.invokeExact(view);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code pbx_fill_iota_f32}. */
    public static int fillIota(MemorySegment view) {
        try {
            return (int) FILL_IOTA_F32.invokeExact(view);
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
        return new IllegalStateException(t);
    }
}
