package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_batch;
import io.llamaffm.bindings.llama_context_params;
import io.llamaffm.internal.Utf8Stream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * An inference context: owns its KV cache and the buffers of its decode loop. Used by one thread at a time;
 * a call while another thread is inside this context throws {@link IllegalStateException} instead of
 * corrupting native state. Closing is idempotent; after close every method throws {@link IllegalStateException}.
 */
public final class Context implements AutoCloseable {
    private static final int PIECE_BYTES = 256;

    private final Model model;
    private final Tokenizer tokenizer;
    private final Arena arena;
    private final MemorySegment handle;    // llama_context*, freed by llama_free when the arena closes
    private final MemorySegment batch;     // one llama_batch struct, reused for every decode
    private final MemorySegment tokenBuf;  // batchSize token ids
    private final MemorySegment pieceBuf;  // one token's text
    private final byte[] pieceBytes = new byte[PIECE_BYTES];
    private final ReentrantLock lock = new ReentrantLock();
    private final int contextLength;
    private final int batchSize;
    private int position; // tokens in the KV cache
    private volatile boolean closed;

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
            llama_context_params.no_perf(cp, true);
            MemorySegment raw = LlamaH.llama_init_from_model(model.handle(), cp);
            if (raw.equals(MemorySegment.NULL)) {
                throw new LlamaException("llama.cpp could not create a context with " + params
                        + " for " + model.path().getFileName() + " (out of memory, or a size the model does not support)");
            }
            this.handle = raw.reinterpret(a, LlamaH::llama_free);
            this.contextLength = LlamaH.llama_n_ctx(handle);
            this.batchSize = LlamaH.llama_n_batch(handle);
            this.batch = a.allocate(llama_batch.layout());
            this.tokenBuf = a.allocate(ValueLayout.JAVA_INT, batchSize);
            this.pieceBuf = a.allocate(PIECE_BYTES);
            this.arena = a;
        } catch (RuntimeException | Error e) {
            a.close();
            model.contextClosed();
            throw e;
        }
    }

    /** Tokens the KV cache holds. */
    public int contextLength() {
        ensureOpen();
        return contextLength;
    }

    /** Most tokens submitted to one decode. */
    public int batchSize() {
        ensureOpen();
        return batchSize;
    }

    /** The model this context runs. */
    public Model model() {
        return model;
    }

    /**
     * Generates a continuation of {@code prompt}, starting from an empty KV cache.
     *
     * @param prompt    text; encoded with BOS added and special tokens parsed
     * @param maxTokens most tokens to generate (at least 1)
     * @param sampler   the decoding strategy
     * @param onText    receives the text as it is produced, never a cut multi-byte character; may be null
     * @throws IllegalArgumentException if the prompt does not fit the context or {@code maxTokens < 1}
     * @throws DecodeException          if llama.cpp fails to decode
     */
    public Completion generate(String prompt, int maxTokens, SamplerChain sampler, Consumer<String> onText) {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        if (!sampler.picksToken()) {
            throw new IllegalArgumentException("the sampler chain must end with a stage that picks the token (Greedy, Dist, Mirostat)");
        }
        int[] promptTokens = tokenizer.encode(prompt);
        enter();
        Sampler chain = null;
        try {
            if (promptTokens.length == 0) {
                throw new IllegalArgumentException("the prompt encodes to no tokens");
            }
            if (promptTokens.length >= contextLength) {
                throw new IllegalArgumentException("the prompt has " + promptTokens.length + " tokens but the context holds "
                        + contextLength + ": shorten it or create the context with a larger contextLength");
            }
            clearMemory();
            chain = Sampler.create(model, sampler);
            decode(promptTokens);
            StringBuilder text = new StringBuilder();
            Utf8Stream utf8 = new Utf8Stream();
            int[] generated = new int[Math.min(maxTokens, 1024)];
            int count = 0;
            Completion.StopReason reason = Completion.StopReason.MAX_TOKENS;
            while (count < maxTokens) {
                if (position >= contextLength) {
                    reason = Completion.StopReason.CONTEXT_FULL;
                    break;
                }
                int token = chain.sample(handle);
                if (tokenizer.isEndOfGeneration(token)) {
                    reason = Completion.StopReason.END_OF_GENERATION;
                    break;
                }
                if (count == generated.length) {
                    generated = Arrays.copyOf(generated, Math.min(maxTokens, count * 2));
                }
                generated[count++] = token;
                emit(utf8.push(pieceBytes, piece(token)), text, onText);
                tokenBuf.setAtIndex(ValueLayout.JAVA_INT, 0, token);
                decodeBuffer(1);
            }
            emit(utf8.finish(), text, onText);
            return new Completion(text.toString(), Arrays.copyOf(generated, count), promptTokens.length, reason);
        } finally {
            if (chain != null) {
                chain.close();
            }
            lock.unlock();
        }
    }

    private static void emit(String s, StringBuilder text, Consumer<String> onText) {
        if (!s.isEmpty()) {
            text.append(s);
            if (onText != null) {
                onText.accept(s);
            }
        }
    }

    /** Copies the piece of {@code token} into {@link #pieceBytes}; returns its length. */
    private int piece(int token) {
        int n = tokenizer.pieceInto(token, pieceBuf);
        if (n < 0 || n > PIECE_BYTES) {
            throw new LlamaException("token " + token + " has a piece longer than " + PIECE_BYTES + " bytes");
        }
        MemorySegment.copy(pieceBuf, ValueLayout.JAVA_BYTE, 0, pieceBytes, 0, n);
        return n;
    }

    private void clearMemory() {
        LlamaH.llama_memory_clear(LlamaH.llama_get_memory(handle), true);
        position = 0;
    }

    /** Decodes tokens at the end of the cache, in batches of at most {@link #batchSize}. */
    private void decode(int[] tokens) {
        for (int off = 0; off < tokens.length; off += batchSize) {
            int n = Math.min(batchSize, tokens.length - off);
            MemorySegment.copy(tokens, off, tokenBuf, ValueLayout.JAVA_INT, 0, n);
            decodeBuffer(n);
        }
    }

    private void decodeBuffer(int n) {
        if (position + n > contextLength) {
            throw new DecodeException(1);
        }
        llama_batch.n_tokens(batch, n);
        llama_batch.token(batch, tokenBuf);
        llama_batch.embd(batch, MemorySegment.NULL);
        llama_batch.pos(batch, MemorySegment.NULL);
        llama_batch.n_seq_id(batch, MemorySegment.NULL);
        llama_batch.seq_id(batch, MemorySegment.NULL);
        llama_batch.logits(batch, MemorySegment.NULL);
        int rc = LlamaH.llama_decode(handle, batch);
        if (rc != 0) {
            throw new DecodeException(rc);
        }
        position += n;
    }

    private void enter() {
        if (!lock.tryLock()) {
            throw new IllegalStateException("this context is in use by another thread; a context serves one thread at a time");
        }
        if (closed) {
            lock.unlock();
            throw new IllegalStateException("context is closed");
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("context is closed");
        }
    }

    /** Frees the context and its KV cache. Idempotent; refused while another thread is inside the context. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (!lock.tryLock()) {
            throw new IllegalStateException("cannot close a context while another thread is using it");
        }
        try {
            if (!closed) {
                arena.close();
                closed = true;
                model.contextClosed();
            }
        } finally {
            lock.unlock();
        }
    }
}
