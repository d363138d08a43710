package io.llamaffm;

/**
 * How a {@link Context} is created. Start from {@link #defaults()}.
 *
 * @param contextLength  tokens the KV cache holds (prompt + generated), 0 for the model's trained length; llama.cpp
 *                       may round it up ({@link Context#contextLength()} tells the real value)
 * @param batchSize      most tokens submitted to one decode call
 * @param microBatchSize most tokens computed at once inside a decode call
 * @param threads        CPU threads for generation and prompt processing
 * @param sequences      independent sequences the context can hold (parallel generation, beams)
 * @param cacheType      element type of the KV cache (keys and values)
 * @param flashAttention flash attention: AUTO (llama.cpp decides), ENABLED, DISABLED
 * @param embeddings     compute embeddings instead of (or besides) logits
 * @param pooling        how token vectors become one embedding per sequence; {@link Pooling#MODEL}: the model's own
 */
public record ContextParams(int contextLength, int batchSize, int microBatchSize, int threads, int sequences,
                            CacheType cacheType, FlashAttention flashAttention, boolean embeddings, Pooling pooling) {

    /** Pooling of token vectors into a sequence embedding (llama_pooling_type). */
    public enum Pooling { MODEL, NONE, MEAN, CLS, LAST, RANK }

    /** Whether flash attention is used. */
    public enum FlashAttention { AUTO, ENABLED, DISABLED }

    public ContextParams {
        if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0, got " + contextLength);
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        if (microBatchSize < 1 || microBatchSize > batchSize) {
            throw new IllegalArgumentException("microBatchSize must be in 1..batchSize, got " + microBatchSize);
        }
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (sequences < 1 || sequences > 256) throw new IllegalArgumentException("sequences must be in 1..256, got " + sequences);
        if (cacheType == null || flashAttention == null || pooling == null) {
            throw new IllegalArgumentException("cacheType, flashAttention and pooling are required");
        }
    }

    /** 4096 tokens, batches of 512, one thread per available processor, one sequence, F16 cache, flash attention AUTO. */
    public static ContextParams defaults() {
        return new ContextParams(4096, 512, 512, Runtime.getRuntime().availableProcessors(), 1, CacheType.F16,
                FlashAttention.AUTO, false, Pooling.MODEL);
    }

    public ContextParams withContextLength(int tokens) {
        return new ContextParams(tokens, batchSize, microBatchSize, threads, sequences, cacheType, flashAttention, embeddings, pooling);
    }

    public ContextParams withBatchSize(int tokens) {
        return new ContextParams(contextLength, tokens, Math.min(microBatchSize, tokens), threads, sequences, cacheType,
                flashAttention, embeddings, pooling);
    }

    public ContextParams withMicroBatchSize(int tokens) {
        return new ContextParams(contextLength, batchSize, tokens, threads, sequences, cacheType, flashAttention, embeddings, pooling);
    }

    public ContextParams withThreads(int n) {
        return new ContextParams(contextLength, batchSize, microBatchSize, n, sequences, cacheType, flashAttention, embeddings, pooling);
    }

    public ContextParams withSequences(int n) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, n, cacheType, flashAttention, embeddings, pooling);
    }

    /** Quantized caches (Q8_0, Q4_0, ...) need flash attention in llama.cpp; AUTO turns it on where supported. */
    public ContextParams withCacheType(CacheType type) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, sequences, type, flashAttention, embeddings, pooling);
    }

    public ContextParams withFlashAttention(FlashAttention fa) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, sequences, cacheType, fa, embeddings, pooling);
    }

    public ContextParams withPooling(Pooling p) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, sequences, cacheType, flashAttention, embeddings, p);
    }

    public ContextParams withEmbeddings(boolean on) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, sequences, cacheType, flashAttention, on, pooling);
    }
}
