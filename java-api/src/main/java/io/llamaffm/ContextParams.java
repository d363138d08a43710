package io.llamaffm;

/**
 * How a {@link Context} is created. Start from {@link #defaults()}.
 *
 * @param contextLength  tokens the KV cache holds (prompt + generated), 0 for the model's trained length; llama.cpp
 *                       may round it up ({@link Context#contextLength()} tells the real value)
 * @param batchSize      most tokens submitted to one decode call
 * @param microBatchSize most tokens computed at once inside a decode call
 * @param threads        CPU threads for generation and prompt processing
 * @param polling        how long the CPU worker threads busy-wait for the next computation before they sleep: ggml's
 *                       polling level, 0 (sleep at once) to 100; see {@link #withPolling(int)}
 * @param sequences      independent sequences the context can hold (parallel generation, beams)
 * @param cacheType      element type of the KV cache (keys and values)
 * @param flashAttention flash attention: AUTO (llama.cpp decides), ENABLED, DISABLED
 * @param embeddings     compute embeddings instead of (or besides) logits
 * @param pooling        how token vectors become one embedding per sequence; {@link Pooling#MODEL}: the model's own
 * @param unifiedCache   one KV cache shared by all sequences (llama.cpp's {@code kv_unified}): each sequence may then use
 *                       the whole {@code contextLength}, and a prefix copied between sequences
 *                       ({@link Context#copySequence}) is stored once; otherwise each sequence has its own share of
 *                       {@code contextLength / sequences} tokens. Always on for embedding contexts
 */
