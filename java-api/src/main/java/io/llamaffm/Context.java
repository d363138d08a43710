package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_batch;
import io.llamaffm.bindings.llama_context_params;
import io.llamaffm.bindings.llama_set_abort_callback$abort_callback;
import io.llamaffm.internal.CpuThreadPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

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
 * <p>Closing is idempotent; after close every method throws {@link IllegalStateException}.
 */
public final class Context implements AutoCloseable {
    private static final int PIECE_BYTES = 256;

    private final Model model;
    private final Tokenizer tokenizer;
    private final Arena arena;
    private final MemorySegment handle;    // llama_context*, freed by llama_free when the arena closes
    private final MemorySegment memory;    // llama_memory_t of the context
    private final MemorySegment batch;     // one llama_batch struct, reused for every decode
    private final MemorySegment tokenBuf;  // batchSize token ids
    private final MemorySegment pieceBuf;  // one token's text
    private final byte[] pieceBytes = new byte[PIECE_BYTES];
    private final AtomicBoolean busy = new AtomicBoolean();
    private final int contextLength;
    private final int batchSize;
    private final int sequences;
    private final int tokensPerSequence;
    private final int microBatchSize;
    private final boolean embeddings;
    private final int[] cached;            // tokens in the KV cache of sequence 0, in order
    private int cachedCount;
    private volatile boolean cancelRequested;
    private volatile Thread worker;        // the thread inside a decode, for interrupts
    private final MemorySegment abortCallback;
    private boolean abortInstalled;
    private Generation active;             // an open generation holds the context
    private volatile boolean closed;
    private Map<LoraAdapter, Float> loraAdapters = Map.of(); // set on the native context, each acquired

    Context(Model model, ContextParams params) {
        this.model = model;
        this.tokenizer = model.tokenizer();
        model.contextOpened();
        Arena a = Arena.ofShared();
        try {
            MemorySegment cp = LlamaH.llama_context_default_params(a);
            llama_context_params.n_ctx(cp, params.contextLength());
            llama_context_params.n_batch(cp, params.batchSize());
            llama_context_params.n_ubatch(cp, params.microBatchSize());
            llama_context_params.n_threads(cp, params.threads());
            llama_context_params.n_threads_batch(cp, params.threads());
            llama_context_params.n_seq_max(cp, params.sequences());
            llama_context_params.type_k(cp, params.cacheType().ggmlType());
            llama_context_params.type_v(cp, params.cacheType().ggmlType());
            llama_context_params.flash_attn_type(cp, switch (params.flashAttention()) {
                case AUTO -> LlamaH.LLAMA_FLASH_ATTN_TYPE_AUTO();
                case ENABLED -> LlamaH.LLAMA_FLASH_ATTN_TYPE_ENABLED();
                case DISABLED -> LlamaH.LLAMA_FLASH_ATTN_TYPE_DISABLED();
            });
            llama_context_params.embeddings(cp, params.embeddings());
            // pooled embeddings need each sequence inside one micro-batch; a unified cache splits batches in order
            // (a split cache splits by sequence and would pool a long sequence in pieces)
            llama_context_params.kv_unified(cp, params.embeddings());
            llama_context_params.pooling_type(cp, switch (params.pooling()) {
                case MODEL -> LlamaH.LLAMA_POOLING_TYPE_UNSPECIFIED();
                case NONE -> LlamaH.LLAMA_POOLING_TYPE_NONE();
                case MEAN -> LlamaH.LLAMA_POOLING_TYPE_MEAN();
                case CLS -> LlamaH.LLAMA_POOLING_TYPE_CLS();
                case LAST -> LlamaH.LLAMA_POOLING_TYPE_LAST();
                case RANK -> LlamaH.LLAMA_POOLING_TYPE_RANK();
            });
            llama_context_params.no_perf(cp, true);
            // a persistent CPU thread pool, created first so that the arena frees it after the context (cleanups run
            // last-in first-out); without one ggml starts and joins its worker threads for every decoded token
            MemorySegment threadPool = CpuThreadPool.create(params.threads(), params.polling(), a);
            MemorySegment raw = LlamaH.llama_init_from_model(model.handle(), cp);
            if (raw.equals(MemorySegment.NULL)) {
                throw new LlamaException("llama.cpp could not create a context with " + params + " for "
                        + model.path().getFileName() + " (out of memory, or a setting the model or backend does not support)");
            }
            this.handle = raw.reinterpret(a, LlamaH::llama_free);
            if (!threadPool.equals(MemorySegment.NULL)) {
                LlamaH.llama_attach_threadpool(handle, threadPool, MemorySegment.NULL);
            }
            // aborts a running decode when cancel() is called or the decoding thread is interrupted; installed only for
            // decodes of several tokens (see decode), as ggml polls it once per graph node from its worker threads
            this.abortCallback = llama_set_abort_callback$abort_callback.allocate(data -> {
                Thread w = worker;
                return cancelRequested || (w != null && w.isInterrupted());
            }, a);
            this.memory = LlamaH.llama_get_memory(handle);
            this.contextLength = LlamaH.llama_n_ctx(handle);
            this.batchSize = LlamaH.llama_n_batch(handle);
            this.sequences = LlamaH.llama_n_seq_max(handle);
            this.tokensPerSequence = LlamaH.llama_n_ctx_seq(handle);
            this.embeddings = params.embeddings();
            this.microBatchSize = LlamaH.llama_n_ubatch(handle);
            this.batch = a.allocate(llama_batch.layout());
            this.tokenBuf = a.allocate(ValueLayout.JAVA_INT, batchSize);
            this.pieceBuf = a.allocate(PIECE_BYTES);
            this.cached = new int[contextLength];
            this.arena = a;
        } catch (RuntimeException | Error e) {
            a.close();
            model.contextClosed();
            throw e;
        }
    }

