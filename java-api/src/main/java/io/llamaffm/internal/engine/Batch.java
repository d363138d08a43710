package io.llamaffm.internal.engine;

import io.llamaffm.bindings.llama_batch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The one {@code llama_batch} every decode goes through: token i at position {@code pos(i)} of sequence
 * {@code seq(i)}, with logits computed where its output flag is set. Prompt chunks, single generated tokens and the
 * tokens of several independent sequences (parallel generation, beams, server slots) all fill it with {@link #add};
 * {@link Engine#decode(Batch)} decodes it and keeps the KV-cache bookkeeping. Allocated once per context; filling it
 * allocates nothing.
 */
public final class Batch {
    private final int capacity;
    private final MemorySegment struct;
    private final MemorySegment tokens;
    private final MemorySegment positions;
    private final MemorySegment seqCounts;
    private final MemorySegment seqPointers;
    private final MemorySegment seqIds;
    private final MemorySegment outputs;
    private int size;

    Batch(Arena arena, int capacity) {
        this.capacity = capacity;
        this.struct = arena.allocate(llama_batch.layout());
        this.tokens = arena.allocate(ValueLayout.JAVA_INT, capacity);
        this.positions = arena.allocate(ValueLayout.JAVA_INT, capacity);
        this.seqCounts = arena.allocate(ValueLayout.JAVA_INT, capacity);
        this.seqIds = arena.allocate(ValueLayout.JAVA_INT, capacity);
        this.seqPointers = arena.allocate(ValueLayout.ADDRESS, capacity);
        this.outputs = arena.allocate(capacity);
        for (int i = 0; i < capacity; i++) {
            seqCounts.setAtIndex(ValueLayout.JAVA_INT, i, 1); // one sequence per token
            seqPointers.setAtIndex(ValueLayout.ADDRESS, i, seqIds.asSlice((long) i * Integer.BYTES, Integer.BYTES));
        }
        llama_batch.token(struct, tokens);
        llama_batch.embd(struct, MemorySegment.NULL);
        llama_batch.pos(struct, positions);
        llama_batch.n_seq_id(struct, seqCounts);
        llama_batch.seq_id(struct, seqPointers);
        llama_batch.logits(struct, outputs);
    }

    /** Empties the batch. */
    public void clear() {
        size = 0;
    }

    /**
     * Appends a token.
     *
     * @param token    the token id (checked against the vocabulary by the caller)
     * @param position its position in its sequence
     * @param sequence the sequence id
     * @param output   whether llama.cpp computes its logits (or embedding)
     * @return the token's index in the batch: the output index to read its logits or sample at
     * @throws IllegalStateException if the batch is full
     */
    public int add(int token, int position, int sequence, boolean output) {
        if (size == capacity) {
            throw new IllegalStateException("the batch is full (" + capacity + " tokens)");
        }
        tokens.setAtIndex(ValueLayout.JAVA_INT, size, token);
        positions.setAtIndex(ValueLayout.JAVA_INT, size, position);
        seqIds.setAtIndex(ValueLayout.JAVA_INT, size, sequence);
        outputs.set(ValueLayout.JAVA_BYTE, size, (byte) (output ? 1 : 0));
        return size++;
    }

    /**
     * Appends {@code count} tokens of {@code source} from {@code from}, at consecutive positions from {@code position}.
     *
     * @param source      the tokens
     * @param from        the first index taken
     * @param count       how many (at most {@link #remaining()})
     * @param position    the position of the first
     * @param sequence    their sequence
     * @param allOutputs  logits for every token; otherwise for the last one only when {@code lastOutput}
     * @param lastOutput  logits for the last token
     * @return the batch index of the last token appended
     */
    public int addAll(int[] source, int from, int count, int position, int sequence, boolean allOutputs, boolean lastOutput) {
        int last = -1;
        for (int i = 0; i < count; i++) {
            last = add(source[from + i], position + i, sequence, allOutputs || (lastOutput && i == count - 1));
        }
        return last;
    }

    /** {@return how many tokens the batch holds} */
    public int size() {
        return size;
    }

    /** {@return how many more tokens fit} */
    public int remaining() {
        return capacity - size;
    }

    /** {@return the most tokens the batch holds} */
    public int capacity() {
        return capacity;
    }

    int token(int i) {
        return tokens.getAtIndex(ValueLayout.JAVA_INT, i);
    }

    int position(int i) {
        return positions.getAtIndex(ValueLayout.JAVA_INT, i);
    }

    int sequence(int i) {
        return seqIds.getAtIndex(ValueLayout.JAVA_INT, i);
    }

    /** The llama_batch struct with its token count set, for llama_decode. */
    MemorySegment prepared() {
        llama_batch.n_tokens(struct, size);
        return struct;
    }
}
