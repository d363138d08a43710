package io.llamaffm.testmodels;

import io.llamaffm.TestEnv;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.GgufWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A small Qwen2.5-family chat model with seeded random weights, for tests of chat templates, tool calling and the
 * server: llama.cpp architecture {@code qwen2} in scaled-down dimensions, with Qwen2.5's real tokenizer and chat
 * template. Its text is meaningless; its tokens, special tokens, template and graph are those of the real family.
 * It is the {@link SyntheticModels.Family#QWEN2} model of {@link SyntheticModels}, which writes its keys, tensors and
 * cache file, with the tokenizer changes and the template below.
 *
 * <h2>What the file holds</h2>
 * <ul>
 *   <li>Metadata {@code qwen2.*}: the {@link Spec} (by default 2 blocks, embedding 64, 4 heads of 16, 2 KV heads
 *       (grouped-query attention), feed-forward 128, trained context 4 096, RoPE base 1e6, RMS eps 1e-6 as in
 *       Qwen2.5). No {@code rope.dimension_count}: llama.cpp takes the head size, as for the real files.</li>
 *   <li>Tensors as llama.cpp's {@code qwen2} loader reads them: {@code token_embd}, {@code output_norm}, and per
 *       block {@code attn_norm}, {@code attn_q/k/v} with their biases {@code attn_q/k/v.bias} (Qwen2's attention has
 *       them), {@code attn_output}, {@code ffn_norm}, {@code ffn_gate/up/down}. There is no {@code output.weight}: the
 *       loader then ties the output matrix to {@code token_embd} (as in Qwen2.5-0.5B/1.5B/3B), which halves the file.
 *       Matrices are F16 (normal, mean 0, sd {@link Spec#weightStd()}, each from its own seeded stream), norms are 1
 *       and biases are random, all F32.</li>
 *   <li>Every {@code tokenizer.*} key of the pinned llama.cpp's {@code models/ggml-vocab-qwen2.gguf} (model
 *       {@code gpt2}, pre-tokenizer {@code qwen2}, 151 936 tokens, token types, 151 387 merges, special ids), with
 *       three changes that make it Qwen2.5-Instruct's tokenizer:
 *       <ol>
 *         <li>that file was made from Qwen1.5 and leaves ids 151 646 to 151 664 as {@code [PADn]} placeholders; they
 *             get Qwen2.5's added tokens ({@link #ADDED_TOKENS}: {@code <tool_call>} is {@value #TOOL_CALL}), typed
 *             as llama.cpp's converter types them: {@code <|...|>} tokens CONTROL, {@code <tool_call>} and
 *             {@code </tool_call>} USER_DEFINED (not special in Qwen's tokenizer_config.json, so matched in text and
 *             always rendered, which is what tool-call parsers rely on). A slot that is no longer a placeholder
 *             is left as the file has it, and the generator fails if it differs from Qwen2.5's token;</li>
 *         <li>{@code eos_token_id} is {@code <|im_end|>} ({@value #IM_END}), as in the Instruct models (the file says
 *             {@code <|endoftext|>}, the base models' EOS; llama.cpp stops at both either way);</li>
 *         <li>{@code add_bos_token} is false, as in the real files (llama.cpp's default for this pre-tokenizer).</li>
 *       </ol>
 *       The byte-level BPE part (ids below 151 643) and the merges are the file's, unchanged, so ordinary text
 *       tokenizes exactly as with the vocabulary-only file.</li>
 *   <li>{@code tokenizer.chat_template}: the text of the pinned source's
 *       {@code models/templates/Qwen-Qwen2.5-7B-Instruct.jinja}, byte for byte.</li>
 * </ul>
 * The file is about 25 MB, nearly all of it the 151 936 × 64 F16 embedding table and the vocabulary.
 *
 * <h2>Where it is kept</h2>
 * Generated on demand, never committed: {@link #path()} returns {@code <dir>/qwen2-synthetic-<hash>.gguf}, where
 * {@code <dir>} is the system property {@value #CACHE_DIR_PROPERTY} or else {@code ~/.cache/llama-ffm/test-models}
 * (outside {@code target/}, so {@code mvn clean} keeps it), and {@code <hash>} covers every input of the generator:
 * {@link #GENERATOR_VERSION} and {@link SyntheticModels#GENERATOR_VERSION}, the sha256 of the vocabulary file and of the template, and the {@link Spec} (dimensions
 * and seed). A changed input gives a new name, so a stale file is never used. An existing file is returned as it
 * is; a missing one is written under a temporary name and renamed atomically into place, all while holding a lock
 * file in the folder (and a lock within this JVM), so parallel test JVMs and threads wait for one writer and never
 * see a half-written model.
 */
public final class SyntheticQwen {
    /** The system property naming the cache folder (default {@code ~/.cache/llama-ffm/test-models}). */
    public static final String CACHE_DIR_PROPERTY = "llamaffm.test.models.dir";

    /** Bump whenever the generator's output changes for the same inputs: it is part of the file's hash. */
    public static final int GENERATOR_VERSION = 2;

    /** {@code <|endoftext|>}: BOS and padding, end of generation. */
    public static final int ENDOFTEXT = 151_643;
    /** {@code <|im_start|>}: opens a chat turn. */
    public static final int IM_START = 151_644;
    /** {@code <|im_end|>}: closes a chat turn; the model's EOS. */
    public static final int IM_END = 151_645;
    /** {@code <tool_call>}. */
    public static final int TOOL_CALL = 151_657;
    /** {@code </tool_call>}. */
    public static final int TOOL_CALL_END = 151_658;

    /**
     * Qwen2.5's added tokens from id 151 646 on (its tokenizer_config.json {@code added_tokens_decoder}; ids 151 643
     * to 151 645 are in the vocabulary file already), in id order.
     */
    public static final List<String> ADDED_TOKENS = List.of("<|object_ref_start|>", "<|object_ref_end|>",
            "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
            "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>");

    /** The id of {@code ADDED_TOKENS.get(0)}. */
    public static final int FIRST_ADDED_TOKEN = 151_646;

    /** The vocabulary file, relative to the pinned llama.cpp source. */
    public static final String VOCAB_FILE = "models/ggml-vocab-qwen2.gguf";
    /** The chat template file, relative to the pinned llama.cpp source. */
    public static final String TEMPLATE_FILE = "models/templates/Qwen-Qwen2.5-7B-Instruct.jinja";

    private static final int TOKEN_TYPE_CONTROL = 3;
    private static final int TOKEN_TYPE_USER_DEFINED = 4;

    private SyntheticQwen() {}

    /**
     * The shape and the seed of the synthetic model.
     *
     * @param layers        transformer blocks
     * @param embedding     embedding length (a multiple of {@code heads}; of 32 so that F16 rows stay aligned)
     * @param heads         attention heads
     * @param kvHeads       key/value heads (divides {@code heads})
     * @param feedForward   feed-forward length
     * @param contextLength the trained context written to the metadata (tokens)
     * @param ropeFreqBase  RoPE frequency base
     * @param rmsEps        RMS-norm epsilon
     * @param seed          the seed of the weights
     * @param weightStd     standard deviation of the random matrices and biases
     */
    public record Spec(int layers, int embedding, int heads, int kvHeads, int feedForward, int contextLength,
                       float ropeFreqBase, float rmsEps, long seed, float weightStd) {
        /**
         * 2 blocks, embedding 64, 4 heads, 2 KV heads, feed-forward 128, context 4 096, Qwen2.5's RoPE base and eps, seed
         * 42, weights of sd 0.2. (With the usual 0.02 the blocks add little to the residual stream, and since the output
         * matrix is the embedding, greedy decoding repeats the last prompt token forever; at 0.2 the blocks dominate and
         * the continuation depends on the whole context, so a comparison of token sequences means something.)
         */
        public static final Spec DEFAULT = new Spec(2, 64, 4, 2, 128, 4096, 1_000_000f, 1e-6f, 42, 0.2f);

        /** Checks the shape. */
        public Spec {
            if (layers < 1 || heads < 1 || kvHeads < 1 || feedForward < 1 || contextLength < 1) {
                throw new IllegalArgumentException("layers, heads, kvHeads, feedForward and contextLength must be >= 1");
            }
            if (embedding < 32 || embedding % 32 != 0 || embedding % heads != 0) {
                throw new IllegalArgumentException("embedding must be a multiple of 32 and of heads, got " + embedding);
            }
            if (heads % kvHeads != 0) throw new IllegalArgumentException("kvHeads must divide heads");
            if (!(weightStd > 0) || !Float.isFinite(weightStd)) throw new IllegalArgumentException("weightStd must be > 0");
        }

        /** {@return the size of one attention head} */
        public int headDim() {
            return embedding / heads;
        }

        /** {@return this shape as a spec of {@link SyntheticModels}' {@code qwen2} family} */
        public SyntheticModels.Spec generic() {
            return SyntheticModels.specOf("qwen2", "qwen2").layers(layers).embedding(embedding).heads(heads, kvHeads)
                    .feedForward(feedForward).context(contextLength).ropeBase(ropeFreqBase).rmsEps(rmsEps).seed(seed)
                    .weightStd(weightStd).build();
        }
    }

    /**
     * The {@link Spec#DEFAULT} model made from the pinned llama.cpp source that the tests use ({@link TestEnv#sourceDir()}),
     * generated into the cache when missing; skips the calling test when the natives were not built here.
     *
     * @return the model file
     */
    public static Path path() {
        Path source = TestEnv.sourceDir();
        return ensure(cacheDir(), source.resolve(VOCAB_FILE), source.resolve(TEMPLATE_FILE), Spec.DEFAULT);
    }

    /** {@return the cache folder: {@value #CACHE_DIR_PROPERTY}, else {@code ~/.cache/llama-ffm/test-models}} */
    public static Path cacheDir() {
        String dir = System.getProperty(CACHE_DIR_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "llama-ffm", "test-models");
    }

    /**
     * Returns the model of {@code spec} made from {@code vocab} and {@code template} in {@code cacheDir}, generating it
     * when missing (see the class description).
     *
     * @param cacheDir the cache folder (created when missing)
     * @param vocab    a Qwen2 vocabulary GGUF ({@code ggml-vocab-qwen2.gguf})
     * @param template the chat template file
     * @param spec     shape and seed
     * @return the model file
     * @throws IllegalArgumentException if an input file is missing or the vocabulary is not Qwen2's
     * @throws UncheckedIOException     if the cache cannot be written
     */
    public static Path ensure(Path cacheDir, Path vocab, Path template, Spec spec) {
        for (Path p : List.of(vocab, template)) {
            if (!Files.isRegularFile(p)) throw new IllegalArgumentException(p + " is missing");
        }
        try {
            return SyntheticModels.cached(cacheDir, "qwen2-synthetic", hash(vocab, template, spec),
                    out -> write(vocab, template, spec, out));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the synthetic Qwen2 model in " + cacheDir + ": " + e, e);
        }
    }

    /** Writes the model to {@code out}: the {@code qwen2} family of {@link SyntheticModels} with Qwen2.5's tokenizer. */
    static void write(Path vocab, Path template, Spec spec, Path out) throws IOException {
        try (GgufFile v = GgufFile.open(vocab)) {
            if (!v.findString("tokenizer.ggml.model").orElse("").equals("gpt2")
                    || !v.findString("tokenizer.ggml.pre").orElse("").equals("qwen2")) {
                throw new IllegalArgumentException(vocab + " holds no Qwen2 tokenizer (gpt2 model, qwen2 pre-tokenizer)");
            }
        }
        String chatTemplate = Files.readString(template, StandardCharsets.UTF_8);
        SyntheticModels.write(vocab, spec.generic(), SyntheticModels::qwen2,
                "Qwen2.5 synthetic (llama-ffm test model, random weights)", out, w -> qwen25Tokenizer(vocab, chatTemplate, w));
    }

    /** The changes that make the vocabulary file's tokenizer Qwen2.5-Instruct's (see the class description). */
    private static void qwen25Tokenizer(Path vocab, String chatTemplate, GgufWriter w) {
        try (GgufFile v = GgufFile.open(vocab)) {
            List<String> tokens = new ArrayList<>(v.getArray("tokenizer.ggml.tokens").strings());
            long[] types = v.getArray("tokenizer.ggml.token_type").longs();
            for (int i = 0; i < ADDED_TOKENS.size(); i++) {
                int id = FIRST_ADDED_TOKEN + i;
                String token = ADDED_TOKENS.get(i);
                if (tokens.get(id).equals("[PAD" + id + "]")) {
                    tokens.set(id, token);
                    types[id] = token.startsWith("<|") && token.endsWith("|>") ? TOKEN_TYPE_CONTROL : TOKEN_TYPE_USER_DEFINED;
                } else if (!tokens.get(id).equals(token)) {
                    throw new IllegalArgumentException(vocab + " has '" + tokens.get(id) + "' at id " + id
                            + ", where Qwen2.5 has '" + token + "'");
                }
            }
            int[] typeValues = new int[types.length];
            for (int i = 0; i < types.length; i++) {
                typeValues[i] = Math.toIntExact(types[i]);
            }
            w.put("tokenizer.ggml.tokens", GgufValue.Array.ofStrings(tokens));
            w.put("tokenizer.ggml.token_type", GgufValue.Array.ofInt32(typeValues));
        }
        w.putUInt32("tokenizer.ggml.eos_token_id", IM_END);
        w.putBool("tokenizer.ggml.add_bos_token", false);
        w.putString("tokenizer.chat_template", chatTemplate);
    }

    /** The first 16 hex digits of the sha256 of every generator input. */
    static String hash(Path vocab, Path template, Spec spec) throws IOException {
        return SyntheticModels.hash("generator=" + GENERATOR_VERSION + "+" + SyntheticModels.GENERATOR_VERSION + ";" + spec,
                vocab, template);
    }
}
