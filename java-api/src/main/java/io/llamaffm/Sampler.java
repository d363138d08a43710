package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_logit_bias;
import io.llamaffm.bindings.llama_sampler_i;
import io.llamaffm.bindings.llama_token_data;
import io.llamaffm.bindings.llama_token_data_array;
import io.llamaffm.internal.NativeLog;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A native llama.cpp sampler chain built from a {@link SamplerChain} for one model's vocabulary. Stateful
 * (penalties, grammar and mirostat remember the accepted tokens): use one per generation, from one thread at a
 * time. Closing is idempotent; afterwards every method throws {@link IllegalStateException}.
 */
public final class Sampler implements AutoCloseable {
    private static final long TOKEN_DATA_BYTES = llama_token_data.layout().byteSize();
    private static final long ID = llama_token_data.id$offset();
    private static final long LOGIT = llama_token_data.logit$offset();
    private static final long P = llama_token_data.p$offset();

    private final Model model;
    private final SamplerChain spec;
    private final Arena arena;
    private final MemorySegment chain;  // llama_sampler* (the chain owns and frees its stages)
    private final int vocabularySize;
    private MemorySegment candidates;   // llama_token_data[vocabularySize], allocated on first apply
    private final MemorySegment array;  // llama_token_data_array
    private Throwable pending;          // thrown by a Java stage inside a native call
    private boolean closed;

    private Sampler(Model model, SamplerChain spec) {
        this.model = model;
        this.spec = spec;
        this.vocabularySize = model.tokenizer().vocabularySize();
        this.arena = Arena.ofShared();
        MemorySegment c = MemorySegment.NULL;
        try {
            try (Arena tmp = Arena.ofConfined()) {
                c = LlamaH.llama_sampler_chain_init(LlamaH.llama_sampler_chain_default_params(tmp));
            }
            for (SamplerChain.Stage stage : spec.stages()) {
                LlamaH.llama_sampler_chain_add(c, create(stage));
            }
            this.array = arena.allocate(llama_token_data_array.layout());
            this.chain = c;
        } catch (RuntimeException | Error e) {
            if (!c.equals(MemorySegment.NULL)) {
                LlamaH.llama_sampler_free(c);
            }
            arena.close();
            throw e;
        }
    }

    /**
     * Builds the native chain for {@code model}'s vocabulary.
     *
     * @param model the model whose vocabulary the chain samples from
     * @param chain the stages
     * @return the sampler, to close when done
     */
    public static Sampler create(Model model, SamplerChain chain) {
        model.ensureOpen();
        return new Sampler(model, chain);
    }

    /** {@return the chain this sampler was built from} */
    public SamplerChain chain() {
        return spec;
    }

    /** Samples from the logits of output {@code index} of the last decode (-1: the last output) and accepts the token. */
    int sample(MemorySegment context, int index) {
        ensureOpen();
        int token = LlamaH.llama_sampler_sample(chain, context, index);
        rethrowPending();
        return token;
    }

    /**
     * Runs the chain over a full logits vector and returns the token it picks (the chain must end with a
     * picking stage); the token is accepted, as during generation. Allocates nothing.
     *
     * @param logits one logit per vocabulary token
     * @return the token picked
     */
    public int sample(float[] logits) {
        MemorySegment data = run(logits);
        long selected = llama_token_data_array.selected(array);
        if (selected < 0 || selected >= llama_token_data_array.size(array) || !spec.picksToken()) {
            throw new IllegalStateException("the chain picked no token: end it with Greedy, Dist or Mirostat");
        }
        int token = data.get(ValueLayout.JAVA_INT, selected * TOKEN_DATA_BYTES + ID);
        LlamaH.llama_sampler_accept(chain, token);
        rethrowPending();
        return token;
    }

