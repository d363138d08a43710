package io.llamaffm;

import io.llamaffm.decoding.ParallelDecoding;
import io.llamaffm.internal.engine.Access;
import io.llamaffm.internal.engine.ContextStates;
import io.llamaffm.internal.engine.Embedder;
import io.llamaffm.internal.engine.Engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An inference context: owns its KV cache and the buffers of its decode loop.
 *
 * <p><b>Threads.</b> A context serves one thread at a time: a call while another thread is inside the context
 * throws {@link IllegalStateException} instead of corrupting native state. {@link #cancel()} is the exception: any
 * thread may call it.
 *
 * <p><b>A full context.</b> Nothing is ever truncated silently: a prompt must leave room for at least one generated
 * token in its sequence's share of the KV cache ({@link #contextLength()}, divided among the sequences of a context
 * made with several), and a longer one is refused with {@link IllegalArgumentException}; a generation that fills the
 * sequence stops with {@link Completion.StopReason#CONTEXT_FULL}.
 *
 * <p><b>Prefix reuse.</b> The context remembers the tokens in its KV cache (sequence 0). A new generation whose
 * prompt starts with some of them decodes only the rest ({@link Completion#reusedTokens()}).
 *
 * <p><b>LoRA adapters.</b> {@link #setLoraAdapters(Map)} applies adapters of the context's model; the context holds
 * them (they refuse to close) until they are cleared, replaced, or the context closes.
 *
 * <p>A façade: the decode path (batch, KV-cache bookkeeping, decode loop, stop/emit policy) lives in
 * {@code io.llamaffm.internal.engine}; the decoding strategies in {@link io.llamaffm.decoding}.
 *
 * <p>Closing is idempotent; after close every method throws {@link IllegalStateException}.
 */
public final class Context implements AutoCloseable {
    static {
        Access.install(new Access.Hooks() {
            @Override
            public Engine engine(Context context) {
                return context.engine;
            }

            @Override
            public int sample(Sampler sampler, MemorySegment ctx, int index) {
                return sampler.sample(ctx, index);
            }
        });
    }

    private final Model model;
    private final Tokenizer tokenizer;
    private final Engine engine;
    private final boolean embeddingsOn;
    private Map<LoraAdapter, Float> loraAdapters = Map.of(); // set on the native context, each acquired

    Context(Model model, ContextParams params) {
        requireMeanPoolingFits(model.config(), params);
        this.model = model;
        this.tokenizer = model.tokenizer();
        this.embeddingsOn = params.embeddings();
        model.contextOpened();
        try {
            this.engine = new Engine(model.handle(), params, params.cacheType().ggmlType(), model.path().getFileName().toString());
        } catch (RuntimeException | Error e) {
            model.contextClosed();
            throw e;
        }
    }

    /**
     * Refuses what the pinned llama.cpp aborts the process on: creating an embedding context that pools by mean (MEAN;
     * MODEL for a model whose own pooling is mean; RANK for modern-bert, which ranks a mean) when its largest
     * micro-batch is not a multiple of its sequences. llama.cpp reserves the worst-case graph with that micro-batch
     * rounded up to a multiple of the sequences but with one output per token of the micro-batch as it was; the
     * mean's matrix product then has sides of different lengths ({@code GGML_ASSERT(ggml_can_mul_mat(a, b))}).
     * The micro-batch is llama.cpp's: {@code min(n_ctx rounded up to 256, n_ubatch)}, where {@code n_ubatch} is at
     * most {@code n_batch}, itself at most {@code n_ctx} for causal models.
     */
    static void requireMeanPoolingFits(ModelConfig config, ContextParams params) {
        if (!params.embeddings() || params.sequences() == 1) {
            return;
        }
        String arch = config.architecture();
        String modelPooling = config.metadata().getOrDefault(arch + ".pooling_type", "").trim();
        boolean mean = switch (params.pooling()) {
            case MEAN -> true;
            case MODEL -> modelPooling.equals("1") || (modelPooling.equals("4") && arch.equals("modern-bert"));
            case RANK -> arch.equals("modern-bert");
            default -> false;
        };
        if (!mean) {
            return;
        }
        int ctx = params.contextLength() == 0 ? config.trainedContextLength() : params.contextLength();
        boolean causal = !config.metadata().getOrDefault(arch + ".attention.causal", "true").trim().equals("false");
        int batch = causal ? Math.min(ctx, params.batchSize()) : params.batchSize();
        int microBatch = Math.min((int) Math.min(Integer.MAX_VALUE, (ctx + 255L) / 256 * 256),
                Math.min(batch, params.microBatchSize()));
        if (microBatch % params.sequences() != 0) {
            int fits = microBatch - microBatch % params.sequences();
            throw new IllegalArgumentException("a mean-pooling embedding context needs a micro-batch that is a multiple of "
                    + "its sequences: " + microBatch + " tokens for " + params.sequences() + " sequences would abort the "
                    + "process in llama.cpp (it reserves mismatched graph sizes); use withMicroBatchSize(" + fits
                    + ") or a number of sequences that divides " + microBatch);
        }
    }

    /** {@return how many tokens the KV cache holds} */
    public int contextLength() {
        engine.ensureOpen();
        return engine.contextLength();
    }

    /** {@return the most tokens submitted to one decode} */
    public int batchSize() {
        engine.ensureOpen();
        return engine.batchSize();
    }

    /** {@return the most tokens computed at once inside one decode (an embedded text's limit)} */
    public int microBatchSize() {
        engine.ensureOpen();
        return engine.microBatchSize();
    }

    /** {@return how many sequences the KV cache holds ({@link ContextParams#withSequences})} */
    public int sequences() {
        engine.ensureOpen();
        return engine.sequences();
    }

    /** {@return the tokens one sequence can hold: the context length divided among the sequences unless the cache is unified} */
    public int tokensPerSequence() {
        engine.ensureOpen();
        return engine.tokensPerSequence();
    }

    /** {@return the model this context runs} */
    public Model model() {
        return model;
    }

    /** {@return the tokens in the KV cache (sequence 0), oldest first} */
    public int[] cachedTokens() {
        return entered(() -> engine.knownTokens(0));
    }

    // ---- generation ---------------------------------------------------------------------------------------------

    /**
     * Generates a continuation of {@code prompt} (encoded with BOS added and special tokens parsed).
     *
     * @param prompt    the text to continue
     * @param maxTokens most tokens to generate (at least 1)
     * @param sampler   the decoding strategy; must end with a stage that picks the token
     * @param onText    receives the text as it is produced, never a cut multi-byte character; may be null
     * @throws IllegalArgumentException if the prompt does not fit the context or {@code maxTokens < 1}
     * @return the generated text and tokens, why generation stopped, and its timings
     * @throws DecodeException          if llama.cpp fails to decode
     */
    public Completion generate(String prompt, int maxTokens, SamplerChain sampler, Consumer<String> onText) {
        return generate(prompt, GenerationParams.defaults().withMaxTokens(maxTokens), sampler, onText);
    }

    /**
     * Generates a continuation of {@code prompt} with the given parameters (stop strings, ignore-EOS, ...).
     *
     * @param prompt  the text to continue (encoded with BOS added and special tokens parsed)
     * @param params  token budget, stop strings, ignore-EOS, logprobs
     * @param sampler the decoding strategy; must end with a stage that picks the token
     * @param onText  receives the text as it is produced; may be null
     * @return the generated text and tokens, why generation stopped, and its timings
     * @throws IllegalArgumentException if the prompt does not fit the context
     * @throws DecodeException          if llama.cpp fails to decode
     */
    public Completion generate(String prompt, GenerationParams params, SamplerChain sampler, Consumer<String> onText) {
        return generate(tokenizer.encode(prompt), params, sampler, onText);
    }

    /**
     * Generates a continuation of the given prompt tokens.
     *
     * @param prompt  the token ids to continue, each checked against the vocabulary
     * @param params  token budget, stop strings, ignore-EOS, logprobs
     * @param sampler the decoding strategy; must end with a stage that picks the token
     * @param onText  receives the text as it is produced; may be null
     * @return the generated text and tokens, why generation stopped, and its timings
     * @throws IllegalArgumentException if a token id is out of range or the prompt does not fit the context
     * @throws DecodeException          if llama.cpp fails to decode
     */
    public Completion generate(int[] prompt, GenerationParams params, SamplerChain sampler, Consumer<String> onText) {
        try (Generation g = start(prompt, params, sampler, true)) {
            // the text goes to onText between steps, with no thread inside the context: the callback may block, and
            // another thread may cancel or even close the context meanwhile
            for (boolean more = true; more; ) {
                more = g.nextToken() >= 0;
                CharSequence delta = g.text(); // after the last step: the text held back until the end
                if (onText != null && !delta.isEmpty()) {
                    onText.accept(delta.toString());
                }
            }
            return g.completion();
        }
    }

    /**
     * Starts a generation that yields one token per {@link Generation#nextToken()} call (or as an iterator/stream).
     * The context belongs to the generation until it is closed or exhausted.
     *
     * @param prompt  the text to continue (encoded with BOS added and special tokens parsed)
     * @param params  token budget, stop strings, ignore-EOS, logprobs
     * @param sampler the decoding strategy; must end with a stage that picks the token
     * @return the open generation, to close when done
     * @throws IllegalStateException    if a generation is already open on this context
     * @throws IllegalArgumentException if the prompt is empty or does not fit the context
     */
    public Generation start(String prompt, GenerationParams params, SamplerChain sampler) {
        return start(tokenizer.encode(prompt), params, sampler);
    }

    /**
     * Starts a generation from prompt tokens; see {@link #start(String, GenerationParams, SamplerChain)}.
     *
     * @param prompt  the token ids to continue, each checked against the vocabulary
     * @param params  token budget, stop strings, ignore-EOS, logprobs
     * @param sampler the decoding strategy; must end with a stage that picks the token
     * @return the open generation, to close when done
     */
    public Generation start(int[] prompt, GenerationParams params, SamplerChain sampler) {
        return start(prompt, params, sampler, false);
    }

    private Generation start(int[] prompt, GenerationParams params, SamplerChain sampler, boolean collect) {
        requirePicker(sampler);
        tokenizer.checkTokens(prompt);
        engine.enterIdle();
        try {
            checkPrompt(prompt.length);
            engine.resetCancel();
            Sampler s = Sampler.create(model, sampler);
            try {
                return new Generation(engine, s, params, prompt, collect);
            } catch (RuntimeException | Error e) {
                s.close();
                throw e;
            }
        } finally {
            engine.exit();
        }
    }

    /**
     * Generates continuations of several prompts together, one sequence each, in shared decode batches
     * ({@link ParallelDecoding}). The context needs at least {@code prompts.size()} sequences
     * ({@link ContextParams#withSequences}); each sequence gets its own sampler from {@code sampler} (same seed for all).
     * Starts from an empty KV cache.
     *
     * @param prompts the prompts, at most the context's sequence count
     * @param params  token budget, stop strings, ignore-EOS, logprobs (the same for every prompt)
     * @param sampler the decoding strategy; must end with a stage that picks the token
     * @param onText  receives (prompt index, text) as text is produced; may be null
     * @return one completion per prompt, in order
     */
    public List<Completion> generateAll(List<String> prompts, GenerationParams params, SamplerChain sampler,
                                        BiConsumer<Integer, String> onText) {
        return ParallelDecoding.generate(this, prompts, params, sampler, onText).completions();
    }

    private void checkPrompt(int tokens) {
        if (tokens == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (tokens >= engine.tokensPerSequence()) {
            throw new IllegalArgumentException("the prompt has " + tokens + " tokens but the context holds "
                    + engine.tokensPerSequence() + (engine.sequences() > 1 ? " per sequence" : "")
                    + ": shorten it or create the context with a larger contextLength");
        }
    }

    private static void requirePicker(SamplerChain sampler) {
        if (!sampler.picksToken()) {
            throw new IllegalArgumentException("the sampler chain must end with a stage that picks the token (Greedy, Dist, Mirostat)");
        }
    }

    /** Asks a running decode or generation to stop; safe from any thread. The context stays usable. */
    public void cancel() {
        engine.cancel();
    }

    // ---- embeddings ------------------------------------------------------------------------------------------

    /**
     * Embeds one text; see {@link #embed(java.util.List, EmbeddingParams)}.
     *
     * @param text   the text to embed
     * @param params normalization and the long-input policy
     * @return the text's embedding
     */
    public Embedding embed(String text, EmbeddingParams params) {
        return embed(List.of(text), params).getFirst();
    }

    /**
     * Embeds texts with the context's pooling (the model's own unless {@link ContextParams#withPooling} chose one),
     * several texts per decode as separate sequences. The context must be created with
     * {@link ContextParams#withEmbeddings(boolean) embeddings on} and a pooling other than NONE (see
     * {@link #embedTokens}). A text may hold at most {@link #microBatchSize()} tokens; longer ones follow
     * {@link EmbeddingParams#longInput()}. Uses (and clears) the KV cache.
     *
     * @param texts  the texts to embed
     * @param params normalization and the long-input policy
     * @return one embedding per text, in order
     */
    public List<Embedding> embed(List<String> texts, EmbeddingParams params) {
        requireEmbeddings();
        List<int[]> tokens = new ArrayList<>(texts.size());
        for (String text : texts) {
            tokens.add(tokenizer.encode(text, true, false));
        }
        return embedTokenized(tokens, params, false);
    }

    /**
     * Scores how well each document answers the query with a reranking (cross-encoder) model: each pair is encoded
     * as {@code [CLS] query [SEP] document [SEP]} and read through the model's classification head (rank pooling).
     * The context must be created with embeddings on and {@link ContextParams.Pooling#RANK} (or a model whose own
     * pooling is rank). Higher is more relevant; scores are the head's raw output, in document order.
     *
     * @param query     the question
     * @param documents the texts to score against it
     * @param params    the long-input policy for pairs longer than a micro-batch
     * @return one score per document, in order
     */
    public float[] rank(String query, List<String> documents, EmbeddingParams params) {
        requireEmbeddings();
        int[] q = tokenizer.encode(query, true, false);
        List<int[]> pairs = new ArrayList<>(documents.size());
        int bos = tokenizer.bos();
        for (String d : documents) {
            int[] doc = tokenizer.encode(d, true, false);
            int skip = doc.length > 0 && doc[0] == bos ? 1 : 0; // the document's own [CLS] goes
            int[] pair = Arrays.copyOf(q, q.length + doc.length - skip);
            System.arraycopy(doc, skip, pair, q.length, doc.length - skip);
            pairs.add(pair);
        }
        List<Embedding> scores = embedTokenized(pairs, params.withNormalize(false), true);
        float[] out = new float[scores.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = scores.get(i).vector()[0];
        }
        return out;
    }

    private List<Embedding> embedTokenized(List<int[]> texts, EmbeddingParams params, boolean ranking) {
        int[][] tokens = new int[texts.size()][];
        boolean[] truncated = new boolean[texts.size()];
        int limit = Math.min(engine.microBatchSize(), engine.tokensPerSequence());
        for (int i = 0; i < tokens.length; i++) {
            int[] t = texts.get(i);
            tokenizer.checkTokens(t);
            if (t.length == 0) {
                throw new IllegalArgumentException("text " + i + " has no tokens");
            }
            if (t.length > limit) {
                if (params.longInput() == EmbeddingParams.LongInput.REFUSE) {
                    throw new IllegalArgumentException("text " + i + " has " + t.length + " tokens; an embedding holds at most "
                            + limit + " (ContextParams.withMicroBatchSize/withBatchSize), or use LongInput.TRUNCATE");
                }
                int last = t[t.length - 1];
                t = Arrays.copyOf(t, limit);
                t[limit - 1] = last;
                truncated[i] = true;
            }
            tokens[i] = t;
        }
        return whenIdle(() -> Embedder.pooled(engine, tokens, truncated, params.normalize(), ranking));
    }

    /**
     * One vector per token of {@code text} (contexts with pooling NONE); rows follow the tokens, BOS/CLS included.
     *
     * @param text the text to embed
     * @return one row per token, each of the model's embedding size
     * @throws IllegalArgumentException if the text has more tokens than one micro-batch
     */
    public float[][] embedTokens(String text) {
        requireEmbeddings();
        int[] t = tokenizer.encode(text, true, false);
        if (t.length == 0 || t.length > engine.microBatchSize()) {
            throw new IllegalArgumentException("text has " + t.length + " tokens; token embeddings need 1.." + engine.microBatchSize());
        }
        return whenIdle(() -> Embedder.perToken(engine, t));
    }

    private void requireEmbeddings() {
        engine.ensureOpen();
        if (!embeddingsOn) {
            throw new IllegalStateException("create the context with ContextParams.withEmbeddings(true) to embed");
        }
    }

    // ---- scoring -------------------------------------------------------------------------------------------------

    /**
     * Scores a text under the model: the log-probability of each token given the ones before it (teacher forcing)
     * and the perplexity {@code exp(-mean logprob)}. The text is encoded with BOS; the first token is not scored.
     * Uses (and replaces) the KV cache.
     *
     * @param text the text scored
     * @return each token's log-probability and the perplexity
     * @throws IllegalArgumentException if the text has fewer than 2 tokens or does not fit the context
     */
    public TextScore score(String text) {
        return score(tokenizer.encode(text));
    }

    /**
     * Scores a token sequence; see {@link #score(String)}.
     *
     * @param tokens the token ids scored, at least 2
     * @return each token's log-probability and the perplexity
     */
    public TextScore score(int[] tokens) {
        tokenizer.checkTokens(tokens);
        if (tokens.length < 2) {
            throw new IllegalArgumentException("a text needs at least 2 tokens to be scored, got " + tokens.length);
        }
        if (tokens.length > engine.tokensPerSequence()) {
            throw new IllegalArgumentException("the text has " + tokens.length + " tokens but the context holds "
                    + engine.tokensPerSequence());
        }
        return whenIdle(() -> ContextStates.score(engine, tokens));
    }

    // ---- KV cache operations -------------------------------------------------------------------------------

    /** Empties the KV cache. */
    public void clear() {
        whenIdle(engine::clear);
    }

    /**
     * Removes positions {@code [from, to)} of a sequence from the KV cache ({@code to = -1}: to the end).
     *
     * @param sequence the sequence id
     * @param from     the first position removed
     * @param to       the position after the last one removed, or -1 for the end
     * @return false if the cache cannot remove a part of a sequence (recurrent models), true otherwise
     */
    public boolean removeTokens(int sequence, int from, int to) {
        checkRange(sequence, from, to);
        return whenIdle(() -> engine.removeTokens(sequence, from, to));
    }

    /**
     * Copies positions {@code [from, to)} of sequence {@code source} to sequence {@code target} (shares the cells).
     *
     * @param source the sequence copied from
     * @param target the sequence copied to
     * @param from   the first position copied
     * @param to     the position after the last one copied, or -1 for the end
     */
    public void copySequence(int source, int target, int from, int to) {
        checkRange(source, from, to);
        checkSequence(target);
        whenIdle(() -> engine.copySequence(source, target, from, to));
    }

    /**
     * Removes every sequence but {@code sequence}.
     *
     * @param sequence the sequence kept
     */
    public void keepSequence(int sequence) {
        checkSequence(sequence);
        whenIdle(() -> engine.keepSequence(sequence));
    }

    /**
     * Adds {@code delta} to the positions {@code [from, to)} of a sequence (context shifting).
     *
     * @param sequence the sequence shifted
     * @param from     the first position shifted
     * @param to       the position after the last one shifted, or -1 for the end
     * @param delta    added to each position (negative moves tokens back)
     */
    public void shift(int sequence, int from, int to, int delta) {
        checkRange(sequence, from, to);
        whenIdle(() -> engine.shift(sequence, from, to, delta));
    }

    /**
     * The highest position a sequence holds in the KV cache.
     *
     * @param sequence the sequence id
     * @return the highest position, or -1 when the sequence is empty
     */
    public int maxPosition(int sequence) {
        checkSequence(sequence);
        return entered(() -> engine.maxPosition(sequence));
    }

    // ---- state ---------------------------------------------------------------------------------------------

    /**
     * Saves the whole context (KV cache, last logits, RNG) into memory owned by {@code owner} (for example
     * {@code Arena.ofAuto()}), together with the cached tokens.
     *
     * @param owner the arena that owns the saved bytes
     * @return the saved state
     */
    public ContextState saveState(Arena owner) {
        return whenIdle(() -> ContextStates.save(engine, owner, -1));
    }

    /**
     * Saves one sequence's KV cache (and the tokens it holds) into memory owned by {@code owner}.
     *
     * @param owner    the arena that owns the saved bytes
     * @param sequence the sequence saved
     * @return the saved state
     */
    public ContextState saveSequence(Arena owner, int sequence) {
        checkSequence(sequence);
        return whenIdle(() -> ContextStates.save(engine, owner, sequence));
    }

    /**
     * Restores a state saved by {@link #saveState} (whole context) or {@link #saveSequence} (into {@code state.sequence()}).
     *
     * @param state the saved state
     */
    public void restoreState(ContextState state) {
        restoreState(state, state.sequence());
    }

    /**
     * Restores a saved sequence into sequence {@code target}, or a whole-context state when {@code target} is -1.
     *
     * @param state  the saved state
     * @param target the sequence restored into, or -1 for a whole-context state
     */
    public void restoreState(ContextState state, int target) {
        if (target != -1) {
            checkSequence(target);
        }
        whenIdle(() -> ContextStates.restore(engine, state, target));
    }

    /**
     * Saves the whole context and its cached tokens to a file.
     *
     * @param file the file written (replaced if it exists)
     */
    public void saveState(Path file) {
        whenIdle(() -> ContextStates.save(engine, file));
    }

    /**
     * Loads a state saved by {@link #saveState(Path)}.
     *
     * @param file the file read
     */
    public void loadState(Path file) {
        whenIdle(() -> ContextStates.load(engine, file));
    }

    // ---- LoRA adapters -------------------------------------------------------------------------------------------

    /**
     * Applies LoRA adapters with their scales, replacing those set before (an empty map clears them). A scale
     * multiplies the adapter's delta (times {@link LoraAdapter#alpha()} / rank); 0 leaves the adapter out, negative
     * subtracts it. The context holds every adapter in the map until they are cleared or replaced or it closes.
     *
     * <p>When the adapters that take effect (those with a non-zero scale) change, the KV cache no longer matches the
     * weights and is cleared, so the next generation decodes its whole prompt; setting the same adapters again keeps it.
     *
     * @param scales adapters of this context's model and their scales (finite); iteration order is kept
     * @throws IllegalArgumentException if an adapter belongs to another model or a scale is not finite
     * @throws IllegalStateException    if an adapter is closed, a generation is open, or the context is closed
     */
    public void setLoraAdapters(Map<LoraAdapter, Float> scales) {
        Map<LoraAdapter, Float> next = new LinkedHashMap<>();
        for (Map.Entry<LoraAdapter, Float> e : scales.entrySet()) { // NPE for a null map
            LoraAdapter a = Objects.requireNonNull(e.getKey(), "adapter");
            Float scale = Objects.requireNonNull(e.getValue(), "scale of " + a);
            if (!Float.isFinite(scale)) {
                throw new IllegalArgumentException("the scale of " + a + " is " + scale + "; it must be finite");
            }
            if (a.isClosed()) {
                throw new IllegalStateException(a + " is closed");
            }
            if (a.model() != model) {
                throw new IllegalArgumentException(a + " was loaded for " + a.model().path().getFileName()
                        + ", not for this context's model " + model.path().getFileName());
            }
            next.put(a, scale);
        }
        whenIdle(() -> {
            int acquired = 0;
            try {
                for (LoraAdapter a : next.keySet()) {
                    a.acquire(); // throws if it closed meanwhile
                    acquired++;
                }
                LoraAdapter.apply(engine.handle(), next);
            } catch (RuntimeException | Error e) {
                next.keySet().stream().limit(acquired).forEach(LoraAdapter::release);
                throw e;
            }
            boolean changed = !effective(next).equals(effective(loraAdapters));
            releaseLoraAdapters();
            loraAdapters = Collections.unmodifiableMap(next);
            if (changed) { // the cached keys and values were computed with other weights
                engine.clear();
            }
        });
    }

    /** Removes every LoRA adapter from the context (and clears the KV cache if one was in effect). */
    public void clearLoraAdapters() {
        setLoraAdapters(Map.of());
    }

    /** {@return the LoRA adapters set on this context and their scales, in the order they were given; empty if none} */
    public Map<LoraAdapter, Float> loraAdapters() {
        return entered(() -> loraAdapters);
    }

    /** The adapters llama.cpp applies: those with a non-zero scale. */
    private static Map<LoraAdapter, Float> effective(Map<LoraAdapter, Float> scales) {
        Map<LoraAdapter, Float> out = new HashMap<>();
        scales.forEach((a, s) -> {
            if (s != 0f) {
                out.put(a, s);
            }
        });
        return out;
    }

    private void releaseLoraAdapters() {
        loraAdapters.keySet().forEach(LoraAdapter::release);
        loraAdapters = Map.of();
    }

    // ---- claims and checks ---------------------------------------------------------------------------------------

    /** Runs {@code op} with this thread inside the context. */
    private <T> T entered(Supplier<T> op) {
        engine.enter();
        try {
            return op.get();
        } finally {
            engine.exit();
        }
    }

    /** Runs a native operation that needs the context to itself: this thread inside, no generation open. */
    private <T> T whenIdle(Supplier<T> op) {
        engine.enterIdle();
        try {
            return op.get();
        } finally {
            engine.exit();
        }
    }

    private void whenIdle(Runnable op) {
        whenIdle(() -> {
            op.run();
            return null;
        });
    }

    private void checkSequence(int sequence) {
        int sequences = sequences();
        if (sequence < 0 || sequence >= sequences) {
            throw new IllegalArgumentException("sequence id " + sequence + " is out of range 0.." + (sequences - 1)
                    + " (ContextParams.withSequences sets how many a context holds)");
        }
    }

    private void checkRange(int sequence, int from, int to) {
        checkSequence(sequence);
        if (from < 0 || (to >= 0 && to < from)) {
            throw new IllegalArgumentException("bad position range [" + from + ", " + to + ")");
        }
    }

    /** Frees the context and its KV cache (closing an open generation first). Idempotent; refused while another thread is inside. */
    @Override
    public void close() {
        if (engine.close(() -> {
            if (engine.holder() instanceof Generation g) {
                g.release();
            }
        })) {
            releaseLoraAdapters();
            model.contextClosed();
        }
    }
}
