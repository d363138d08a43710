package io.llamaffm.spark;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import org.apache.spark.ml.param.BooleanParam;
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
import java.util.List;
import java.util.Locale;

/**
 * Embeds a text column into an {@code array<float>} column with a llama.cpp embedding model (BERT-style encoders such
 * as all-MiniLM, or a decoder model with mean/last pooling).
 *
 * <pre>{@code
 * Dataset<Row> out = new LlamaEmbeddings()
 *         .setModel("sparkfiles:all-minilm-l6-v2.gguf")
 *         .setInputCol("text").setOutputCol("embedding")
 *         .transform(df);
 * }</pre>
 *
 * <p>The input column is a string, or binary holding UTF-8 (bytes that are not valid UTF-8 are a row error). Rows of
 * a partition are embedded {@link #setBatchSize batchSize} at a time, packed as sequences into one decode
 * ({@link Context#embed(List, EmbeddingParams)}); when a batch fails, its rows are embedded one by one so that the
 * failure lands on the row that caused it. See {@link LlamaTransformer} for the model, threads and errors.
 */
public final class LlamaEmbeddings extends LlamaTransformer<LlamaEmbeddings> {
    @Serial
    private static final long serialVersionUID = 1L;

    private final Param<String> inputCol = new Param<>(this, "inputCol", "the text column (string, or binary UTF-8)");
    private final Param<String> outputCol = new Param<>(this, "outputCol", "the embedding column (array<float>)");
    private final Param<String> pooling = new Param<>(this, "pooling",
            "how token vectors become the text's vector: model (the model's own), mean, cls or last",
            ParamValidators.inArray(new String[] {"model", "mean", "cls", "last"}));
    private final BooleanParam normalize = new BooleanParam(this, "normalize", "whether vectors are scaled to length 1");
    private final Param<String> longInput = new Param<>(this, "longInput",
            "a text longer than the context allows: truncate (keep its start) or fail (a row error)",
            ParamValidators.inArray(new String[] {"truncate", "fail"}));

    /** A transformer with a random uid. */
    public LlamaEmbeddings() {
        this(Identifiable.randomUID("llamaEmbeddings"));
    }

    /**
     * A transformer with the given uid (as ML persistence makes it).
     *
     * @param uid the uid
     */
    public LlamaEmbeddings(String uid) {
        super(uid);
        setDefault(inputCol, "text");
        setDefault(outputCol, "embedding");
        setDefault(pooling, "model");
        setDefault(normalize, true);
        setDefault(longInput, "truncate");
    }

    /** {@return a reader for saved transformers} */
    public static MLReader<LlamaEmbeddings> read() {
        return new DefaultParamsReader<>();
    }

    /**
     * Loads a transformer saved with {@code write().save(path)} (or {@code save(path)}).
     *
     * @param path the folder
     * @return the transformer
     */
    public static LlamaEmbeddings load(String path) {
        return read().load(path);
    }

    /** {@return the input column parameter} */
    public Param<String> inputCol() {
        return inputCol;
    }

    /** {@return the output column parameter} */
    public Param<String> outputCol() {
        return outputCol;
    }

    /** {@return the pooling parameter} */
    public Param<String> pooling() {
        return pooling;
    }

    /** {@return the normalize parameter} */
    public BooleanParam normalize() {
        return normalize;
    }

    /** {@return the long-input parameter} */
    public Param<String> longInput() {
        return longInput;
    }

    /** {@return the input column, default {@code text}} */
    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    /**
     * Sets the input column: string, or binary holding UTF-8.
     *
     * @param column the column
     * @return this
     */
    public LlamaEmbeddings setInputCol(String column) {
        set(inputCol, column);
        return this;
    }

    /** {@return the output column, default {@code embedding}} */
    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    /**
     * Sets the output column ({@code array<float>}, null for a failed row).
     *
     * @param column the column
     * @return this
     */
    public LlamaEmbeddings setOutputCol(String column) {
        set(outputCol, column);
        return this;
    }

    /** {@return the pooling, default {@code model}} */
    public String getPooling() {
        return getOrDefault(pooling);
    }

    /**
     * Sets how token vectors become one vector per text ({@link ContextParams.Pooling}).
     *
     * @param mode {@code model} (the model's own, the default), {@code mean}, {@code cls} or {@code last}
     * @return this
     */
    public LlamaEmbeddings setPooling(String mode) {
        set(pooling, mode == null ? null : mode.toLowerCase(Locale.ROOT));
        return this;
    }

    /** {@return whether vectors are normalized, default true} */
    public boolean getNormalize() {
        return (Boolean) getOrDefault(normalize);
    }

