package io.llamaffm;

/**
 * How a {@link Context} is created. Start from {@link #defaults()}.
 *
 * @param contextLength  tokens the KV cache holds (prompt + generated), 0 for the model's trained length
 * @param batchSize      most tokens submitted to one decode call
 * @param microBatchSize most tokens computed at once inside a decode call
 * @param threads        CPU threads for generation and prompt processing
 */
public record ContextParams(int contextLength, int batchSize, int microBatchSize, int threads) {
    public ContextParams {
        if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0, got " + contextLength);
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        if (microBatchSize < 1 || microBatchSize > batchSize) {
            throw new IllegalArgumentException("microBatchSize must be in 1..batchSize, got " + microBatchSize);
        }
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }

    /** 4096 tokens, batches of 512, one thread per available processor. */
    public static ContextParams defaults() {
        return new ContextParams(4096, 512, 512, Runtime.getRuntime().availableProcessors());
    }

    public ContextParams withContextLength(int tokens) {
        return new ContextParams(tokens, batchSize, microBatchSize, threads);
    }

    public ContextParams withBatchSize(int tokens) {
        return new ContextParams(contextLength, tokens, Math.min(microBatchSize, tokens), threads);
    }

    public ContextParams withMicroBatchSize(int tokens) {
        return new ContextParams(contextLength, batchSize, tokens, threads);
    }

    public ContextParams withThreads(int n) {
        return new ContextParams(contextLength, batchSize, microBatchSize, n);
    }
}
