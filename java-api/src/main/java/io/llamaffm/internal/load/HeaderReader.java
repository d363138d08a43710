package io.llamaffm.internal.load;

import io.llamaffm.ModelConfig;
import io.llamaffm.ModelHeader;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.TensorInfo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Reads a {@link ModelHeader} from a GGUF file's metadata and tensor infos alone, in plain Java: what llama.cpp's
 * {@code load_hparams}, {@code llama_model_rope_type} and vocabulary loader would make of the same keys, for the parts
 * that decide a model's size, geometry and KV cache. No tensor data is read, so a file cut after its header, or a
 * download's first bytes, is enough.
 */
public final class HeaderReader {
    private HeaderReader() {}

    /** llama.cpp's {@code llama_model_rope_type}, by architecture name; glm4, glm4moe and hunyuan_vl depend on the file. */
    private static final Map<String, ModelConfig.RopeType> ROPE_TYPES = ropeTypes();

    /** Architectures whose context has no KV cache: non-causal encoders (llama.cpp's {@code create_memory} gives none). */
    private static final Set<String> NO_CACHE = Set.of("bert", "jina-bert-v2", "jina-bert-v3", "nomic-bert",
            "nomic-bert-moe", "neo-bert", "eurobert", "wavtokenizer-dec", "modern-bert", "gemma-embedding", "dream",
            "llada", "llada-moe", "rnd1");

    /** Recurrent architectures (llama.cpp's {@code llm_arch_is_recurrent}): a fixed state per sequence, no KV cache. */
    private static final Set<String> RECURRENT = Set.of("mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7");

    /**
     * How an architecture's {@code load_arch_hparams} sets up sliding-window attention.
     *
     * @param defaultWindow the window when the file states none (0: the key is required)
     * @param onlyIfStated  whether sliding windows are on only when the file states a window above 0
     * @param period        the default {@code sliding_window_pattern}: every period-th layer is a full-attention one
     * @param denseFirst    whether the full-attention layer comes first in each period (else last)
     * @param windowFixed   whether the window is {@code defaultWindow} whatever the file says (smallthinker)
     */
    private record SlidingRule(int defaultWindow, boolean onlyIfStated, int period, boolean denseFirst, boolean windowFixed) {}

    private static final Map<String, SlidingRule> SLIDING = Map.of(
            "gemma2", new SlidingRule(4096, false, 2, false, false),
            "gemma3", new SlidingRule(0, true, 6, false, false),
            "gpt-oss", new SlidingRule(0, false, 2, false, false),
            "olmo2", new SlidingRule(0, true, 4, false, false),
            "cohere2", new SlidingRule(0, false, 4, false, false),
            "smallthinker", new SlidingRule(4096, true, 4, true, true));

