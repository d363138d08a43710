package io.llamaffm.testmodels;

import io.llamaffm.ModelConfig;
import io.llamaffm.TestEnv;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.GgufWriter;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Small models of many llama.cpp architectures with seeded random weights, for tests that must run the real graph of
 * each family without its weights: every file has the architecture's real tensor set and hyper-parameter keys (as the
 * pinned llama.cpp's {@code load_arch_hparams} / {@code load_arch_tensors} read them and its converter writes them),
 * in scaled-down dimensions, and a real tokenizer copied from the pinned source's {@code models/ggml-vocab-*.gguf}.
 * Their text is meaningless; their graphs, tokenizers and metadata are those of the family.
 *
 * <h2>The families</h2>
 * {@link Family} lists them, each with its {@link Spec} (dimensions, RoPE, experts, sliding window, seed), the
 * vocabulary file it copies and what llama.cpp is expected to report for it. Common to all: embedding 64, feed-forward
 * 128, F16 matrices (F32 for the encoders, whose embeddings tests compare with a reference computed in Java), F32
 * vectors; norm weights 1 (Gemma's files store 1 + w, so 1 there too), biases and everything else normal with mean 0
 * and sd {@link Spec#weightStd()}, each tensor from its own stream seeded by the spec's seed and the tensor's name.
 * The output matrix is tied to {@code token_embd} wherever the loader allows it (the big-vocabulary embedding is most
 * of each file), untied where the family requires {@code output.weight} (OLMo 2, gpt-oss).
 *
 * <h2>Where they are kept</h2>
 * As {@link SyntheticQwen} (which is the {@link Family#QWEN2} model with Qwen2.5's tokenizer changes and chat template):
 * generated on demand, never committed, into {@link SyntheticQwen#cacheDir()} as
 * {@code <family>-synthetic-<hash>.gguf}, where the hash covers {@link #GENERATOR_VERSION}, the sha256 of the
 * vocabulary file and the {@link Spec}; written under a temporary name and renamed atomically while holding a lock
 * file in the folder and a lock in this JVM, so parallel test JVMs and threads wait for one writer.
 */
public final class SyntheticModels {
    /** Bump whenever the generator's output changes for the same inputs: it is part of the file's hash. */
    public static final int GENERATOR_VERSION = 1;

    private SyntheticModels() {}

    /** How a family's dimensions and hyper-parameters are set; see {@link Spec.Builder}. */
    public static Spec.Builder specOf(String architecture, String vocabulary) {
        return new Spec.Builder(architecture, vocabulary);
    }

    /**
     * One architecture: its spec, what llama.cpp reports for it beyond what the file says, and how its tensors and
     * family-specific keys are written.
     */
    public enum Family {
        /**
         * Llama 3.2 shapes with Llama 3.1's RoPE scaling: llama.cpp implements "llama3" scaling with a
         * {@code rope_freqs} tensor of per-dimension frequency divisors written by the converter (factor 8, low/high
         * frequency factors 1 and 4, original context 8 192), not with {@code rope.scaling.type}, which stays unset.
         */
        LLAMA3(specOf("llama", "llama-bpe").heads(4, 2).context(131_072).ropeBase(500_000f).ropeDimensions(16).seed(1),
                ModelConfig.RopeType.NORM, SyntheticModels::llama),
        /** Qwen2.5 shapes: q/k/v biases, tied output. {@link SyntheticQwen} is this family with Qwen2.5's tokenizer. */
        QWEN2(SyntheticQwen.Spec.DEFAULT.generic(), ModelConfig.RopeType.NEOX, SyntheticModels::qwen2),
        /** Qwen3 shapes: per-head q/k RMS norms, head size (32) set apart from embedding / heads (16). */
        QWEN3(specOf("qwen3", "qwen2").heads(4, 2).headDim(32).context(40_960).ropeBase(1_000_000f).rmsEps(1e-6f).seed(3),
                ModelConfig.RopeType.NEOX, SyntheticModels::qwen3),
        /** Qwen3-30B-A3B shapes: 8 experts, 2 used, expert feed-forward 32, no shared expert. */
        QWEN3MOE(specOf("qwen3moe", "qwen2").heads(4, 2).headDim(32).experts(8, 2, 32).context(40_960)
                .ropeBase(1_000_000f).rmsEps(1e-6f).seed(4), ModelConfig.RopeType.NEOX, SyntheticModels::qwen3moe),
        /**
         * Gemma 2 shapes: sliding window 16 on every other layer (pattern 2), attention and final logit soft-capping,
         * pre- and post-norms around attention and feed-forward, head size 32.
         */
        GEMMA2(specOf("gemma2", "gemma-4").heads(4, 2).headDim(32).context(8192).slidingWindow(16).rmsEps(1e-6f).seed(5)
                .embeddingStd(0.05f),
                ModelConfig.RopeType.NEOX, SyntheticModels::gemma2),
        /**
         * Gemma 3 shapes: 3 layers, sliding window 16 on the first two of each 3 (pattern 3), local RoPE base 10 000
         * and global base 1e6 with linear scaling 8 (as Gemma 3 4B+), q/k norms.
         */
        GEMMA3(specOf("gemma3", "gemma-4").layers(3).heads(4, 2).headDim(32).context(131_072).slidingWindow(16)
                .ropeBase(1_000_000f).ropeScaling("linear", 8f, 0).rmsEps(1e-6f).seed(6).weightStd(0.4f).embeddingStd(0.02f),
                ModelConfig.RopeType.NEOX, SyntheticModels::gemma3),
        /**
         * Phi-3.5-mini shapes: fused {@code attn_qkv} and gate-up {@code ffn_up}, multi-head attention, LongRoPE factors
         * ({@code rope_factors_long/short}, original context 4 096 of 131 072). Its files state a sliding window
         * (262 144 here, as Phi-3.5's), which llama.cpp ignores for phi3 (it reports 0).
         */
        PHI3(specOf("phi3", "phi-3").heads(4, 4).context(131_072).ropeDimensions(16).ropeScaling(null, 0f, 4096)
                .slidingWindow(262_144).seed(7), ModelConfig.RopeType.NEOX, SyntheticModels::phi3) {
            @Override
            public int expectedSlidingWindow() {
                return 0;
            }
        },
        /** Granite 3 shapes: embedding, residual, attention and logit scales. */
        GRANITE(specOf("granite", "refact").heads(4, 2).context(131_072).ropeBase(10_000_000f).seed(8).weightStd(0.4f)
                .embeddingStd(0.05f),
                ModelConfig.RopeType.NORM, SyntheticModels::granite),
        /** OLMo 2 shapes: post-norms only (no pre-norms), q/k norms over all heads, untied output. */
        OLMO2(specOf("olmo2", "llama-bpe").heads(4, 4).context(4096).ropeBase(500_000f).rmsEps(1e-6f).seed(9),
                ModelConfig.RopeType.NEOX, SyntheticModels::olmo2),
        /** SmolLM3 shapes: 4 layers, every 4th without RoPE (llama.cpp's fixed step for smollm3), one KV head. */
        SMOLLM3(specOf("smollm3", "llama-bpe").layers(4).heads(4, 1).context(65_536).ropeBase(5_000_000f).rmsEps(1e-6f)
                .seed(10), ModelConfig.RopeType.NORM, SyntheticModels::smollm3),
        /**
         * DeepSeek-V3-style {@code deepseek2}: multi-head latent attention (q LoRA rank 32, KV LoRA rank 32, RoPE part 8
         * and no-RoPE part 16 of each query/key head, value head 16, split {@code attn_k_b}/{@code attn_v_b}: the
         * cache holds one 40-wide latent "KV head"), 3 layers of which the first is dense, 8 routed experts in 4
         * groups (2 groups and 2 experts used) with sigmoid gating, expert bias, normalised and scaled weights, one
         * shared expert, YaRN scaling 4 over an original context of 1 024.
         */
        DEEPSEEK2(specOf("deepseek2", "deepseek-llm").layers(3).heads(4, 1).headDim(40).experts(8, 2, 32).context(4096)
                .ropeDimensions(8).ropeScaling("yarn", 4f, 1024).rmsEps(1e-6f).seed(11),
                ModelConfig.RopeType.NORM, SyntheticModels::deepseek2),
        /**
         * gpt-oss shapes (llama.cpp architecture {@code gpt-oss}): attention sinks, q/k/v and output biases, sliding
         * window 16 on every other layer, 4 experts (2 used) with biases and llama.cpp's SOFTMAX_WEIGHT routing, YaRN
         * scaling 32 over 4 096, untied output.
         */
        GPT_OSS(specOf("gpt-oss", "gpt-2").heads(4, 2).experts(4, 2, 32).context(131_072).ropeBase(150_000f)
                .ropeDimensions(16).ropeScaling("yarn", 32f, 4096).slidingWindow(16).seed(12),
                ModelConfig.RopeType.NEOX, SyntheticModels::gptOss),
        /**
         * Ministral 3 shapes ({@code mistral3}): head size 32, YaRN scaling 16 with its beta and log-multiplier keys,
         * and Llama 4-style attention temperature scaling, which starts at the original context; that is 32 here
         * (16 384 in the real models) so that the tests' prompts cross it.
         */
        MISTRAL3(specOf("mistral3", "llama-spm").heads(4, 2).headDim(32).context(512).ropeBase(1_000_000f)
                .ropeScaling("yarn", 16f, 32).seed(13), ModelConfig.RopeType.NORM, SyntheticModels::mistral3),
        /** bge-small shapes: absolute positions, token types, biases everywhere, CLS pooling; non-causal encoder. */
        BERT(specOf("bert", "bert-bge").heads(4, 4).context(512).encoder().seed(14), ModelConfig.RopeType.NEOX,
                SyntheticModels::bert),
        /**
         * nomic-embed-text-v1.5 shapes: RoPE (base 1 000) instead of positions, fused {@code attn_qkv} without bias,
         * SwiGLU feed-forward, mean pooling; its real tokenizer is bert-base-uncased's WordPiece, which is
         * {@code ggml-vocab-bert-bge.gguf}'s.
         */
        NOMIC_BERT(specOf("nomic-bert", "bert-bge").heads(4, 4).context(2048).ropeBase(1000f).encoder().seed(15),
                ModelConfig.RopeType.NEOX, SyntheticModels::nomicBert),
        /**
         * nomic-embed-text-v2-moe shapes: every second layer a mixture of 4 GELU experts (2 used, no gate
         * projection), XLM-RoBERTa's unigram tokenizer, mean pooling.
         */
        NOMIC_BERT_MOE(specOf("nomic-bert-moe", "nomic-bert-moe").heads(4, 4).experts(4, 2, 0).context(512).ropeBase(10_000f)
                .encoder().seed(16), ModelConfig.RopeType.NEOX, SyntheticModels::nomicBert);

        private final Spec spec;
        private final ModelConfig.RopeType ropeType;
        private final Layout layout;

        Family(Spec.Builder spec, ModelConfig.RopeType ropeType, Layout layout) {
            this(spec.build(), ropeType, layout);
        }

        Family(Spec spec, ModelConfig.RopeType ropeType, Layout layout) {
            this.spec = spec;
            this.ropeType = ropeType;
            this.layout = layout;
        }

        /** {@return the dimensions, hyper-parameters and seed} */
        public Spec spec() {
            return spec;
        }

        /** {@return the RoPE kind llama.cpp assigns to the architecture (its {@code llama_model_rope_type})} */
        public ModelConfig.RopeType ropeType() {
            return ropeType;
        }

        /** {@return the sliding window llama.cpp uses: the one the file states, or 0 where llama.cpp ignores it} */
        public int expectedSlidingWindow() {
            return spec.slidingWindow();
        }

        /** {@return the file name's prefix} */
        public String fileName() {
            return spec.architecture() + "-synthetic";
        }
    }

    /**
     * Dimensions, hyper-parameters and seed of a synthetic model.
     *
     * @param architecture       {@code general.architecture}
     * @param vocabulary         the pinned source's {@code models/ggml-vocab-<vocabulary>.gguf} it copies
     * @param layers             blocks
     * @param embedding          embedding length
     * @param heads              attention (query) heads
     * @param kvHeads            key/value heads
     * @param headDim            key and value head size ({@code attention.key_length} / {@code value_length} are written
     *                           only when it is not {@code embedding / heads})
     * @param feedForward        feed-forward length of the dense blocks
     * @param experts            routed experts per MoE block, 0 for a dense model
     * @param expertsUsed        experts each token is routed to
     * @param expertFeedForward  an expert's feed-forward length (0: none written; the family uses {@code feedForward})
     * @param contextLength      trained context ({@code context_length})
     * @param slidingWindow      {@code attention.sliding_window}, 0 for none written
     * @param ropeBase           {@code rope.freq_base}
     * @param ropeDimensions     {@code rope.dimension_count}, 0 for none written
     * @param ropeScalingType    {@code rope.scaling.type}, when written
     * @param ropeScalingFactor  {@code rope.scaling.factor}, 0 for none written
     * @param ropeOriginalContext {@code rope.scaling.original_context_length}, 0 for none written
     * @param normEps            the (RMS) norm epsilon
     * @param encoder            a non-causal embedding model (BERT family) rather than a decoder
     * @param seed               the seed of the weights
     * @param weightStd          standard deviation of the random tensors
     * @param embeddingStd       standard deviation of the token embedding (smaller where the family scales it up:
     *                           Gemma by sqrt(embedding), Granite by its embedding scale; else the embedding, which is
     *                           also the output matrix, outweighs the blocks and greedy decoding repeats one token)
     */
    public record Spec(String architecture, String vocabulary, int layers, int embedding, int heads, int kvHeads, int headDim,
                       int feedForward, int experts, int expertsUsed, int expertFeedForward, int contextLength,
                       int slidingWindow, float ropeBase, int ropeDimensions, Optional<String> ropeScalingType,
                       float ropeScalingFactor, int ropeOriginalContext, float normEps, boolean encoder, long seed,
                       float weightStd, float embeddingStd) {
        /** Checks the shape. */
        public Spec {
            if (layers < 1 || heads < 1 || kvHeads < 1 || headDim < 1 || feedForward < 1 || contextLength < 1) {
                throw new IllegalArgumentException("layers, heads, kvHeads, headDim, feedForward and contextLength must be >= 1");
            }
            if (embedding < 32 || embedding % 32 != 0 || embedding % heads != 0) {
                throw new IllegalArgumentException("embedding must be a multiple of 32 and of heads, got " + embedding);
            }
            if (heads % kvHeads != 0) throw new IllegalArgumentException("kvHeads must divide heads");
            if (experts < 0 || expertsUsed < 0 || expertsUsed > experts || (experts > 0) != (expertsUsed > 0)) {
                throw new IllegalArgumentException("0 < expertsUsed <= experts, or both 0");
            }
            if (!(weightStd > 0) || !Float.isFinite(weightStd) || !(embeddingStd > 0) || !Float.isFinite(embeddingStd)) {
                throw new IllegalArgumentException("weightStd and embeddingStd must be > 0");
            }
        }

        /** {@return this spec with {@code n} layers} */
        public Spec withLayers(int n) {
            return new Spec(architecture, vocabulary, n, embedding, heads, kvHeads, headDim, feedForward, experts,
                    expertsUsed, expertFeedForward, contextLength, slidingWindow, ropeBase, ropeDimensions,
                    ropeScalingType, ropeScalingFactor, ropeOriginalContext, normEps, encoder, seed, weightStd,
                    embeddingStd);
        }

        /** {@return the RoPE frequency scale llama.cpp derives: 1 / factor, or 1 without a factor} */
        public float ropeFrequencyScale() {
            return ropeScalingFactor == 0 ? 1f : 1f / ropeScalingFactor;
        }

        /** {@return the vocabulary file, relative to the pinned llama.cpp source} */
        public String vocabularyFile() {
            return "models/ggml-vocab-" + vocabulary + ".gguf";
        }

        /** Sets a spec's values by name; starts from 2 layers, embedding 64, feed-forward 128, sd 0.2. */
        public static final class Builder {
            private final String architecture;
            private final String vocabulary;
            private int layers = 2;
            private int embedding = 64;
            private int heads = 4;
            private int kvHeads = 4;
            private int headDim;
            private int feedForward = 128;
            private int experts;
            private int expertsUsed;
            private int expertFeedForward;
            private int contextLength = 4096;
            private int slidingWindow;
            private float ropeBase = 10_000f;
            private int ropeDimensions;
            private String ropeScalingType;
            private float ropeScalingFactor;
            private int ropeOriginalContext;
            private float normEps = 1e-5f;
            private boolean encoder;
            private long seed = 42;
            private float weightStd = 0.2f;
            private float embeddingStd;

            Builder(String architecture, String vocabulary) {
                this.architecture = architecture;
                this.vocabulary = vocabulary;
            }

            public Builder layers(int n) { layers = n; return this; }
            public Builder embedding(int n) { embedding = n; return this; }
            public Builder heads(int h, int kv) { heads = h; kvHeads = kv; return this; }
            public Builder headDim(int n) { headDim = n; return this; }
            public Builder feedForward(int n) { feedForward = n; return this; }
            public Builder experts(int n, int used, int ff) { experts = n; expertsUsed = used; expertFeedForward = ff; return this; }
            public Builder context(int n) { contextLength = n; return this; }
            public Builder slidingWindow(int n) { slidingWindow = n; return this; }
            public Builder ropeBase(float b) { ropeBase = b; return this; }
            public Builder ropeDimensions(int n) { ropeDimensions = n; return this; }
            public Builder ropeScaling(String type, float factor, int originalContext) {
                ropeScalingType = type;
                ropeScalingFactor = factor;
                ropeOriginalContext = originalContext;
                return this;
            }
            public Builder rmsEps(float eps) { normEps = eps; return this; }
            /** A non-causal encoder, with layer-norm epsilon 1e-12 as BERT's. */
            public Builder encoder() { encoder = true; normEps = 1e-12f; return this; }
            public Builder seed(long s) { seed = s; return this; }
            public Builder weightStd(float sd) { weightStd = sd; return this; }
            public Builder embeddingStd(float sd) { embeddingStd = sd; return this; }

            /** {@return the spec} */
            public Spec build() {
                return new Spec(architecture, vocabulary, layers, embedding, heads, kvHeads,
                        headDim == 0 ? embedding / heads : headDim, feedForward, experts, expertsUsed, expertFeedForward,
                        contextLength, slidingWindow, ropeBase, ropeDimensions, Optional.ofNullable(ropeScalingType),
                        ropeScalingFactor, ropeOriginalContext, normEps, encoder, seed, weightStd,
                        embeddingStd == 0 ? weightStd : embeddingStd);
            }
        }
    }

    // ---- files ----------------------------------------------------------------------------------------------------

    /**
     * The model of {@code family} made from the pinned llama.cpp source that the tests use ({@link TestEnv#sourceDir()}),
     * generated into the cache when missing; skips the calling test when the natives were not built here.
     *
     * @param family the architecture
     * @return the model file
     */
    public static Path path(Family family) {
        if (family == Family.QWEN2) {
            return SyntheticQwen.path();
        }
        return ensure(SyntheticQwen.cacheDir(), TestEnv.sourceDir().resolve(family.spec().vocabularyFile()), family);
    }

    /**
     * Returns the model of {@code family} made from {@code vocab} in {@code cacheDir}, generating it when missing.
     *
     * @param cacheDir the cache folder (created when missing)
     * @param vocab    the vocabulary GGUF to copy the tokenizer from
     * @param family   the architecture
     * @return the model file
     * @throws IllegalArgumentException if the vocabulary file is missing
     * @throws UncheckedIOException     if the cache cannot be written
     */
    public static Path ensure(Path cacheDir, Path vocab, Family family) {
        if (!Files.isRegularFile(vocab)) throw new IllegalArgumentException(vocab + " is missing");
        try {
            String hash = hash("generator=" + GENERATOR_VERSION + ";family=" + family + ";" + family.spec(), vocab);
            return cached(cacheDir, family.fileName(), hash, out -> write(vocab, family.spec(), family.layout,
                    family + " synthetic (llama-ffm test model, random weights)", out, w -> {}));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the synthetic " + family + " model in " + cacheDir + ": " + e, e);
        }
    }

    /**
     * {@code general.name} of the fuzz seeds: without the family's name, since llama.cpp sets token attributes by
     * name ("phi3" in it looks up {@code <|endoftext|>}, which stories260K's vocabulary lacks, and refuses the file).
     */
    static final String FUZZ_SEED_NAME = "llama-ffm fuzz seed (random weights)";

    /**
     * A fuzz seed of {@code family} (for {@code io.llamaffm.fuzz.ArchitectureFuzzIT}): the family's keys and tensor set in
     * its spec's dimensions but with 2 layers, and the tokenizer of {@code smallVocabulary} (stories260K's 512-token
     * SPM vocabulary) instead of the family's 50k-262k-token one, so that a mutant stays under 600 KiB, loads in
     * milliseconds, and a mutation lands on the architecture's hyper-parameters and tensors rather than in the token
     * arrays (the real tokenizers are fuzzed as vocabulary seeds). The encoders get {@code token_type_count} 2 when the
     * vocabulary has none (their {@code token_types} tensor needs a row). Cached like {@link #ensure}.
     *
     * @param cacheDir        the cache folder (created when missing)
     * @param smallVocabulary a GGUF whose {@code tokenizer.*} keys are copied (a model file will do)
     * @param family          the architecture
     * @return the seed file
     */
    public static Path fuzzSeed(Path cacheDir, Path smallVocabulary, Family family) {
        if (!Files.isRegularFile(smallVocabulary)) throw new IllegalArgumentException(smallVocabulary + " is missing");
        Spec s = family.spec().withLayers(2);
        try {
            String hash = hash("generator=" + GENERATOR_VERSION + ";fuzz-seed;name=" + FUZZ_SEED_NAME + ";family=" + family + ";" + s,
                    smallVocabulary);
            return cached(cacheDir, family.fileName() + "-fuzz", hash, out -> write(smallVocabulary, s, family.layout,
                    FUZZ_SEED_NAME, out, w -> {}, true));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the " + family + " fuzz seed in " + cacheDir + ": " + e, e);
        }
    }

    /** Writes a file: called with the temporary path to write to. */
    interface FileWriter {
        void write(Path out) throws IOException;
    }

    /**
     * {@code <cacheDir>/<prefix>-<hash>.gguf}: returned as it is when present, otherwise written by {@code writer} under a
     * temporary name and moved into place atomically, holding a lock file in the folder (and this class's lock, since
     * a JVM may hold one file lock only once) so that parallel JVMs and threads wait for one writer.
     */
    static synchronized Path cached(Path cacheDir, String prefix, String hash, FileWriter writer) throws IOException {
        Path target = cacheDir.resolve(prefix + "-" + hash + ".gguf");
        if (Files.isRegularFile(target)) {
            return target;
        }
        Files.createDirectories(cacheDir);
        try (FileChannel lockFile = FileChannel.open(cacheDir.resolve("." + prefix + ".lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockFile.lock()) {
            if (!Files.isRegularFile(target)) { // another JVM may have written it while this one waited
                Path tmp = target.resolveSibling(target.getFileName() + ".part-" + ProcessHandle.current().pid());
                try {
                    writer.write(tmp);
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }
        return target;
    }

    /**
     * Writes a model to {@code out}: the common keys of {@code s}, every {@code tokenizer.*} key of {@code vocab}
     * (then {@code tokenizer} may change them), and what {@code layout} writes: the family's own keys and its tensors.
     */
    static void write(Path vocab, Spec s, Layout layout, String name, Path out, Consumer<GgufWriter> tokenizer)
            throws IOException {
        write(vocab, s, layout, name, out, tokenizer, false);
    }

    /** As above; with {@code twoTokenTypes}, an encoder gets 2 token types when the vocabulary states none. */
    static void write(Path vocab, Spec s, Layout layout, String name, Path out, Consumer<GgufWriter> tokenizer,
                      boolean twoTokenTypes) throws IOException {
        GgufWriter w = new GgufWriter();
        Out o = new Out(w, s);
        w.putString("general.architecture", s.architecture());
        w.putString("general.type", "model");
        w.putString("general.name", name);
        w.putUInt32("general.file_type", 1); // LLAMA_FTYPE_MOSTLY_F16
        o.u32("block_count", s.layers());
        o.u32("context_length", s.contextLength());
        o.u32("embedding_length", s.embedding());
        o.u32("feed_forward_length", s.feedForward());
        o.u32("attention.head_count", s.heads());
        o.u32("attention.head_count_kv", s.kvHeads());
        if (s.headDim() != s.embedding() / s.heads()) {
            o.u32("attention.key_length", s.headDim());
            o.u32("attention.value_length", s.headDim());
        }
        o.f32("rope.freq_base", s.ropeBase());
        if (s.ropeDimensions() > 0) o.u32("rope.dimension_count", s.ropeDimensions());
        s.ropeScalingType().ifPresent(t -> o.str("rope.scaling.type", t));
        if (s.ropeScalingFactor() > 0) o.f32("rope.scaling.factor", s.ropeScalingFactor());
        if (s.ropeOriginalContext() > 0) o.u32("rope.scaling.original_context_length", s.ropeOriginalContext());
        if (s.experts() > 0) {
            o.u32("expert_count", s.experts());
            o.u32("expert_used_count", s.expertsUsed());
            if (s.expertFeedForward() > 0) o.u32("expert_feed_forward_length", s.expertFeedForward());
        }
        if (s.slidingWindow() > 0) o.u32("attention.sliding_window", s.slidingWindow());
        if (s.encoder()) {
            o.f32("attention.layer_norm_epsilon", s.normEps());
            w.putBool(s.architecture() + ".attention.causal", false);
        } else {
            o.f32("attention.layer_norm_rms_epsilon", s.normEps());
        }
        try (GgufFile v = GgufFile.open(vocab)) {
            for (Map.Entry<String, GgufValue> e : v.metadata().entrySet()) {
                if (e.getKey().startsWith("tokenizer.")) {
                    w.put(e.getKey(), e.getValue());
                }
            }
            o.vocabulary = v.getArray("tokenizer.ggml.tokens").size();
            o.tokenTypes = v.find("tokenizer.ggml.token_type_count").orElse(null) instanceof GgufValue.UInt32(long n) ? n : 0;
        }
        tokenizer.accept(w);
        if (twoTokenTypes && s.encoder() && o.tokenTypes == 0) {
            w.putUInt32("tokenizer.ggml.token_type_count", 2);
            o.tokenTypes = 2;
        }
        layout.write(s, o);
        w.write(out);
    }

    /** The first 16 hex digits of the sha256 of {@code text} and the given files' bytes. */
    static String hash(String text, Path... files) throws IOException {
        MessageDigest sha = sha256();
        sha.update(text.getBytes(StandardCharsets.UTF_8));
        for (Path f : files) {
            sha.update((";" + f.getFileName() + "=").getBytes(StandardCharsets.UTF_8));
            MessageDigest file = sha256();
            try (InputStream in = new DigestInputStream(Files.newInputStream(f), file)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
            sha.update(file.digest());
        }
        return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- tensors --------------------------------------------------------------------------------------------------

    /** Writes a family's own keys and its tensors. */
    @FunctionalInterface
    interface Layout {
        void write(Spec s, Out o);
    }

    /** The writer of one file, with the architecture's key prefix and the spec's random streams. */
    static final class Out {
        private final GgufWriter w;
        private final Spec s;
        private final GgmlType matrixType;
        /** Tokens in the copied vocabulary: the rows of {@code token_embd} and {@code output}. */
        long vocabulary;
        /** {@code tokenizer.ggml.token_type_count} of the copied vocabulary (BERT's segment types), 0 when absent. */
        long tokenTypes;

        Out(GgufWriter w, Spec s) {
            this.w = w;
            this.s = s;
            this.matrixType = s.encoder() ? GgmlType.F32 : GgmlType.F16;
        }

        void u32(String key, long v) {
            w.putUInt32(s.architecture() + "." + key, v);
        }

        void f32(String key, float v) {
            w.putFloat32(s.architecture() + "." + key, v);
        }

        void str(String key, String v) {
            w.putString(s.architecture() + "." + key, v);
        }

        void bool(String key, boolean v) {
            w.putBool(s.architecture() + "." + key, v);
        }

        /** A random matrix (or stack of matrices), ggml order: {@code dims[0]} is the input (row) length. */
        void matrix(String name, long... dims) {
            w.addTensor(name, matrixType, dims, gaussian(name, count(dims)));
        }

        /** The token embedding: always F16 (it is only gathered from, exactly, and it dominates the file). */
        void tokenEmbedding() {
            w.addTensor("token_embd.weight", GgmlType.F16, new long[] {s.embedding(), vocabulary},
                    SyntheticModels.gaussian(s.seed(), "token_embd.weight", s.embedding() * vocabulary, s.embeddingStd()));
        }

        /** A random F32 tensor: biases, routing biases, attention sinks. */
        void random(String name, long... dims) {
            w.addTensor(name, GgmlType.F32, dims, gaussian(name, count(dims)));
        }

        /** A norm weight of ones. */
        void ones(String name, long n) {
            values(name, filled(n, 1f));
        }

        void values(String name, float[] v) {
            w.addTensor(name, GgmlType.F32, new long[] {v.length}, v);
        }

        /** {@code attn_q/k/v} of a block (q: {@code heads * headDim} rows, k and v: {@code kvHeads * headDim}). */
        void qkv(String b, boolean bias) {
            long q = (long) s.heads() * s.headDim();
            long kv = (long) s.kvHeads() * s.headDim();
            matrix(b + "attn_q.weight", s.embedding(), q);
            if (bias) random(b + "attn_q.bias", q);
            matrix(b + "attn_k.weight", s.embedding(), kv);
            if (bias) random(b + "attn_k.bias", kv);
            matrix(b + "attn_v.weight", s.embedding(), kv);
            if (bias) random(b + "attn_v.bias", kv);
        }

        /** {@code attn_output}: all heads back to the embedding. */
        void attentionOutput(String b) {
            matrix(b + "attn_output.weight", (long) s.heads() * s.headDim(), s.embedding());
        }

        /** The SwiGLU feed-forward {@code ffn_gate/up/down}. */
        void swiglu(String b) {
            matrix(b + "ffn_gate.weight", s.embedding(), s.feedForward());
            matrix(b + "ffn_up.weight", s.embedding(), s.feedForward());
            matrix(b + "ffn_down.weight", s.feedForward(), s.embedding());
        }

        /** Routed experts {@code ffn_gate_inp} and {@code ffn_gate/up/down_exps} of {@code ff} each. */
        void experts(String b, long ff) {
            matrix(b + "ffn_gate_inp.weight", s.embedding(), s.experts());
            matrix(b + "ffn_gate_exps.weight", s.embedding(), ff, s.experts());
            matrix(b + "ffn_up_exps.weight", s.embedding(), ff, s.experts());
            matrix(b + "ffn_down_exps.weight", ff, s.embedding(), s.experts());
        }

        /** {@code output_norm}, and {@code output} when untied. */
        void output(boolean untied) {
            ones("output_norm.weight", s.embedding());
            if (untied) {
                matrix("output.weight", s.embedding(), vocabulary);
            }
        }

        private float[] gaussian(String name, long n) {
            return SyntheticModels.gaussian(s.seed(), name, n, s.weightStd());
        }

        private static long count(long[] dims) {
            long n = 1;
            for (long d : dims) n *= d;
            return n;
        }
    }

    /** Normal values from a stream of their own, seeded by {@code seed} and the tensor's name. */
    static float[] gaussian(long seed, String name, long n, float std) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        float[] values = new float[Math.toIntExact(n)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (rng.nextGaussian() * std);
        }
        return values;
    }

    private static float[] filled(long n, float v) {
        float[] values = new float[Math.toIntExact(n)];
        Arrays.fill(values, v);
        return values;
    }

    // ---- the families' layouts (mirroring each architecture's load_arch_tensors in the pinned llama.cpp) ------------

    private static void llama(Spec s, Out o) {
        o.u32("vocab_size", o.vocabulary);
        o.tokenEmbedding();
        o.output(false);
        o.values("rope_freqs.weight", llama3RopeFactors(s.ropeBase(), s.headDim(), 8f, 1f, 4f, 8192));
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.qkv(b, false);
            o.attentionOutput(b);
            o.ones(b + "ffn_norm.weight", s.embedding());
            o.swiglu(b);
        }
    }

    /**
     * Llama 3.1's RoPE frequency divisors, as the pinned converter computes them ({@code LlamaModel.generate_extra_tensors}):
     * 1 for wavelengths below {@code originalContext / highFrequencyFactor}, {@code factor} above
     * {@code originalContext / lowFrequencyFactor}, smoothly interpolated between.
     */
    static float[] llama3RopeFactors(float base, int headDim, float factor, float lowFrequencyFactor,
                                     float highFrequencyFactor, int originalContext) {
        double lowWavelength = originalContext / lowFrequencyFactor;
        double highWavelength = originalContext / highFrequencyFactor;
        float[] factors = new float[headDim / 2];
        for (int i = 0; i < factors.length; i++) {
            double frequency = 1.0 / Math.pow(base, (2.0 * i) / headDim);
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength < highWavelength) {
                factors[i] = 1f;
            } else if (wavelength > lowWavelength) {
                factors[i] = factor;
            } else {
                double smooth = (originalContext / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor);
                factors[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return factors;
    }

    static void qwen2(Spec s, Out o) {
        o.tokenEmbedding(); // tied: also the output matrix
        o.output(false);
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.qkv(b, true);
            o.attentionOutput(b);
            o.ones(b + "ffn_norm.weight", s.embedding());
            o.swiglu(b);
        }
    }

    private static void qwen3(Spec s, Out o) {
        qwen3Blocks(s, o, false);
    }

    private static void qwen3moe(Spec s, Out o) {
        qwen3Blocks(s, o, true);
    }

    private static void qwen3Blocks(Spec s, Out o, boolean moe) {
        o.tokenEmbedding();
        o.output(false);
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.qkv(b, false);
            o.attentionOutput(b);
            o.ones(b + "attn_q_norm.weight", s.headDim());
            o.ones(b + "attn_k_norm.weight", s.headDim());
            o.ones(b + "ffn_norm.weight", s.embedding());
            if (moe) {
                o.experts(b, s.expertFeedForward());
            } else {
                o.swiglu(b);
            }
        }
    }

    private static void gemma2(Spec s, Out o) {
        o.u32("attention.sliding_window_pattern", 2);
        o.f32("attn_logit_softcapping", 50f);
        o.f32("final_logit_softcapping", 30f);
        gemmaBlocks(s, o, false);
    }

    private static void gemma3(Spec s, Out o) {
        o.u32("attention.sliding_window_pattern", 3);
        o.f32("rope.freq_base_swa", 10_000f);
        gemmaBlocks(s, o, true);
    }

    private static void gemmaBlocks(Spec s, Out o, boolean qkNorm) {
        o.tokenEmbedding(); // Gemma always ties the output to the embedding
        o.output(false);
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.qkv(b, false);
            o.attentionOutput(b);
            o.ones(b + "post_attention_norm.weight", s.embedding());
            if (qkNorm) {
                o.ones(b + "attn_q_norm.weight", s.headDim());
                o.ones(b + "attn_k_norm.weight", s.headDim());
            }
            o.ones(b + "ffn_norm.weight", s.embedding());
            o.swiglu(b);
            o.ones(b + "post_ffw_norm.weight", s.embedding());
        }
    }

    private static void phi3(Spec s, Out o) {
        // Phi-3.5-mini's LongRoPE: attention factor and per-dimension factors for short and long contexts
        o.f32("rope.scaling.attn_factor", 1.1902381f);
        o.tokenEmbedding();
        o.output(false);
        float[] longFactors = new float[s.headDim() / 2];
        float[] shortFactors = new float[s.headDim() / 2];
        for (int i = 0; i < longFactors.length; i++) { // rising with the wavelength, as Phi-3.5's
            shortFactors[i] = 1f + 0.25f * i;
            longFactors[i] = 1f + 4f * i;
        }
        o.values("rope_factors_long.weight", longFactors);
        o.values("rope_factors_short.weight", shortFactors);
        long kv = (long) s.kvHeads() * s.headDim();
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.matrix(b + "attn_qkv.weight", s.embedding(), s.embedding() + 2 * kv);
            o.attentionOutput(b);
            o.ones(b + "ffn_norm.weight", s.embedding());
            o.matrix(b + "ffn_up.weight", s.embedding(), 2L * s.feedForward()); // gate and up, fused
            o.matrix(b + "ffn_down.weight", s.feedForward(), s.embedding());
        }
    }

    private static void granite(Spec s, Out o) {
        // Granite 3.x's muP scales (granite-3.3-2b: 8, 0.22, 12, 1/64); the attention scale replaces 1/sqrt(head size)
        o.f32("logit_scale", 8f);
        o.f32("residual_scale", 0.22f);
        o.f32("embedding_scale", 12f);
        o.f32("attention.scale", 0.015625f);
        o.tokenEmbedding();
        o.output(false);
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.qkv(b, false);
            o.attentionOutput(b);
            o.ones(b + "ffn_norm.weight", s.embedding());
            o.swiglu(b);
        }
    }

    private static void olmo2(Spec s, Out o) {
        o.tokenEmbedding();
        o.output(true); // the olmo2 loader requires output.weight
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.qkv(b, false);
            o.attentionOutput(b);
            o.ones(b + "attn_q_norm.weight", (long) s.heads() * s.headDim());
            o.ones(b + "attn_k_norm.weight", (long) s.kvHeads() * s.headDim());
            o.ones(b + "post_attention_norm.weight", s.embedding());
            o.swiglu(b);
            o.ones(b + "post_ffw_norm.weight", s.embedding());
        }
    }

    private static void smollm3(Spec s, Out o) {
        o.tokenEmbedding();
        o.output(false);
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.qkv(b, false);
            o.attentionOutput(b);
            o.ones(b + "ffn_norm.weight", s.embedding());
            o.swiglu(b);
        }
    }

    /** DeepSeek's MLA ranks and head parts (see {@link Family#DEEPSEEK2}). */
    static final int DEEPSEEK_Q_LORA_RANK = 32;
    static final int DEEPSEEK_KV_LORA_RANK = 32;
    static final int DEEPSEEK_QK_NOPE = 16;
    static final int DEEPSEEK_V_HEAD = 16;
    static final int DEEPSEEK_LEADING_DENSE = 1;
    static final int DEEPSEEK_SHARED_EXPERTS = 1;

    private static void deepseek2(Spec s, Out o) {
        int rope = s.ropeDimensions();
        int keyMla = DEEPSEEK_QK_NOPE + rope;
        if (s.headDim() != DEEPSEEK_KV_LORA_RANK + rope) {
            throw new IllegalArgumentException("deepseek2's cached head is the KV LoRA rank plus the RoPE part");
        }
        // as the converter writes MLA models: the cached (absorbed) head is key_length / value_length, one KV head
        o.u32("attention.value_length", DEEPSEEK_KV_LORA_RANK);
        o.u32("attention.key_length_mla", keyMla);
        o.u32("attention.value_length_mla", DEEPSEEK_V_HEAD);
        o.u32("attention.q_lora_rank", DEEPSEEK_Q_LORA_RANK);
        o.u32("attention.kv_lora_rank", DEEPSEEK_KV_LORA_RANK);
        o.u32("leading_dense_block_count", DEEPSEEK_LEADING_DENSE);
        o.u32("expert_shared_count", DEEPSEEK_SHARED_EXPERTS);
        o.u32("expert_group_count", 4);
        o.u32("expert_group_used_count", 2);
        o.f32("expert_weights_scale", 2.5f);
        o.bool("expert_weights_norm", true);
        o.u32("expert_gating_func", 2); // sigmoid
        o.f32("rope.scaling.yarn_log_multiplier", 0.1f);
        o.tokenEmbedding();
        o.output(false);
        int h = s.heads();
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.ones(b + "attn_q_a_norm.weight", DEEPSEEK_Q_LORA_RANK);
            o.ones(b + "attn_kv_a_norm.weight", DEEPSEEK_KV_LORA_RANK);
            o.matrix(b + "attn_q_a.weight", s.embedding(), DEEPSEEK_Q_LORA_RANK);
            o.matrix(b + "attn_q_b.weight", DEEPSEEK_Q_LORA_RANK, (long) h * keyMla);
            o.matrix(b + "attn_kv_a_mqa.weight", s.embedding(), DEEPSEEK_KV_LORA_RANK + rope);
            o.matrix(b + "attn_k_b.weight", DEEPSEEK_QK_NOPE, DEEPSEEK_KV_LORA_RANK, h);
            o.matrix(b + "attn_v_b.weight", DEEPSEEK_KV_LORA_RANK, DEEPSEEK_V_HEAD, h);
            o.matrix(b + "attn_output.weight", (long) h * DEEPSEEK_V_HEAD, s.embedding());
            o.ones(b + "ffn_norm.weight", s.embedding());
            if (i < DEEPSEEK_LEADING_DENSE) {
                o.swiglu(b);
            } else {
                o.experts(b, s.expertFeedForward());
                o.random(b + "exp_probs_b.bias", s.experts());
                long shared = (long) s.expertFeedForward() * DEEPSEEK_SHARED_EXPERTS;
                o.matrix(b + "ffn_gate_shexp.weight", s.embedding(), shared);
                o.matrix(b + "ffn_up_shexp.weight", s.embedding(), shared);
                o.matrix(b + "ffn_down_shexp.weight", shared, s.embedding());
            }
        }
    }

    private static void gptOss(Spec s, Out o) {
        o.u32("attention.sliding_window_pattern", 2);
        o.tokenEmbedding();
        o.output(true); // the gpt-oss loader requires output.weight
        long ff = s.expertFeedForward();
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.ones(b + "post_attention_norm.weight", s.embedding());
            o.qkv(b, true);
            o.attentionOutput(b);
            o.random(b + "attn_output.bias", s.embedding());
            o.random(b + "attn_sinks.weight", s.heads());
            o.experts(b, ff);
            o.random(b + "ffn_gate_inp.bias", s.experts());
            o.random(b + "ffn_gate_exps.bias", ff, s.experts());
            o.random(b + "ffn_up_exps.bias", ff, s.experts());
            o.random(b + "ffn_down_exps.bias", s.embedding(), s.experts());
        }
    }

    private static void mistral3(Spec s, Out o) {
        o.f32("rope.scaling.yarn_beta_fast", 32f);
        o.f32("rope.scaling.yarn_beta_slow", 1f);
        o.f32("rope.scaling.yarn_log_multiplier", 1f);
        o.f32("attention.temperature_scale", 0.1f);
        o.tokenEmbedding();
        o.output(false);
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.ones(b + "attn_norm.weight", s.embedding());
            o.qkv(b, false);
            o.attentionOutput(b);
            o.ones(b + "ffn_norm.weight", s.embedding());
            o.swiglu(b);
        }
    }

    private static void bert(Spec s, Out o) {
        o.u32("pooling_type", 2); // CLS, as bge
        long types = o.tokenTypes;
        o.tokenEmbedding();
        o.matrix("token_types.weight", s.embedding(), types);
        o.matrix("position_embd.weight", s.embedding(), s.contextLength());
        encoderNorm(o, "token_embd_norm");
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.qkv(b, true);
            o.attentionOutput(b);
            o.random(b + "attn_output.bias", s.embedding());
            encoderNorm(o, b + "attn_output_norm");
            o.matrix(b + "ffn_up.weight", s.embedding(), s.feedForward());
            o.random(b + "ffn_up.bias", s.feedForward());
            o.matrix(b + "ffn_down.weight", s.feedForward(), s.embedding());
            o.random(b + "ffn_down.bias", s.embedding());
            encoderNorm(o, b + "layer_output_norm");
        }
    }

    /** nomic-bert and nomic-bert-moe (experts every second layer when the spec has experts). */
    private static void nomicBert(Spec s, Out o) {
        o.u32("pooling_type", 1); // mean
        boolean moe = s.experts() > 0;
        if (moe) o.u32("moe_every_n_layers", 2);
        long types = o.tokenTypes;
        o.tokenEmbedding();
        o.matrix("token_types.weight", s.embedding(), types);
        encoderNorm(o, "token_embd_norm");
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            o.matrix(b + "attn_qkv.weight", s.embedding(), 3L * s.embedding());
            o.matrix(b + "attn_output.weight", s.embedding(), s.embedding());
            encoderNorm(o, b + "attn_output_norm");
            if (moe && i % 2 == 1) {
                o.matrix(b + "ffn_gate_inp.weight", s.embedding(), s.experts());
                o.matrix(b + "ffn_up_exps.weight", s.embedding(), s.feedForward(), s.experts());
                o.matrix(b + "ffn_down_exps.weight", s.feedForward(), s.embedding(), s.experts());
            } else if (moe) {
                o.matrix(b + "ffn_up.weight", s.embedding(), s.feedForward());
                o.random(b + "ffn_up.bias", s.feedForward());
                o.matrix(b + "ffn_down.weight", s.feedForward(), s.embedding());
                o.random(b + "ffn_down.bias", s.embedding());
            } else {
                o.swiglu(b);
            }
            encoderNorm(o, b + "layer_output_norm");
        }
    }

    /** A layer norm: weight 1, random bias. */
    private static void encoderNorm(Out o, String name) {
        o.ones(name + ".weight", o.s.embedding());
        o.random(name + ".bias", o.s.embedding());
    }
}
