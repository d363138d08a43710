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

    private final Status status;
    private final int code;

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

    public Status status() {
        return status;
    }

    /** The raw return code of llama_decode. */
    public int code() {
        return code;
    }
}
