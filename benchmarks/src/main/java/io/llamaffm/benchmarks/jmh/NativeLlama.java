package io.llamaffm.benchmarks.jmh;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_batch;
import io.llamaffm.bindings.llama_context_params;
import io.llamaffm.bindings.llama_token_data;
import io.llamaffm.bindings.llama_token_data_array;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * The baseline of the JMH benchmarks: llama.cpp driven straight through the generated bindings, with none of the
 * library's wrappers, a model and context of its own created with the same settings as the library's. Each method
 * makes exactly the native calls the library's matching operation makes, so the difference in time is the library's
 * Java-side cost. Needs the natives loaded (load any {@link io.llamaffm.Model} first). One thread at a time.
 */
final class NativeLlama implements AutoCloseable {
    private static final int PIECE_BYTES = 256;
    private static final long TOKEN_DATA_BYTES = llama_token_data.layout().byteSize();

    private final Arena arena = Arena.ofShared();
    private final MemorySegment model;
    private final MemorySegment context;
    private final MemorySegment vocab;
    private final MemorySegment memory;
    private final MemorySegment batch;
    private final MemorySegment tokenBuf;
    private final MemorySegment pieceBuf;
    private final int contextLength;
    private final int vocabularySize;
    private MemorySegment sampler = MemorySegment.NULL;
    private MemorySegment candidates;   // llama_token_data[vocabularySize]
    private MemorySegment candidateArray;
    private int[] prompt;
    private int cached;

