package io.llamaffm.langchain4j;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;
import dev.langchain4j.model.scoring.ScoringModel;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.embeddings.Similarity;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A LangChain4j {@link ScoringModel} (a re-ranker, e.g. for {@code ReRankingContentAggregator}) running a local
 * GGUF model with llama-ffm, in one of two ways:
 *
 * <ul>
 *   <li>{@link Method#RERANK} (default): a cross-encoder reranker (a GGUF whose pooling is rank, such as
 *       bge-reranker) reads each {@code [CLS] query [SEP] text [SEP]} pair through its classification head
 *       ({@link io.llamaffm.Context#rank}); scores are the head's raw outputs, higher is more relevant. A model
 *       without rank pooling is refused with {@link IllegalStateException} at the first call.</li>
 *   <li>{@link Method#COSINE}: a sentence-embedding model (a bi-encoder such as all-MiniLM-L6-v2) embeds the query
 *       and the texts; the score is their cosine similarity in [-1, 1]. The token usage counts every token
 *       embedded.</li>
 * </ul>
 *
 * <p><b>Ownership and threads</b> as for {@link LlamaFfmChatModel}: borrows a model given with {@code model(Model)},
 * owns one loaded with {@code modelPath(Path)}; concurrent calls take contexts from a pool of {@code maxContexts}.
 */
public final class LlamaFfmScoringModel implements ScoringModel, AutoCloseable {
    /** How texts are scored against the query. */
    public enum Method {
        /** A cross-encoder reads query and text together (rank pooling). */
        RERANK,
        /** Cosine similarity of the query's and the text's embeddings (bi-encoder). */
        COSINE
    }

    private final ModelContexts pool;
    private final Method method;
    private final EmbeddingParams params;

    private LlamaFfmScoringModel(ModelContexts pool, Method method, EmbeddingParams params) {
        this.pool = pool;
        this.method = method;
        this.params = params;
    }

    /** A builder: give it {@code model(Model)} or {@code modelPath(Path)}, then options. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * One score per segment, in order; higher is more relevant to {@code query}.
     *
     * @throws IllegalStateException    with {@link Method#RERANK} on a model whose pooling is not rank
     * @throws IllegalArgumentException if a text (or query + text) is longer than one batch and the long-input policy
     *                                  is REFUSE
     */
    @Override
    public Response<List<Double>> scoreAll(List<TextSegment> segments, String query) {
        Objects.requireNonNull(query, "query");
        List<String> texts = segments.stream().map(TextSegment::text).toList();
        if (texts.isEmpty()) {
            return Response.from(List.of());
        }
        return method == Method.RERANK ? rerank(texts, query) : cosine(texts, query);
    }

    private Response<List<Double>> rerank(List<String> texts, String query) {
        float[] scores = pool.use(ctx -> ctx.rank(query, texts, params));
        List<Double> out = new ArrayList<>(scores.length);
        for (float s : scores) {
            out.add((double) s);
        }
        return Response.from(out);
    }

    private Response<List<Double>> cosine(List<String> texts, String query) {
        List<String> all = new ArrayList<>(texts.size() + 1);
        all.add(query);
        all.addAll(texts);
        List<io.llamaffm.Embedding> vectors = pool.use(ctx -> ctx.embed(all, params));
        float[] q = vectors.getFirst().vector();
        List<Double> out = new ArrayList<>(texts.size());
        int tokens = 0;
        for (io.llamaffm.Embedding v : vectors) {
            tokens += v.tokens();
        }
        for (io.llamaffm.Embedding v : vectors.subList(1, vectors.size())) {
            out.add((double) Similarity.cosine(q, v.vector()));
        }
        return Response.from(out, new TokenUsage(tokens));
    }

    /**
     * Frees the contexts, and the model when this scoring model loaded it. Idempotent.
     *
     * @throws IllegalStateException while a call is still running
     */
    @Override
    public void close() {
        pool.close();
    }

    /**
     * Builds a {@link LlamaFfmScoringModel}. Contexts default to those of {@link LlamaFfmEmbeddingModel} (the
     * model's trained context length, 8 texts per decode); embeddings are always switched on.
     */
    public static final class Builder extends ModelBuilder<Builder> {
        private Method method = Method.RERANK;
        private EmbeddingParams params = EmbeddingParams.defaults();

        private Builder() {}

        /** RERANK (default) for a cross-encoder reranker, COSINE for a sentence-embedding model. */
        public Builder method(Method method) {
            this.method = Objects.requireNonNull(method, "method");
            return this;
        }

        /** What happens to a text (a query + text pair, for RERANK) longer than one batch: REFUSE (default) or TRUNCATE. */
        public Builder longInput(EmbeddingParams.LongInput policy) {
            params = params.withLongInput(policy);
            return this;
        }

        /**
         * The scoring model; loads the model now when {@code modelPath} was given.
         *
         * @throws IllegalArgumentException if neither or both of model and modelPath were given
         */
        public LlamaFfmScoringModel build() {
            return new LlamaFfmScoringModel(pool(LlamaFfmEmbeddingModel.Builder.defaultContextParams(), p -> p.withEmbeddings(true)),
                    method, params);
        }
    }
}