    /** {@return how many tokens the KV cache holds} */
    public int contextLength() {
        ensureOpen();
        return contextLength;
    }

    /** {@return the most tokens submitted to one decode} */
    public int batchSize() {
        ensureOpen();
        return batchSize;
    }

    /** {@return the model this context runs} */
    public Model model() {
        return model;
    }

    /** {@return the tokens in the KV cache (sequence 0), oldest first} */
    public int[] cachedTokens() {
        enter();
        try {
            return Arrays.copyOf(cached, cachedCount);
        } finally {
            exit();
        }
    }

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
        try (Generation g = start(prompt, params, sampler)) {
            int[] tokens = new int[Math.min(params.maxTokens(), 1024)];
            float[] logprobs = new float[params.logprobs() ? tokens.length : 0];
            int n = 0;
            StringBuilder text = new StringBuilder();
            for (int t; (t = g.nextToken()) >= 0; ) {
                if (n == tokens.length) {
                    tokens = Arrays.copyOf(tokens, Math.min(params.maxTokens(), n * 2));
                    logprobs = params.logprobs() ? Arrays.copyOf(logprobs, tokens.length) : logprobs;
                }
                if (params.logprobs()) {
                    logprobs[n] = g.logprob();
                }
                tokens[n++] = t;
                CharSequence delta = g.text();
                if (!delta.isEmpty()) {
                    text.append(delta);
                    if (onText != null) {
                        onText.accept(delta.toString());
                    }
                }
            }
            CharSequence tail = g.text(); // text held back for stop strings or UTF-8, released at the end
            if (!tail.isEmpty()) {
                text.append(tail);
                if (onText != null) {
                    onText.accept(tail.toString());
                }
            }
            return new Completion(text.toString(), Arrays.copyOf(tokens, n), Arrays.copyOf(logprobs, params.logprobs() ? n : 0),
                    prompt.length, g.reusedTokens(), g.stopReason(), g.timings());
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
        if (!sampler.picksToken()) {
            throw new IllegalArgumentException("the sampler chain must end with a stage that picks the token (Greedy, Dist, Mirostat)");
        }
        tokenizer.checkTokens(prompt);
        enter();
        try {
            if (active != null) {
                throw new IllegalStateException("a generation is still open on this context: close it first");
            }
            if (prompt.length == 0) {
                throw new IllegalArgumentException("the prompt has no tokens");
            }
            if (prompt.length >= tokensPerSequence) {
                throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds "
                        + tokensPerSequence + (sequences > 1 ? " per sequence" : "")
                        + ": shorten it or create the context with a larger contextLength");
            }
            cancelRequested = false;
            Sampler s = Sampler.create(model, sampler);
            try {
                Generation g = new Generation(this, s, params, prompt);
                if (!g.released()) { // a prompt decode cancelled at once ends the generation before it starts
                    active = g;
                }
                return g;
            } catch (RuntimeException | Error e) {
                s.close();
                throw e;
            }
        } finally {
            exit();
        }
    }

    /**
     * Generates continuations of several prompts together, one sequence each, in shared decode batches. The context
     * needs at least {@code prompts.size()} sequences ({@link ContextParams#withSequences}); each sequence gets its own
     * sampler from {@code sampler} (same seed for all). Starts from an empty KV cache.
     *
     * @param prompts the prompts, at most the context's sequence count
     * @param params  token budget, stop strings, ignore-EOS, logprobs (the same for every prompt)
     * @param sampler the decoding strategy; must end with a stage that picks the token
     * @param onText  receives (prompt index, text) as text is produced; may be null
     * @return one completion per prompt, in order
     */
    public java.util.List<Completion> generateAll(java.util.List<String> prompts, GenerationParams params, SamplerChain sampler,
                                                  java.util.function.BiConsumer<Integer, String> onText) {
        if (!sampler.picksToken()) {
            throw new IllegalArgumentException("the sampler chain must end with a stage that picks the token (Greedy, Dist, Mirostat)");
        }
        int n = prompts.size();
        if (n == 0 || n > sequences) {
            throw new IllegalArgumentException(n + " prompts but the context holds " + sequences
                    + " sequences (ContextParams.withSequences)");
        }
        int perSequence = tokensPerSequence;
        int[][] promptTokens = new int[n][];
        for (int i = 0; i < n; i++) {
            promptTokens[i] = tokenizer.encode(prompts.get(i));
            if (promptTokens[i].length == 0 || promptTokens[i].length >= perSequence) {
                throw new IllegalArgumentException("prompt " + i + " has " + promptTokens[i].length
                        + " tokens; each sequence holds " + perSequence);
            }
        }
        enter();
        Sampler[] samplers = new Sampler[n];
        try {
            requireIdle();
            cancelRequested = false;
            LlamaH.llama_memory_clear(memory, true);
            cachedCount = 0;
            for (int i = 0; i < n; i++) {
                samplers[i] = Sampler.create(model, sampler);
            }
            return new ParallelGeneration(this, promptTokens, samplers, params, perSequence, onText).run();
        } finally {
            for (Sampler s : samplers) {
                if (s != null) {
                    s.close();
                }
            }
            LlamaH.llama_memory_clear(memory, true); // sequences 1.. are not tracked for prefix reuse
            cachedCount = 0;
            exit();
        }
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
        return embed(java.util.List.of(text), params).getFirst();
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
    public java.util.List<Embedding> embed(java.util.List<String> texts, EmbeddingParams params) {
        requireEmbeddings();
        java.util.List<int[]> tokens = new java.util.ArrayList<>(texts.size());
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
    public float[] rank(String query, java.util.List<String> documents, EmbeddingParams params) {
        requireEmbeddings();
        int[] q = tokenizer.encode(query, true, false);
        java.util.List<int[]> pairs = new java.util.ArrayList<>(documents.size());
        int bos = tokenizer.bos();
        for (String d : documents) {
            int[] doc = tokenizer.encode(d, true, false);
            int skip = doc.length > 0 && doc[0] == bos ? 1 : 0; // the document's own [CLS] goes
            int[] pair = java.util.Arrays.copyOf(q, q.length + doc.length - skip);
            System.arraycopy(doc, skip, pair, q.length, doc.length - skip);
            pairs.add(pair);
        }
        java.util.List<Embedding> scores = embedTokenized(pairs, params.withNormalize(false), true);
        float[] out = new float[scores.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = scores.get(i).vector()[0];
        }
        return out;
    }

    private java.util.List<Embedding> embedTokenized(java.util.List<int[]> texts, EmbeddingParams params, boolean ranking) {
        int[][] tokens = new int[texts.size()][];
        boolean[] truncated = new boolean[texts.size()];
        int limit = Math.min(microBatchSize, tokensPerSequence);
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
                t = java.util.Arrays.copyOf(t, limit);
                t[limit - 1] = last;
                truncated[i] = true;
            }
            tokens[i] = t;
        }
        return whenIdle(() -> {
            int pooling = LlamaH.llama_pooling_type(handle);
            if (pooling == LlamaH.LLAMA_POOLING_TYPE_NONE()) {
                throw new IllegalStateException("this context has no pooling (NONE): use embedTokens for token vectors");
            }
            if (ranking != (pooling == LlamaH.LLAMA_POOLING_TYPE_RANK())) {
                throw new IllegalStateException(ranking ? "ranking needs a context with rank pooling (ContextParams.withPooling(RANK))"
                        : "this context ranks (rank pooling): use rank(query, documents, params)");
            }
            int dim = pooling == LlamaH.LLAMA_POOLING_TYPE_RANK() ? LlamaH.llama_model_n_cls_out(model.handle())
                    : LlamaH.llama_model_n_embd_out(model.handle());
            java.util.List<Embedding> out = new java.util.ArrayList<>(tokens.length);
            int[] batchTokens = new int[microBatchSize];
            int[] pos = new int[microBatchSize];
            int[] seq = new int[microBatchSize];
            boolean[] outputs = new boolean[microBatchSize];
            java.util.Arrays.fill(outputs, true);
            int next = 0;
            while (next < tokens.length) {
                LlamaH.llama_memory_clear(memory, true);
                cachedCount = 0;
                int first = next;
                int filled = 0;
                while (next < tokens.length && next - first < sequences && filled + tokens[next].length <= microBatchSize) {
                    for (int j = 0; j < tokens[next].length; j++) {
                        batchTokens[filled] = tokens[next][j];
                        pos[filled] = j;
                        seq[filled] = next - first;
                        filled++;
                    }
                    next++;
                }
                decodeMulti(filled, batchTokens, pos, seq, outputs);
                for (int i = first; i < next; i++) {
                    MemorySegment e = LlamaH.llama_get_embeddings_seq(handle, i - first);
                    if (e.equals(MemorySegment.NULL)) {
                        throw new LlamaException("llama.cpp returned no embedding for sequence " + (i - first));
                    }
                    float[] v = e.reinterpret((long) dim * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                    if (params.normalize()) {
                        io.llamaffm.embeddings.Similarity.l2Normalize(v);
                    }
                    out.add(new Embedding(v, tokens[i].length, truncated[i]));
                }
            }
            LlamaH.llama_memory_clear(memory, true);
            return out;
        });
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
        if (t.length == 0 || t.length > microBatchSize) {
            throw new IllegalArgumentException("text has " + t.length + " tokens; token embeddings need 1.." + microBatchSize);
        }
        return whenIdle(() -> {
            if (LlamaH.llama_pooling_type(handle) != LlamaH.LLAMA_POOLING_TYPE_NONE()) {
                throw new IllegalStateException("token vectors need a context with ContextParams.withPooling(Pooling.NONE)");
            }
            LlamaH.llama_memory_clear(memory, true);
            cachedCount = 0;
            int[] pos = new int[t.length];
            int[] seq = new int[t.length];
            boolean[] outputs = new boolean[t.length];
            for (int i = 0; i < t.length; i++) {
                pos[i] = i;
                outputs[i] = true;
            }
            decodeMulti(t.length, t, pos, seq, outputs);
            int dim = LlamaH.llama_model_n_embd_out(model.handle());
            float[][] rows = new float[t.length][];
            for (int i = 0; i < t.length; i++) {
                rows[i] = LlamaH.llama_get_embeddings_ith(handle, i).reinterpret((long) dim * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
            }
            LlamaH.llama_memory_clear(memory, true);
            return rows;
        });
    }

    /** {@return the most tokens computed at once inside one decode (an embedded text's limit)} */
    public int microBatchSize() {
        ensureOpen();
        return microBatchSize;
    }

    private void requireEmbeddings() {
        ensureOpen();
        if (!embeddings) {
            throw new IllegalStateException("create the context with ContextParams.withEmbeddings(true) to embed");
        }
    }

    /** Asks a running decode or generation to stop; safe from any thread. The context stays usable. */
    public void cancel() {
        cancelRequested = true;
    }

    /** Empties the KV cache. */
    public void clear() {
        whenIdle(() -> {
            LlamaH.llama_memory_clear(memory, true);
            cachedCount = 0;
        });
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
                LoraAdapter.apply(handle, next);
            } catch (RuntimeException | Error e) {
                next.keySet().stream().limit(acquired).forEach(LoraAdapter::release);
                throw e;
            }
            boolean changed = !effective(next).equals(effective(loraAdapters));
            releaseLoraAdapters();
            loraAdapters = Collections.unmodifiableMap(next);
            if (changed) { // the cached keys and values were computed with other weights
                LlamaH.llama_memory_clear(memory, true);
                cachedCount = 0;
            }
        });
    }

    /** Removes every LoRA adapter from the context (and clears the KV cache if one was in effect). */
    public void clearLoraAdapters() {
        setLoraAdapters(Map.of());
    }

    /** {@return the LoRA adapters set on this context and their scales, in the order they were given; empty if none} */
    public Map<LoraAdapter, Float> loraAdapters() {
        enter();
        try {
            return loraAdapters;
        } finally {
            exit();
        }
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

    // ---- KV cache operations -------------------------------------------------------------------------------

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
        return whenIdle(() -> {
            boolean ok = LlamaH.llama_memory_seq_rm(memory, sequence, from, to);
            if (ok && sequence == 0) {
                cachedCount = to < 0 || to >= cachedCount ? Math.min(cachedCount, from) : 0; // a hole: forget the prefix
            }
            return ok;
        });
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
        whenIdle(() -> {
            LlamaH.llama_memory_seq_cp(memory, source, target, from, to);
            if (target == 0) {
                cachedCount = 0;
            }
        });
    }

    /**
     * Removes every sequence but {@code sequence}.
     *
     * @param sequence the sequence kept
     */
    public void keepSequence(int sequence) {
        checkSequence(sequence);
        whenIdle(() -> {
            // llama_memory_seq_keep leaves the other streams of a non-unified cache alone: remove them one by one
            for (int s = 0; s < sequences; s++) {
                if (s != sequence) {
                    LlamaH.llama_memory_seq_rm(memory, s, -1, -1);
                }
            }
            if (sequence != 0) {
                cachedCount = 0;
            }
        });
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
        whenIdle(() -> {
            if (!LlamaH.llama_memory_can_shift(memory)) {
                throw new IllegalStateException("this model's KV cache cannot shift positions");
            }
            LlamaH.llama_memory_seq_add(memory, sequence, from, to, delta);
            if (sequence == 0) {
                cachedCount = 0; // positions no longer match token indexes
            }
        });
    }

    /**
     * The highest position a sequence holds in the KV cache.
     *
     * @param sequence the sequence id
     * @return the highest position, or -1 when the sequence is empty
     */
    public int maxPosition(int sequence) {
        checkSequence(sequence);
        enter();
        try {
            return LlamaH.llama_memory_seq_pos_max(memory, sequence);
        } finally {
            exit();
        }
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
        return whenIdle(() -> {
            long size = LlamaH.llama_state_get_size(handle);
            MemorySegment data = owner.allocate(size, 16);
            long written = LlamaH.llama_state_get_data(handle, data, size);
            if (written != size) {
                throw new LlamaException("llama_state_get_data wrote " + written + " of " + size + " bytes");
            }
            return new ContextState(data, Arrays.copyOf(cached, cachedCount), -1);
        });
    }

    /**
     * Saves one sequence's KV cache into memory owned by {@code owner}.
     *
     * @param owner    the arena that owns the saved bytes
     * @param sequence the sequence saved
     * @return the saved state
     */
    public ContextState saveSequence(Arena owner, int sequence) {
        checkSequence(sequence);
        return whenIdle(() -> {
            long size = LlamaH.llama_state_seq_get_size(handle, sequence);
            MemorySegment data = owner.allocate(Math.max(1, size), 16);
            long written = LlamaH.llama_state_seq_get_data(handle, data, size, sequence);
            if (written != size) {
                throw new LlamaException("llama_state_seq_get_data wrote " + written + " of " + size + " bytes");
            }
            int[] tokens = sequence == 0 ? Arrays.copyOf(cached, cachedCount) : new int[0];
            return new ContextState(data.asSlice(0, size), tokens, sequence);
        });
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
        whenIdle(() -> {
            MemorySegment data = state.data();
            long read = target == -1 ? LlamaH.llama_state_set_data(handle, data, data.byteSize())
                    : LlamaH.llama_state_seq_set_data(handle, data, data.byteSize(), target);
            if (read == 0) {
                cachedCount = 0;
                throw new LlamaException("llama.cpp rejected the saved state (from another model or context size?)");
            }
            if (target <= 0) {
                int[] t = state.tokens();
                System.arraycopy(t, 0, cached, 0, Math.min(t.length, cached.length));
                cachedCount = Math.min(t.length, cached.length);
            }
        });
    }

    /**
     * Saves the whole context and its cached tokens to a file.
     *
     * @param file the file written (replaced if it exists)
     */
    public void saveState(Path file) {
        enter();
        try (Arena tmp = Arena.ofConfined()) {
            requireIdle();
            MemorySegment tokens = tmp.allocate(ValueLayout.JAVA_INT, Math.max(1, cachedCount));
            MemorySegment.copy(cached, 0, tokens, ValueLayout.JAVA_INT, 0, cachedCount);
            if (!LlamaH.llama_state_save_file(handle, tmp.allocateFrom(file.toAbsolutePath().toString()), tokens, cachedCount)) {
                throw new LlamaException("could not save the context state to " + file);
            }
        } finally {
            exit();
        }
    }

    /**
     * Loads a state saved by {@link #saveState(Path)}.
     *
     * @param file the file read
     */
    public void loadState(Path file) {
        enter();
        try (Arena tmp = Arena.ofConfined()) {
            requireIdle();
            MemorySegment tokens = tmp.allocate(ValueLayout.JAVA_INT, contextLength);
            MemorySegment count = tmp.allocate(ValueLayout.JAVA_LONG);
            if (!LlamaH.llama_state_load_file(handle, tmp.allocateFrom(file.toAbsolutePath().toString()), tokens,
                    contextLength, count)) {
                cachedCount = 0;
                throw new LlamaException("could not load a context state from " + file
                        + " (missing, corrupt, or saved from another model or context size)");
            }
            int n = (int) count.get(ValueLayout.JAVA_LONG, 0);
            MemorySegment.copy(tokens, ValueLayout.JAVA_INT, 0, cached, 0, n);
            cachedCount = n;
        } finally {
            exit();
        }
    }

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
        if (tokens.length > tokensPerSequence) {
            throw new IllegalArgumentException("the text has " + tokens.length + " tokens but the context holds " + tokensPerSequence);
        }
        return whenIdle(() -> {
            LlamaH.llama_memory_clear(memory, true);
            cachedCount = 0;
            float[] logprobs = new float[tokens.length - 1];
            MemorySegment outputs = outputFlags();
            for (int off = 0; off < tokens.length; off += batchSize) {
                int n = Math.min(batchSize, tokens.length - off);
                MemorySegment.copy(tokens, off, tokenBuf, ValueLayout.JAVA_INT, 0, n);
                decodeBuffer(n, tokens, off, outputs);
                for (int i = 0; i < n; i++) {
                    int next = off + i + 1;
                    if (next < tokens.length) {
                        logprobs[next - 1] = logprob(LlamaH.llama_get_logits_ith(handle, i), tokens[next]);
                    }
                }
            }
            double sum = 0;
            for (float lp : logprobs) {
                sum += lp;
            }
            return new TextScore(tokens, logprobs, Math.exp(-sum / logprobs.length));
        });
    }

    private MemorySegment outputFlagsBuf;

    /** One output flag per batch slot, all set: logits for every token. */
    private MemorySegment outputFlags() {
        if (outputFlagsBuf == null) {
            outputFlagsBuf = arena.allocate(batchSize);
            outputFlagsBuf.fill((byte) 1);
        }
        return outputFlagsBuf;
    }

    /** log p(token) from a row of raw logits: logit - logsumexp, read straight from native memory. */
    private float logprob(MemorySegment row, int token) {
        MemorySegment logits = logitsRow(row);
        return (float) (logits.getAtIndex(ValueLayout.JAVA_FLOAT, token) - logSumExp(logits));
    }

    private MemorySegment logitsView; // the last row viewed: generation reads the same row every token

    /** A row of logits as a segment of the vocabulary's size; the view is re-made only when the row moves. */
    private MemorySegment logitsRow(MemorySegment row) {
        MemorySegment view = logitsView;
        if (view == null || view.address() != row.address()) {
            logitsView = view = row.reinterpret((long) tokenizer.vocabularySize() * Float.BYTES);
        }
        return view;
    }

    private static double logSumExp(MemorySegment logits) {
        long n = logits.byteSize() / Float.BYTES;
        float max = Float.NEGATIVE_INFINITY;
        for (long i = 0; i < n; i++) {
            max = Math.max(max, logits.getAtIndex(ValueLayout.JAVA_FLOAT, i));
        }
        double sum = 0;
        for (long i = 0; i < n; i++) {
            sum += Math.exp(logits.getAtIndex(ValueLayout.JAVA_FLOAT, i) - max);
        }
        return max + Math.log(sum);
    }

    // ---- used by Generation ------------------------------------------------------------------------------------

    /** Log-probability of {@code token} under the logits of the last decoded token. */
    float logprobOfLast(int token) {
        return logprob(LlamaH.llama_get_logits_ith(handle, -1), token);
    }

    /** Makes the KV cache hold {@code prompt} and its logits; returns how many tokens were reused from the cache. */
    int preparePrompt(int[] prompt) {
        int common = 0;
        int limit = Math.min(cachedCount, prompt.length);
        while (common < limit && cached[common] == prompt[common]) {
            common++;
        }
        if (common == prompt.length) {
            common--; // the last prompt token must be decoded again for its logits
        }
        if (common < cachedCount && !LlamaH.llama_memory_seq_rm(memory, 0, common, -1)) {
            LlamaH.llama_memory_clear(memory, true);
            common = 0;
        }
        cachedCount = common;
        for (int off = common; off < prompt.length; off += batchSize) {
            int n = Math.min(batchSize, prompt.length - off);
            MemorySegment.copy(prompt, off, tokenBuf, ValueLayout.JAVA_INT, 0, n);
            decodeBuffer(n, prompt, off, MemorySegment.NULL);
        }
        return common;
    }

    /** Decodes one generated token at the end of sequence 0. */
    void decodeOne(int token) {
        if (cachedCount >= tokensPerSequence) {
            throw new DecodeException(1);
        }
        tokenBuf.setAtIndex(ValueLayout.JAVA_INT, 0, token);
        cached[cachedCount] = token; // recorded by decodeBuffer only once the decode succeeded
        decodeBuffer(1, cached, cachedCount, MemorySegment.NULL);
    }

    /**
     * Runs llama_decode on the prepared batch. A decode of several tokens can be aborted from Java (an upcall that ggml
     * polls per graph node); a one-token decode is too short to need it and skips that per-node upcall, which would
     * otherwise cost more than the decode itself on small models (cancellation then acts between tokens).
     */
    private int runDecode(int n) {
        boolean wantAbort = n > 1;
        if (wantAbort != abortInstalled) {
            LlamaH.llama_set_abort_callback(handle, wantAbort ? abortCallback : MemorySegment.NULL, MemorySegment.NULL);
            abortInstalled = wantAbort;
        }
        worker = Thread.currentThread();
        try {
            return LlamaH.llama_decode(handle, batch);
        } finally {
            worker = null;
        }
    }

    /** Decodes tokenBuf[0..n) at the end of sequence 0; {@code outputs}: per-token output flags, or NULL for the last only. */
    private void decodeBuffer(int n, int[] source, int offset, MemorySegment outputs) {
        if (cachedCount + n > tokensPerSequence) {
            throw new DecodeException(1);
        }
        llama_batch.n_tokens(batch, n);
        llama_batch.token(batch, tokenBuf);
        llama_batch.embd(batch, MemorySegment.NULL);
        llama_batch.pos(batch, MemorySegment.NULL);
        llama_batch.n_seq_id(batch, MemorySegment.NULL);
        llama_batch.seq_id(batch, MemorySegment.NULL);
        llama_batch.logits(batch, outputs);
        int rc = runDecode(n);
        if (rc != 0) {
            if (rc == 2 || rc < 0) {
                // aborted or failed part-way: trust the cache only up to what llama.cpp reports
                cachedCount = Math.max(0, Math.min(cachedCount, LlamaH.llama_memory_seq_pos_max(memory, 0) + 1));
            }
            throw new DecodeException(rc);
        }
        if (source != cached) {
            System.arraycopy(source, offset, cached, cachedCount, n);
        }
        cachedCount += n;
    }

    int sample(Sampler sampler) {
        return sampler.sample(handle);
    }

    /** Appends {@code tokens[0..n)} to sequence 0 with logits for every one of them (output i = token i). */
    void decodeAllOutputs(int[] tokens, int n) {
        if (n > batchSize) {
            throw new IllegalArgumentException("at most " + batchSize + " tokens per verification batch");
        }
        MemorySegment.copy(tokens, 0, tokenBuf, ValueLayout.JAVA_INT, 0, n);
        decodeBuffer(n, tokens, 0, outputFlags());
    }

    /** Writes the log-softmax of output {@code index} of the last decode into {@code out} (one value per token). */
    void logSoftmaxAt(int index, float[] out) {
        MemorySegment logits = logitsRow(LlamaH.llama_get_logits_ith(handle, index));
        float lse = (float) logSumExp(logits);
        for (int i = 0; i < out.length; i++) {
            out[i] = logits.getAtIndex(ValueLayout.JAVA_FLOAT, i) - lse;
        }
    }

    void copySequenceUnchecked(int source, int target) {
        LlamaH.llama_memory_seq_rm(memory, target, -1, -1);
        LlamaH.llama_memory_seq_cp(memory, source, target, -1, -1);
    }

    MemorySegment memory() {
        return memory;
    }

    /** Tokens one sequence can hold (the context length divided among the sequences unless the cache is unified). */
    int tokensPerSequence() {
        ensureOpen();
        return tokensPerSequence;
    }

    int sequenceCount() {
        return sequences;
    }

    /** Drops sequence 0's cache after its first {@code keep} tokens. */
    void truncate(int keep) {
        if (keep < cachedCount) {
            if (!LlamaH.llama_memory_seq_rm(memory, 0, keep, -1)) {
                throw new LlamaException("this model's cache cannot drop the tail of a sequence (recurrent model)");
            }
            cachedCount = keep;
        }
    }

    int sample(Sampler sampler, int outputIndex) {
        return sampler.sample(handle, outputIndex);
    }

    // ---- multi-sequence batches: explicit positions, sequence ids and output flags ------------------------------

    private MemorySegment posBuf, nSeqBuf, seqPtrBuf, seqValBuf, outBuf;

    /**
     * Decodes {@code n} tokens, token i at position {@code pos[i]} of sequence {@code seq[i]}, computing logits
     * where {@code output[i]}. Does not touch the sequence-0 prefix bookkeeping (callers reset it).
     */
    void decodeMulti(int n, int[] tokens, int[] pos, int[] seq, boolean[] output) {
        if (n < 1 || n > batchSize) {
            throw new IllegalArgumentException("a batch holds 1.." + batchSize + " tokens, got " + n);
        }
        if (posBuf == null) {
            posBuf = arena.allocate(ValueLayout.JAVA_INT, batchSize);
            nSeqBuf = arena.allocate(ValueLayout.JAVA_INT, batchSize);
            seqValBuf = arena.allocate(ValueLayout.JAVA_INT, batchSize);
            seqPtrBuf = arena.allocate(ValueLayout.ADDRESS, batchSize);
            outBuf = arena.allocate(batchSize);
            for (int i = 0; i < batchSize; i++) {
                nSeqBuf.setAtIndex(ValueLayout.JAVA_INT, i, 1);
                seqPtrBuf.setAtIndex(ValueLayout.ADDRESS, i, seqValBuf.asSlice((long) i * Integer.BYTES, Integer.BYTES));
            }
        }
        for (int i = 0; i < n; i++) {
            tokenBuf.setAtIndex(ValueLayout.JAVA_INT, i, tokens[i]);
            posBuf.setAtIndex(ValueLayout.JAVA_INT, i, pos[i]);
            seqValBuf.setAtIndex(ValueLayout.JAVA_INT, i, seq[i]);
            outBuf.set(ValueLayout.JAVA_BYTE, i, (byte) (output[i] ? 1 : 0));
        }
        llama_batch.n_tokens(batch, n);
        llama_batch.token(batch, tokenBuf);
        llama_batch.embd(batch, MemorySegment.NULL);
        llama_batch.pos(batch, posBuf);
        llama_batch.n_seq_id(batch, nSeqBuf);
        llama_batch.seq_id(batch, seqPtrBuf);
        llama_batch.logits(batch, outBuf);
        int rc = runDecode(n);
        if (rc != 0) {
            throw new DecodeException(rc);
        }
    }

    /** Copies the piece of {@code token} into {@link #pieceBytes()}; returns its length. */
    int piece(int token) {
        int n = tokenizer.pieceInto(token, pieceBuf);
        if (n < 0 || n > PIECE_BYTES) {
            throw new LlamaException("token " + token + " has a piece longer than " + PIECE_BYTES + " bytes");
        }
        MemorySegment.copy(pieceBuf, ValueLayout.JAVA_BYTE, 0, pieceBytes, 0, n);
        return n;
    }

    byte[] pieceBytes() {
        return pieceBytes;
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    int cachedCount() {
        return cachedCount;
    }

    boolean cancelRequested() {
        return cancelRequested;
    }

    void generationClosed(Generation g) {
        if (active == g) {
            active = null;
        }
    }

    /** Claims the context for the calling thread's native call. */
    void enter() {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("this context is in use by another thread; a context serves one thread at a time");
        }
        if (closed) {
            busy.set(false);
            throw new IllegalStateException("context is closed");
        }
    }

    void exit() {
        busy.set(false);
    }

    /** Runs a native operation that needs the context to itself: this thread inside, no generation open. */
    private <T> T whenIdle(java.util.function.Supplier<T> op) {
        enter();
        try {
            requireIdle();
            return op.get();
        } finally {
            exit();
        }
    }

    private void whenIdle(Runnable op) {
        whenIdle(() -> {
            op.run();
            return null;
        });
    }

    private void requireIdle() {
        if (active != null) {
            throw new IllegalStateException("a generation is open on this context: close it first");
        }
    }

    private void checkSequence(int sequence) {
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

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("context is closed");
        }
    }

    /** Frees the context and its KV cache (closing an open generation first). Idempotent; refused while another thread is inside. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("cannot close a context while another thread is using it");
        }
        try {
            if (closed) {
                return;
            }
            if (active != null) {
                active.release();
                active = null;
            }
            arena.close();
            closed = true;
            releaseLoraAdapters();
            model.contextClosed();
        } finally {
            busy.set(false);
        }
    }
}
