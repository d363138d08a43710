package io.llamaffm.fuzz;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.LlamaException;
import io.llamaffm.Model;
import io.llamaffm.ModelLoadException;
import io.llamaffm.ModelParams;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.LoraFixture;
import io.llamaffm.gguf.MoeFixture;
import io.llamaffm.testmodels.SyntheticModels;
import io.llamaffm.testmodels.SyntheticModels.Family;
import io.llamaffm.testmodels.SyntheticQwen;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The crashers of the GGUF fuzz campaign, minimized to the one change that made llama.cpp abort the process (each
 * found by {@link GgufFuzzIT}; RELIABILITY.md lists them): each must now be refused in Java with a message naming the
 * problem, from a file and from memory, before llama.cpp sees it; or, where the model is usable, the one operation
 * that would abort is refused and the rest works.
 */
class HostileModelIT {
    @TempDir
    static Path tmp;
    private static Path stories;
    private static Path moe;

    @BeforeAll
    static void fixtures() {
        stories = TestEnv.stories();
        moe = tmp.resolve("moe.gguf");
        MoeFixture.write(stories, moe, 4, 2);
    }

    // ---- tensors ---------------------------------------------------------------------------------------------------

    @Test
    void matricesOfATypeWithoutAKernel() throws IOException {
        for (GgmlType type : List.of(GgmlType.Q8_1, GgmlType.F64, GgmlType.I8, GgmlType.I16, GgmlType.I32, GgmlType.I64)) {
            Path f = edited(stories, "type-" + type, e -> retype(e, "blk.2.attn_v.weight", type));
            refused(f, "tensor 'blk.2.attn_v.weight' is " + type + ", a type ggml has no kernel to compute with");
        }
    }

    @Test
    void aNormWeightOfAnotherTypeThanF32() throws IOException {
        Path f = edited(stories, "norm-q5_0", e -> retype(e, "blk.0.attn_norm.weight", GgmlType.Q5_0));
        refused(f, "tensor 'blk.0.attn_norm.weight' is a vector of Q5_0; vectors (norms, biases) enter element-wise "
                + "operations, which ggml computes in F32 only");
    }

    @Test
    void tensorDataOffTheThirtyTwoByteAlignment() throws IOException {
        Path f = edited(stories, "alignment-4", e -> e.metadata.put("general.alignment", new GgufValue.UInt32(4)));
        try (GgufFile g = GgufFile.open(f)) {
            assertTrue(g.dataOffset() % 32 != 0, "the data section moved off 32 bytes: " + g.dataOffset());
        }
        refused(f, "not a multiple of 32 (general.alignment is 4); ggml maps tensor data at 32-byte alignment only");
    }

    // ---- hyperparameters -------------------------------------------------------------------------------------------

    @Test
    void headCountsThatMakeATensorShapeZeroOrOverflow() throws IOException {
        refused(edited(stories, "kv-heads-0", e -> e.metadata.put("llama.attention.head_count_kv", new GgufValue.UInt32(0))),
                "blk.0.attention: key/value heads is 0, but the file has tensors of that size");
        refused(edited(stories, "kv-heads-2^31", e -> e.metadata.put("llama.attention.head_count_kv", new GgufValue.UInt32(1L << 31))),
                "block 0: head size 8 times 2147483648 heads overflows 32 bits");
        refused(edited(stories, "heads-100", e -> e.metadata.put("llama.attention.head_count", new GgufValue.UInt32(100))),
                "key head size is 0, but the file has tensors of that size");
    }