    /**
     * Runs the chain over a full logits vector (one value per vocabulary token) without accepting anything, and
     * returns the candidates left, in the chain's order, with the probabilities the stages computed.
     *
     * @param logits one logit per vocabulary token
     * @return the candidates left
     */
    public List<TokenProbability> apply(float[] logits) {
        MemorySegment data = run(logits);
        int n = (int) llama_token_data_array.size(array);
        List<TokenProbability> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long at = i * TOKEN_DATA_BYTES;
            out.add(new TokenProbability(data.get(ValueLayout.JAVA_INT, at + ID), data.get(ValueLayout.JAVA_FLOAT, at + LOGIT),
                    data.get(ValueLayout.JAVA_FLOAT, at + P)));
        }
        return out;
    }

    /** Fills the candidates from {@code logits} and applies the chain; returns the candidates as the chain left them. */
    private MemorySegment run(float[] logits) {
        ensureOpen();
        if (logits.length != vocabularySize) {
            throw new IllegalArgumentException("expected " + vocabularySize + " logits (one per token), got " + logits.length);
        }
        if (candidates == null) {
            candidates = arena.allocate(TOKEN_DATA_BYTES * vocabularySize, 8);
        }
        for (int i = 0; i < vocabularySize; i++) {
            long at = i * TOKEN_DATA_BYTES;
            candidates.set(ValueLayout.JAVA_INT, at + ID, i);
            candidates.set(ValueLayout.JAVA_FLOAT, at + LOGIT, logits[i]);
            candidates.set(ValueLayout.JAVA_FLOAT, at + P, 0f);
        }
        llama_token_data_array.data(array, candidates);
        llama_token_data_array.size(array, vocabularySize);
        llama_token_data_array.selected(array, -1);
        llama_token_data_array.sorted(array, false);
        LlamaH.llama_sampler_apply(chain, array);
        rethrowPending();
        // stages work in place; a stage that substituted its own buffer gets a view of it
        long data = array.get(ValueLayout.JAVA_LONG, llama_token_data_array.data$offset());
        return data == candidates.address() ? candidates
                : MemorySegment.ofAddress(data).reinterpret(TOKEN_DATA_BYTES * llama_token_data_array.size(array));
    }

    /**
     * Tells stateful stages (penalties, grammar, mirostat) that a token was chosen.
     *
     * @param token the token chosen
     */
    public void accept(int token) {
        ensureOpen();
        model.tokenizer().checkToken(token);
        LlamaH.llama_sampler_accept(chain, token);
        rethrowPending();
    }

    /** Forgets accepted tokens and resets random state. */
    public void reset() {
        ensureOpen();
        LlamaH.llama_sampler_reset(chain);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LlamaH.llama_sampler_free(chain);
        arena.close();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("sampler is closed");
        }
        model.ensureOpen();
    }

    private void rethrowPending() {
        Throwable t = pending;
        if (t != null) {
            pending = null;
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error e) throw e;
            throw new LlamaException("a Java sampler stage failed", t);
        }
    }

    private MemorySegment create(SamplerChain.Stage stage) {
        MemorySegment vocab = model.tokenizer().vocab();
        MemorySegment s = switch (stage) {
            case SamplerChain.Greedy g -> LlamaH.llama_sampler_init_greedy();
            case SamplerChain.Dist d -> LlamaH.llama_sampler_init_dist(d.seed());
            case SamplerChain.Temperature t -> LlamaH.llama_sampler_init_temp(t.temperature());
            case SamplerChain.DynamicTemperature t -> LlamaH.llama_sampler_init_temp_ext(t.temperature(), t.delta(), t.exponent());
            case SamplerChain.TopK k -> LlamaH.llama_sampler_init_top_k(k.k());
            case SamplerChain.TopP p -> LlamaH.llama_sampler_init_top_p(p.p(), p.minKeep());
            case SamplerChain.MinP m -> LlamaH.llama_sampler_init_min_p(m.p(), m.minKeep());
            case SamplerChain.Typical t -> LlamaH.llama_sampler_init_typical(t.p(), t.minKeep());
            case SamplerChain.TopNSigma t -> LlamaH.llama_sampler_init_top_n_sigma(t.n());
            case SamplerChain.Xtc x -> LlamaH.llama_sampler_init_xtc(x.probability(), x.threshold(), x.minKeep(), x.seed());
            case SamplerChain.Mirostat m -> LlamaH.llama_sampler_init_mirostat(vocabularySize, m.seed(), m.tau(), m.eta(), m.m());
            case SamplerChain.MirostatV2 m -> LlamaH.llama_sampler_init_mirostat_v2(m.seed(), m.tau(), m.eta());
            case SamplerChain.Penalties p ->
                    LlamaH.llama_sampler_init_penalties(vocabularySize, p.lastN(), p.repeat(), p.frequency(), p.presence());
            case SamplerChain.Dry d -> dry(vocab, d);
            case SamplerChain.LogitBias b -> logitBias(b.biases());
            case SamplerChain.Grammar g -> grammar(vocab, g);
            case SamplerChain.LazyGrammar g -> lazyGrammar(vocab, g);
            case SamplerChain.Custom c -> custom(c);
        };
        if (s.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp could not create the sampler stage " + stage);
        }
        return s;
    }

    private MemorySegment dry(MemorySegment vocab, SamplerChain.Dry d) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment breakers = tmp.allocate(ValueLayout.ADDRESS, Math.max(1, d.sequenceBreakers().size()));
            for (int i = 0; i < d.sequenceBreakers().size(); i++) {
                String b = d.sequenceBreakers().get(i);
                if (b.isEmpty() || b.indexOf('\0') >= 0) {
                    throw new IllegalArgumentException("DRY sequence breakers must be non-empty and free of NUL");
                }
                breakers.setAtIndex(ValueLayout.ADDRESS, i, tmp.allocateFrom(b));
            }
            return LlamaH.llama_sampler_init_dry(vocab, d.multiplier(), d.base(), d.allowedLength(), d.penaltyLastN(),
                    breakers, d.sequenceBreakers().size());
        }
    }

    private MemorySegment logitBias(Map<Integer, Float> biases) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment arr = tmp.allocate(llama_logit_bias.layout(), Math.max(1, biases.size()));
            int i = 0;
            for (Map.Entry<Integer, Float> e : biases.entrySet()) {
                model.tokenizer().checkToken(e.getKey());
                MemorySegment b = llama_logit_bias.asSlice(arr, i++);
                llama_logit_bias.token(b, e.getKey());
                llama_logit_bias.bias(b, e.getValue());
            }
            return LlamaH.llama_sampler_init_logit_bias(vocabularySize, biases.size(), arr);
        }
    }

    private MemorySegment grammar(MemorySegment vocab, SamplerChain.Grammar g) {
        MemorySegment s;
        List<String> log;
        NativeLog.beginCapture();
        try (Arena tmp = Arena.ofConfined()) {
            s = LlamaH.llama_sampler_init_grammar(vocab, tmp.allocateFrom(g.gbnf()), tmp.allocateFrom(g.root()));
        } finally {
            log = NativeLog.endCapture();
        }
        if (s.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException("invalid GBNF grammar (root '" + g.root() + "')"
                    + (log.isEmpty() ? "" : ": " + String.join(" / ", log)));
        }
        return s;
    }

    private MemorySegment lazyGrammar(MemorySegment vocab, SamplerChain.LazyGrammar g) {
        g.triggerTokens().forEach(model.tokenizer()::checkToken);
        MemorySegment s;
        List<String> log;
        NativeLog.beginCapture();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment patterns = tmp.allocate(ValueLayout.ADDRESS, Math.max(1, g.triggerPatterns().size()));
            for (int i = 0; i < g.triggerPatterns().size(); i++) {
                patterns.setAtIndex(ValueLayout.ADDRESS, i, tmp.allocateFrom(g.triggerPatterns().get(i)));
            }
            MemorySegment tokens = tmp.allocate(ValueLayout.JAVA_INT, Math.max(1, g.triggerTokens().size()));
            for (int i = 0; i < g.triggerTokens().size(); i++) {
                tokens.setAtIndex(ValueLayout.JAVA_INT, i, g.triggerTokens().get(i));
            }
            s = LlamaH.llama_sampler_init_grammar_lazy_patterns(vocab, tmp.allocateFrom(g.gbnf()), tmp.allocateFrom(g.root()),
                    patterns, g.triggerPatterns().size(), tokens, g.triggerTokens().size());
        } finally {
            log = NativeLog.endCapture();
        }
        if (s.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException("invalid GBNF grammar or trigger pattern (root '" + g.root() + "')"
                    + (log.isEmpty() ? "" : ": " + String.join(" / ", log)));
        }
        return s;
    }

    private MemorySegment custom(SamplerChain.Custom c) {
        MemorySegment iface = arena.allocate(llama_sampler_i.layout());
        MemorySegment name = arena.allocateFrom(c.name());
        llama_sampler_i.name(iface, llama_sampler_i.name.allocate(smpl -> name, arena));
        NativeCandidates view = new NativeCandidates();
        llama_sampler_i.apply(iface, llama_sampler_i.apply.allocate((smpl, curP) -> {
            // upcall: nothing may escape into native code; the failure is rethrown after the native call returns
            if (pending != null) {
                return;
            }
            try {
                view.bind(curP);
                c.transform().apply(view);
            } catch (Throwable t) {
                pending = t;
            } finally {
                view.unbind();
            }
        }, arena));
        return LlamaH.llama_sampler_init(iface, MemorySegment.NULL);
    }

    /**
     * A candidate token after the chain ran.
     *
     * @param token       the token id
     * @param logit       its logit after the stages
     * @param probability its probability as the stages computed it (0 when no stage computed one)
     */
    public record TokenProbability(int token, float logit, float probability) {}

    /** {@link Candidates} over a native llama_token_data_array, valid during one upcall. */
    private static final class NativeCandidates implements Candidates {
        private static final long ARRAY_BYTES = llama_token_data_array.layout().byteSize();
        private MemorySegment array;  // views kept across calls: llama.cpp passes the same buffers every token
        private MemorySegment data;
        private boolean bound;

        void bind(MemorySegment curP) {
            if (array == null || array.address() != curP.address()) {
                array = curP.reinterpret(ARRAY_BYTES);
            }
            long address = array.get(ValueLayout.JAVA_LONG, llama_token_data_array.data$offset());
            long bytes = llama_token_data_array.size(array) * TOKEN_DATA_BYTES;
            if (data == null || data.address() != address || data.byteSize() < bytes) {
                data = MemorySegment.ofAddress(address).reinterpret(bytes);
            }
            bound = true;
        }

        void unbind() {
            bound = false;
        }

        /** Byte offset of candidate {@code i} in {@link #data}, checked against the current size. */
        private long at(int i) {
            int size = size();
            if (i < 0 || i >= size) {
                throw new IndexOutOfBoundsException("candidate " + i + " of " + size);
            }
            return i * TOKEN_DATA_BYTES;
        }

        @Override
        public int size() {
            if (!bound) {
                throw new IllegalStateException("candidates are only valid during the stage's call");
            }
            return (int) llama_token_data_array.size(array);
        }

        @Override
        public int token(int i) {
            return data.get(ValueLayout.JAVA_INT, at(i) + ID);
        }

        @Override
        public float logit(int i) {
            return data.get(ValueLayout.JAVA_FLOAT, at(i) + LOGIT);
        }

        @Override
        public void setLogit(int i, float logit) {
            if (Float.isNaN(logit)) {
                throw new IllegalArgumentException("logit must not be NaN");
            }
            data.set(ValueLayout.JAVA_FLOAT, at(i) + LOGIT, logit);
            llama_token_data_array.sorted(array, false);
        }

        @Override
        public float probability(int i) {
            return data.get(ValueLayout.JAVA_FLOAT, at(i) + P);
        }

        @Override
        public boolean sorted() {
            size();
            return llama_token_data_array.sorted(array);
        }

        @Override
        public void truncate(int n) {
            if (n < 1 || n > size()) {
                throw new IllegalArgumentException("can truncate to 1.." + size() + " candidates, not " + n);
            }
            llama_token_data_array.size(array, n);
        }
    }
}
