package dev.panbuf;

import dev.panbuf.shim.NativeLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;

/**
 * panbuf's C shim ({@code libpanbuf.so}) as seen by an application that has C
 * code of its own: loading the shim on purpose, and loading a C library that
 * calls it.
 *
 * <p>A C library that takes {@code pb_buffer *} arguments calls the shim's
 * functions ({@code pb_validate}, {@code pb_release}, ...). Build it with the
 * header and link flags that {@code java -jar panbuf-VERSION.jar config
 * --cflags --libs} prints, and load it with {@link #libraryLookup}: the shim is
 * loaded first, so the library's {@code libpanbuf.so} dependency binds to the
 * copy panbuf uses, and every symbol it needs is bound at load time, so a
 * missing one is an {@link UnsatisfiedLinkError} instead of a "symbol lookup
 * error" that ends the process at the first call.
 *
 * {@snippet :
 * SymbolLookup mine = NativeShim.libraryLookup(Path.of("libmine.so"), Arena.global());
 * MethodHandle sum = Linker.nativeLinker().downcallHandle(mine.findOrThrow("mine_sum"),
 *         FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS));
 * try (Export e = view.export()) {        // view: an off-heap float64 NdArray
 *     double s = (double) sum.invokeExact(e.pointer());
 * }
 * }
 *
 * <p>The shim's symbols are global once loaded: a library that was not linked
 * with {@code -lpanbuf} still finds {@code pb_validate}, provided the shim was
 * loaded before the library's first call (any export, {@link #load()} or
 * {@link #libraryLookup} does it).
 */
public final class NativeShim {

    private NativeShim() {}

    /**
     * Loads the shim now, if no earlier call did, and returns the file it was
     * loaded from (a copy of the one inside the jar, or the one in the folder
     * named by the system property {@code panbuf.library.path}).
     *
     * @return the loaded {@code libpanbuf.so}
     * @throws NativeAccessDeniedException when the JVM denies native access to panbuf,
     *         naming the flag to add
     * @throws UnsatisfiedLinkError when this jar carries no shim for this platform
     */
    public static Path load() {
        return NativeLibrary.loadShim();
    }

    /**
     * Loads a C library that calls the shim, after the shim, binding every symbol
     * it needs now, and returns a lookup of its symbols. The library stays loaded
     * until {@code arena} closes.
     *
     * @param library the shared library file
     * @param arena   the arena whose lifetime keeps the library loaded
     * @return a lookup of the library's symbols
     * @throws IllegalArgumentException when {@code library} is not a file
     * @throws UnsatisfiedLinkError with the dynamic linker's reason (such as
     *         "undefined symbol: ...") when the library cannot be loaded; the JVM goes on
     * @throws NativeAccessDeniedException when the JVM denies native access to panbuf
     */
    public static SymbolLookup libraryLookup(Path library, Arena arena) {
        return NativeLibrary.consumerLookup(library, arena);
    }

    /**
     * The version of panbuf (of this jar and of the shim inside it).
     *
     * @return the version, such as {@code 0.1.0}
     */
    public static String version() {
        return NativeLibrary.version();
    }
}
