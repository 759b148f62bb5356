package dev.panbuf;

/**
 * Thrown by the first and every later call of panbuf that needs native code
 * (exporting or importing a {@code pb_buffer}, DLPack, {@link CriticalCall},
 * {@link NativeShim}) when the JVM denies native access to panbuf's module.
 * The message names the flag to add: {@code --enable-native-access=dev.panbuf}
 * when panbuf is on the module path, {@code --enable-native-access=ALL-UNNAMED}
 * on the class path.
 *
 * <p>It is an {@link IllegalCallerException}, the JDK's own type for a denied
 * restricted call, so code that catches that catches this too. Views of memory
 * ({@link NdArray}, {@link BufferArena}) need no native access and keep working.
 * Native access is fixed when the JVM starts, so once thrown, this is thrown
 * (afresh, with the same message) by every later native call.
 */
public final class NativeAccessDeniedException extends IllegalCallerException {

    private static final long serialVersionUID = 1L;

    /**
     * Makes the exception; panbuf throws it, applications have no need to.
     *
     * @param message what was refused and the flag that allows it
     * @param cause the JDK's own refusal
     */
    public NativeAccessDeniedException(String message, Throwable cause) {
        super(message, cause);
    }
}
