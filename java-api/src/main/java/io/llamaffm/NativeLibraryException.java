package io.llamaffm;

/**
 * The llama.cpp native libraries could not be found, extracted or loaded. The message names every location
 * that was tried, the detected platform, the natives found on the class path and the dependency to add.
 */
public final class NativeLibraryException extends LlamaException {
    /**
     * A loading failure.
     *
     * @param message what went wrong and what to do
     */
    public NativeLibraryException(String message) {
        super(message);
    }

    /**
     * A loading failure, with its cause.
     *
     * @param message what went wrong and what to do
     * @param cause   the exception that caused it
     */
    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
