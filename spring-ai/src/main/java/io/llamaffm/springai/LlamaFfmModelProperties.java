package io.llamaffm.springai;

import io.llamaffm.ContextParams;
import io.llamaffm.ModelParams;

/**
 * What the chat and embedding properties share: which model to load and how, and the context pool.
 * A property left unset keeps llama-ffm's default.
 */
public abstract class LlamaFfmModelProperties {
    private String model;
    private Integer contextLength;
    private Integer threads;
    private Integer gpuLayers;
    private int poolSize = 1;

    /** {@return a GGUF file path or a reference {@link io.llamaffm.Model#load(String)} takes ({@code hf:owner/repo:Q4_K_M})} */
    public String getModel() {
        return model;
    }

    public void setModel(String model) {
        this.model = model;
    }

    /** {@return the tokens each context holds; 0 for the model's trained length; null for the default} */
    public Integer getContextLength() {
        return contextLength;
    }

    public void setContextLength(Integer contextLength) {
        this.contextLength = contextLength;
    }

    /** {@return the CPU threads of each context; null for one per available processor} */
    public Integer getThreads() {
        return threads;
    }

    public void setThreads(Integer threads) {
        this.threads = threads;
    }

    /** {@return the layers offloaded to the GPU (0 for none); null for all when there is a GPU} */
    public Integer getGpuLayers() {
        return gpuLayers;
    }

    public void setGpuLayers(Integer gpuLayers) {
        this.gpuLayers = gpuLayers;
    }

    /** {@return how many contexts concurrent calls may use} */
    public int getPoolSize() {
        return poolSize;
    }

    public void setPoolSize(int poolSize) {
        this.poolSize = poolSize;
    }

    /** {@return how the model is loaded: the defaults with the GPU layers set here} */
    public ModelParams modelParams() {
        ModelParams p = ModelParams.defaults();
        return gpuLayers == null ? p : p.withGpuLayers(gpuLayers);
    }

    /** {@return the context parameters: {@code base} with the length and threads set here} */
    public ContextParams contextParams(ContextParams base) {
        ContextParams p = base;
        if (contextLength != null) p = p.withContextLength(contextLength);
        if (threads != null) p = p.withThreads(threads);
        return p;
    }
}
