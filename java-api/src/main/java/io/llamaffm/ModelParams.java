package io.llamaffm;

/**
 * How a model is loaded. Start from {@link #defaults()} and change what you need with the {@code withX} methods.
 *
 * @param gpuLayers number of layers to offload to the GPU; {@link #ALL_LAYERS} for all, 0 for none
 * @param useMmap   memory-map the file instead of reading it
 * @param useMlock  keep the weights in RAM (no swapping)
 * @param vocabOnly load only the vocabulary (tokenizer): no weights, no contexts
 */
public record ModelParams(int gpuLayers, boolean useMmap, boolean useMlock, boolean vocabOnly) {
    /** Offload every layer. */
    public static final int ALL_LAYERS = -1;

    public ModelParams {
        if (gpuLayers < ALL_LAYERS) {
            throw new IllegalArgumentException("gpuLayers must be >= 0 or ALL_LAYERS (-1), got " + gpuLayers);
        }
    }

    /** All layers on the GPU when there is one, memory-mapped, not locked, full model. */
    public static ModelParams defaults() {
        return new ModelParams(ALL_LAYERS, true, false, false);
    }

    public ModelParams withGpuLayers(int layers) {
        return new ModelParams(layers, useMmap, useMlock, vocabOnly);
    }

    public ModelParams withMmap(boolean mmap) {
        return new ModelParams(gpuLayers, mmap, useMlock, vocabOnly);
    }

    public ModelParams withMlock(boolean mlock) {
        return new ModelParams(gpuLayers, useMmap, mlock, vocabOnly);
    }

    public ModelParams withVocabOnly(boolean only) {
        return new ModelParams(gpuLayers, useMmap, useMlock, only);
    }
}
