package io.llamaffm;

/**
 * The llama.cpp native libraries could not be found, extracted or loaded. The message names every location
 * that was tried, the detected platform, the natives found on the class path and the dependency to add.
 */
public final class NativeLibraryException extends LlamaException {
    public NativeLibraryException(String message) {
        super(message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
