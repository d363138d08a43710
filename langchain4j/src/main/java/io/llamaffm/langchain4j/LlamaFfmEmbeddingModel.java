package io.llamaffm.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.request.EmbeddingInput;
import dev.langchain4j.model.embedding.request.EmbeddingRequest;
import dev.langchain4j.model.embedding.response.EmbeddingResponse;
import dev.langchain4j.model.embedding.response.EmbeddingResponseMetadata;
import dev.langchain4j.model.output.TokenUsage;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;

import java.util.ArrayList;
import java.util.List;

/**
 * A LangChain4j {@link EmbeddingModel} running a local GGUF embedding model (BERT-style sentence encoders such as
 * all-MiniLM-L6-v2 converted by {@link io.llamaffm.convert.OnnxToGguf}, or any model llama.cpp pools) with
 * llama-ffm. {@code embedAll} embeds several texts per decode, each as its own sequence
 * ({@link io.llamaffm.Context#embed(List, EmbeddingParams)}), with the model's own pooling unless the context
 * parameters choose one; vectors are L2-normalized unless {@code normalize(false)}.
 *
 * <pre>{@code
 * try (LlamaFfmEmbeddingModel embeddings = LlamaFfmEmbeddingModel.builder().modelPath(Path.of("minilm.gguf")).build()) {
 *     Embedding e = embeddings.embed("How are natives loaded?").content();
 * }
 * }</pre>
 *
 * <p><b>Long texts.</b> A text may hold at most one micro-batch of tokens (512 by default, and no more than the
 * context length); a longer one is refused with {@link IllegalArgumentException} unless
 * {@code longInput(LongInput.TRUNCATE)}, which keeps its first tokens and its last (the separator). Split documents
 * with a token-based splitter and {@link LlamaFfmTokenCountEstimator} to stay within it.
 *
 * <p><b>Ownership and threads</b> as for {@link LlamaFfmChatModel}: borrows a model given with {@code model(Model)},
 * owns one loaded with {@code modelPath(Path)}; concurrent calls take contexts from a pool of {@code maxContexts}.
 */
public final class LlamaFfmEmbeddingModel implements EmbeddingModel, AutoCloseable {
    private final ModelContexts pool;
    private final EmbeddingParams params;
    private volatile Integer dimension;

    private LlamaFfmEmbeddingModel(ModelContexts pool, EmbeddingParams params) {
        this.pool = pool;
        this.params = params;
    }

    /** A builder: give it {@code model(Model)} or {@code modelPath(Path)}, then options. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Embeds the request's texts, batched; called by {@link EmbeddingModel#embed(EmbeddingRequest)} and
     * {@link EmbeddingModel#embedAll(List)}. The token usage counts the tokens embedded (after any truncation).
     *
     * @throws IllegalArgumentException if a text has no tokens, or too many under {@code LongInput.REFUSE}
     */
    @Override
    public EmbeddingResponse doEmbed(EmbeddingRequest request) {
        List<String> texts = request.inputs().stream().map(EmbeddingInput::text).toList();
        List<io.llamaffm.Embedding> vectors = pool.use(ctx -> ctx.embed(texts, params));
        List<Embedding> out = new ArrayList<>(vectors.size());
        int tokens = 0;
        for (io.llamaffm.Embedding v : vectors) {
            out.add(Embedding.from(v.vector()));
            tokens += v.tokens();
        }
        return EmbeddingResponse.builder().embeddings(out)
                .metadata(EmbeddingResponseMetadata.builder().modelName(modelName()).tokenUsage(new TokenUsage(tokens)).build())
                .build();
    }

    /** The length of the vectors, measured on the first call by embedding a short text, then remembered. */
    @Override
    public int dimension() {
        Integer d = dimension;
        if (d == null) {
            d = pool.use(ctx -> ctx.embed("dimension", params)).dimension();
            dimension = d;
        }
        return d;
    }

    /** The model's {@code general.name} (or its file name). */
    @Override
    public String modelName() {
        return pool.model().config().name();
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
     * Builds a {@link LlamaFfmEmbeddingModel}. Contexts default to the model's trained context length, batches of
     * 512 tokens and 8 texts per decode; embeddings are always switched on in the context parameters.
     */
    public static final class Builder extends ModelBuilder<Builder> {
        private EmbeddingParams params = EmbeddingParams.defaults();

        private Builder() {}

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
            return new LlamaFfmEmbeddingModel(pool(defaultContextParams(), p -> p.withEmbeddings(true)), params);
        }

        static ContextParams defaultContextParams() {
            return ContextParams.defaults().withContextLength(0).withSequences(8);
        }
    }
}
