package io.llamaffm.internal.engine;

import io.llamaffm.ContextParams;
import io.llamaffm.DecodeException;
import io.llamaffm.LlamaException;
import io.llamaffm.Sampler;
import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_context_params;
import io.llamaffm.bindings.llama_set_abort_callback$abort_callback;
import io.llamaffm.internal.CpuThreadPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one decode path of a context: owns the {@code llama_context} (through a {@link NativeOwner}), its one
 * {@link Batch}, and the record of which tokens each sequence of the KV cache holds. {@link #decode(Batch)} is the only
 * place that calls {@code llama_decode}, and every change to the KV cache (decode, partial decode, clear, remove, copy,
 * shift, state restore) updates the record here, so prefix reuse can trust it.
 *
 * <p>It also keeps the context's claims: one thread inside at a time ({@link #enter()}), and one holder (an open
 * generation) that keeps every other use out ({@link #hold}, {@link #requireIdle()}).
 */
public final class Engine implements AutoCloseable {
    private final NativeOwner owner;
    private final MemorySegment handle;      // llama_context*
    private final MemorySegment memory;      // llama_memory_t
    private final MemorySegment model;       // llama_model*: the model outlives its contexts
    private final MemorySegment vocab;       // llama_vocab*
    private final int vocabularySize;
    private final int contextLength;
    private final int batchSize;
    private final int microBatchSize;
    private final int sequences;
    private final int tokensPerSequence;
    private final Batch batch;
    private final int[][] known;             // per sequence: the tokens at positions 0..knownCount-1, allocated on first use
    private final int[] knownCount;
    private final MemorySegment abortCallback;
    private boolean abortInstalled;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean cancelRequested;
    private volatile Thread worker;          // the thread inside a decode, for interrupts
    private volatile boolean closed;
    private Object holder;                   // an open generation holds the context
    private final PieceBuffer pieces;        // one token's text
    private final int threads;               // the computation's CPU threads and their polling level
    private final int polling;
    private MemorySegment attachedPool = MemorySegment.NULL; // the ggml pool attached last (by the thread in its turn)
    private int lastOutput;                  // batch index of the last prompt token's logits after prefill
    private MemorySegment logitsView;        // the last row of logits viewed
    private long decodes;                    // successful llama_decode calls

    /**
     * Creates a context for a loaded model.
     *
     * @param model     the model's {@code llama_model*}
     * @param params    the context's settings
     * @param cacheType the ggml type of the KV cache ({@code params.cacheType()} as llama.cpp names it)
     * @param modelName the model's name, for messages
     */
    public Engine(MemorySegment model, ContextParams params, int cacheType, String modelName) {
        this.owner = NativeOwner.open(a -> LlamaH.llama_init_from_model(model, nativeParams(a, params, cacheType)), LlamaH::llama_free, () -> new LlamaException("llama.cpp could not create a context with " + params + " for "
                + modelName + " (out of memory, or a setting the model or backend does not support)"));
        try {
            this.handle = owner.handle();
            this.threads = params.threads();
            this.polling = params.polling();
            Arena a = owner.arena();
            // aborts a running decode when cancel() is called or the decoding thread is interrupted; installed only for
            // decodes of several tokens (see runDecode), as ggml polls it once per graph node from its worker threads
            this.abortCallback = llama_set_abort_callback$abort_callback.allocate(data -> {
                Thread w = worker;
                return cancelRequested || (w != null && w.isInterrupted());
            }, a);
            this.memory = LlamaH.llama_get_memory(handle);
            this.model = model;
            this.vocab = LlamaH.llama_model_get_vocab(model);
            this.vocabularySize = LlamaH.llama_vocab_n_tokens(vocab);
            this.contextLength = LlamaH.llama_n_ctx(handle);
            this.batchSize = LlamaH.llama_n_batch(handle);
            this.microBatchSize = LlamaH.llama_n_ubatch(handle);
            this.sequences = LlamaH.llama_n_seq_max(handle);
            this.tokensPerSequence = LlamaH.llama_n_ctx_seq(handle);
            this.batch = new Batch(a, batchSize);
            this.known = new int[sequences][];
            this.knownCount = new int[sequences];
            this.pieces = new PieceBuffer(a, 64);
        } catch (RuntimeException | Error e) {
            owner.close();
            throw e;
        }
    }

    private static MemorySegment nativeParams(Arena a, ContextParams params, int cacheType) {
        MemorySegment cp = LlamaH.llama_context_default_params(a);
        llama_context_params.n_ctx(cp, params.contextLength());
        llama_context_params.n_batch(cp, params.batchSize());
        llama_context_params.n_ubatch(cp, params.microBatchSize());
        llama_context_params.n_threads(cp, params.threads());
        llama_context_params.n_threads_batch(cp, params.threads());
        llama_context_params.n_seq_max(cp, params.sequences());
        llama_context_params.type_k(cp, cacheType);
        llama_context_params.type_v(cp, cacheType);
        llama_context_params.flash_attn_type(cp, switch (params.flashAttention()) {
            case AUTO -> LlamaH.LLAMA_FLASH_ATTN_TYPE_AUTO();
            case ENABLED -> LlamaH.LLAMA_FLASH_ATTN_TYPE_ENABLED();
            case DISABLED -> LlamaH.LLAMA_FLASH_ATTN_TYPE_DISABLED();
        });
        llama_context_params.embeddings(cp, params.embeddings());
        // pooled embeddings need each sequence inside one micro-batch; a unified cache splits batches in order
        // (a split cache splits by sequence and would pool a long sequence in pieces)
        llama_context_params.kv_unified(cp, params.embeddings() || params.unifiedCache());
        llama_context_params.pooling_type(cp, switch (params.pooling()) {
            case MODEL -> LlamaH.LLAMA_POOLING_TYPE_UNSPECIFIED();
            case NONE -> LlamaH.LLAMA_POOLING_TYPE_NONE();
            case MEAN -> LlamaH.LLAMA_POOLING_TYPE_MEAN();
            case CLS -> LlamaH.LLAMA_POOLING_TYPE_CLS();
            case LAST -> LlamaH.LLAMA_POOLING_TYPE_LAST();
            case RANK -> LlamaH.LLAMA_POOLING_TYPE_RANK();
        });
        llama_context_params.no_perf(cp, true);
        return cp;
    }

    // ---- sizes -------------------------------------------------------------------------------------------------

    /** {@return the {@code llama_context*}} */
    public MemorySegment handle() {
        return handle;
    }

    public int contextLength() {
        return contextLength;
    }

    public int batchSize() {
        return batchSize;
    }

    public int microBatchSize() {
        return microBatchSize;
    }

    public int sequences() {
        return sequences;
    }

    /** {@return the tokens one sequence can hold (the context length divided among the sequences unless the cache is unified)} */
    public int tokensPerSequence() {
        return tokensPerSequence;
    }

    public int vocabularySize() {
        return vocabularySize;
    }

    /** {@return the size of an output vector: the classification head's outputs when {@code ranking}, else the embedding size} */
    public int outputDimension(boolean ranking) {
        return ranking ? LlamaH.llama_model_n_cls_out(model) : LlamaH.llama_model_n_embd_out(model);
    }

    /** {@return the context's one batch, to fill and pass to {@link #decode}} */
    public Batch batch() {
        return batch;
    }

    // ---- claims: one thread inside, one holder ------------------------------------------------------------------

    /** Claims the context for the calling thread's native call; pair with {@link #exit()}. */
    public void enter() {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("this context is in use by another thread; a context serves one thread at a time");
        }
        if (closed) {
            busy.set(false);
            throw new IllegalStateException("context is closed");
        }
    }

    public void exit() {
        busy.set(false);
    }

    /** Claims the context for a whole operation that needs it to itself: entered, and no generation open. */
    public void enterIdle() {
        enter();
        try {
            requireIdle();
        } catch (RuntimeException e) {
            exit();
            throw e;
        }
    }

    /** @throws IllegalStateException if a generation holds the context */
    public void requireIdle() {
        if (holder != null) {
            throw new IllegalStateException("a generation is still open on this context: close it first");
        }
    }

    /** Makes {@code h} the context's holder (an open generation); other operations are refused until it releases. */
    public void hold(Object h) {
        requireIdle();
        holder = h;
    }

    /** Ends {@code h}'s hold, if it holds the context. */
    public void release(Object h) {
        if (holder == h) {
            holder = null;
        }
    }

    /** {@return the open generation holding the context, or null} */
    public Object holder() {
        return holder;
    }

    public void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("context is closed");
        }
    }

    /** Asks a running decode or generation to stop; safe from any thread. */
    public void cancel() {
        cancelRequested = true;
    }

    /** Forgets an earlier {@link #cancel()}: called as an operation starts. */
    public void resetCancel() {
        cancelRequested = false;
    }

    /** {@return whether {@link #cancel()} was called or the calling thread is interrupted} */
    public boolean stopRequested() {
        return cancelRequested || Thread.currentThread().isInterrupted();
    }

    // ---- the decode ----------------------------------------------------------------------------------------------

    /**
     * Decodes the batch: the one call of {@code llama_decode}. On success each token extends its sequence's record
     * when it lands right after what the record holds; on failure (including an abort part-way) every sequence of the
     * batch is cut back to its record, so the cache and the record agree again, and the error is thrown.
     *
     * @param b the batch (this engine's)
     * @throws DecodeException if llama.cpp fails or the decode was aborted
     */
    public void decode(Batch b) {
        int n = b.size();
        if (n == 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            if (b.position(i) >= tokensPerSequence) {
                throw new DecodeException(1); // no room in the sequence's share of the cache
            }
        }
        int rc = runDecode(b, n);
        if (rc == 0) {
            decodes++;
        }
        if (rc != 0) {
            boolean[] repaired = new boolean[sequences]; // the failure path only: each sequence of the batch once
            for (int i = 0; i < n; i++) {
                int s = b.sequence(i);
                if (!repaired[s]) {
                    repaired[s] = true;
                    truncate(s, knownCount[s]);
                }
            }
            throw new DecodeException(rc);
        }
        for (int i = 0; i < n; i++) {
            int s = b.sequence(i);
            int p = b.position(i);
            if (p == knownCount[s]) {
                int[] k = known[s];
                if (k == null) {
                    known[s] = k = new int[tokensPerSequence];
                }
                k[knownCount[s]++] = b.token(i);
            }
        }
    }

    /**
     * A decode of several tokens can be aborted from Java (an upcall that ggml polls per graph node); a one-token
     * decode is too short to need it and skips that per-node upcall, which would otherwise cost more than the decode
     * itself on small models (cancellation then acts between tokens).
     */
    private int runDecode(Batch b, int n) {
        boolean wantAbort = n > 1;
        if (wantAbort != abortInstalled) {
            LlamaH.llama_set_abort_callback(handle, wantAbort ? abortCallback : MemorySegment.NULL, MemorySegment.NULL);
            abortInstalled = wantAbort;
        }
        worker = Thread.currentThread();
        CpuThreadPool.Turn turn = beginTurn(); // the process's CPU budget: see CpuThreadPool
        try {
            return LlamaH.llama_decode(handle, b.prepared());
        } finally {
            CpuThreadPool.give(turn);
            worker = null;
        }
    }

    /**
     * Takes this context's turn of the process's CPU budget ({@link CpuThreadPool#take}: as many cores as it has
     * threads) and attaches the persistent pool of threads the turn comes with (without one, ggml would start and join
     * its worker threads for every decoded token). Give it back with {@link CpuThreadPool#give}.
     */
    public CpuThreadPool.Turn beginTurn() {
        CpuThreadPool.Turn turn = CpuThreadPool.take(threads, polling);
        MemorySegment pool = turn.pool();
        if (!pool.equals(MemorySegment.NULL) && !pool.equals(attachedPool)) {
            LlamaH.llama_attach_threadpool(handle, pool, MemorySegment.NULL);
            attachedPool = pool;
        }
        return turn;
    }

    /** {@return how many decodes succeeded on this context} */
    public long decodeCount() {
        return decodes;
    }

    /** Decodes one token at {@code position} of {@code sequence}, with logits (batch index 0). */
    public void decodeToken(int sequence, int token, int position) {
        batch.clear();
        batch.add(token, position, sequence, true);
        decode(batch);
    }

    /**
     * Makes {@code sequence} hold {@code prompt}, decoding only the part its record does not hold already (prefix
     * reuse), in chunks of the batch size; the last prompt token's logits are at batch index {@link #lastOutput()}.
     *
     * @return how many prompt tokens were reused from the cache
     */
    public int prefill(int sequence, int[] prompt) {
        int reused = reusablePrefix(sequence, prompt);
        for (int off = reused; off < prompt.length; ) {
            batch.clear();
            int n = Math.min(batch.capacity(), prompt.length - off);
            lastOutput = batch.addAll(prompt, off, n, off, sequence, false, true);
            decode(batch);
            off += n;
        }
        return reused;
    }

    /** {@return the batch index of the last prompt token after {@link #prefill}} */
    public int lastOutput() {
        return lastOutput;
    }

    /**
     * Keeps the longest prefix of {@code prompt} that {@code sequence} holds (at least one token short of the whole
     * prompt, whose last token must be decoded again for its logits) and removes the rest of the sequence.
     *
     * @return the length of the prefix kept: decoding continues from there
     */
    public int reusablePrefix(int sequence, int[] prompt) {
        int common = commonPrefix(sequence, prompt);
        if (common == prompt.length) {
            common--;
        }
        truncate(sequence, common);
        return common;
    }

    /**
     * Drops {@code sequence}'s cache from position {@code keep} on; a model whose cache cannot drop a tail (recurrent)
     * loses the whole sequence.
     *
     * @return the tokens kept ({@code keep}, or 0)
     */
    public int truncate(int sequence, int keep) {
        if (LlamaH.llama_memory_seq_rm(memory, sequence, keep, -1)) {
            knownCount[sequence] = Math.min(knownCount[sequence], keep);
            return keep;
        }
        LlamaH.llama_memory_seq_rm(memory, sequence, -1, -1);
        knownCount[sequence] = 0;
        return 0;
    }

    /** {@return the tokens the record holds for {@code sequence}, oldest first} */
    public int[] knownTokens(int sequence) {
        return known[sequence] == null ? new int[0] : Arrays.copyOf(known[sequence], knownCount[sequence]);
    }

    /** {@return how many tokens the record holds for {@code sequence}} */
    public int knownCount(int sequence) {
        return knownCount[sequence];
    }

    // ---- KV cache operations, each with its bookkeeping ------------------------------------------------------------

    /** Empties the KV cache. */
    public void clear() {
        LlamaH.llama_memory_clear(memory, true);
        Arrays.fill(knownCount, 0);
    }

    /** Removes positions [from, to) of a sequence (to = -1: to the end); false if the cache cannot (recurrent models). */
    public boolean removeTokens(int sequence, int from, int to) {
        boolean ok = LlamaH.llama_memory_seq_rm(memory, sequence, from, to);
        if (ok) {
            knownCount[sequence] = Math.min(knownCount[sequence], Math.max(0, from)); // what precedes `from` is intact
        }
        return ok;
    }

    /** Copies positions [from, to) of {@code source} into {@code target} (cells are shared). */
    public void copySequence(int source, int target, int from, int to) {
        boolean whole = from <= 0 && (to < 0 || to >= knownCount[source]) && knownCount[target] == 0;
        LlamaH.llama_memory_seq_cp(memory, source, target, from, to);
        if (whole) {
            setKnown(target, known[source], knownCount[source]);
        } else {
            knownCount[target] = Math.min(knownCount[target], Math.max(0, from));
        }
    }

    /** {@return how many leading tokens of {@code prompt} the record of {@code sequence} holds} */
    public int commonPrefix(int sequence, int[] prompt) {
        int[] k = known[sequence];
        int limit = Math.min(knownCount[sequence], prompt.length);
        int common = 0;
        while (common < limit && k[common] == prompt[common]) {
            common++;
        }
        return common;
    }

    /**
     * Makes {@code target} hold the first {@code count} tokens of {@code source} (as far as its record holds them), its
     * earlier content removed. In a unified cache the cells are shared, not copied: the prefix is stored once.
     */
    public void copyPrefix(int source, int target, int count) {
        count = Math.min(count, knownCount[source]);
        LlamaH.llama_memory_seq_rm(memory, target, -1, -1);
        knownCount[target] = 0;
        if (count > 0) {
            LlamaH.llama_memory_seq_cp(memory, source, target, 0, count);
            setKnown(target, known[source], count);
        }
    }

    /** Makes {@code target} a copy of the whole of {@code source} (its earlier content is removed). */
    public void replaceSequence(int source, int target) {
        LlamaH.llama_memory_seq_rm(memory, target, -1, -1);
        knownCount[target] = 0;
        copySequence(source, target, -1, -1);
    }

    /** Removes every sequence but {@code sequence}. */
    public void keepSequence(int sequence) {
        // llama_memory_seq_keep leaves the other streams of a non-unified cache alone: remove them one by one
        for (int s = 0; s < sequences; s++) {
            if (s != sequence) {
                LlamaH.llama_memory_seq_rm(memory, s, -1, -1);
                knownCount[s] = 0;
            }
        }
    }

    /** Adds {@code delta} to positions [from, to) of a sequence (context shifting). */
    public void shift(int sequence, int from, int to, int delta) {
        if (!LlamaH.llama_memory_can_shift(memory)) {
            throw new IllegalStateException("this model's KV cache cannot shift positions");
        }
        LlamaH.llama_memory_seq_add(memory, sequence, from, to, delta);
        knownCount[sequence] = Math.min(knownCount[sequence], Math.max(0, from)); // positions no longer match indexes
    }

    /** {@return the highest position {@code sequence} holds, or -1 when empty} */
    public int maxPosition(int sequence) {
        return LlamaH.llama_memory_seq_pos_max(memory, sequence);
    }

    /**
     * Records what a restored state holds: {@code tokens} for sequence {@code sequence} (-1: a whole-context state,
     * whose tokens are sequence 0's and whose other sequences are unknown).
     */
    public void restored(int sequence, int[] tokens) {
        if (sequence == -1) {
            Arrays.fill(knownCount, 0);
        }
        setKnown(Math.max(0, sequence), tokens, Math.min(tokens.length, tokensPerSequence));
    }

    /** Forgets what the record says of {@code sequence} (-1: of every sequence) after a failed restore. */
    public void forget(int sequence) {
        if (sequence == -1) {
            Arrays.fill(knownCount, 0);
        } else {
            knownCount[sequence] = 0;
        }
    }

    private void setKnown(int sequence, int[] tokens, int count) {
        if (count > 0 && known[sequence] == null) {
            known[sequence] = new int[tokensPerSequence];
        }
        if (count > 0) {
            System.arraycopy(tokens, 0, known[sequence], 0, count);
        }
        knownCount[sequence] = count;
    }

    // ---- logits, sampling, text ----------------------------------------------------------------------------------

    /** Samples with {@code sampler} from the logits of batch index {@code index} (-1: the last output) and accepts the token. */
    public int sample(Sampler sampler, int index) {
        return Access.sample(sampler, handle, index);
    }

    /** {@return log p(token) under the raw logits of batch index {@code index}: logit - logsumexp} */
    public float logprob(int index, int token) {
        MemorySegment logits = logits(index);
        return (float) (logits.getAtIndex(ValueLayout.JAVA_FLOAT, token) - logSumExp(logits));
    }

    /**
     * Writes the {@code ids.length} most probable tokens under the raw logits of batch index {@code index} into
     * {@code ids}, most probable first, and their log-probabilities into {@code logprobs}.
     */
    public void topLogprobs(int index, int[] ids, float[] logprobs) {
        MemorySegment logits = logits(index);
        int k = ids.length;
        int filled = 0;
        for (int t = 0; t < vocabularySize; t++) {
            float v = logits.getAtIndex(ValueLayout.JAVA_FLOAT, t);
            if (filled == k && v <= logprobs[k - 1]) {
                continue;
            }
            int at = filled < k ? filled++ : k - 1; // insertion into the sorted top k (k is small)
            while (at > 0 && logprobs[at - 1] < v) {
                logprobs[at] = logprobs[at - 1];
                ids[at] = ids[at - 1];
                at--;
            }
            logprobs[at] = v;
            ids[at] = t;
        }
        float lse = (float) logSumExp(logits);
        for (int i = 0; i < k; i++) {
            logprobs[i] -= lse;
        }
    }

    /** Writes the log-softmax of the logits of batch index {@code index} into {@code out} (one value per token). */
    public void logSoftmax(int index, float[] out) {
        MemorySegment logits = logits(index);
        float lse = (float) logSumExp(logits);
        for (int i = 0; i < out.length; i++) {
            out[i] = logits.getAtIndex(ValueLayout.JAVA_FLOAT, i) - lse;
        }
    }

    /** The logits of batch index {@code index} as a view of the vocabulary's size, valid until the next decode. */
    private MemorySegment logits(int index) {
        MemorySegment row = LlamaH.llama_get_logits_ith(handle, index);
        if (row.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp computed no logits for batch index " + index);
        }
        MemorySegment view = logitsView;
        if (view == null || view.address() != row.address()) {
            logitsView = view = row.reinterpret((long) vocabularySize * Float.BYTES);
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

    /** {@return whether {@code token} ends generation (EOS, EOT, ...)} */
    public boolean isEndOfGeneration(int token) {
        return LlamaH.llama_vocab_is_eog(vocab, token);
    }

    /** Writes the piece (text bytes) of {@code token} into {@link #pieceBytes()}; returns its length. */
    public int piece(int token) {
        return pieces.write(vocab, token, true);
    }

    /** {@return the bytes of the last {@link #piece}} */
    public byte[] pieceBytes() {
        return pieces.bytes();
    }

    // ---- close ---------------------------------------------------------------------------------------------------

    /**
     * Frees the context. Refused while another thread is inside; idempotent.
     *
     * @return true if this call closed it, false if it was closed already
     */
    public boolean close(Runnable beforeFree) {
        if (closed) {
            return false;
        }
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("cannot close a context while another thread is using it");
        }
        try {
            if (closed) {
                return false;
            }
            beforeFree.run();
            closed = true;
            holder = null;
            owner.close();
            return true;
        } finally {
            busy.set(false);
        }
    }

    @Override
    public void close() {
        close(() -> {});
    }
}
