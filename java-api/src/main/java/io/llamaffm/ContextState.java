package io.llamaffm;

import java.lang.foreign.MemorySegment;

/**
 * A saved context or sequence state: llama.cpp's serialized KV cache (and, for a whole context, logits and RNG) in
 * Java-owned memory, plus the tokens it holds so prefix reuse keeps working after a restore.
 *
 * @param data     the serialized state; lives as long as the arena it was saved into
 * @param tokens   the cached tokens of sequence 0 at the time of saving
 * @param sequence the saved sequence, or -1 for the whole context
 */
public record ContextState(MemorySegment data, int[] tokens, int sequence) {
    /**
     * Copies the arrays.
     */
    public ContextState {
        tokens = tokens.clone();
    }

    /** {@return a copy of the cached tokens of sequence 0} */
    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** {@return the size of the serialized state in bytes} */
    public long sizeBytes() {
        return data.byteSize();
    }
}
