package io.llamaffm;

/**
 * Memory a model needs: its weights plus the KV cache, which stores one key and one value vector per layer, per KV
 * head, per token, per sequence: {@code 2 × layers × tokens × kvHeads × headDim × sequences × bytesPerValue}.
 * Fewer KV heads (GQA, MQA) shrink the cache by the group size.
 *
 * <p>The totals may be split between the CPU and a GPU ({@link ModelHeader#estimateMemory(ContextParams, int)} does so
 * by offloaded layers); the GPU's shares are included in the totals. Not counted: llama.cpp's compute buffers (the
 * scratch memory of one micro-batch's graph, which depends on the backend and the graph), its output buffer (logits)
 * and a recurrent model's state.
 *
 * @param weightsBytes    bytes of the weights, on CPU and GPU together
 * @param kvCacheBytes    bytes of the KV cache, on CPU and GPU together
 * @param gpuWeightsBytes the part of {@code weightsBytes} on the GPU
 * @param gpuKvCacheBytes the part of {@code kvCacheBytes} on the GPU
 */
public record MemoryEstimate(long weightsBytes, long kvCacheBytes, long gpuWeightsBytes, long gpuKvCacheBytes) {

    /**
     * Checks that the parts are non-negative and the GPU's shares within the totals.
     *
     * @throws IllegalArgumentException if a part is negative or a GPU share exceeds its total
     */
    public MemoryEstimate {
        if (weightsBytes < 0 || kvCacheBytes < 0 || gpuWeightsBytes < 0 || gpuKvCacheBytes < 0
                || gpuWeightsBytes > weightsBytes || gpuKvCacheBytes > kvCacheBytes) {
            throw new IllegalArgumentException("bad estimate: weights " + weightsBytes + " (GPU " + gpuWeightsBytes
                    + "), KV cache " + kvCacheBytes + " (GPU " + gpuKvCacheBytes + ")");
        }
    }

    /**
     * An estimate with everything on the CPU.
     *
     * @param weightsBytes bytes of the weights
     * @param kvCacheBytes bytes of the KV cache
     */
    public MemoryEstimate(long weightsBytes, long kvCacheBytes) {
        this(weightsBytes, kvCacheBytes, 0, 0);
    }

    /** {@return the weights plus the KV cache, in bytes} */
    public long totalBytes() {
        return Math.addExact(weightsBytes, kvCacheBytes);
    }

    /** {@return the bytes in host memory: the weights and KV cache not on the GPU} */
    public long cpuBytes() {
        return totalBytes() - gpuBytes();
    }

    /** {@return the bytes in GPU memory} */
    public long gpuBytes() {
        return Math.addExact(gpuWeightsBytes, gpuKvCacheBytes);
    }

    /**
     * Whether the estimate fits the memory free on each side. Memory-mapped weights on the CPU count in full, as they
     * do once every page has been read.
     *
     * @param freeHostBytes free host memory, or -1 when unknown (then only the GPU is checked)
     * @param freeGpuBytes  free GPU memory, or -1 when unknown or there is no GPU (then a GPU share does not fit)
     * @return whether both shares fit
     */
    public boolean fits(long freeHostBytes, long freeGpuBytes) {
        boolean host = freeHostBytes < 0 || cpuBytes() <= freeHostBytes;
        boolean gpu = gpuBytes() == 0 || freeGpuBytes >= 0 && gpuBytes() <= freeGpuBytes;
        return host && gpu;
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
