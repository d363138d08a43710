package io.llamaffm;

/**
 * Memory a model needs: its weights plus the KV cache, which stores one key and one value vector per layer, per KV
 * head, per token, per sequence: {@code 2 × layers × tokens × kvHeads × headDim × sequences × bytesPerValue}.
 * Fewer KV heads (GQA, MQA) shrink the cache by the group size.
 *
 * @param weightsBytes bytes of the weights
 * @param kvCacheBytes bytes of the KV cache
 */
public record MemoryEstimate(long weightsBytes, long kvCacheBytes) {

    /** {@return the weights plus the KV cache, in bytes} */
    public long totalBytes() {
        return Math.addExact(weightsBytes, kvCacheBytes);
    }

    /**
     * The estimate for a loaded model's configuration.
     *
     * @param config        the model's configuration
     * @param contextLength the context length in tokens
     * @param sequences     the sequences that share the context
     * @param cacheType     the KV cache's element type
     * @return the estimate
     */
    public static MemoryEstimate of(ModelConfig config, int contextLength, int sequences, CacheType cacheType) {
        return new MemoryEstimate(config.sizeBytes(), kvCacheBytes(config.layerCount(), contextLength,
                config.attention().kvHeadCount(), config.attention().headDim(), sequences, cacheType));
    }

    /**
     * KV cache bytes for the given shape. Example: 32 layers, 8 192 tokens, head dim 128, 8 sequences, F16 →
     * 32 GiB with 32 KV heads (MHA), 8 GiB with 8 (GQA), 1 GiB with 1 (MQA).
     *
     * @param layers        transformer blocks
     * @param contextLength the context length in tokens
     * @param kvHeads       key/value heads
     * @param headDim       dimensions per head
     * @param sequences     the sequences that share the context
     * @param cacheType     the KV cache's element type
     * @return the KV cache's size in bytes
     */
    public static long kvCacheBytes(int layers, int contextLength, int kvHeads, int headDim, int sequences, CacheType cacheType) {
        if (layers < 1 || contextLength < 1 || kvHeads < 1 || headDim < 1 || sequences < 1) {
            throw new IllegalArgumentException("all sizes must be positive: layers=" + layers + " contextLength=" + contextLength
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " sequences=" + sequences);
        }
        long perLayerPerTokenPerSeq = cacheType.bytes(Math.multiplyExact((long) kvHeads, headDim)); // one K (or V) row
        return Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(2L * layers, contextLength), sequences),
                perLayerPerTokenPerSeq);
    }
}
