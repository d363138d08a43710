package io.llamaffm.internal.engine;

import io.llamaffm.ContextState;
import io.llamaffm.LlamaException;
import io.llamaffm.TextScore;
import io.llamaffm.bindings.LlamaH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/** Saving and restoring a context's state (with the token record), and scoring texts by teacher forcing. */
public final class ContextStates {
    private ContextStates() {}

    /** The whole context (sequence -1) or one sequence, into memory owned by {@code owner}. */
    public static ContextState save(Engine engine, Arena owner, int sequence) {
        MemorySegment ctx = engine.handle();
        long size = sequence == -1 ? LlamaH.llama_state_get_size(ctx) : LlamaH.llama_state_seq_get_size(ctx, sequence);
        MemorySegment data = owner.allocate(Math.max(1, size), 16);
        long written = sequence == -1 ? LlamaH.llama_state_get_data(ctx, data, size)
                : LlamaH.llama_state_seq_get_data(ctx, data, size, sequence);
        if (written != size) {
            throw new LlamaException("llama.cpp wrote " + written + " of " + size + " bytes of state");
        }
        return new ContextState(data.asSlice(0, size), engine.knownTokens(Math.max(0, sequence)), sequence);
    }

    /** Restores a whole-context state ({@code target} -1) or a saved sequence into {@code target}. */
    public static void restore(Engine engine, ContextState state, int target) {
        MemorySegment ctx = engine.handle();
        MemorySegment data = state.data();
        long read = target == -1 ? LlamaH.llama_state_set_data(ctx, data, data.byteSize())
                : LlamaH.llama_state_seq_set_data(ctx, data, data.byteSize(), target);
        if (read == 0) {
            engine.forget(target);
            throw new LlamaException("llama.cpp rejected the saved state (from another model or context size?)");
        }
        engine.restored(target, state.tokens());
    }

    /** Saves the whole context and sequence 0's tokens to a file. */
    public static void save(Engine engine, Path file) {
        try (Arena tmp = Arena.ofConfined()) {
            int[] known = engine.knownTokens(0);
            MemorySegment tokens = tmp.allocate(ValueLayout.JAVA_INT, Math.max(1, known.length));
            MemorySegment.copy(known, 0, tokens, ValueLayout.JAVA_INT, 0, known.length);
            if (!LlamaH.llama_state_save_file(engine.handle(), tmp.allocateFrom(file.toAbsolutePath().toString()), tokens,
                    known.length)) {
                throw new LlamaException("could not save the context state to " + file);
            }
        }
    }

    /** Loads a state saved by {@link #save(Engine, Path)}. */
    public static void load(Engine engine, Path file) {
        try (Arena tmp = Arena.ofConfined()) {
            int capacity = engine.contextLength();
            MemorySegment tokens = tmp.allocate(ValueLayout.JAVA_INT, capacity);
            MemorySegment count = tmp.allocate(ValueLayout.JAVA_LONG);
            if (!LlamaH.llama_state_load_file(engine.handle(), tmp.allocateFrom(file.toAbsolutePath().toString()), tokens,
                    capacity, count)) {
                engine.forget(-1);
                throw new LlamaException("could not load a context state from " + file
                        + " (missing, corrupt, or saved from another model or context size)");
            }
            int n = (int) count.get(ValueLayout.JAVA_LONG, 0);
            engine.restored(-1, tokens.asSlice(0, (long) n * Integer.BYTES).toArray(ValueLayout.JAVA_INT));
        }
    }

    /**
     * Each token's log-probability given the ones before it, and the perplexity; replaces the KV cache with the text
     * (sequence 0), decoded in batches with logits for every token.
     */
    public static TextScore score(Engine engine, int[] tokens) {
        engine.clear();
        float[] logprobs = new float[tokens.length - 1];
        Batch batch = engine.batch();
        for (int off = 0; off < tokens.length; ) {
            int n = Math.min(batch.capacity(), tokens.length - off);
            batch.clear();
            batch.addAll(tokens, off, n, off, 0, true, true);
            engine.decode(batch);
            for (int i = 0; i < n; i++) {
                int next = off + i + 1;
                if (next < tokens.length) {
                    logprobs[next - 1] = engine.logprob(i, tokens[next]);
                }
            }
            off += n;
        }
        double sum = 0;
        for (float lp : logprobs) {
            sum += lp;
        }
        return new TextScore(tokens, logprobs, Math.exp(-sum / logprobs.length));
    }
}
