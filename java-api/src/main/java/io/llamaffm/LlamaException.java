package io.llamaffm;

/** Base of every exception llama-ffm throws: unchecked, with a message that says what to do. */
public class LlamaException extends RuntimeException {
    public LlamaException(String message) {
        super(message);
    }

    public LlamaException(String message, Throwable cause) {
        super(message, cause);
    }
}
