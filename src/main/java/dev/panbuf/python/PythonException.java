package dev.panbuf.python;

/**
 * A Python exception that escaped code run through {@link PyScope}, carried
 * into Java: its type name ({@code "BufferError"}), its message, and the
 * formatted Python traceback. Python's error state is cleared when this is
 * thrown, so the interpreter stays usable.
 */
public final class PythonException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The Python exception's type name. */
    private final String pythonType;
    /** {@code str()} of the Python exception. */
    private final String pythonMessage;
    /** The Python traceback, as {@code traceback.format_exception} prints it. */
    private final String pythonTraceback;

    PythonException(String pythonType, String pythonMessage, String pythonTraceback) {
        super(pythonType + ": " + pythonMessage);
        this.pythonType = pythonType;
        this.pythonMessage = pythonMessage;
        this.pythonTraceback = pythonTraceback;
    }

    /** {@return the exception's class name in Python, such as {@code "BufferError"} or {@code "ValueError"}} */
    public String pythonType() {
        return pythonType;
    }

    /** {@return {@code str(exception)} in Python} */
    public String pythonMessage() {
        return pythonMessage;
    }

    /** {@return the traceback as {@code traceback.format_exception} prints it} */
    public String pythonTraceback() {
        return pythonTraceback;
    }
}
