package io.llamaffm.langchain4j;

import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * The builder settings every llama-ffm LangChain4j model shares: where the {@link Model} comes from, and the
 * contexts it runs on.
 *
 * @param <B> the concrete builder
 */
abstract class ModelBuilder<B extends ModelBuilder<B>> {
    private Model model;
    private Path modelPath;
    private ModelParams modelParams;
    private ContextParams contextParams;
    private int maxContexts = 1;

    ModelBuilder() {}

    @SuppressWarnings("unchecked")
    final B self() {
        return (B) this;
    }

    /**
     * A loaded model to use. The LangChain4j model borrows it: the caller closes it, after closing the LangChain4j
     * model (a model refuses to close while contexts made from it are open).
     */
    public B model(Model model) {
        this.model = model;
        return self();
    }

    /** A GGUF file to load; the LangChain4j model then owns the model and closes it in its own {@code close()}. */
    public B modelPath(Path modelPath) {
        this.modelPath = modelPath;
        return self();
    }

    /** How {@link #modelPath(Path)} loads the model (GPU layers, mmap, ...); defaults to {@link ModelParams#defaults()}. */
    public B modelParams(ModelParams modelParams) {
        this.modelParams = modelParams;
        return self();
    }

    /** How each context is created (context length, threads, batch size, ...); each model type has its defaults. */
    public B contextParams(ContextParams contextParams) {
        this.contextParams = contextParams;
        return self();
    }

    /**
     * Most contexts created, hence most calls running at once (default 1). A context serves one call at a time; a
     * call that finds every context busy waits for one. Each context holds its own KV cache in memory.
     */
    public B maxContexts(int maxContexts) {
        this.maxContexts = maxContexts;
        return self();
    }

    ModelSource source() {
        return new ModelSource(model, modelPath, modelParams);
    }

    /** The context pool: the builder's context parameters (or {@code defaults}) with {@code required} applied. */
    ModelContexts pool(ContextParams defaults, UnaryOperator<ContextParams> required) {
        return new ModelContexts(source(), required.apply(contextParams != null ? contextParams : defaults), maxContexts);
    }
}
