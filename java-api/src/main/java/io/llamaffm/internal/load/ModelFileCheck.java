package io.llamaffm.internal.load;

import io.llamaffm.ModelLoadException;
import io.llamaffm.ModelParams;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.TensorInfo;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Checks in Java what llama.cpp asserts instead of reporting (a failed {@code GGML_ASSERT} aborts the process), for a
 * GGUF file our reader has already accepted: each rule below mirrors one assertion or unchecked access of the pinned
 * llama.cpp that a malformed or hostile file reaches. Found by the GGUF fuzz campaign ({@code RELIABILITY.md}); the
 * file's other mistakes are left to llama.cpp, which reports them as errors.
 *
 * <ul>
 *   <li>tensors of a type ggml has no CPU kernel for ({@code Q8_1}, {@code Q8_K}, integer and {@code F64} types):
 *       the first matrix product with one jumps to a null function; vectors (norm weights, biases) of another type
 *       than F32: ggml's element-wise operations abort on them;</li>
 *   <li>tensor data not at a multiple of 32 bytes in the file ({@code general.alignment} below 32): ggml's CPU
 *       buffer asserts its alignment;</li>
 *   <li>two vocabulary entries with the same text, as llama.cpp reads them (up to a NUL; an empty one becomes
 *       {@code [EMPTY_i]}): {@code id_to_token.size() == token_to_id.size()}; byte tokens (type 6) in a WordPiece
 *       vocabulary, or with a text shorter than {@code <0x}: their pieces abort the load;</li>
 *   <li>the generic hyperparameters: block count 1 to 512, the expert counts' relations, the RoPE scaling type, the
 *       multi-token-prediction and WavTokenizer layer counts, norm epsilons (ggml asserts {@code eps >= 0});</li>
 *   <li>attention, feed-forward and expert sizes that make the shape of a tensor present in the file zero or
 *       negative (a zero head count, a head size of {@code embedding / heads} that rounds to 0, a product that wraps
 *       around 32 bits, experts without a feed-forward length): {@code t_meta.ne[dim] >= 1}, or a division by
 *       zero;</li>
 *   <li>head sizes the graphs of some architectures assert on (equal key and value heads, RoPE over the whole head,
 *       deepseek2's no-RoPE part of at least 1);</li>
 *   <li>found by fuzzing each architecture of the matrix: pooling types above 4, gating functions above 4, RoPE over
 *       0 or an odd number of dimensions, a context length of 0 with position embeddings, an output embedding length
 *       (without projection) or a shared expert count of 0 that disagrees with the tensors, a sliding
 *       window with a pattern that slides no layer, MoE-only architectures without experts, an embedding length
 *       other than the token embedding's, phi3 blocks without attention weights, deepseek2's latent-attention
 *       head sizes, RoPE factors, BERT token types and expert biases of another type than F32;</li>
 *   <li>keys read without a type check: {@code split.no} (UINT16), and in a LoRA adapter {@code general.type},
 *       {@code general.architecture}, {@code adapter.type} (STRING) and {@code adapter.lora.alpha} (FLOAT32).</li>
 * </ul>
 *
 * Values are taken as llama.cpp takes them: a metadata override of the right kind wins, a key of another type than
 * llama.cpp reads is skipped (llama.cpp refuses it with an error), per-layer arrays count only with one element per
 * block.
 */
public final class ModelFileCheck {
    /** {@code LLAMA_MAX_LAYERS}. */
    static final int MAX_LAYERS = 512;
    /** {@code LLAMA_MAX_EXPERTS}. */
    static final int MAX_EXPERTS = 1024;
    /** Tensor types ggml's CPU backend cannot compute with (no dot product): only intermediate or index types. */
    static final Set<GgmlType> NOT_COMPUTABLE = EnumSet.of(GgmlType.Q8_1, GgmlType.Q8_K, GgmlType.I8, GgmlType.I16,
            GgmlType.I32, GgmlType.I64, GgmlType.F64);
    /** {@code LLAMA_TOKEN_TYPE_BYTE} in {@code tokenizer.ggml.token_type}. */
    private static final int BYTE_TOKEN = 6;
    /** ggml's {@code TENSOR_ALIGNMENT}: the CPU backend maps tensor data only at this alignment. */
    private static final int TENSOR_ALIGNMENT = 32;
    private static final List<String> ROPE_SCALING_TYPES = List.of("none", "linear", "yarn", "longrope");
    private static final long U32 = 0xFFFF_FFFFL;

    private final GgufFile file;
    private final Map<String, Object> overrides;
    private final String arch;

    private ModelFileCheck(GgufFile file, Map<String, Object> overrides) {
        this.file = file;
        this.overrides = overrides;
        this.arch = file.find("general.architecture").map(v -> v instanceof GgufValue.Str(String s) ? s : null).orElse(null);
    }

    /**
     * Checks the first (or only) file of a model.
     *
     * @throws ModelLoadException naming the problem; llama.cpp is not called
     */
    public static void model(GgufFile file, Path label, ModelParams params) {
        ModelFileCheck c = new ModelFileCheck(file, params.metadataOverrides());
        c.run(label, () -> {
            c.splitNumber();
            c.vocabulary();
            if (!params.vocabOnly()) { // a vocabulary-only load reads neither weights nor hyperparameters
                c.tensorTypes();
                if (c.arch != null && !c.arch.equals("clip")) {
                    c.hyperparameters();
                }
            }
        });
    }

    /** Checks a later part of a split model: its tensors and its part number. */
    public static void part(GgufFile file, Path label) {
        ModelFileCheck c = new ModelFileCheck(file, Map.of());
        c.run(label, () -> {
            c.tensorTypes();
            c.splitNumber();
        });
    }

    /**
     * Checks the keys of a LoRA adapter file that llama.cpp reads unchecked (its tensors are checked by
     * {@link io.llamaffm.LoraAdapter}, which knows which ones llama.cpp computes with).
     */
    public static void adapter(GgufFile file, Path label) {
        ModelFileCheck c = new ModelFileCheck(file, Map.of());
        c.run(label, () -> {
            for (String key : List.of("general.type", "general.architecture", "adapter.type")) {
                c.requireType(key, GgufValue.Type.STRING);
            }
            c.requireType("adapter.lora.alpha", GgufValue.Type.FLOAT32);
        });
    }

    private void run(Path label, Runnable checks) {
        try {
            checks.run();
        } catch (Refused r) {
            throw new ModelLoadException(label, "refused before llama.cpp saw it (llama.cpp would abort the process): "
                    + r.getMessage(), List.of());
        }
    }

    /** A rule failed; turned into a {@link ModelLoadException} by {@link #run}. */
    private static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    // ---- rules ---------------------------------------------------------------------------------------------------

    private void tensorTypes() {
        for (TensorInfo t : file.tensors()) {
            if (NOT_COMPUTABLE.contains(t.type())) {
                throw new Refused("tensor '" + t.name() + "' is " + t.type() + ", a type ggml has no kernel to compute with");
            }
            long at = file.dataOffset() + t.offset();
            if (at % TENSOR_ALIGNMENT != 0) {
                throw new Refused("tensor '" + t.name() + "' starts at byte " + at + " of the file, not a multiple of "
                        + TENSOR_ALIGNMENT + " (general.alignment is " + file.alignment() + "); ggml maps tensor data at "
                        + TENSOR_ALIGNMENT + "-byte alignment only");
            }
            if (t.type() != GgmlType.F32 && isVector(t)) {
                throw new Refused("tensor '" + t.name() + "' is a vector of " + t.type() + "; vectors (norms, biases) "
                        + "enter element-wise operations, which ggml computes in F32 only");
            }
            if (t.type() != GgmlType.F32 && t.name().endsWith("_exps.bias")) {
                throw new Refused("tensor '" + t.name() + "' is " + t.type() + "; expert biases enter ggml_add_id, "
                        + "which takes F32 only");
            }
            if (t.type() != GgmlType.F32 && F32_ONLY.contains(t.name())) {
                throw new Refused("tensor '" + t.name() + "' is " + t.type() + "; llama.cpp's graph uses it where ggml "
                        + "takes F32 only (RoPE frequency factors; the token-type row added to every embedding)");
            }
        }
    }

    /**
     * Tensors that are not vectors but that the graph uses as F32: RoPE frequency factors ({@code ggml_rope_ext}
     * asserts {@code c->type == GGML_TYPE_F32}) and BERT's token types (a row of it is added to each embedding:
     * binary-ops {@code unsupported types}).
     */
    static final Set<String> F32_ONLY = Set.of("rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight",
            "token_types.weight");

    /** One row: ggml's {@code n_dims} is 1. */
    private static boolean isVector(TensorInfo t) {
        long[] dims = t.dims();
        for (int i = 1; i < dims.length; i++) {
            if (dims[i] != 1) {
                return false;
            }
        }
        return true;
    }

    private void splitNumber() {
        requireType("split.no", GgufValue.Type.UINT16);
    }

    private void requireType(String key, GgufValue.Type type) {
        Optional<GgufValue> v = file.find(key);
        if (v.isPresent() && v.get().type() != type) {
            throw new Refused("'" + key + "' is " + v.get().type() + ", llama.cpp reads it as " + type + " unchecked");
        }
    }

    /** Distinct token texts, as llama.cpp builds its text-to-id map. */
    private void vocabulary() {
        if (!(file.find("tokenizer.ggml.tokens").orElse(null) instanceof GgufValue.Array a)
                || a.elementType() != GgufValue.Type.STRING) {
            return; // absent or of another type: llama.cpp reports it
        }
        List<String> tokens = a.strings();
        long[] types = file.find("tokenizer.ggml.token_type").orElse(null) instanceof GgufValue.Array t
                && t.elementType() == GgufValue.Type.INT32 && t.size() >= tokens.size() ? t.longs() : null;
        String model = file.find("tokenizer.ggml.model").orElse(null) instanceof GgufValue.Str(String m) ? m : "";
        Map<String, Integer> seen = new HashMap<>(tokens.size() * 2);
        for (int i = 0; i < tokens.size(); i++) {
            String text = tokens.get(i);
            int nul = text.indexOf('\0');
            if (nul >= 0) {
                text = text.substring(0, nul); // llama.cpp copies the token as a C string
            }
            if (text.isEmpty()) {
                text = "[EMPTY_" + i + "]";
            }
            Integer first = seen.putIfAbsent(text, i);
            if (first != null) {
                throw new Refused("tokens " + first + " and " + i + " of tokenizer.ggml.tokens have the same text '"
                        + printable(text) + "'");
            }
            if (types != null && types[i] == BYTE_TOKEN) {
                byteToken(model, i, text);
            }
        }
    }

    /**
     * A byte token's piece is the byte its text names ({@code <0xXX>}): llama.cpp reads it from the fourth character
     * on (an exception out of the C API, so an abort, for a shorter text), and aborts for a WordPiece vocabulary,
     * which has no byte tokens. The pieces of all tokens are computed when the model loads.
     */
    private static void byteToken(String model, int i, String text) {
        if (model.equals("bert")) {
            throw new Refused("token " + i + " of a WordPiece (bert) vocabulary is marked as a byte token (type 6)");
        }
        boolean readsText = model.equals("llama") || model.equals("t5") || model.equals("gpt2") || model.equals("gemma4")
                || model.equals("hybriddna") || model.equals("whitespace");
        if (readsText && text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 3) {
            throw new Refused("byte token " + i + " has the text '" + printable(text) + "'; a byte token is <0xXX>");
        }
    }

    private void hyperparameters() {
        String p = arch + ".";
        OptionalLong blocks = u32(p + "block_count");
        if (blocks.isEmpty()) {
            return; // absent (llama.cpp reports it) or of another type (llama.cpp refuses it)
        }
        long n = blocks.getAsLong();
        if (n < 1 || n > MAX_LAYERS) {
            throw new Refused(p + "block_count is " + n + "; llama.cpp takes 1 to " + MAX_LAYERS);
        }
        int layers = (int) n;
        atMost(p + "nextn_predict_layers", n);
        if (arch.equals("wavtokenizer-dec")) {
            atMost(p + "posnet.block_count", n);
            atMost(p + "convnext.block_count", n);
        }
        experts(p, layers);
        Optional<String> rope = string(p + "rope.scaling.type");
        if (rope.isPresent() && !ROPE_SCALING_TYPES.contains(rope.get())) {
            throw new Refused(p + "rope.scaling.type is '" + printable(rope.get()) + "'; llama.cpp knows " + ROPE_SCALING_TYPES);
        }
        epsilons(p);
        shapes(p, layers);
        headSizes(p);
        architectureRules(p);
    }

    /** {@code LLAMA_EXPERT_GATING_FUNC_TYPE_SQRT_SOFTPLUS}, the largest gating function llama.cpp knows. */
    static final long MAX_GATING_FUNC = 4;
    /** {@code LLAMA_POOLING_TYPE_RANK}, the largest pooling type llama.cpp knows. */
    static final long MAX_POOLING_TYPE = 4;
    /**
     * Architectures whose loader creates expert tensors for every block from {@code expert_count} and an expert
     * feed-forward length without checking them (found renaming dense files to these).
     */
    static final Set<String> MOE_ONLY = Set.of("qwen2moe", "qwen3moe", "gpt-oss");
    /** The architectures of the architecture matrix, whose loaders were read: token_embd is {embedding, vocabulary}. */
    static final Set<String> MATRIX = Set.of("llama", "qwen2", "qwen3", "qwen3moe", "gemma2", "gemma3", "phi3", "granite",
            "olmo2", "smollm3", "deepseek2", "gpt-oss", "mistral3", "bert", "nomic-bert", "nomic-bert-moe");

    /**
     * The rules found by fuzzing each architecture of the matrix ({@code ArchitectureFuzzIT}): values llama.cpp takes
     * from the file and later asserts on, or divides by, or loops over.
     */
    private void architectureRules(String p) {
        OptionalLong pooling = u32(p + "pooling_type");
        if (pooling.isPresent() && pooling.getAsLong() > MAX_POOLING_TYPE) { // an unknown pooling: GGML_ABORT in the graph
            throw new Refused(p + "pooling_type is " + pooling.getAsLong() + "; llama.cpp knows 0 to " + MAX_POOLING_TYPE);
        }
        OptionalLong rope = u32(p + "rope.dimension_count");
        if (MATRIX.contains(arch) && rope.isPresent() && (rope.getAsLong() == 0 || rope.getAsLong() % 2 != 0)) {
            // 0: the first decode never returns; odd: ggml's rope asserts n_dims % 2 == 0
            throw new Refused(p + "rope.dimension_count is " + rope.getAsLong() + "; RoPE turns pairs of dimensions, at least one");
        }
        OptionalLong gating = u32(p + "expert_gating_func");
        if (gating.isPresent() && gating.getAsLong() > MAX_GATING_FUNC) { // the MoE graph aborts on an unknown one
            throw new Refused(p + "expert_gating_func is " + gating.getAsLong() + "; llama.cpp knows 0 to " + MAX_GATING_FUNC);
        }
        OptionalLong context = u32(p + "context_length");
        if (context.isPresent() && context.getAsLong() == 0 && hasTensor("", "position_embd")) {
            throw new Refused(p + "context_length is 0, but the file has position embeddings (one row per position)");
        }
        OptionalLong window = u32(p + "attention.sliding_window");
        OptionalLong pattern = u32(p + "attention.sliding_window_pattern");
        if (window.orElse(0) > 0 && pattern.orElse(0) == 1) { // no layer slides: GGML_ASSERT(hparams.is_swa_any())
            throw new Refused(p + "attention.sliding_window is " + window.getAsLong() + " but "
                    + p + "attention.sliding_window_pattern 1 makes no layer use it");
        }
        if (MOE_ONLY.contains(arch)) {
            long experts = u32(p + "expert_count").orElse(0);
            long used = u32(p + "expert_used_count").orElse(0);
            long expertFf = u32(p + "expert_feed_forward_length").orElse(0);
            long ff = u32(p + "feed_forward_length").orElse(0);
            if (experts < 1 || used < 1) {
                throw new Refused(arch + " has experts in every block, the file says " + experts + " experts ("
                        + p + "expert_count), " + used + " used (" + p + "expert_used_count)");
            }
            if (expertFf < 1 && (!arch.equals("qwen2moe") || ff / used < 1)) {
                throw new Refused(arch + "'s experts need a feed-forward length (" + p + "expert_feed_forward_length)");
            }
        }
        if (MATRIX.contains(arch)) {
            long embedding = u32(p + "embedding_length").orElse(-1);
            OptionalLong out = u32(p + "embedding_length_out");
            if (out.isPresent() && out.getAsLong() != embedding) { // embeddings are read that long: out of bounds
                throw new Refused(p + "embedding_length_out is " + out.getAsLong() + ", but " + arch
                        + " has no output projection: its embeddings are " + embedding + " long");
            }
            Optional<TensorInfo> tokens = file.tensor("token_embd.weight");
            if (embedding > 0 && tokens.isPresent() && tokens.get().dims()[0] != embedding) { // strides overflow, unchecked
                throw new Refused(p + "embedding_length is " + embedding + " but token_embd.weight rows are "
                        + tokens.get().dims()[0] + " long");
            }
        }
        if (arch.equals("phi3") && hasTensor("", "token_embd")) { // without it llama.cpp refuses the file itself, cleanly
            long layers = u32(p + "block_count").orElse(0);
            for (int il = 0; il < layers; il++) { // phi3 takes attn_qkv or attn_q/k/v, both optional; the graph needs one
                String blk = "blk." + il + ".";
                if (!hasTensor(blk, "attn_qkv") && !(hasTensor(blk, "attn_q") && hasTensor(blk, "attn_k") && hasTensor(blk, "attn_v"))) {
                    throw new Refused("phi3 block " + il + " has neither attn_qkv nor attn_q, attn_k and attn_v");
                }
            }
        }
        if (arch.equals("deepseek2") && u32(p + "expert_shared_count").orElse(0) == 0) {
            long layers = u32(p + "block_count").orElse(0);
            for (int il = 0; il < layers; il++) { // the shared expert is sized n_ff_exp * expert_shared_count
                if (hasTensor("blk." + il + ".", "ffn_up_shexp", "ffn_gate_shexp", "ffn_down_shexp")) {
                    throw new Refused("block " + il + " has a shared expert, but " + p + "expert_shared_count is 0");
                }
            }
        }
        if (arch.equals("deepseek2") && u32(p + "attention.key_length_mla").orElse(0) != 0
                && u32(p + "attention.value_length_mla").orElse(0) != 0) {
            // multi-head latent attention caches one latent head of kv_lora_rank + the RoPE part, values kv_lora_rank
            long rank = u32(p + "attention.kv_lora_rank").orElse(0);
            long heads = u32(p + "attention.head_count").orElse(0);
            long ropeDims = rope.orElse(-1);
            long embedding = u32(p + "embedding_length").orElse(0);
            long key = u32(p + "attention.key_length").orElse(heads > 0 ? embedding / heads : 0);
            long value = u32(p + "attention.value_length").orElse(heads > 0 ? embedding / heads : 0);
            long kvHeads = u32(p + "attention.head_count_kv").orElse(heads);
            if (key != rank + ropeDims || value != rank || kvHeads != 1) {
                throw new Refused("deepseek2 with multi-head latent attention caches one head (" + p
                        + "attention.head_count_kv 1, not " + kvHeads + ") of kv_lora_rank + rope.dimension_count ("
                        + rank + " + " + ropeDims + ") for keys and kv_lora_rank for values; the file has key_length "
                        + key + ", value_length " + value);
            }
        }
    }

    /**
     * Architectures whose graph (the pinned llama.cpp's {@code models/<arch>.cpp}) asserts that the value head is as
     * large as the key head; a file that says otherwise loads, then aborts the process when a context is created.
     * Checked for the architectures of the architecture matrix ({@code ArchitectureMatrixIT}), whose graphs were read.
     */
    static final Set<String> EQUAL_KEY_AND_VALUE_HEADS = Set.of("llama", "qwen2", "qwen3", "qwen3moe", "granite", "olmo2",
            "smollm3", "mistral3", "phi3", "bert", "nomic-bert", "nomic-bert-moe", "gpt-oss");
    /** Of those, the ones whose graph also asserts that RoPE turns the whole head ({@code n_rot == n_embd_head}). */
    static final Set<String> WHOLE_HEAD_ROPE = Set.of("llama", "qwen2", "qwen3", "qwen3moe", "granite", "olmo2", "smollm3",
            "mistral3");

    /**
     * Head sizes that llama.cpp asserts on rather than reports: equal key and value heads and RoPE over the whole head
     * where the architecture's graph requires them, and for deepseek2 a query/key head larger than its RoPE part
     * ({@code n_embd_head_qk_nope >= 1}, asserted while its tensors are created).
     */
    private void headSizes(String p) {
        long embedding = u32(p + "embedding_length").orElse(-1);
        long heads = u32(p + "attention.head_count").orElse(-1);
        if (embedding <= 0 || heads <= 0) {
            return; // no fixed head count (absent, or per-layer): the shape rules and llama.cpp deal with it
        }
        long headK = u32(p + "attention.key_length").orElse(embedding / heads);
        long headV = u32(p + "attention.value_length").orElse(embedding / heads);
        long rope = u32(p + "rope.dimension_count").orElse(headK);
        if (EQUAL_KEY_AND_VALUE_HEADS.contains(arch) && headK != headV) {
            throw new Refused(arch + "'s graph needs equal key and value heads, the file has " + headK + " and " + headV
                    + " (" + p + "attention.key_length / value_length)");
        }
        if (WHOLE_HEAD_ROPE.contains(arch) && rope != headK) {
            throw new Refused(arch + "'s graph turns the whole head with RoPE: " + p + "rope.dimension_count is " + rope
                    + ", the head " + headK);
        }
        if (arch.equals("deepseek2")) {
            OptionalLong keyMla = u32(p + "attention.key_length_mla");
            boolean mla = keyMla.orElse(0) != 0 && u32(p + "attention.value_length_mla").orElse(0) != 0;
            long key = mla ? keyMla.getAsLong() : headK;
            if (key - rope < 1) {
                throw new Refused("deepseek2's query/key head (" + key + ") must be larger than its RoPE part ("
                        + p + "rope.dimension_count " + rope + ")");
            }
        }
    }

    /** ggml's norms assert {@code eps >= 0} when the graph runs (NaN fails it too). */
    private void epsilons(String p) {
        for (String key : file.metadata().keySet()) {
            if (key.startsWith(p) && key.endsWith("epsilon")) {
                OptionalDouble eps = f32(key);
                if (eps.isPresent() && !(eps.getAsDouble() >= 0)) {
                    throw new Refused(key + " is " + eps.getAsDouble() + "; a norm's epsilon must be >= 0");
                }
            }
        }
    }

    private void experts(String p, int layers) {
        long experts = u32(p + "expert_count").orElse(0);
        if (arch.equals("hunyuan-vl") || arch.equals("hunyuan-dense")) {
            if (experts <= 1) {
                return; // llama.cpp turns the experts off for these
            }
        }
        long used = Arrays.stream(perLayer(p + "expert_used_count", layers, new long[layers])).max().orElse(0);
        long groups = u32(p + "expert_group_count").orElse(0);
        long groupsUsed = u32(p + "expert_group_used_count").orElse(0);
        if (experts > MAX_EXPERTS) {
            throw new Refused(p + "expert_count is " + experts + "; llama.cpp takes at most " + MAX_EXPERTS);
        }
        if (used > experts) {
            throw new Refused(p + "expert_used_count is " + used + " but " + p + "expert_count is " + experts);
        }
        if (experts > 0) {
            if (used == 0) {
                throw new Refused(p + "expert_count is " + experts + " but no expert is used (" + p + "expert_used_count)");
            }
            if (groups >= experts) {
                throw new Refused(p + "expert_group_count is " + groups + ", not below the " + experts + " experts");
            }
            if (groups > 1 && (experts % groups != 0 || groupsUsed == 0 || groupsUsed >= groups)) {
                throw new Refused(experts + " experts in " + groups + " groups with " + groupsUsed
                        + " used: the groups must divide the experts and 1 to groups-1 of them be used");
            }
        } else if (used != 0 || groups != 0) {
            throw new Refused("no experts (" + p + "expert_count) but " + used + " used and " + groups + " groups");
        }
    }

    /**
     * Sizes that give a tensor present in the file a dimension of 0 or less: llama.cpp computes the shapes it expects
     * in 32-bit arithmetic and asserts that they are positive before it compares them with the file.
     */
    private void shapes(String p, int layers) {
        long embedding = u32(p + "embedding_length").orElse(-1);
        if (embedding == 0) {
            throw new Refused(p + "embedding_length is 0");
        }
        // the token embedding has one row per token: the vocabulary size, or the number of tokens
        long tokens = u32(p + "vocab_size").orElse(file.find("tokenizer.ggml.tokens").orElse(null) instanceof GgufValue.Array a
                ? a.size() : -1);
        if (tokens == 0 && hasTensor("", "token_embd", "output")) {
            throw new Refused("the vocabulary has no tokens, but the file has a token embedding (token_embd.weight)");
        }
        long[] heads = perLayer(p + "attention.head_count", layers, new long[layers]);
        long[] kvHeads = perLayer(p + "attention.head_count_kv", layers, heads.clone());
        long[] ff = perLayer(p + "feed_forward_length", layers, new long[layers]);
        long experts = u32(p + "expert_count").orElse(0);
        long[] used = perLayer(p + "expert_used_count", layers, new long[layers]);
        long[] expertFf = file.find(p + "expert_feed_forward_length").isPresent()
                ? perLayer(p + "expert_feed_forward_length", layers, new long[layers]) : null;
        long headK = -1;
        long headV = -1;
        if (heads[0] > 0 && embedding > 0) {
            headK = u32(p + "attention.key_length").orElse(embedding / heads[0]);
            headV = u32(p + "attention.value_length").orElse(embedding / heads[0]);
        }
        for (int il = 0; il < layers; il++) {
            String blk = "blk." + il + ".";
            if (hasTensor(blk, "attn_q", "attn_k", "attn_v", "attn_qkv", "attn_output")) {
                positive(blk + "attention: heads", heads[il]);
                positive(blk + "attention: key/value heads", kvHeads[il]);
                if (headK >= 0) {
                    positive("key head size", headK);
                    positive("value head size", headV);
                    for (long[] pair : new long[][] {{headK, heads[il]}, {headK, kvHeads[il]}, {headV, heads[il]}, {headV, kvHeads[il]}}) {
                        if (pair[0] * pair[1] > U32) {
                            throw new Refused("block " + il + ": head size " + pair[0] + " times " + pair[1]
                                    + " heads overflows 32 bits");
                        }
                    }
                }
            }
            if (hasTensor(blk, "ffn_up", "ffn_gate", "ffn_down")) {
                positive(blk + "feed-forward length", ff[il]);
            }
            if (hasTensor(blk, "ffn_up_exps", "ffn_gate_exps", "ffn_down_exps")) {
                // experts are sized by the feed-forward length (llama: n_ff; others: the expert length, or n_ff / used)
                positive(blk + "experts: " + p + "expert_count", experts);
                positive(blk + "experts: " + p + "expert_used_count", used[il]);
                positive(blk + "experts: feed-forward length", ff[il]);
                if (expertFf != null) {
                    positive(blk + "experts: " + p + "expert_feed_forward_length", expertFf[il]);
                }
            }
        }
    }

    private void positive(String what, long v) {
        if (v <= 0) {
            throw new Refused(what + " is " + v + ", but the file has tensors of that size");
        }
    }

    private boolean hasTensor(String prefix, String... names) {
        for (String n : names) {
            if (file.tensor(prefix + n + ".weight").isPresent()) {
                return true;
            }
        }
        return false;
    }

    private void atMost(String key, long max) {
        OptionalLong v = u32(key);
        if (v.isPresent() && v.getAsLong() > max) {
            throw new Refused(key + " is " + v.getAsLong() + ", more than the " + max + " blocks");
        }
    }

    // ---- values as llama.cpp reads them ----------------------------------------------------------------------------

    /** A UINT32 key as {@code get_key<uint32_t>} reads it: an integer override wins; empty if absent or another type. */
    private OptionalLong u32(String key) {
        Object o = overrides.get(key);
        if (o instanceof Long || o instanceof Integer) {
            return OptionalLong.of(((Number) o).longValue() & U32);
        }
        return file.find(key).orElse(null) instanceof GgufValue.UInt32(long v) ? OptionalLong.of(v) : OptionalLong.empty();
    }

    /** A FLOAT32 key as {@code get_key<float>} reads it: a floating-point override wins. */
    private OptionalDouble f32(String key) {
        if (overrides.get(key) instanceof Double || overrides.get(key) instanceof Float) {
            return OptionalDouble.of(((Number) overrides.get(key)).floatValue());
        }
        return file.find(key).orElse(null) instanceof GgufValue.Float32(float v) ? OptionalDouble.of(v) : OptionalDouble.empty();
    }

    private Optional<String> string(String key) {
        if (overrides.get(key) instanceof String s) {
            return Optional.of(s);
        }
        return file.find(key).orElse(null) instanceof GgufValue.Str(String s) ? Optional.of(s) : Optional.empty();
    }

    /**
     * A per-layer value as {@code get_key_or_arr} reads it: an array of one INT32, UINT32 or BOOL per layer, or one
     * UINT32 for every layer; {@code defaults} when absent or unreadable (llama.cpp then refuses or keeps its default).
     */
    private long[] perLayer(String key, int layers, long[] defaults) {
        Optional<GgufValue> v = file.find(key);
        if (v.isEmpty()) {
            return defaults;
        }
        if (v.get() instanceof GgufValue.Array a) {
            if (a.size() != layers || !EnumSet.of(GgufValue.Type.INT32, GgufValue.Type.UINT32, GgufValue.Type.BOOL)
                    .contains(a.elementType())) {
                return defaults;
            }
            long[] out = new long[layers];
            for (int i = 0; i < layers; i++) {
                out[i] = switch (a.elements().get(i)) {
                    case GgufValue.Int32 x -> x.value() & U32;
                    case GgufValue.UInt32 x -> x.value();
                    case GgufValue.Bool x -> x.value() ? 1 : 0;
                    default -> 0;
                };
            }
            return out;
        }
        OptionalLong one = u32(key);
        if (one.isEmpty()) {
            return defaults;
        }
        long[] out = new long[layers];
        Arrays.fill(out, one.getAsLong());
        return out;
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().limit(60).forEach(c -> sb.append(c >= 32 && c != 127 ? Character.toString(c) : String.format("\\u%04x", c)));
        return sb.toString();
    }
}