    /** Token texts llama.cpp takes as end-of-turn when the file names none. */
    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
            "<end_of_utterance>");

    /** Tensors llama.cpp keeps with the input layer (always on the CPU). */
    private static final Set<String> INPUT_TENSORS = Set.of("token_embd", "position_embd", "token_types",
            "per_layer_token_embd", "masked_embd_centroids", "masked_embd_ordering");

    /**
     * Reads what the header says.
     *
     * @param file     a GGUF file, whole or only its header ({@link GgufFile#openHeader})
     * @param fileName the name to use when the file has no {@code general.name}
     * @param source   where the header came from (a path or URL), for the result
     * @return the header's model
     */
    public static ModelHeader read(GgufFile file, String fileName, String source) {
        return read(List.of(file), fileName, source);
    }

    /**
     * Reads what the headers of a model's files say: a split model's metadata from its first part, its tensors from
     * all parts.
     *
     * @param parts    the model's files in order, each whole or only its header
     * @param fileName the name to use when the model has no {@code general.name}
     * @param source   where the headers came from, for the result
     * @return the headers' model
     */
    public static ModelHeader read(List<GgufFile> parts, String fileName, String source) {
        GgufFile file = parts.getFirst();
        List<TensorInfo> tensors = new ArrayList<>();
        Map<String, TensorInfo> byName = new HashMap<>();
        long headerBytes = 0;
        long expertParams = 0;
        for (GgufFile part : parts) {
            tensors.addAll(part.tensors());
            part.tensors().forEach(t -> byName.put(t.name(), t));
            headerBytes = Math.addExact(headerBytes, part.headerSize());
            expertParams = Math.addExact(expertParams, ModelConfigReader.expertParameters(part));
        }
        String arch = file.findString("general.architecture").orElse("unknown");
        String name = file.findString("general.name").orElse(fileName);
        int embd = intKey(file, arch + ".embedding_length", 0);
        int layersAll = intKey(file, arch + ".block_count", 0);
        int nextn = intKey(file, arch + ".nextn_predict_layers", 0);
        int layers = Math.max(0, layersAll - nextn);
        long[] headArr = perLayer(file, arch + ".attention.head_count", layersAll, 0);
        long[] kvArr = file.find(arch + ".attention.head_count_kv").isPresent()
                ? perLayer(file, arch + ".attention.head_count_kv", layersAll, 0) : headArr.clone();
        int heads = layersAll > 0 ? (int) headArr[0] : intKey(file, arch + ".attention.head_count", 0);
        int kvHeads = layersAll > 0 ? (int) kvArr[0] : intKey(file, arch + ".attention.head_count_kv", heads);
        int headK = intKey(file, arch + ".attention.key_length", heads > 0 ? embd / heads : 0);
        int headV = intKey(file, arch + ".attention.value_length", heads > 0 ? embd / heads : 0);
        int headKSwa = intKey(file, arch + ".attention.key_length_swa", headK);
        int headVSwa = intKey(file, arch + ".attention.value_length_swa", headV);
        boolean mla = file.find(arch + ".attention.key_length_mla").isPresent()
                && file.find(arch + ".attention.value_length_mla").isPresent();

        boolean[] swa = new boolean[Math.max(layersAll, 0)];
        int window = slidingWindow(file, arch, layers, swa);
        ModelConfig.Attention attention = heads > 0 && kvHeads > 0 && heads % kvHeads == 0
                ? ModelConfig.Attention.of(heads, kvHeads, headK, window)
                : new ModelConfig.Attention(heads, kvHeads, headK, ModelConfig.AttentionKind.MHA, 1, window);

        long params = 0;
        long size = 0;
        long[] layerBytes = new long[Math.max(layersAll, 0)];
        long inputBytes = 0;
        long outputBytes = 0;
        for (TensorInfo t : tensors) {
            params = Math.addExact(params, t.elementCount());
            size = Math.addExact(size, t.byteSize());
            int layer = layerOf(t.name());
            if (layer >= 0 && layer < layersAll) {
                layerBytes[layer] += t.byteSize();
            } else if (INPUT_TENSORS.contains(baseName(t.name()))) {
                inputBytes += t.byteSize();
            } else {
                outputBytes += t.byteSize();
            }
        }
        boolean tiedOutput = !byName.containsKey("output.weight") && byName.containsKey("token_embd.weight");
        long tiedBytes = tiedOutput ? byName.get("token_embd.weight").byteSize() : 0;

        Optional<ModelConfig.MixtureOfExperts> moe = Optional.empty();
        int experts = intKey(file, arch + ".expert_count", 0);
        if (experts > 0) {
            int used = intKey(file, arch + ".expert_used_count", 0);
            OptionalLong active = used > 0 && used <= experts && expertParams > 0
                    ? OptionalLong.of(params - expertParams / experts * (experts - used)) : OptionalLong.empty();
            moe = Optional.of(new ModelConfig.MixtureOfExperts(experts, used, active));
        }

        float ropeFactor = floatKey(file, arch + ".rope.scaling.factor")
                .or(() -> floatKey(file, arch + ".rope.scale_linear")).orElse(0f);
        ModelConfig.Rope rope = new ModelConfig.Rope(ropeType(file, arch),
                floatKey(file, arch + ".rope.freq_base").orElse(10000f), ropeFactor == 0f ? 1f : 1f / ropeFactor,
                file.findString(arch + ".rope.scaling.type"), intKey(file, arch + ".rope.dimension_count", 0));

        ModelConfig config = new ModelConfig(arch, name, description(arch, params, file), params, size,
                intKey(file, arch + ".context_length", 0), embd, layers, attention, moe, rope, vocabulary(file),
                file.findString("tokenizer.chat_template"), metadata(file));

        ModelHeader.CacheKind cacheKind = NO_CACHE.contains(arch) ? ModelHeader.CacheKind.NONE
                : RECURRENT.contains(arch) ? ModelHeader.CacheKind.RECURRENT : ModelHeader.CacheKind.ATTENTION;
        List<ModelHeader.Layer> layerList = new ArrayList<>();
        for (int il = 0; il < layersAll; il++) {
            boolean s = swa[il];
            int kv = (int) kvArr[il];
            boolean cached = cacheKind == ModelHeader.CacheKind.ATTENTION && il < layers && kv > 0;
            layerList.add(new ModelHeader.Layer(il, (int) headArr[il], kv, s ? headKSwa : headK,
                    mla ? 0 : s ? headVSwa : headV, s, cached, layerBytes[il]));
        }
        return new ModelHeader(source, headerBytes, config, layerList, inputBytes, outputBytes, tiedBytes, cacheKind);
    }

    // ---- attention -----------------------------------------------------------------------------------------------

    /** The window llama.cpp uses ({@code n_swa}), marking the sliding-window layers in {@code swa}. */
    private static int slidingWindow(GgufFile file, String arch, int layers, boolean[] swa) {
        SlidingRule rule = SLIDING.get(arch);
        if (rule == null) {
            return 0; // llama.cpp reads no window for this architecture (phi3's it reads and drops)
        }
        OptionalLong stated = file.findLong(arch + ".attention.sliding_window");
        if (rule.onlyIfStated() && (stated.isEmpty() || stated.getAsLong() <= 0)) {
            return 0;
        }
        int window = rule.windowFixed() ? rule.defaultWindow()
                : (int) stated.orElse(rule.defaultWindow());
        Optional<GgufValue> pattern = file.find(arch + ".attention.sliding_window_pattern");
        if (pattern.isPresent() && pattern.get() instanceof GgufValue.Array a && a.elementType() == GgufValue.Type.BOOL) {
            for (int il = 0; il < layers && il < a.size(); il++) {
                swa[il] = ((GgufValue.Bool) a.elements().get(il)).value();
            }
            return window;
        }
        int period = pattern.isPresent() ? (int) file.findLong(arch + ".attention.sliding_window_pattern").orElse(rule.period())
                : rule.period();
        for (int il = 0; il < layers; il++) {
            swa[il] = period == 0 || (rule.denseFirst() ? il % period != 0 : il % period < period - 1);
        }
        return window;
    }

    private static ModelConfig.RopeType ropeType(GgufFile file, String arch) {
        ModelConfig.RopeType known = ROPE_TYPES.get(arch);
        if (known != null) {
            return known;
        }
        if (arch.equals("glm4") || arch.equals("glm4moe") || arch.equals("hunyuan_vl")) {
            // multimodal RoPE when the file gives RoPE sections
            boolean mrope = file.findArray(arch + ".rope.dimension_sections")
                    .filter(a -> a.elementType().isInteger())
                    .map(a -> java.util.Arrays.stream(a.longs()).anyMatch(v -> v != 0)).orElse(false);
            return mrope ? ModelConfig.RopeType.MROPE
                    : arch.equals("glm4") ? ModelConfig.RopeType.NORM : ModelConfig.RopeType.NEOX;
        }
        return ModelConfig.RopeType.UNKNOWN;
    }

    // ---- vocabulary ----------------------------------------------------------------------------------------------

    /**
     * The vocabulary as llama.cpp's loader sets it up: the tokenizer family from {@code tokenizer.ggml.model}, each
     * family's default special tokens (dropped when outside the vocabulary), the file's ids where in range, and an
     * end-of-turn token found by its text when the file names none. A file without a tokenizer (which llama.cpp
     * refuses to load) gets NONE, the size of any token list, and no special tokens.
     */
    static ModelConfig.Vocabulary vocabulary(GgufFile file) {
        Optional<String> model = file.findString("tokenizer.ggml.model");
        List<String> tokens = file.findArray("tokenizer.ggml.tokens")
                .filter(a -> a.elementType() == GgufValue.Type.STRING).map(GgufValue.Array::strings).orElse(List.of());
        if (model.isEmpty()) {
            return new ModelConfig.Vocabulary(ModelConfig.VocabularyType.NONE, tokens.size(), -1, -1, -1);
        }
        String m = model.get();
        String pre = file.findString("tokenizer.ggml.pre").orElse("");
        ModelConfig.VocabularyType type;
        int bos;
        int eos;
        switch (m) {
            case "no_vocab", "none" -> { type = ModelConfig.VocabularyType.NONE; bos = -1; eos = -1; }
            case "llama" -> { type = ModelConfig.VocabularyType.SPM; bos = 1; eos = 2; }
            case "bert" -> { type = ModelConfig.VocabularyType.WPM; bos = 101; eos = -1; }
            case "gpt2", "hybriddna", "whitespace" -> { type = ModelConfig.VocabularyType.BPE; bos = 11; eos = 11; }
            case "gemma4" -> { type = ModelConfig.VocabularyType.BPE; bos = -1; eos = -1; }
            case "t5" -> { type = ModelConfig.VocabularyType.UGM; bos = -1; eos = 1; }
            case "rwkv" -> { type = ModelConfig.VocabularyType.RWKV; bos = -1; eos = -1; }
            case "plamo2" -> { type = ModelConfig.VocabularyType.PLAMO2; bos = 1; eos = 2; }
            default -> {
                return new ModelConfig.Vocabulary(ModelConfig.VocabularyType.UNKNOWN, tokens.size(), -1, -1, -1);
            }
        }
        if (type == ModelConfig.VocabularyType.BPE && (pre.equals("glm4") || pre.equals("chatglm-bpe"))) {
            bos = -1;
        }
        int n = type == ModelConfig.VocabularyType.NONE
                ? (int) file.findLong("tokenizer.ggml.vocab_size").orElse(0) : tokens.size();
        bos = special(file, "tokenizer.ggml.bos_token_id", bos, n);
        eos = special(file, "tokenizer.ggml.eos_token_id", eos, n);
        int eot = special(file, "tokenizer.ggml.eot_token_id", -1, n);
        if (eot < 0) {
            // llama.cpp takes the first match in its token hash map's order, which (libstdc++) yields later
            // insertions, i.e. higher ids, first: <|eot_id|> over <|end_of_text|>, <|im_end|> over <|endoftext|>
            for (int id = tokens.size() - 1; id >= 0 && eot < 0; id--) {
                if (EOT_TEXTS.contains(tokens.get(id))) {
                    eot = id;
                }
            }
        }
        return new ModelConfig.Vocabulary(type, n, bos, eos, eot);
    }

    /** A special token: the default unless out of range (then none), replaced by the file's id when in range. */
    private static int special(GgufFile file, String key, int fallback, int n) {
        int id = fallback >= n ? -1 : fallback;
        OptionalLong v = file.findLong(key);
        if (v.isPresent() && v.getAsLong() >= 0 && v.getAsLong() < n) {
            id = (int) v.getAsLong();
        }
        return id;
    }

    // ---- description and metadata --------------------------------------------------------------------------------

    /** {@code "<arch> <parameters, rounded> <file type>"}, e.g. {@code llama 260K F32}. */
    private static String description(String arch, long params, GgufFile file) {
        OptionalLong ftype = file.findLong("general.file_type");
        String type = ftype.isPresent() ? fileTypeName((int) ftype.getAsLong()) : "file type unknown";
        return arch + " " + rounded(params) + " " + type;
    }

    private static String rounded(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.1fB", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.0fM", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.0fK", n / 1e3);
        return Long.toString(n);
    }

    /** The names of {@code llama_ftype} values (the part after {@code LLAMA_FTYPE_MOSTLY_}). */
    private static String fileTypeName(int t) {
        String[] names = {"F32", "F16", "Q4_0", "Q4_1", null, null, null, "Q8_0", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S",
                "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS", "Q2_K_S",
                "IQ3_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ3_M", "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M", "BF16",
                null, null, null, "TQ1_0", "TQ2_0", "MXFP4_MOE", "NVFP4", "Q1_0", "Q2_0"};
        return t >= 0 && t < names.length && names[t] != null ? names[t] : "file type " + t;
    }

    /** Every scalar metadata entry rendered as llama.cpp renders it ({@code gguf_kv_to_str}); arrays are left out, as llama.cpp does. */
    static Map<String, String> metadata(GgufFile file) {
        Map<String, String> meta = new HashMap<>();
        file.metadata().forEach((k, v) -> {
            if (!(v instanceof GgufValue.Array)) {
                meta.put(k, render(v));
            }
        });
        return meta;
    }

    private static String render(GgufValue v) {
        return switch (v) {
            case GgufValue.Str s -> s.value();
            case GgufValue.Float32 f -> String.format(Locale.ROOT, "%f", (double) f.value());
            case GgufValue.Float64 d -> String.format(Locale.ROOT, "%f", d.value());
            case GgufValue.Bool b -> b.value() ? "true" : "false";
            case GgufValue.UInt64 u -> Long.toUnsignedString(u.value());
            case GgufValue.UInt8 u -> Integer.toString(u.value());
            case GgufValue.Int8 i -> Byte.toString(i.value());
            case GgufValue.UInt16 u -> Integer.toString(u.value());
            case GgufValue.Int16 i -> Short.toString(i.value());
            case GgufValue.UInt32 u -> Long.toString(u.value());
            case GgufValue.Int32 i -> Integer.toString(i.value());
            case GgufValue.Int64 i -> Long.toString(i.value());
            case GgufValue.Array a -> a.toString();
        };
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static int intKey(GgufFile file, String key, int fallback) {
        Optional<GgufValue> v = file.find(key);
        if (v.isPresent() && v.get() instanceof GgufValue.Array a && a.elementType().isInteger() && a.size() > 0) {
            return (int) a.longs()[0];
        }
        return v.isPresent() && !(v.get() instanceof GgufValue.Array) ? file.findInt(key).orElse(fallback) : fallback;
    }

    /** A key that is one value for every layer or an array of one per layer (llama.cpp's {@code get_key_or_arr}). */
    private static long[] perLayer(GgufFile file, String key, int layers, long fallback) {
        long[] out = new long[Math.max(layers, 0)];
        Optional<GgufValue> v = file.find(key);
        if (v.isPresent() && v.get() instanceof GgufValue.Array a && a.elementType().isInteger()) {
            long[] values = a.longs();
            for (int i = 0; i < out.length; i++) {
                out[i] = i < values.length ? values[i] : fallback;
            }
        } else {
            java.util.Arrays.fill(out, v.isPresent() ? file.findLong(key).orElse(fallback) : fallback);
        }
        return out;
    }

    private static Optional<Float> floatKey(GgufFile file, String key) {
        return file.find(key).flatMap(v -> switch (v) {
            case GgufValue.Float32 f -> Optional.of(f.value());
            case GgufValue.Float64 d -> Optional.of((float) d.value());
            default -> Optional.empty();
        });
    }

    /** The N of {@code blk.N.*}, or -1. */
    static int layerOf(String tensor) {
        if (!tensor.startsWith("blk.")) {
            return -1;
        }
        int dot = tensor.indexOf('.', 4);
        try {
            return dot > 4 ? Integer.parseInt(tensor.substring(4, dot)) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String baseName(String tensor) {
        int dot = tensor.lastIndexOf('.');
        return dot > 0 ? tensor.substring(0, dot) : tensor;
    }

    private static void put(Map<String, ModelConfig.RopeType> m, ModelConfig.RopeType type, String... archs) {
        for (String a : archs) {
            m.put(a, type);
        }
    }

    private static Map<String, ModelConfig.RopeType> ropeTypes() {
        Map<String, ModelConfig.RopeType> m = new HashMap<>();
        put(m, ModelConfig.RopeType.NONE,
                "arwkv7", "bloom", "clip", "gpt2", "gptj", "jais", "jamba", "jina-bert-v2", "kimi-k3", "kimi-linear",
                "mamba", "mamba2", "mpt", "nemotron_h", "nemotron_h_moe", "refact", "rwkv6", "rwkv6qwen2", "rwkv7",
                "t5", "t5encoder", "wavtokenizer-dec"
        );
        put(m, ModelConfig.RopeType.NORM,
                "arcee", "arctic", "baichuan", "bailingmoe", "bailingmoe3", "chameleon", "chatglm", "cohere2",
                "cohere2moe", "command-r", "deci", "deepseek", "deepseek2", "deepseek2-ocr", "deepseek32", "deepseek4",
                "dots3note", "eagle3", "ernie4_5", "ernie4_5-moe", "glm-dsa", "granite", "granite_swa", "granitehybrid",
                "granitemoe", "graniteswitch", "internlm2", "llada", "llama", "llama-embed", "llama4", "maincoder",
                "minicpm", "mistral3", "mistral4", "muse-glimmer", "nanbeige", "neo-bert", "olmo", "plm", "pockettts",
                "smollm3", "starcoder", "xverse"
        );
        put(m, ModelConfig.RopeType.NEOX,
                "afmoe", "apertus", "bailingmoe2", "bert", "bitnet", "codeshell", "cogvlm", "dbrx", "dots1", "dream",
                "eurobert", "exaone", "exaone-moe", "exaone4", "falcon", "falcon-h1", "gemma", "gemma-embedding",
                "gemma2", "gemma3", "gemma3n", "gemma4", "gemma4-assistant", "gpt-oss", "gptneox", "grok", "grovemoe",
                "hunyuan-dense", "hunyuan-moe", "hy_v3", "jais2", "jina-bert-v3", "laguna", "lfm2", "lfm2moe",
                "llada-moe", "mellum", "mimo2", "minicpm3", "minimax-01", "minimax-m2", "minimax-m3", "modern-bert",
                "nemotron", "nomic-bert", "nomic-bert-moe", "olmo2", "olmoe", "openelm", "orion", "pangu-embedded",
                "phi2", "phi3", "phimoe", "plamo", "plamo2", "plamo3", "qwen", "qwen2", "qwen2moe", "qwen3", "qwen3moe",
                "qwen3next", "rnd1", "seed_oss", "smallthinker", "stablelm", "starcoder2", "step35", "talkie"
        );
        put(m, ModelConfig.RopeType.MROPE,
                "dflash", "paddleocr", "qwen2vl"
        );
        put(m, ModelConfig.RopeType.IMROPE,
                "qwen35", "qwen35moe", "qwen3tts", "qwen3vl", "qwen3vlmoe", "qwen4exp"
        );
        return Map.copyOf(m);
    }
}
