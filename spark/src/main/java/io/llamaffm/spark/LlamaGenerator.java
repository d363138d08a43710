package io.llamaffm.spark;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.SamplingParams;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ChatSession;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.FloatParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.Serial;
import java.util.ArrayList;
import java.util.List;

/**
 * Generates text for each prompt of a column with a llama.cpp model: a chat reply (the model's chat template, an
 * optional system prompt) or a plain continuation, sampled greedily by default, optionally held to a JSON schema or a
 * GBNF grammar (structured extraction).
 *
 * <pre>{@code
 * Dataset<Row> out = new LlamaGenerator()
 *         .setModel("hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M")
 *         .setInputCol("prompt").setOutputCol("text")
 *         .setJsonSchema("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}")
 *         .transform(df);
 * }</pre>
 *
 * <p>Each row runs on its own fresh conversation ({@link ChatSession}, or {@link Context#generate} without chat) on
 * the task's leased context, one row after another; a context keeps its KV cache between rows, so rows that share a
 * prefix (the system prompt) decode only the rest. Rows are not decoded together as parallel sequences
 * ({@link Context#generateAll}): each sequence would get only its share of the context, so whether a prompt fits, and
 * where a long reply stops, would depend on the batch; here a row's output is the core's output for that prompt.
 * {@link #setBatchSize} only sets how many rows are read ahead (default 8). A prompt that leaves no room in the context, an invalid grammar or a failed decode is
 * that row's error. See {@link LlamaTransformer} for the model, threads and errors.
 */
public final class LlamaGenerator extends LlamaTransformer<LlamaGenerator> {
    @Serial
    private static final long serialVersionUID = 1L;

    private final Param<String> inputCol = new Param<>(this, "inputCol", "the prompt column (string)");
    private final Param<String> outputCol = new Param<>(this, "outputCol", "the generated text column (string)");
    private final BooleanParam chat = new BooleanParam(this, "chat",
            "whether the prompt is a user message rendered with the model's chat template (else plain text to continue)");
    private final Param<String> systemPrompt = new Param<>(this, "systemPrompt", "the system message of chat prompts; empty for none");
    private final IntParam maxTokens = new IntParam(this, "maxTokens", "the most tokens generated per row", ParamValidators.gtEq(1));
    private final FloatParam temperature = new FloatParam(this, "temperature", "sampling temperature; 0 = greedy",
            ParamValidators.gtEq(0));
    private final IntParam topK = new IntParam(this, "topK", "top-k; 0 = off", ParamValidators.gtEq(0));
    private final FloatParam topP = new FloatParam(this, "topP", "top-p; 1 = off", ParamValidators.inRange(0, 1));
    private final FloatParam minP = new FloatParam(this, "minP", "min-p; 0 = off", ParamValidators.inRange(0, 1));
    private final IntParam seed = new IntParam(this, "seed", "the sampling seed; -1 = a random one per row");
    private final Param<String> jsonSchema = new Param<>(this, "jsonSchema",
            "a JSON schema the output must match; empty for none");
    private final Param<String> grammar = new Param<>(this, "grammar", "a GBNF grammar (root rule 'root') the output "
            + "must match; empty for none");
    private final StringArrayParam stop = new StringArrayParam(this, "stop", "texts that end the generation (not included)");

    /** A transformer with a random uid. */
    public LlamaGenerator() {
        this(Identifiable.randomUID("llamaGenerator"));
    }

    /**
     * A transformer with the given uid (as ML persistence makes it).
     *
     * @param uid the uid
     */
    public LlamaGenerator(String uid) {
        super(uid);
        SamplingParams d = SamplingParams.defaults();
        setDefault(inputCol, "prompt");
        setDefault(outputCol, "text");
        setDefault(chat, true);
        setDefault(systemPrompt, "");
        setDefault(maxTokens, 128);
        setDefault(temperature, 0f);
        setDefault(topK, d.topK());
        setDefault(topP, d.topP());
        setDefault(minP, d.minP());
        setDefault(seed, SamplingParams.RANDOM_SEED);
        setDefault(jsonSchema, "");
        setDefault(grammar, "");
        setDefault(stop, new String[0]);
        setDefault(batchSize(), 8);
    }

    /** {@return a reader for saved transformers} */
    public static MLReader<LlamaGenerator> read() {
        return new DefaultParamsReader<>();
    }

