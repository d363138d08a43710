package io.llamaffm;

import io.llamaffm.bindings.LlamaH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Test-side access to llama.cpp's pooled sequence embedding (the public embeddings API lives elsewhere): encodes one
 * token sequence in a context created with embeddings on and copies {@code llama_get_embeddings_seq(ctx, 0)}.
 */
public final class EmbeddingProbe {
    private EmbeddingProbe() {}

    /** The pooled embedding of {@code tokens} (sequence 0), as llama.cpp computes it (not normalized). */
    public static float[] sequenceEmbedding(Context context, int[] tokens) {
        MemorySegment ctx = context.handleForBeams();
        int width = context.model().config().embeddingLength();
        MemorySegment memory = LlamaH.llama_get_memory(ctx); // NULL for encoder-only models: nothing cached
        if (!memory.equals(MemorySegment.NULL)) LlamaH.llama_memory_clear(memory, true);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_INT, tokens);
            MemorySegment batch = LlamaH.llama_batch_get_one(arena, ids, tokens.length);
            int rc = LlamaH.llama_decode(ctx, batch);
            if (rc != 0) throw new DecodeException(rc);
            MemorySegment e = LlamaH.llama_get_embeddings_seq(ctx, 0);
            if (e.equals(MemorySegment.NULL)) throw new IllegalStateException("no sequence embedding (pooling NONE?)");
            return e.reinterpret((long) width * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}
