package io.llamaffm.spark;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.Serial;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Scores (query, document) pairs with a reranking (cross-encoder) model into a {@code float} column: the model's
 * classification head over {@code [CLS] query [SEP] document [SEP]}, higher is more relevant
 * ({@link Context#rank(String, List, EmbeddingParams)}).
 *
 * <pre>{@code
 * Dataset<Row> scored = new LlamaReranker().setModel("/models/bge-reranker-v2-m3-Q8_0.gguf")
 *         .setQueryCol("query").setDocumentCol("document").setOutputCol("score")
 *         .transform(pairs);
 * }</pre>
 *
 * <p>The rows of a batch that share a query are scored in one call, packed as sequences into one decode; when a call
 * fails, its pairs are scored one by one so that the failure lands on the row that caused it. See
 * {@link LlamaTransformer} for the model, threads and errors.
 */
public final class LlamaReranker extends LlamaTransformer<LlamaReranker> {
    @Serial
    private static final long serialVersionUID = 1L;

    private final Param<String> queryCol = new Param<>(this, "queryCol", "the query column (string)");
    private final Param<String> documentCol = new Param<>(this, "documentCol", "the document column (string)");
    private final Param<String> outputCol = new Param<>(this, "outputCol", "the score column (float)");
    private final Param<String> longInput = new Param<>(this, "longInput",
            "a pair longer than the context allows: truncate (keep its start) or fail (a row error)",
            ParamValidators.inArray(new String[] {"truncate", "fail"}));

    /** A transformer with a random uid. */
    public LlamaReranker() {
        this(Identifiable.randomUID("llamaReranker"));
    }

    /**
     * A transformer with the given uid (as ML persistence makes it).
     *
     * @param uid the uid
     */
    public LlamaReranker(String uid) {
        super(uid);
        setDefault(queryCol, "query");
        setDefault(documentCol, "document");
        setDefault(outputCol, "score");
        setDefault(longInput, "truncate");
    }

    /** {@return a reader for saved transformers} */
    public static MLReader<LlamaReranker> read() {
        return new DefaultParamsReader<>();
    }

    /**
     * Loads a transformer saved with {@code write().save(path)}.
     *
     * @param path the folder
     * @return the transformer
     */
    public static LlamaReranker load(String path) {
        return read().load(path);
    }

    /** {@return the query column parameter} */
    public Param<String> queryCol() {
        return queryCol;
    }

    /** {@return the document column parameter} */
    public Param<String> documentCol() {
        return documentCol;
    }

    /** {@return the output column parameter} */
    public Param<String> outputCol() {
        return outputCol;
    }

    /** {@return the long-input parameter} */
    public Param<String> longInput() {
        return longInput;
    }

    /** {@return the query column, default {@code query}} */
    public String getQueryCol() {
        return getOrDefault(queryCol);
    }

    /**
     * Sets the query column (string).
     *
     * @param column the column
     * @return this
     */
    public LlamaReranker setQueryCol(String column) {
        set(queryCol, column);
        return this;
    }

    /** {@return the document column, default {@code document}} */
    public String getDocumentCol() {
        return getOrDefault(documentCol);
    }

    /**
     * Sets the document column (string).
     *
     * @param column the column
     * @return this
     */
    public LlamaReranker setDocumentCol(String column) {
        set(documentCol, column);
        return this;
    }

    /** {@return the score column, default {@code score}} */
    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    /**
     * Sets the score column (float, null for a failed row).
     *
     * @param column the column
     * @return this
     */
    public LlamaReranker setOutputCol(String column) {
        set(outputCol, column);
        return this;
    }

    /** {@return the long-input policy, default {@code truncate}} */
    public String getLongInput() {
        return getOrDefault(longInput);
    }

    /**
     * Sets what a pair longer than one batch of the context becomes.
     *
     * @param policy {@code truncate} (the default) or {@code fail} (a row error)
     * @return this
     */
    public LlamaReranker setLongInput(String policy) {
        set(longInput, policy == null ? null : policy.toLowerCase(Locale.ROOT));
        return this;
    }

    @Override
    String outputColumn() {
        return getOutputCol();
    }

    @Override
    DataType outputType() {
        return DataTypes.FloatType;
    }

    @Override
    void checkInputs(StructType schema) {
        requireText(schema, getQueryCol(), "query", false);
        requireText(schema, getDocumentCol(), "document", false);
    }

    @Override
    RowWork work(StructType schema) {
        return new Work(common(), schema.fieldIndex(getQueryCol()), getQueryCol(), schema.fieldIndex(getDocumentCol()),
                getDocumentCol(), getLongInput().equals("truncate"));
    }

    /** The contexts a reranker runs on: embeddings on, rank pooling, pairs as sequences like {@link LlamaEmbeddings}. */
    static ContextParams contextParams(int contextLength, int threads, int batchSize) {
        return LlamaEmbeddings.contextParams(contextLength, threads, batchSize, ContextParams.Pooling.RANK);
    }

    private static final class Work extends RowWork {
        @Serial
        private static final long serialVersionUID = 1L;
        private final int query;
        private final String queryColumn;
        private final int document;
        private final String documentColumn;
        private final boolean truncate;

        Work(Common common, int query, String queryColumn, int document, String documentColumn, boolean truncate) {
            super(common);
            this.query = query;
            this.queryColumn = queryColumn;
            this.document = document;
            this.documentColumn = documentColumn;
            this.truncate = truncate;
        }

        @Override
        ContextParams contextParams(int threads) {
            return LlamaReranker.contextParams(common.contextLength(), threads, common.batchSize());
        }

        @Override
        List<Outcome> run(Model model, Context context, List<Row> rows) {
            EmbeddingParams params = EmbeddingParams.defaults()
                    .withLongInput(truncate ? EmbeddingParams.LongInput.TRUNCATE : EmbeddingParams.LongInput.REFUSE);
            Outcome[] out = new Outcome[rows.size()];
            Map<String, List<Integer>> byQuery = new LinkedHashMap<>();
            String[] docs = new String[rows.size()];
            for (int i = 0; i < rows.size(); i++) {
                try {
                    String q = text(rows.get(i), query, queryColumn);
                    docs[i] = text(rows.get(i), document, documentColumn);
                    byQuery.computeIfAbsent(q, k -> new ArrayList<>()).add(i);
                } catch (IllegalArgumentException e) {
                    out[i] = Outcome.failed(e);
                }
            }
            byQuery.forEach((q, at) -> {
                List<String> group = new ArrayList<>(at.size());
                for (int i : at) group.add(docs[i]);
                float[] scores = null;
                try {
                    scores = context.rank(q, group, params);
                } catch (RuntimeException groupFailed) {
                    // one pair spoiled the call: score them one by one so that only it fails
                }
                for (int k = 0; k < at.size(); k++) {
                    if (scores != null) {
                        out[at.get(k)] = Outcome.ok(scores[k]);
                        continue;
                    }
                    try {
                        out[at.get(k)] = Outcome.ok(context.rank(q, List.of(group.get(k)), params)[0]);
                    } catch (RuntimeException e) {
                        out[at.get(k)] = Outcome.failed(e);
                    }
                }
            });
            return Arrays.asList(out);
        }
    }
}