    @Test
    void blockCountsAndEpsilonsLlamaCppAssertsOn() throws IOException {
        refused(edited(stories, "blocks-0", e -> e.metadata.put("llama.block_count", new GgufValue.UInt32(0))),
                "llama.block_count is 0; llama.cpp takes 1 to 512");
        refused(edited(stories, "blocks-513", e -> e.metadata.put("llama.block_count", new GgufValue.UInt32(513))),
                "llama.block_count is 513; llama.cpp takes 1 to 512");
        refused(edited(stories, "eps-negative", e -> e.metadata.put("llama.attention.layer_norm_rms_epsilon", new GgufValue.Float32(-1f))),
                "llama.attention.layer_norm_rms_epsilon is -1.0; a norm's epsilon must be >= 0");
        refused(edited(stories, "eps-nan", e -> e.metadata.put("llama.attention.layer_norm_rms_epsilon", new GgufValue.Float32(Float.NaN))),
                "llama.attention.layer_norm_rms_epsilon is NaN; a norm's epsilon must be >= 0");
        refused(edited(stories, "rope-bogus", e -> e.metadata.put("llama.rope.scaling.type", new GgufValue.Str("bogus"))),
                "llama.rope.scaling.type is 'bogus'; llama.cpp knows [none, linear, yarn, longrope]");
        // a metadata override is what llama.cpp reads, so it is what is checked
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Model.load(stories,
                ModelParams.defaults().withMetadataOverrides(java.util.Map.of("llama.block_count", 1000L))));
        assertTrue(e.getMessage().contains("llama.block_count is 1000"), e.getMessage());
    }

    /**
     * Found with the architecture matrix: head sizes whose tensors all fit but that the architecture's graph asserts on
     * when a context is created (qwen2/qwen3: equal key and value heads, RoPE over the whole head), or that deepseek2's
     * loader asserts on (a query/key head no larger than its RoPE part). Each aborted the process unguarded.
     */
    @Test
    void headSizesTheGraphsOfTheMatrixArchitecturesAssertOn() throws IOException {
        Path qwen3 = SyntheticModels.path(SyntheticModels.Family.QWEN3);
        refused(edited(qwen3, "qwen3-rope-16", e -> e.metadata.put("qwen3.rope.dimension_count", new GgufValue.UInt32(16))),
                "qwen3's graph turns the whole head with RoPE: qwen3.rope.dimension_count is 16, the head 32");
        // key heads of 8 and value heads of 16: qwen2 sizes k and v by the value head, so every tensor still fits
        refused(edited(SyntheticQwen.path(), "qwen2-key-8", e -> e.metadata.put("qwen2.attention.key_length", new GgufValue.UInt32(8))),
                "qwen2's graph needs equal key and value heads, the file has 8 and 16");
        Path deepseek = SyntheticModels.path(SyntheticModels.Family.DEEPSEEK2);
        refused(edited(deepseek, "deepseek2-rope-24", e -> e.metadata.put("deepseek2.rope.dimension_count", new GgufValue.UInt32(24))),
                "deepseek2's query/key head (24) must be larger than its RoPE part (deepseek2.rope.dimension_count 24)");
    }

    @Test
    void expertCountsThatDisagree() throws IOException {
        refused(edited(moe, "no-expert-count", e -> e.metadata.remove("llama.expert_count")),
                "llama.expert_used_count is 2 but llama.expert_count is 0");
        refused(edited(moe, "one-expert", e -> e.metadata.put("llama.expert_count", new GgufValue.UInt32(1))),
                "llama.expert_used_count is 2 but llama.expert_count is 1");
        refused(edited(moe, "no-ffn-length", e -> e.metadata.remove("llama.feed_forward_length")),
                "blk.0.experts: feed-forward length is 0, but the file has tensors of that size");
        refused(edited(moe, "too-many-experts", e -> e.metadata.put("llama.expert_count", new GgufValue.UInt32(4096))),
                "llama.expert_count is 4096; llama.cpp takes at most 1024");
    }

    // ---- vocabulary ------------------------------------------------------------------------------------------------

    @Test
    void twoTokensWithTheSameText() throws IOException {
        refused(edited(stories, "dup-token", e -> setToken(e, 457, token(e, 300))),
                "tokens 300 and 457 of tokenizer.ggml.tokens have the same text");
        // llama.cpp reads a token as a C string: what follows a NUL is not part of it
        Path nul = edited(stories, "dup-token-nul", e -> setToken(e, 301, token(e, 300) + "\0tail"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Model.load(nul));
        assertTrue(e.getMessage().contains("tokens 300 and 301 of tokenizer.ggml.tokens have the same text"), e.getMessage());
    }

    @Test
    void aByteTokenWhoseTextIsNoByte() throws IOException {
        Path f = edited(stories, "byte-token-short", e -> {
            long[] types = ((GgufValue.Array) e.metadata.get("tokenizer.ggml.token_type")).longs();
            int shortToken = shortToken(e);
            types[shortToken] = 6; // LLAMA_TOKEN_TYPE_BYTE
            int[] ints = new int[types.length];
            for (int i = 0; i < ints.length; i++) ints[i] = (int) types[i];
            e.metadata.put("tokenizer.ggml.token_type", GgufValue.Array.ofInt32(ints));
        });
        refused(f, "; a byte token is <0xXX>");
    }

    @Test
    void aSentencePieceVocabularyWithoutAByteTokenRefusesOnlyTextThatNeedsIt() throws IOException {
        Path f = edited(stories, "no-byte-c3", e -> setToken(e, tokens(e).indexOf("<0xC3>"), "<0xC3>-gone"));
        try (Model m = Model.load(f); Context ctx = m.newContext(ContextParams.defaults().withContextLength(64).withThreads(1))) {
            LlamaException e = assertThrows(LlamaException.class, () -> m.tokenizer().encode("caf\u00e9"));
            assertEquals("the vocabulary of model no-byte-c3.gguf has no token for byte 0xC3 (neither <0xC3> nor the byte "
                    + "itself), which llama.cpp may need to tokenize this text", e.getMessage());
            try (Model original = Model.load(stories)) {
                assertArrayEquals(original.tokenizer().encode("Once upon a time"), m.tokenizer().encode("Once upon a time"));
            }
            assertEquals(4, ctx.generate("Once upon a time", 4, SamplerChain.greedy(), null).tokens().length);
        }
    }

    /**
     * Found by {@link ArchitectureFuzzIT} (gemma3 seed, input 421 of seed 1): SentencePiece replaces each space with
     * "▁" (and puts one in front); without a "▁" token, a "▁" that no merge absorbs (two spaces) falls back to the
     * byte tokens of E2 96 81, and llama.cpp's {@code byte_to_token} throws an uncaught {@code std::out_of_range}
     * when one is missing. The bytes of "▁" count as the text's unless the vocabulary has a "▁" token.
     */
    @Test
    void aSentencePieceVocabularyWithoutTheSpaceTokenNorItsBytes() throws IOException {
        Path f = edited(stories, "no-space-no-0x81", e -> {
            setToken(e, tokens(e).indexOf("\u2581"), "\u2581-gone");
            setToken(e, tokens(e).indexOf("<0x81>"), "<0x81>-gone");
        });
        try (Model m = Model.load(f); Context ctx = m.newContext(ContextParams.defaults().withContextLength(64).withThreads(1))) {
            String expected = "the vocabulary of model no-space-no-0x81.gguf has no token for byte 0x81 (neither <0x81> nor "
                    + "the byte itself), which llama.cpp may need to tokenize this text";
            assertEquals(expected, assertThrows(LlamaException.class, () -> m.tokenizer().encode("Once  upon")).getMessage());
            assertEquals(expected, assertThrows(LlamaException.class,
                    () -> ctx.generate("Once  upon", 2, SamplerChain.greedy(), null)).getMessage());
            assertEquals(0, m.tokenizer().encode("", false, false).length, "no text, no bytes");
        }
        // with the "▁" token, the same missing byte token costs only texts with that byte
        Path kept = edited(stories, "no-0x81", e -> setToken(e, tokens(e).indexOf("<0x81>"), "<0x81>-gone"));
        try (Model m = Model.load(kept); Model original = Model.load(stories)) {
            assertArrayEquals(original.tokenizer().encode("Once  upon"), m.tokenizer().encode("Once  upon"));
        }
    }

    // ---- found by fuzzing each architecture of the matrix (ArchitectureFuzzIT, seed 1) -------------------------------

    private static Path seed(Family family) {
        return SyntheticModels.fuzzSeed(SyntheticQwen.cacheDir(), stories, family);
    }

    /** Input 4494 and 5 more (bert, nomic-bert, nomic-bert-moe): an unknown pooling type aborts the embedding graph. */
    @Test
    void aPoolingTypeLlamaCppDoesNotKnow() throws IOException {
        refused(edited(seed(Family.BERT), "pooling-7", e -> e.metadata.put("bert.pooling_type", new GgufValue.UInt32(7))),
                "bert.pooling_type is 7; llama.cpp knows 0 to 4");
    }

    /** Input 5471 (nomic-bert-moe): RoPE over 0 dimensions hangs the first decode. */
    @Test
    void ropeOverNoDimension() throws IOException {
        refused(edited(seed(Family.NOMIC_BERT_MOE), "rope-0",
                e -> e.metadata.put("nomic-bert-moe.rope.dimension_count", new GgufValue.UInt32(0))),
                "nomic-bert-moe.rope.dimension_count is 0");
    }

    /** Input 3637 (gemma3): pattern 1 slides no layer, and the context asserts that one does. */
    @Test
    void aSlidingWindowWhosePatternSlidesNoLayer() throws IOException {
        refused(edited(seed(Family.GEMMA3), "swa-pattern-1",
                e -> e.metadata.put("gemma3.attention.sliding_window_pattern", new GgufValue.UInt32(1))),
                "gemma3.attention.sliding_window_pattern 1 makes no layer use it");
    }

    /** Inputs 2630, 2680, 3429, 4919, 6516, 11224: a dense file renamed to qwen2moe / qwen3moe (keys renamed too). */
    @Test
    void aDenseModelCalledAMixtureOfExperts() throws IOException {
        for (String moe : List.of("qwen2moe", "qwen3moe")) {
            Path f = edited(seed(Family.GEMMA2), "gemma2-as-" + moe, e -> {
                e.metadata.put("general.architecture", new GgufValue.Str(moe));
                for (String k : new ArrayList<>(e.metadata.keySet())) {
                    if (k.startsWith("gemma2.")) {
                        e.metadata.put(moe + k.substring("gemma2".length()), e.metadata.remove(k));
                    }
                }
            });
            refused(f, moe + " has experts in every block, the file says 0 experts");
        }
    }

    /** Input 1230 (nomic-bert): an embedding length of 2^31 overflows the strides llama.cpp computes. */
    @Test
    void anEmbeddingLengthOtherThanTheTokenEmbeddings() throws IOException {
        refused(edited(seed(Family.NOMIC_BERT), "embedding-2^31",
                e -> e.metadata.put("nomic-bert.embedding_length", new GgufValue.UInt32(1L << 31))),
                "nomic-bert.embedding_length is 2147483648 but token_embd.weight rows are 64 long");
    }

    /** Inputs 2710, 6582 (phi3): attn_qkv and attn_q/k/v are both optional to the loader; the graph needs one. */
    @Test
    void aPhi3BlockWithoutAttentionWeights() throws IOException {
        refused(edited(seed(Family.PHI3), "phi3-no-qkv", e -> e.tensors.remove(e.indexOf("blk.0.attn_qkv.weight"))),
                "phi3 block 0 has neither attn_qkv nor attn_q, attn_k and attn_v");
    }

    /** Inputs 1594, 3754, 5466, 6490, 10810, 11034 (deepseek2): latent-attention head sizes the graph multiplies by. */
    @Test
    void deepseek2LatentAttentionHeadsOtherThanTheCacheHolds() throws IOException {
        Path seed = seed(Family.DEEPSEEK2);
        refused(edited(seed, "key-39", e -> e.metadata.put("deepseek2.attention.key_length", new GgufValue.UInt32(39))),
                "the file has key_length 39, value_length 32");
        refused(edited(seed, "no-key-length", e -> e.metadata.remove("deepseek2.attention.key_length")),
                "the file has key_length 16, value_length 32");
        refused(edited(seed, "kv-heads-2", e -> e.metadata.put("deepseek2.attention.head_count_kv", new GgufValue.UInt32(2))),
                "(deepseek2.attention.head_count_kv 1, not 2)");
    }

    /** Input 6875 (gpt-oss): a value head other than the key head. */
    @Test
    void gptOssValueHeadsOtherThanItsKeyHeads() throws IOException {
        refused(edited(seed(Family.GPT_OSS), "value-511",
                e -> e.metadata.put("gpt-oss.attention.value_length", new GgufValue.UInt32(511))),
                "gpt-oss's graph needs equal key and value heads, the file has 16 and 511");
    }

    /** Inputs 7223 (granite), 9136 (llama): a matrix renamed to rope_freqs; 3821, 8111: token types quantized. */
    @Test
    void ropeFactorsAndTokenTypesOfAnotherTypeThanF32() throws IOException {
        Path f = edited(seed(Family.GRANITE), "granite-rope-freqs", e -> {
            int i = e.indexOf("blk.0.ffn_up.weight");
            GgufEdit.Tensor t = e.tensors.get(i);
            e.tensors.set(i, new GgufEdit.Tensor("rope_freqs.weight", t.type(), t.dims(), t.data()));
        });
        refused(f, "tensor 'rope_freqs.weight' is F16; llama.cpp's graph uses it where ggml takes F32 only");
        refused(edited(seed(Family.BERT), "token-types-q4_1", e -> retype(e, "token_types.weight", GgmlType.Q4_1)),
                "tensor 'token_types.weight' is Q4_1");
    }

    /**
     * The second full run (seed 1): RoPE over 1 dimension (gemma3, 16229), context length 0 with position embeddings
     * (bert, 18109), deepseek2 without shared experts but with their tensors (18234), an unknown gating function
     * (deepseek2, 18858, 26618), an output embedding length without a projection (nomic-bert-moe, 22927).
     */
    @Test
    void sizesAndKindsTheLoaderTakesUnchecked() throws IOException {
        refused(edited(seed(Family.GEMMA3), "rope-1", e -> e.metadata.put("gemma3.rope.dimension_count", new GgufValue.UInt32(1))),
                "gemma3.rope.dimension_count is 1; RoPE turns pairs of dimensions");
        refused(edited(seed(Family.BERT), "context-0", e -> e.metadata.put("bert.context_length", new GgufValue.UInt32(0))),
                "bert.context_length is 0, but the file has position embeddings");
        Path deepseek = seed(Family.DEEPSEEK2);
        refused(edited(deepseek, "shared-0", e -> e.metadata.put("deepseek2.expert_shared_count", new GgufValue.UInt32(0))),
                "block 1 has a shared expert, but deepseek2.expert_shared_count is 0");
        refused(edited(deepseek, "gating-max", e -> e.metadata.put("deepseek2.expert_gating_func", new GgufValue.UInt32(0xFFFF_FFFFL))),
                "deepseek2.expert_gating_func is 4294967295; llama.cpp knows 0 to 4");
        refused(edited(seed(Family.NOMIC_BERT_MOE), "embedding-out-2^20",
                e -> e.metadata.put("nomic-bert-moe.embedding_length_out", new GgufValue.UInt32(1 << 20))),
                "nomic-bert-moe.embedding_length_out is 1048576, but nomic-bert-moe has no output projection");
    }

    /** Input 11259 of the second full run (gpt-oss): a 2-D expert bias quantized; ggml_add_id asserts F32 in the graph. */
    @Test
    void expertBiasesOfAnotherTypeThanF32() throws IOException {
        refused(edited(seed(Family.GPT_OSS), "gate-exps-bias-q4_1", e -> retype(e, "blk.1.ffn_gate_exps.bias", GgmlType.Q4_1)),
                "tensor 'blk.1.ffn_gate_exps.bias' is Q4_1; expert biases enter ggml_add_id, which takes F32 only");
    }

    @Test
    void anEmptyVocabularyOrNoneAtAll() throws IOException {
        Path empty = edited(stories, "vocab-empty", e -> {
            for (String k : List.of("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores")) {
                GgufValue.Array a = (GgufValue.Array) e.metadata.get(k);
                e.metadata.put(k, new GgufValue.Array(a.elementType(), List.of()));
            }
        });
        refused(empty, "the vocabulary has no tokens, but the file has a token embedding (token_embd.weight)");
        // a model without vocabulary (placeholder tokens) loads, and every text operation is refused instead of aborting
        Path none = edited(stories, "vocab-none", e -> {
            e.metadata.put("tokenizer.ggml.model", new GgufValue.Str("none"));
            e.metadata.put("llama.vocab_size", new GgufValue.UInt32(512));
        });
        try (Model m = Model.load(none)) {
            assertEquals(512, m.tokenizer().vocabularySize());
            for (Runnable op : List.<Runnable>of(() -> m.tokenizer().encode("x"), () -> m.tokenizer().decode(new int[] {5}),
                    () -> m.tokenizer().pieceBytes(5, true), () -> m.tokenizer().vocabularyText(5),
                    () -> m.tokenizer().isControl(5), () -> m.tokenizer().attributes(5))) {
                LlamaException e = assertThrows(LlamaException.class, op::run);
                assertEquals("model vocab-none.gguf has no vocabulary (tokenizer.ggml.model is none): it cannot tokenize "
                        + "text", e.getMessage());
            }
        }
    }

    @Test
    void vocabularyFilesWithBrokenSpecialOrByteTokens() throws IOException {
        Path models = TestEnv.sourceDir().resolve("models");
        Path bert = models.resolve("ggml-vocab-bert-bge.gguf");
        // one token left: no CLS and SEP, which WordPiece adds to every text
        Path cut = edited(bert, "bert-one-token", e -> {
            for (String k : List.of("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores")) {
                if (e.metadata.get(k) instanceof GgufValue.Array a) {
                    e.metadata.put(k, new GgufValue.Array(a.elementType(), a.elements().subList(0, 1)));
                }
            }
        });
        try (Model m = Model.load(cut, ModelParams.defaults().withVocabOnly(true))) {
            LlamaException e = assertThrows(LlamaException.class, () -> m.tokenizer().encode("hello"));
            assertTrue(e.getMessage().startsWith("the vocabulary of model bert-one-token.gguf adds a CLS token"), e.getMessage());
            assertEquals(1, m.tokenizer().encode("hello", false, false).length, "without special tokens it still works");
        }
        Path byteInBert = edited(bert, "bert-byte-token", e -> {
            long[] types = ((GgufValue.Array) e.metadata.get("tokenizer.ggml.token_type")).longs();
            int[] ints = new int[types.length];
            for (int i = 0; i < ints.length; i++) ints[i] = (int) types[i];
            ints[1000] = 6;
            e.metadata.put("tokenizer.ggml.token_type", GgufValue.Array.ofInt32(ints));
        });
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> Model.load(byteInBert, ModelParams.defaults().withVocabOnly(true)));
        assertTrue(e.getMessage().contains("token 1000 of a WordPiece (bert) vocabulary is marked as a byte token"), e.getMessage());
    }

    // ---- LoRA adapters ---------------------------------------------------------------------------------------------

    @Test
    void adapterKeysOfAnotherTypeThanLlamaCppReads() throws IOException {
        Path lora = tmp.resolve("lora.gguf");
        LoraFixture.write(stories, lora, 4, 7, 0.1f);
        try (Model base = Model.load(stories)) {
            for (var c : List.of(
                    new Object[] {"general.architecture", new GgufValue.UInt16(35339), "'general.architecture' is UINT16, llama.cpp reads it as STRING unchecked"},
                    new Object[] {"adapter.type", GgufValue.Array.ofInt32(1, 2), "'adapter.type' is ARRAY, llama.cpp reads it as STRING unchecked"},
                    new Object[] {"adapter.lora.alpha", new GgufValue.Int8((byte) -93), "'adapter.lora.alpha' is INT8, llama.cpp reads it as FLOAT32 unchecked"})) {
                Path f = edited(lora, "lora-" + c[0], e -> e.metadata.put((String) c[0], (GgufValue) c[1]));
                ModelLoadException e = assertThrows(ModelLoadException.class, () -> base.loadLoraAdapter(f));
                assertTrue(e.getMessage().contains("refused before llama.cpp saw it") && e.getMessage().contains((String) c[2]),
                        e.getMessage());
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /** Writes {@code source} with one change to {@code tmp/name.gguf}. */
    private static Path edited(Path source, String name, Consumer<GgufEdit> change) throws IOException {
        try (GgufFile in = GgufFile.open(source)) {
            GgufEdit e = GgufEdit.of(in);
            change.accept(e);
            return Files.write(tmp.resolve(name + ".gguf"), e.bytes());
        }
    }

    /** Refused in Java, from the file and from memory, with {@code reason} in the message. */
    private static void refused(Path file, String reason) throws IOException {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Model.load(file));
        assertTrue(e.getMessage().contains("refused before llama.cpp saw it (llama.cpp would abort the process): ")
                && e.getMessage().contains(reason), e.getMessage());
        assertTrue(e.nativeLog().isEmpty(), "llama.cpp was not called");
        MemorySegment bytes = MemorySegment.ofArray(Files.readAllBytes(file));
        ModelLoadException m = assertThrows(ModelLoadException.class, () -> Model.load(bytes, ModelParams.defaults()));
        assertTrue(m.getMessage().contains(reason), m.getMessage());
    }

    private static void retype(GgufEdit e, String tensor, GgmlType type) {
        int i = e.indexOf(tensor);
        GgufEdit.Tensor t = e.tensors.get(i);
        long elements = 1;
        for (long d : t.dims()) elements *= d;
        e.tensors.set(i, new GgufEdit.Tensor(t.name(), type, t.dims(), MemorySegment.ofArray(new byte[(int) type.byteSize(elements)])));
    }

    private static List<String> tokens(GgufEdit e) {
        return ((GgufValue.Array) e.metadata.get("tokenizer.ggml.tokens")).strings();
    }

    private static String token(GgufEdit e, int id) {
        return tokens(e).get(id);
    }

    private static void setToken(GgufEdit e, int id, String text) {
        List<String> t = new ArrayList<>(tokens(e));
        t.set(id, text);
        e.metadata.put("tokenizer.ggml.tokens", GgufValue.Array.ofStrings(t));
    }

    /** A normal token whose text is shorter than 3 bytes. */
    private static int shortToken(GgufEdit e) {
        List<String> t = tokens(e);
        for (int i = 259; i < t.size(); i++) {
            if (t.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 3) {
                return i;
            }
        }
        throw new AssertionError("no short token");
    }
}