    NativeLlama(Path modelPath, int contextLength, int threads) {
        try {
            MemorySegment mp = LlamaH.llama_model_default_params(arena);
            model = LlamaH.llama_model_load_from_file(arena.allocateFrom(modelPath.toString()), mp);
            if (model.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("llama.cpp could not load " + modelPath);
            }
            MemorySegment cp = LlamaH.llama_context_default_params(arena);
            llama_context_params.n_ctx(cp, contextLength);
            llama_context_params.n_batch(cp, 512);
            llama_context_params.n_ubatch(cp, 512);
            llama_context_params.n_threads(cp, threads);
            llama_context_params.n_threads_batch(cp, threads);
            llama_context_params.no_perf(cp, true);
            context = LlamaH.llama_init_from_model(model, cp);
            if (context.equals(MemorySegment.NULL)) {
                LlamaH.llama_model_free(model);
                throw new IllegalStateException("llama.cpp could not create a context");
            }
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        vocab = LlamaH.llama_model_get_vocab(model);
        memory = LlamaH.llama_get_memory(context);
        this.contextLength = LlamaH.llama_n_ctx(context);
        vocabularySize = LlamaH.llama_vocab_n_tokens(vocab);
        batch = arena.allocate(llama_batch.layout());
        tokenBuf = arena.allocate(ValueLayout.JAVA_INT, 512);
        pieceBuf = arena.allocate(PIECE_BYTES);
        llama_batch.token(batch, tokenBuf);
        llama_batch.embd(batch, MemorySegment.NULL);
        llama_batch.pos(batch, MemorySegment.NULL);
        llama_batch.n_seq_id(batch, MemorySegment.NULL);
        llama_batch.seq_id(batch, MemorySegment.NULL);
        llama_batch.logits(batch, MemorySegment.NULL);
    }

    int contextLength() {
        return contextLength;
    }

    int vocabularySize() {
        return vocabularySize;
    }

    /** Replaces the sampler chain: the stages of {@link Fixture#chain(String)}, built with the native initializers. */
    void useChain(String name) {
        if (!sampler.equals(MemorySegment.NULL)) {
            LlamaH.llama_sampler_free(sampler);
        }
        sampler = LlamaH.llama_sampler_chain_init(LlamaH.llama_sampler_chain_default_params(arena));
        switch (name) {
            case Fixture.GREEDY -> LlamaH.llama_sampler_chain_add(sampler, LlamaH.llama_sampler_init_greedy());
            case Fixture.TYPICAL -> {
                LlamaH.llama_sampler_chain_add(sampler, LlamaH.llama_sampler_init_top_k(Fixture.TOP_K));
                LlamaH.llama_sampler_chain_add(sampler, LlamaH.llama_sampler_init_top_p(Fixture.TOP_P, 1));
                LlamaH.llama_sampler_chain_add(sampler, LlamaH.llama_sampler_init_temp(Fixture.TEMPERATURE));
                LlamaH.llama_sampler_chain_add(sampler, LlamaH.llama_sampler_init_dist(Fixture.SEED));
            }
            default -> throw new IllegalArgumentException("unknown chain " + name);
        }
    }

    /** Clears the cache and decodes {@code tokens} (logits for the last one): the start of a generation. */
    void start(int[] tokens) {
        prompt = tokens.clone();
        LlamaH.llama_memory_clear(memory, true);
        MemorySegment.copy(prompt, 0, tokenBuf, ValueLayout.JAVA_INT, 0, prompt.length);
        decode(prompt.length);
        cached = prompt.length;
    }

    /**
     * One generated token, as {@code Generation.nextToken} makes it: sample from the last logits, check for end of
     * generation, render the piece, decode the token. When the cache is full it starts again from the prompt, as the
     * benchmark of {@code nextToken} does (the last prompt token decoded again, the sampler reset).
     */
    int nextToken() {
        if (cached >= contextLength) {
            restart();
        }
        int token = LlamaH.llama_sampler_sample(sampler, context, -1);
        LlamaH.llama_vocab_is_eog(vocab, token);
        LlamaH.llama_token_to_piece(vocab, token, pieceBuf, PIECE_BYTES, 0, true);
        tokenBuf.setAtIndex(ValueLayout.JAVA_INT, 0, token);
        decode(1);
        cached++;
        return token;
    }

    /** Starts again from the prompt given to {@link #start}: the prompt but its last token kept in the cache, that one decoded again. */
    void restart() {
        LlamaH.llama_memory_seq_rm(memory, 0, prompt.length - 1, -1);
        tokenBuf.setAtIndex(ValueLayout.JAVA_INT, 0, prompt[prompt.length - 1]);
        decode(1);
        LlamaH.llama_sampler_reset(sampler);
        cached = prompt.length;
    }

    /** Tokens left before the cache is full. */
    int remaining() {
        return contextLength - cached;
    }

    /** Decodes {@code token} at the next position and drops it from the cache again: one decode step at a fixed position. */
    int decodeStep(int token) {
        tokenBuf.setAtIndex(ValueLayout.JAVA_INT, 0, token);
        int rc = decode(1);
        LlamaH.llama_memory_seq_rm(memory, 0, cached, -1);
        return rc;
    }

    /** A copy of the logits of the last decoded token. */
    float[] logits() {
        return LlamaH.llama_get_logits_ith(context, -1).reinterpret((long) vocabularySize * Float.BYTES)
                .toArray(ValueLayout.JAVA_FLOAT);
    }

    /** Runs the sampler chain over {@code logits}, as {@code Sampler.sample(float[])} does, and accepts the token. */
    int sample(float[] logits) {
        if (candidates == null) {
            candidates = arena.allocate(TOKEN_DATA_BYTES * vocabularySize, 8);
            candidateArray = arena.allocate(llama_token_data_array.layout());
        }
        for (int i = 0; i < vocabularySize; i++) {
            long at = i * TOKEN_DATA_BYTES;
            candidates.set(ValueLayout.JAVA_INT, at + llama_token_data.id$offset(), i);
            candidates.set(ValueLayout.JAVA_FLOAT, at + llama_token_data.logit$offset(), logits[i]);
            candidates.set(ValueLayout.JAVA_FLOAT, at + llama_token_data.p$offset(), 0f);
        }
        llama_token_data_array.data(candidateArray, candidates);
        llama_token_data_array.size(candidateArray, vocabularySize);
        llama_token_data_array.selected(candidateArray, -1);
        llama_token_data_array.sorted(candidateArray, false);
        LlamaH.llama_sampler_apply(sampler, candidateArray);
        long selected = llama_token_data_array.selected(candidateArray);
        int token = candidates.get(ValueLayout.JAVA_INT, selected * TOKEN_DATA_BYTES + llama_token_data.id$offset());
        LlamaH.llama_sampler_accept(sampler, token);
        return token;
    }

    /** Tokenizes UTF-8 text already in native memory into a reused buffer; returns the token count. */
    int tokenize(MemorySegment utf8, int length, MemorySegment tokens, int capacity) {
        return LlamaH.llama_tokenize(vocab, utf8, length, tokens, capacity, true, true);
    }

    /** Renders one token's piece (special tokens as text) into a reused buffer; returns its length. */
    int piece(int token) {
        return LlamaH.llama_token_to_piece(vocab, token, pieceBuf, PIECE_BYTES, 0, true);
    }

    MemorySegment pieceBuffer() {
        return pieceBuf;
    }

    private int decode(int n) {
        llama_batch.n_tokens(batch, n);
        int rc = LlamaH.llama_decode(context, batch);
        if (rc != 0) {
            throw new IllegalStateException("llama_decode returned " + rc);
        }
        return rc;
    }

    @Override
    public void close() {
        if (!sampler.equals(MemorySegment.NULL)) {
            LlamaH.llama_sampler_free(sampler);
        }
        LlamaH.llama_free(context);
        LlamaH.llama_model_free(model);
        arena.close();
    }
}
