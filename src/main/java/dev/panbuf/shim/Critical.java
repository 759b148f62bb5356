package dev.panbuf.shim;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** Builds critical downcall handles (the restricted call lives here, beside the other native code). */
public final class Critical {

    private Critical() {}

    /** A downcall handle with {@code critical(true)}: heap segments may be passed as addresses. */
    public static MethodHandle downcall(MemorySegment function, FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(function, descriptor, Linker.Option.critical(true));
    }
}