    /**
     * Sets whether vectors are scaled to length 1 (default true).
     *
     * @param on true to normalize
     * @return this
     */
    public LlamaEmbeddings setNormalize(boolean on) {
        set(normalize, on);
        return this;
    }

    /** {@return the long-input policy, default {@code truncate}} */
    public String getLongInput() {
        return getOrDefault(longInput);
    }

    /**
     * Sets what a text longer than one batch of the context allows becomes.
     *
     * @param policy {@code truncate} (its first tokens, the default) or {@code fail} (a row error)
     * @return this
     */
    public LlamaEmbeddings setLongInput(String policy) {
        set(longInput, policy == null ? null : policy.toLowerCase(Locale.ROOT));
        return this;
    }

    @Override
    String outputColumn() {
        return getOutputCol();
    }

    @Override
    DataType outputType() {
        return DataTypes.createArrayType(DataTypes.FloatType, false);
    }

    @Override
    void checkInputs(StructType schema) {
        requireText(schema, getInputCol(), "input", true);
    }

    @Override
    RowWork work(StructType schema) {
        EmbeddingParams params = EmbeddingParams.defaults().withNormalize(getNormalize())
                .withLongInput(getLongInput().equals("fail") ? EmbeddingParams.LongInput.REFUSE : EmbeddingParams.LongInput.TRUNCATE);
        return new Work(common(), schema.fieldIndex(getInputCol()), getInputCol(),
                ContextParams.Pooling.valueOf(getPooling().toUpperCase(Locale.ROOT)), params);
    }

    /**
     * The contexts embeddings run on: embeddings on, the pooling, one sequence per row of a batch: up to 64, a power of
     * two that divides the micro-batch (llama.cpp's mean pooling needs that).
     */
    static ContextParams contextParams(int contextLength, int threads, int batchSize, ContextParams.Pooling pooling) {
        ContextParams base = ContextParams.defaults();
        int sequences = Integer.highestOneBit(Math.min(batchSize, 64));
        int micro = contextLength > 0 ? Math.min(contextLength, base.microBatchSize()) : base.microBatchSize();
        while (sequences > 1 && micro % sequences != 0) sequences /= 2;
        return base.withEmbeddings(true).withPooling(pooling).withContextLength(contextLength).withThreads(threads)
                .withSequences(sequences);
    }

    private static final class Work extends RowWork {
        @Serial
        private static final long serialVersionUID = 1L;
        private final int input;
        private final String column;
        private final ContextParams.Pooling pooling;
        private final boolean normalize;
        private final boolean truncate;

        Work(Common common, int input, String column, ContextParams.Pooling pooling, EmbeddingParams params) {
            super(common);
            this.input = input;
            this.column = column;
            this.pooling = pooling;
            this.normalize = params.normalize(); // EmbeddingParams is not Serializable: its two values travel
            this.truncate = params.longInput() == EmbeddingParams.LongInput.TRUNCATE;
        }

        @Override
        ContextParams contextParams(int threads) {
            return LlamaEmbeddings.contextParams(common.contextLength(), threads, common.batchSize(), pooling);
        }

        @Override
        List<Outcome> run(Model model, Context context, List<Row> rows) {
            EmbeddingParams params = EmbeddingParams.defaults().withNormalize(normalize)
                    .withLongInput(truncate ? EmbeddingParams.LongInput.TRUNCATE : EmbeddingParams.LongInput.REFUSE);
            Outcome[] out = new Outcome[rows.size()];
            List<String> texts = new ArrayList<>(rows.size());
            List<Integer> at = new ArrayList<>(rows.size());
            for (int i = 0; i < rows.size(); i++) {
                try {
                    texts.add(text(rows.get(i), input, column));
                    at.add(i);
                } catch (IllegalArgumentException e) {
                    out[i] = Outcome.failed(e);
                }
            }
            if (!texts.isEmpty()) {
                List<Embedding> all = null;
                try {
                    all = context.embed(texts, params);
                } catch (RuntimeException batchFailed) {
                    // one text spoiled the batch: embed them one by one so that only it fails
                }
                for (int k = 0; k < texts.size(); k++) {
                    if (all != null) {
                        out[at.get(k)] = Outcome.ok(boxed(all.get(k).vector()));
                        continue;
                    }
                    try {
                        out[at.get(k)] = Outcome.ok(boxed(context.embed(texts.get(k), params).vector()));
                    } catch (RuntimeException e) {
                        out[at.get(k)] = Outcome.failed(e);
                    }
                }
            }
            return Arrays.asList(out);
        }
    }

    static Float[] boxed(float[] v) {
        Float[] b = new Float[v.length];
        for (int i = 0; i < v.length; i++) b[i] = v[i];
        return b;
    }
}
