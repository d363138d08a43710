package io.llamaffm;

import java.util.Map;

/**
 * How a model is loaded. Start from {@link #defaults()} and change what you need with the {@code withX} methods.
 *
 * @param gpuLayers         number of layers to offload to the GPU; {@link #ALL_LAYERS} for all, 0 for none
 * @param mainGpu           the GPU used for the whole model when {@code splitMode} is NONE (device index)
 * @param splitMode         how the model is spread over several GPUs
 * @param useMmap           memory-map the file instead of reading it
 * @param useMlock          keep the weights in RAM (no swapping)
 * @param vocabOnly         load only the vocabulary (tokenizer): no weights, no contexts
 * @param metadataOverrides GGUF metadata values to use instead of the file's: Long/Integer, Double/Float,
 *                          Boolean or String (at most 127 bytes of UTF-8) values, keys of at most 127 bytes
 */
public record ModelParams(int gpuLayers, int mainGpu, SplitMode splitMode, boolean useMmap, boolean useMlock,
                          boolean vocabOnly, Map<String, Object> metadataOverrides) {
    /** Offload every layer. */
    public static final int ALL_LAYERS = -1;

    /** How layers are spread over several GPUs. */
    public enum SplitMode {
        /** One GPU ({@code mainGpu}) holds the whole model. */
        NONE,
        /** Whole layers are spread over the GPUs. */
        LAYER,
        /** Layers are split by rows over the GPUs (tensor parallelism, where the backend supports it). */
        ROW
    }

    /**
     * Checks the components and copies the overrides.
     *
     * @throws IllegalArgumentException if a count or index is negative, the split mode is null, or an override's
     *                                  key or value is not one llama.cpp accepts
     */
    public ModelParams {
        if (gpuLayers < ALL_LAYERS) {
            throw new IllegalArgumentException("gpuLayers must be >= 0 or ALL_LAYERS (-1), got " + gpuLayers);
        }
        if (mainGpu < 0) {
            throw new IllegalArgumentException("mainGpu must be >= 0, got " + mainGpu);
        }
        if (splitMode == null) {
            throw new IllegalArgumentException("splitMode is required");
        }
        metadataOverrides = Map.copyOf(metadataOverrides);
        metadataOverrides.forEach((k, v) -> {
            if (k.isEmpty() || k.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 127 || k.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("metadata override key must be 1..127 bytes without NUL: '" + k + "'");
            }
            if (!(v instanceof Long || v instanceof Integer || v instanceof Double || v instanceof Float || v instanceof Boolean
                    || v instanceof String)) {
                throw new IllegalArgumentException("metadata override " + k + " must be a Long, Integer, Double, Float, Boolean or String");
            }
            if (v instanceof String str && (str.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 127 || str.indexOf('\0') >= 0)) {
                throw new IllegalArgumentException("metadata override " + k + ": strings are limited to 127 bytes without NUL");
            }
        });
    }

    /** {@return all layers on the GPU when there is one, GPU 0, layer split, memory-mapped, not locked, full model} */
    public static ModelParams defaults() {
        return new ModelParams(ALL_LAYERS, 0, SplitMode.LAYER, true, false, false, Map.of());
    }

    /**
     * Sets how many layers are offloaded to the GPU.
     *
     * @param layers the layer count; {@link #ALL_LAYERS} for all, 0 for none
     * @return a copy with that change
     */
    public ModelParams withGpuLayers(int layers) {
        return new ModelParams(layers, mainGpu, splitMode, useMmap, useMlock, vocabOnly, metadataOverrides);
    }

    /**
     * Sets the GPU used for the whole model when the split mode is NONE.
     *
     * @param gpu the device index
     * @return a copy with that change
     */
    public ModelParams withMainGpu(int gpu) {
        return new ModelParams(gpuLayers, gpu, splitMode, useMmap, useMlock, vocabOnly, metadataOverrides);
    }

    /**
     * Sets how the model is spread over several GPUs.
     *
     * @param mode the split mode
     * @return a copy with that change
     */
    public ModelParams withSplitMode(SplitMode mode) {
        return new ModelParams(gpuLayers, mainGpu, mode, useMmap, useMlock, vocabOnly, metadataOverrides);
    }

    /**
     * Sets whether the file is memory-mapped instead of read.
     *
     * @param mmap true to memory-map
     * @return a copy with that change
     */
    public ModelParams withMmap(boolean mmap) {
        return new ModelParams(gpuLayers, mainGpu, splitMode, mmap, useMlock, vocabOnly, metadataOverrides);
    }

    /**
     * Sets whether the weights are locked in RAM (no swapping).
     *
     * @param mlock true to lock
     * @return a copy with that change
     */
    public ModelParams withMlock(boolean mlock) {
        return new ModelParams(gpuLayers, mainGpu, splitMode, useMmap, mlock, vocabOnly, metadataOverrides);
    }

    /**
     * Sets whether only the vocabulary (tokenizer) is loaded: no weights, no contexts.
     *
     * @param only true for the vocabulary alone
     * @return a copy with that change
     */
    public ModelParams withVocabOnly(boolean only) {
        return new ModelParams(gpuLayers, mainGpu, splitMode, useMmap, useMlock, only, metadataOverrides);
    }

    /**
     * Sets GGUF metadata values to use instead of the file's.
     *
     * @param overrides the values by key: Long/Integer, Double/Float, Boolean or String
     * @return a copy with that change
     */
    public ModelParams withMetadataOverrides(Map<String, Object> overrides) {
        return new ModelParams(gpuLayers, mainGpu, splitMode, useMmap, useMlock, vocabOnly, overrides);
    }
}