    /**
     * Loads a transformer saved with {@code write().save(path)}.
     *
     * @param path the folder
     * @return the transformer
     */
    public static LlamaGenerator load(String path) {
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

    /** {@return the chat parameter} */
    public BooleanParam chat() {
        return chat;
    }

    /** {@return the system prompt parameter} */
    public Param<String> systemPrompt() {
        return systemPrompt;
    }

    /** {@return the max tokens parameter} */
    public IntParam maxTokens() {
        return maxTokens;
    }

    /** {@return the temperature parameter} */
    public FloatParam temperature() {
        return temperature;
    }

    /** {@return the top-k parameter} */
    public IntParam topK() {
        return topK;
    }

    /** {@return the top-p parameter} */
    public FloatParam topP() {
        return topP;
    }

    /** {@return the min-p parameter} */
    public FloatParam minP() {
        return minP;
    }

    /** {@return the seed parameter} */
    public IntParam seed() {
        return seed;
    }

    /** {@return the JSON schema parameter} */
    public Param<String> jsonSchema() {
        return jsonSchema;
    }

    /** {@return the grammar parameter} */
    public Param<String> grammar() {
        return grammar;
    }

    /** {@return the stop strings parameter} */
    public StringArrayParam stop() {
        return stop;
    }

    /** {@return the prompt column, default {@code prompt}} */
    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    /**
     * Sets the prompt column (string).
     *
     * @param column the column
     * @return this
     */
    public LlamaGenerator setInputCol(String column) {
        set(inputCol, column);
        return this;
    }

    /** {@return the output column, default {@code text}} */
    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    /**
     * Sets the output column (string, null for a failed row).
     *
     * @param column the column
     * @return this
     */
    public LlamaGenerator setOutputCol(String column) {
        set(outputCol, column);
        return this;
    }

    /** {@return whether prompts are chat messages, default true} */
    public boolean getChat() {
        return (Boolean) getOrDefault(chat);
    }

    /**
     * Sets whether each prompt is a user message rendered with the model's chat template (default true; the reply is
     * returned without surrounding whitespace) or plain text to continue.
     *
     * @param on true for chat
     * @return this
     */
    public LlamaGenerator setChat(boolean on) {
        set(chat, on);
        return this;
    }

    /** {@return the system prompt, null for none} */
    public String getSystemPrompt() {
        String s = getOrDefault(systemPrompt);
        return s.isEmpty() ? null : s;
    }

    /**
     * Sets the system message of chat prompts.
     *
     * @param text the message; null or empty for none (the default)
     * @return this
     */
    public LlamaGenerator setSystemPrompt(String text) {
        set(systemPrompt, text == null ? "" : text);
        return this;
    }

    /** {@return the most tokens per row, default 128} */
    public int getMaxTokens() {
        return (Integer) getOrDefault(maxTokens);
    }

    /**
     * Sets the most tokens generated per row.
     *
     * @param n at least 1
     * @return this
     */
    public LlamaGenerator setMaxTokens(int n) {
        set(maxTokens, n);
        return this;
    }

    /** {@return the temperature, default 0 (greedy)} */
    public float getTemperature() {
        return (Float) getOrDefault(temperature);
    }

    /**
     * Sets the sampling temperature.
     *
     * @param t at least 0; 0 (the default) is greedy
     * @return this
     */
    public LlamaGenerator setTemperature(double t) {
        set(temperature, (float) t);
        return this;
    }

    /** {@return top-k, default llama.cpp's 40} */
    public int getTopK() {
        return (Integer) getOrDefault(topK);
    }

    /**
     * Sets top-k (used when the temperature is above 0).
     *
     * @param k at least 0 (0 = off)
     * @return this
     */
    public LlamaGenerator setTopK(int k) {
        set(topK, k);
        return this;
    }

    /** {@return top-p, default llama.cpp's 0.95} */
    public float getTopP() {
        return (Float) getOrDefault(topP);
    }

    /**
     * Sets top-p (used when the temperature is above 0).
     *
     * @param p in 0..1 (1 = off)
     * @return this
     */
    public LlamaGenerator setTopP(double p) {
        set(topP, (float) p);
        return this;
    }

    /** {@return min-p, default llama.cpp's 0.05} */
    public float getMinP() {
        return (Float) getOrDefault(minP);
    }

    /**
     * Sets min-p (used when the temperature is above 0).
     *
     * @param p in 0..1 (0 = off)
     * @return this
     */
    public LlamaGenerator setMinP(double p) {
        set(minP, (float) p);
        return this;
    }

    /** {@return the seed, default -1 (random)} */
    public int getSeed() {
        return (Integer) getOrDefault(seed);
    }

    /**
     * Sets the sampling seed: each row's draw starts from it, so a retried task samples the same text. Default -1: a
     * random seed per row.
     *
     * @param s the seed
     * @return this
     */
    public LlamaGenerator setSeed(int s) {
        set(seed, s);
        return this;
    }

    /** {@return the JSON schema, null for none} */
    public String getJsonSchema() {
        String s = getOrDefault(jsonSchema);
        return s.isEmpty() ? null : s;
    }

    /**
     * Sets a JSON schema that every output must match (converted to a grammar, as llama.cpp does).
     *
     * @param schema the schema as JSON text; null or empty for none
     * @return this
     */
    public LlamaGenerator setJsonSchema(String schema) {
        set(jsonSchema, schema == null ? "" : schema);
        return this;
    }

    /** {@return the GBNF grammar, null for none} */
    public String getGrammar() {
        String s = getOrDefault(grammar);
        return s.isEmpty() ? null : s;
    }

    /**
     * Sets a GBNF grammar (root rule {@code root}) that every output must match.
     *
     * @param gbnf the grammar; null or empty for none
     * @return this
     */
    public LlamaGenerator setGrammar(String gbnf) {
        set(grammar, gbnf == null ? "" : gbnf);
        return this;
    }

    /** {@return the stop strings} */
    public String[] getStop() {
        return getOrDefault(stop).clone();
    }

    /**
     * Sets texts that end the generation (not included in the output).
     *
     * @param texts the stop strings; none by default
     * @return this
     */
    public LlamaGenerator setStop(String[] texts) {
        set(stop, texts == null ? new String[0] : texts.clone());
        return this;
    }

    @Override
    String outputColumn() {
        return getOutputCol();
    }

    @Override
    DataType outputType() {
        return DataTypes.StringType;
    }

    @Override
    void checkInputs(StructType schema) {
        requireText(schema, getInputCol(), "input", false);
        if (getJsonSchema() != null && getGrammar() != null) {
            throw new IllegalArgumentException("LlamaGenerator: set a JSON schema or a grammar, not both");
        }
        sampler(); // a bad schema, grammar or sampling value is the driver's error, before any task
    }

    /** The sampler chain the parameters ask for (checked: a bad schema or grammar throws here). */
    SamplerChain sampler() {
        SamplerChain.Grammar g = getJsonSchema() != null ? SamplerChain.Grammar.fromJsonSchema(getJsonSchema())
                : getGrammar() != null ? SamplerChain.Grammar.of(getGrammar()) : null;
        return SamplingParams.defaults().withTemperature(getTemperature()).withTopK(getTopK()).withTopP(getTopP())
                .withMinP(getMinP()).withSeed(getSeed()).withGrammar(g).toChain();
    }

    @Override
    RowWork work(StructType schema) {
        return new Work(common(), schema.fieldIndex(getInputCol()), getInputCol(), getChat(), getSystemPrompt(),
                getMaxTokens(), getStop(), getTemperature(), getTopK(), getTopP(), getMinP(), getSeed(), getJsonSchema(),
                getGrammar());
    }

    /** The context a generator runs on: the context length and threads, one sequence. */
    static ContextParams contextParams(int contextLength, int threads) {
        return ContextParams.defaults().withContextLength(contextLength).withThreads(threads);
    }

    private static final class Work extends RowWork {
        @Serial
        private static final long serialVersionUID = 1L;
        private final int input;
        private final String column;
        private final boolean chat;
        private final String system;
        private final int maxTokens;
        private final String[] stop;
        private final float temperature;
        private final int topK;
        private final float topP;
        private final float minP;
        private final int seed;
        private final String jsonSchema;
        private final String grammar;

        Work(Common common, int input, String column, boolean chat, String system, int maxTokens, String[] stop,
             float temperature, int topK, float topP, float minP, int seed, String jsonSchema, String grammar) {
            super(common);
            this.input = input;
            this.column = column;
            this.chat = chat;
            this.system = system;
            this.maxTokens = maxTokens;
            this.stop = stop;
            this.temperature = temperature;
            this.topK = topK;
            this.topP = topP;
            this.minP = minP;
            this.seed = seed;
            this.jsonSchema = jsonSchema;
            this.grammar = grammar;
        }

        @Override
        ContextParams contextParams(int threads) {
            return LlamaGenerator.contextParams(common.contextLength(), threads);
        }

        @Override
        List<Outcome> run(Model model, Context context, List<Row> rows) {
            SamplerChain.Grammar g = jsonSchema != null ? SamplerChain.Grammar.fromJsonSchema(jsonSchema)
                    : grammar != null ? SamplerChain.Grammar.of(grammar) : null;
            SamplerChain sampler = SamplingParams.defaults().withTemperature(temperature).withTopK(topK).withTopP(topP)
                    .withMinP(minP).withSeed(seed).withGrammar(g).toChain();
            GenerationParams params = GenerationParams.defaults().withMaxTokens(maxTokens).withStopStrings(stop);
            ChatFormat format = chat ? ChatFormat.forModel(model) : null;
            List<Outcome> out = new ArrayList<>(rows.size());
            for (Row row : rows) {
                try {
                    String prompt = text(row, input, column);
                    Completion c = chat ? new ChatSession(context, format, system).send(prompt, params, sampler, null)
                            : context.generate(prompt, params, sampler, null);
                    out.add(Outcome.ok(chat ? c.text().strip() : c.text()));
                } catch (RuntimeException e) {
                    out.add(Outcome.failed(e));
                }
            }
            return out;
        }
    }
}
