package io.llamaffm.internal.engine;

import io.llamaffm.LlamaException;
import io.llamaffm.bindings.LlamaH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A token's piece (its text bytes) written by {@code llama_token_to_piece} into a native buffer and copied to a Java
 * array. The one policy for every caller (generation, the streaming decoder, the tokenizer): the buffer grows to the
 * longest piece seen, so any piece fits and a steady stream of tokens allocates nothing.
 */
public final class PieceBuffer {
    private final Arena arena;
    private MemorySegment buffer;
    private byte[] bytes;

    /**
     * @param arena   where the native buffer (and each larger one) is allocated
     * @param initial the first buffer's size in bytes
     */
    public PieceBuffer(Arena arena, int initial) {
        this.arena = arena;
        this.buffer = arena.allocate(initial);
        this.bytes = new byte[initial];
    }

    /**
     * Writes the piece of {@code token} into {@link #bytes()}.
     *
     * @param vocab   the {@code llama_vocab*}
     * @param token   a token id checked against the vocabulary
     * @param special whether a special token renders as its text
     * @return the piece's length in bytes
     */
    public int write(MemorySegment vocab, int token, boolean special) {
        int n = LlamaH.llama_token_to_piece(vocab, token, buffer, (int) buffer.byteSize(), 0, special);
        if (n < 0) { // longer than any piece so far: grow once for it
            buffer = arena.allocate(-n);
            bytes = new byte[-n];
            n = LlamaH.llama_token_to_piece(vocab, token, buffer, (int) buffer.byteSize(), 0, special);
        }
        if (n < 0) {
            throw new LlamaException("llama_token_to_piece failed (" + n + ") for token " + token);
        }
        MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, bytes, 0, n);
        return n;
    }

    /** {@return the bytes of the last piece written (the array is reused)} */
    public byte[] bytes() {
        return bytes;
    }
}
