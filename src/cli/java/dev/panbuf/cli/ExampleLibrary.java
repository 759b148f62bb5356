package dev.panbuf.cli;

import dev.panbuf.NativeShim;
import dev.panbuf.shim.NativeLibrary;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Downcall handles for {@code native/examples/panbuf_examples.c}, the small C
 * library that consumes {@code pb_buffer}s, written the way an application
 * would bind its own C code: the library is linked with {@code -lpanbuf},
 * loaded with {@link NativeShim#libraryLookup} (which loads panbuf's shim
 * first), and each symbol is looked up, described and called with
 * {@code invokeExact}.
 *
 * <p>The library travels in the command-line jar (not the library jar) under
 * {@code native/<platform>/}; the folder named by {@code panbuf.library.path},
 * when set, is searched first (the sanitizer build).
 */
public final class ExampleLibrary {

    /** The example library's base name. */
    public static final String NAME = "panbuf_examples";

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP = NativeShim.libraryLookup(locate(), Arena.global());

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
                "symbol " + name + " not found in " + System.mapLibraryName(NAME)));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    /** The library file: from panbuf.library.path, else copied out of the class path. */
    private static Path locate() {
        String fileName = System.mapLibraryName(NAME);
        String override = System.getProperty(NativeLibrary.PATH_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path dir = Path.of(override);
            Path file = (Files.isRegularFile(dir) ? dir.getParent() : dir).resolve(fileName);
            if (Files.isRegularFile(file)) {
                return file;
            }
        }
        String platform = NativeLibrary.platform();
        String resource = "native/" + platform + "/" + fileName;
        ClassLoader loader = ExampleLibrary.class.getClassLoader();
        try (InputStream in = platform == null ? null : loader.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("panbuf: the example C library " + resource + " is not on the class path;"
                        + " it comes with panbuf's command-line jar (panbuf-VERSION-cli.jar): run ./panbuf, or"
                        + " `mvn package` to build it");
            }
            Path dir = Files.createTempDirectory("panbuf-examples-");
            dir.toFile().deleteOnExit();
            Path file = dir.resolve(fileName);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("panbuf: cannot copy the example C library into a temporary folder", e);
        }
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