public record ContextParams(int contextLength, int batchSize, int microBatchSize, int threads, int polling, int sequences,
                            CacheType cacheType, FlashAttention flashAttention, boolean embeddings, Pooling pooling,
                            boolean unifiedCache) {

    /** Pooling of token vectors into a sequence embedding (llama_pooling_type). */
    public enum Pooling {
        /** The pooling the model's metadata names. */
        MODEL,
        /** No pooling: one vector per token ({@link Context#embedTokens}). */
        NONE,
        /** The mean of the token vectors. */
        MEAN,
        /** The first token's vector (BERT's CLS). */
        CLS,
        /** The last token's vector. */
        LAST,
        /** The classification head's output: one relevance score per sequence (rerankers, {@link Context#rank}). */
        RANK
    }

    /** Whether flash attention is used. */
    public enum FlashAttention {
        /** llama.cpp turns it on where the backend and the model support it. */
        AUTO,
        /** Always on. */
        ENABLED,
        /** Always off. */
        DISABLED
    }

    /**
     * The components without {@link #unifiedCache()} (off).
     *
     * @param contextLength  see {@link #contextLength()}
     * @param batchSize      see {@link #batchSize()}
     * @param microBatchSize see {@link #microBatchSize()}
     * @param threads        see {@link #threads()}
     * @param polling        see {@link #polling()}
     * @param sequences      see {@link #sequences()}
     * @param cacheType      see {@link #cacheType()}
     * @param flashAttention see {@link #flashAttention()}
     * @param embeddings     see {@link #embeddings()}
     * @param pooling        see {@link #pooling()}
     */
    public ContextParams(int contextLength, int batchSize, int microBatchSize, int threads, int polling, int sequences,
                         CacheType cacheType, FlashAttention flashAttention, boolean embeddings, Pooling pooling) {
        this(contextLength, batchSize, microBatchSize, threads, polling, sequences, cacheType, flashAttention, embeddings, pooling, false);
    }

    /**
     * Checks the components.
     *
     * @throws IllegalArgumentException if a size is out of range or a choice is null
     */
    public ContextParams {
        if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0, got " + contextLength);
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        if (microBatchSize < 1 || microBatchSize > batchSize) {
            throw new IllegalArgumentException("microBatchSize must be in 1..batchSize, got " + microBatchSize);
        }
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (polling < 0 || polling > 100) throw new IllegalArgumentException("polling must be in 0..100, got " + polling);
        if (sequences < 1 || sequences > 256) throw new IllegalArgumentException("sequences must be in 1..256, got " + sequences);
        if (cacheType == null || flashAttention == null || pooling == null) {
            throw new IllegalArgumentException("cacheType, flashAttention and pooling are required");
        }
    }

    /**
     * The default {@link #polling()}: 1, the lowest level that still busy-waits. ggml's worker threads then spin for a
     * few milliseconds after each computation (131 072 pause instructions, under 10 ms of CPU time measured on an AMD
     * EPYC), far longer than the Java work between two generated tokens, and sleep soon after a generation ends.
     * llama.cpp's own tools use 50, which keeps every worker spinning for about 0.2 s after every decode on that CPU:
     * half of a 2-core machine taken from whatever runs next (the application, another process), for no measurable
     * gain in generation speed (benchmarks/RESULTS.md compares the two levels).
     */
    public static final int DEFAULT_POLLING = 1;

    /**
     * {@return 4096 tokens, batches of 512, one thread per available processor, {@link #DEFAULT_POLLING}, one
     * sequence, F16 cache, flash attention AUTO, no embeddings}
     */
    public static ContextParams defaults() {
        return new ContextParams(4096, 512, 512, Runtime.getRuntime().availableProcessors(), DEFAULT_POLLING, 1, CacheType.F16,
                FlashAttention.AUTO, false, Pooling.MODEL);
    }

    /**
     * Sets the tokens the KV cache holds.
     *
     * @param tokens the context length, 0 for the model's trained length
     * @return a copy with that change
     */
    public ContextParams withContextLength(int tokens) {
        return new ContextParams(tokens, batchSize, microBatchSize, threads, polling, sequences, cacheType, flashAttention, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets the most tokens submitted to one decode call (and lowers the micro-batch to it if larger).
     *
     * @param tokens the batch size, at least 1
     * @return a copy with that change
     */
    public ContextParams withBatchSize(int tokens) {
        return new ContextParams(contextLength, tokens, Math.min(microBatchSize, tokens), threads, polling, sequences, cacheType,
                flashAttention, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets the most tokens computed at once inside a decode call (an embedded text's limit).
     *
     * @param tokens the micro-batch size, 1 to the batch size
     * @return a copy with that change
     */
    public ContextParams withMicroBatchSize(int tokens) {
        return new ContextParams(contextLength, batchSize, tokens, threads, polling, sequences, cacheType, flashAttention, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets the CPU threads.
     *
     * @param n the thread count, at least 1
     * @return a copy with that change
     */
    public ContextParams withThreads(int n) {
        return new ContextParams(contextLength, batchSize, microBatchSize, n, polling, sequences, cacheType, flashAttention, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets how long the CPU worker threads (threads − 1 of them; the decoding thread is the other) busy-wait for the
     * next computation before they sleep, as ggml's polling level: 0 sleeps at once (each decode then wakes them, tens
     * of microseconds), 1 ({@link #DEFAULT_POLLING}) spins for a few milliseconds, 50 (llama.cpp's tools) about 0.2 s,
     * 100 twice that. A higher level only helps when the work between two decodes is longer than the spin.
     *
     * @param level 0 to 100
     * @return a copy with that change
     */
    public ContextParams withPolling(int level) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, level, sequences, cacheType, flashAttention, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets how many independent sequences the context holds (parallel generation, beams, batched embeddings).
     *
     * @param n the sequence count, 1 to 256
     * @return a copy with that change
     */
    public ContextParams withSequences(int n) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, polling, n, cacheType, flashAttention, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets the KV cache's element type. Quantized caches (Q8_0, Q4_0, ...) need flash attention in llama.cpp; AUTO
     * turns it on where supported.
     *
     * @param type the element type of keys and values
     * @return a copy with that change
     */
    public ContextParams withCacheType(CacheType type) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, polling, sequences, type, flashAttention, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets whether flash attention is used.
     *
     * @param fa AUTO, ENABLED or DISABLED
     * @return a copy with that change
     */
    public ContextParams withFlashAttention(FlashAttention fa) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, polling, sequences, cacheType, fa, embeddings, pooling, unifiedCache);
    }

    /**
     * Sets how token vectors become one embedding per sequence.
     *
     * @param p the pooling; {@link Pooling#MODEL} for the model's own
     * @return a copy with that change
     */
    public ContextParams withPooling(Pooling p) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, polling, sequences, cacheType, flashAttention, embeddings, p, unifiedCache);
    }

    /**
     * Sets whether the context computes embeddings.
     *
     * @param on true for embeddings ({@link Context#embed}), false for logits (generation)
     * @return a copy with that change
     */
    public ContextParams withEmbeddings(boolean on) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, polling, sequences, cacheType, flashAttention, on, pooling, unifiedCache);
    }

    /**
     * Sets whether the sequences share one KV cache (see {@link #unifiedCache()}).
     *
     * @param on true for one cache shared by all sequences
     * @return a copy with that change
     */
    public ContextParams withUnifiedCache(boolean on) {
        return new ContextParams(contextLength, batchSize, microBatchSize, threads, polling, sequences, cacheType, flashAttention, embeddings, pooling, on);
    }
}
