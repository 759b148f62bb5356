package dev.panbuf;

/**
 * Thrown when an allocation would take a {@link BufferArena} (or a
 * {@link GrowableBuffer}) past its byte budget. Nothing was allocated, so a
 * caller can free memory and retry, or fail cleanly, deterministically.
 */
public final class BudgetExceededException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    BudgetExceededException(String message) {
        super(message);
    }
}
