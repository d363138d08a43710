package io.llamaffm;

/** llama_decode failed; {@link #status()} says why. The context stays usable unless the status is FATAL. */
public final class DecodeException extends LlamaException {
    /** Why a decode failed. */
    public enum Status {
        /** No room in the KV cache for the batch: shorten the input or use a larger context. */
        NO_KV_SLOT,
        /** The abort callback stopped the decode. */
        ABORTED,
        /** The batch was rejected (bad token, position or sequence id). */
        INVALID_BATCH,
        /** An internal error; the context should be closed. */
        FATAL
    }

    /** Why the decode failed. */
    private final Status status;
    /** llama_decode's return code. */
    private final int code;

    /**
     * A failed decode.
     *
     * @param code llama_decode's return code
     */
    public DecodeException(int code) {
        super("llama_decode failed with " + code + " (" + statusOf(code) + ")");
        this.code = code;
        this.status = statusOf(code);
    }

    static Status statusOf(int code) {
        return switch (code) {
            case 1 -> Status.NO_KV_SLOT;
            case 2 -> Status.ABORTED;
            case -1 -> Status.INVALID_BATCH;
            default -> Status.FATAL;
        };
    }

    /** {@return why the decode failed} */
    public Status status() {
        return status;
    }

    /** {@return the raw return code of llama_decode} */
    public int code() {
        return code;
    }
}
