package io.llamaffm;

/** Base of every exception llama-ffm throws: unchecked, with a message that says what to do. */
public class LlamaException extends RuntimeException {
    /**
     * A failure.
     *
     * @param message what went wrong and what to do
     */
    public LlamaException(String message) {
        super(message);
    }

    /**
     * A failure, with its cause.
     *
     * @param message what went wrong and what to do
     * @param cause   the exception that caused it
     */
    public LlamaException(String message, Throwable cause) {
        super(message, cause);
    }
}
