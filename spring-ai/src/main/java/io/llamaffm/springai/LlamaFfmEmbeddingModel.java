package io.llamaffm.springai;

import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.Embedding;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.ai.embedding.EmbeddingResponseMetadata;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A Spring AI {@link EmbeddingModel} running a local GGUF embedding model (BERT-style sentence encoders such as
 * all-MiniLM-L6-v2, or any model llama.cpp pools) with llama-ffm. A request's texts are embedded several per decode,
 * each as its own sequence ({@link io.llamaffm.Context#embed(List, EmbeddingParams)}), with the model's own pooling;
 * vectors are L2-normalized unless {@code normalize(false)}. A text longer than one batch is refused unless
 * {@code longInput(TRUNCATE)}.
 *
 * <p><b>Ownership and threads</b> as for {@link LlamaFfmChatModel}.
 */
public final class LlamaFfmEmbeddingModel implements EmbeddingModel, AutoCloseable {
    private final ModelContexts pool;
    private final EmbeddingParams params;
    private volatile int dimensions = -1;

    private LlamaFfmEmbeddingModel(ModelContexts pool, EmbeddingParams params) {
        this.pool = pool;
        this.params = params;
    }

    /** {@return a builder: give it {@code model(Model)} or {@code modelPath(..)}, then options} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Embeds the request's texts, batched. The usage counts the tokens embedded (after any truncation). The request's
     * options are not used: the loaded model decides the dimensions.
     *
     * @throws IllegalArgumentException if a text has no tokens, or too many under {@code LongInput.REFUSE}
     */
    @Override
    public EmbeddingResponse call(EmbeddingRequest request) {
        List<String> texts = request.getInstructions();
        List<io.llamaffm.Embedding> vectors = pool.use(ctx -> ctx.embed(texts, params));
        List<Embedding> out = new ArrayList<>(vectors.size());
        int tokens = 0;
        for (int i = 0; i < vectors.size(); i++) {
            out.add(new Embedding(vectors.get(i).vector(), i));
            tokens += vectors.get(i).tokens();
        }
        return new EmbeddingResponse(out, new EmbeddingResponseMetadata(modelName(), new DefaultUsage(tokens, 0, tokens)));
    }

    @Override
    public float[] embed(Document document) {
        String text = getEmbeddingContent(document);
        if (text == null) {
            throw new IllegalArgumentException("document " + document.getId() + " has no text to embed");
        }
        return embed(text);
    }

    /** {@return the length of the vectors: measured on the first call by embedding a short text, then remembered} */
    @Override
    public int dimensions() {
        int d = dimensions;
        if (d < 0) {
            d = pool.use(ctx -> ctx.embed("dimensions", params)).dimension();
            dimensions = d;
        }
        return d;
    }

    /** {@return the model's {@code general.name} (or its file name)} */
    public String modelName() {
        return pool.model().config().name();
    }

    /** {@return the model this embedding model runs} */
    public Model model() {
        return pool.model();
    }

    /**
     * Frees the contexts, and the model when this embedding model loaded it. Idempotent.
     *
     * @throws IllegalStateException while a call is still running
     */
    @Override
    public void close() {
        pool.close();
    }

    /**
     * Builds a {@link LlamaFfmEmbeddingModel}. Contexts default to the model's trained context length and 8 texts per
     * decode; embeddings are always switched on in the context parameters.
     */
    public static final class Builder {
        private Model model;
        private String modelPath;
        private io.llamaffm.ModelParams modelParams = io.llamaffm.ModelParams.defaults();
        private ContextParams contextParams = defaultContextParams();
        private int poolSize = 1;
        private EmbeddingParams params = EmbeddingParams.defaults();

        private Builder() {}

        /** {@return the context parameters used unless {@link #contextParams} is given} */
        public static ContextParams defaultContextParams() {
            return ContextParams.defaults().withContextLength(0).withSequences(8);
        }

        /** A loaded model, borrowed: the caller closes it after the embedding model. */
        public Builder model(Model model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /** A model file, or a reference {@link Model#load(String)} takes: owned. */
        public Builder modelPath(String pathOrReference) {
            this.modelPath = Objects.requireNonNull(pathOrReference, "pathOrReference");
            return this;
        }

        /** A model file: owned. */
        public Builder modelPath(Path path) {
            return modelPath(path.toString());
        }

        /** How the owned model is loaded. */
        public Builder modelParams(io.llamaffm.ModelParams params) {
            this.modelParams = Objects.requireNonNull(params, "modelParams");
            return this;
        }

        /** The parameters of each pooled context (embeddings are switched on whatever they say). */
        public Builder contextParams(ContextParams params) {
            this.contextParams = Objects.requireNonNull(params, "contextParams");
            return this;
        }

        /** How many contexts concurrent calls may use (default 1). */
        public Builder poolSize(int size) {
            this.poolSize = size;
            return this;
        }

        /** Whether vectors are L2-normalized (default true: cosine similarity is then a dot product). */
        public Builder normalize(boolean normalize) {
            params = params.withNormalize(normalize);
            return this;
        }

        /** What happens to a text longer than one batch: REFUSE (default, an exception) or TRUNCATE. */
        public Builder longInput(EmbeddingParams.LongInput policy) {
            params = params.withLongInput(policy);
            return this;
        }

        /**
         * The embedding model; loads the model now when {@code modelPath} was given.
         *
         * @throws IllegalArgumentException if neither or both of model and modelPath were given
         */
        public LlamaFfmEmbeddingModel build() {
            if ((model == null) == (modelPath == null)) {
                throw new IllegalArgumentException("give the builder either model(Model) or modelPath(..), not "
                        + (model == null ? "neither" : "both"));
            }
            Model m = model != null ? model : Model.load(modelPath, modelParams, null);
            try {
                return new LlamaFfmEmbeddingModel(new ModelContexts(m, model == null, contextParams.withEmbeddings(true), poolSize), params);
            } catch (RuntimeException e) {
                if (model == null) {
                    m.close();
                }
                throw e;
            }
        }
    }
}
