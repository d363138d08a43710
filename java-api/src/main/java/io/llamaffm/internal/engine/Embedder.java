package io.llamaffm.internal.engine;

import io.llamaffm.Embedding;
import io.llamaffm.LlamaException;
import io.llamaffm.bindings.LlamaH;
import io.llamaffm.embeddings.Similarity;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/** Embeddings and reranking scores on an embedding context: texts packed as sequences into the engine's batch. */
public final class Embedder {
    private Embedder() {}

    /**
     * Pooled embeddings (or rank scores) of tokenized texts, several texts per decode as separate sequences. Each text
     * fits one micro-batch (the caller truncated or refused longer ones). Clears the KV cache before and after.
     */
    public static List<Embedding> pooled(Engine engine, int[][] tokens, boolean[] truncated,
                                         boolean normalize, boolean ranking) {
        MemorySegment ctx = engine.handle();
        int pooling = LlamaH.llama_pooling_type(ctx);
        if (pooling == LlamaH.LLAMA_POOLING_TYPE_NONE()) {
            throw new IllegalStateException("this context has no pooling (NONE): use embedTokens for token vectors");
        }
        if (ranking != (pooling == LlamaH.LLAMA_POOLING_TYPE_RANK())) {
            throw new IllegalStateException(ranking ? "ranking needs a context with rank pooling (ContextParams.withPooling(RANK))"
                    : "this context ranks (rank pooling): use rank(query, documents, params)");
        }
        int dim = engine.outputDimension(ranking);
        List<Embedding> out = new ArrayList<>(tokens.length);
        Batch batch = engine.batch();
        int limit = Math.min(engine.microBatchSize(), batch.capacity());
        int next = 0;
        try {
            while (next < tokens.length) {
                engine.clear();
                batch.clear();
                int first = next;
                while (next < tokens.length && next - first < engine.sequences() && batch.size() + tokens[next].length <= limit) {
                    batch.addAll(tokens[next], 0, tokens[next].length, 0, next - first, true, true);
                    next++;
                }
                engine.decode(batch);
                for (int i = first; i < next; i++) {
                    MemorySegment e = LlamaH.llama_get_embeddings_seq(ctx, i - first);
                    if (e.equals(MemorySegment.NULL)) {
                        throw new LlamaException("llama.cpp returned no embedding for sequence " + (i - first));
                    }
                    float[] v = e.reinterpret((long) dim * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                    if (normalize) {
                        Similarity.l2Normalize(v);
                    }
                    out.add(new Embedding(v, tokens[i].length, truncated[i]));
                }
            }
        } finally {
            engine.clear();
        }
        return out;
    }

    /** One vector per token of {@code tokens} (a context with pooling NONE); the tokens fit one micro-batch. */
    public static float[][] perToken(Engine engine, int[] tokens) {
        MemorySegment ctx = engine.handle();
        if (LlamaH.llama_pooling_type(ctx) != LlamaH.LLAMA_POOLING_TYPE_NONE()) {
            throw new IllegalStateException("token vectors need a context with ContextParams.withPooling(Pooling.NONE)");
        }
        Batch batch = engine.batch();
        try {
            engine.clear();
            batch.clear();
            batch.addAll(tokens, 0, tokens.length, 0, 0, true, true);
            engine.decode(batch);
            int dim = engine.outputDimension(false);
            float[][] rows = new float[tokens.length][];
            for (int i = 0; i < tokens.length; i++) {
                rows[i] = LlamaH.llama_get_embeddings_ith(ctx, i).reinterpret((long) dim * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
            }
            return rows;
        } finally {
            engine.clear();
        }
    }
}
