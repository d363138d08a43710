package io.llamaffm.internal.load;

import io.llamaffm.ModelConfig;
import io.llamaffm.bindings.LlamaH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** Reads a loaded model's {@link ModelConfig} from llama.cpp's accessors and the GGUF metadata. */
public final class ModelConfigReader {
    private ModelConfigReader() {}

    /** A native call that writes a NUL-terminated string into (buf, size) and returns its length or -1. */
    private interface StringCall {
        int call(MemorySegment buf, long size);
    }

    /**
     * Reads the configuration. Per-layer accessors (head counts) abort inside llama.cpp when the model has no layers
     * loaded (vocabulary-only loads), so those counts then come from the metadata instead.
     *
     * @param fromMemory       for a model built from memory, what llama.cpp only learns from reading a file (parameter
     *                         count, size, guessed file type); null for a model loaded from a file
     * @param expertParameters the elements of the model's routed-expert tensors ({@link #expertParameters})
     */
    public static ModelConfig read(MemorySegment model, MemorySegment vocab, String fileName, boolean vocabOnly,
                                   MemoryModelLoader.Stats fromMemory, long expertParameters) {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, String> meta = new LinkedHashMap<>();
            int n = LlamaH.llama_model_meta_count(model);
            for (int i = 0; i < n; i++) {
                int idx = i;
                String key = string(arena, (b, s) -> LlamaH.llama_model_meta_key_by_index(model, idx, b, s));
                String val = string(arena, (b, s) -> LlamaH.llama_model_meta_val_str_by_index(model, idx, b, s));
                if (key != null) {
                    meta.put(key, val == null ? "" : val);
                }
            }
            String arch = meta.getOrDefault("general.architecture", "unknown");
            String name = meta.getOrDefault("general.name", fileName);
            String desc = string(arena, (b, s) -> LlamaH.llama_model_desc(model, b, s));
            if (fromMemory != null && fromMemory.guessedFileType() >= 0 && desc != null) {
                desc = withFileType(desc, fromMemory.guessedFileType());
            }

            int embd = LlamaH.llama_model_n_embd(model);
            int layers = LlamaH.llama_model_n_layer(model);
            boolean layersLoaded = !vocabOnly && layers > 0;
            int heads = layersLoaded ? LlamaH.llama_model_n_head(model) : intMeta(meta, arch + ".attention.head_count").orElse(0);
            int kvHeads = layersLoaded ? LlamaH.llama_model_n_head_kv(model)
                    : intMeta(meta, arch + ".attention.head_count_kv").orElse(heads);
            int headDim = intMeta(meta, arch + ".attention.key_length").orElse(heads > 0 ? embd / heads : 0);
            // the window llama.cpp uses (it ignores some files' windows, e.g. phi3's); the stated one without layers
            int window = Math.max(0, layersLoaded ? LlamaH.llama_model_n_swa(model)
                    : intMeta(meta, arch + ".attention.sliding_window").orElse(0));
            ModelConfig.Attention attention = heads > 0 && kvHeads > 0 && heads % kvHeads == 0
                    ? ModelConfig.Attention.of(heads, kvHeads, headDim, window)
                    : new ModelConfig.Attention(heads, kvHeads, headDim, ModelConfig.AttentionKind.MHA, 1, window);

            long params = fromMemory != null ? fromMemory.parameterCount() : LlamaH.llama_model_n_params(model);
            long sizeBytes = fromMemory != null ? fromMemory.sizeBytes() : LlamaH.llama_model_size(model);
            Optional<ModelConfig.MixtureOfExperts> moe = Optional.empty();
            Optional<Integer> experts = intMeta(meta, arch + ".expert_count");
            if (experts.isPresent() && experts.get() > 0) {
                int used = intMeta(meta, arch + ".expert_used_count").orElse(0);
                // each routed-expert tensor stacks one slice per expert; a token uses `used` of them
                OptionalLong active = used > 0 && used <= experts.get() && expertParameters > 0
                        ? OptionalLong.of(params - expertParameters / experts.get() * (experts.get() - used))
                        : OptionalLong.empty();
                moe = Optional.of(new ModelConfig.MixtureOfExperts(experts.get(), used, active));
            }

            ModelConfig.Rope rope = new ModelConfig.Rope(ropeType(LlamaH.llama_model_rope_type(model)),
                    floatMeta(meta, arch + ".rope.freq_base").orElse(10000f), LlamaH.llama_model_rope_freq_scale_train(model),
                    Optional.ofNullable(meta.get(arch + ".rope.scaling.type")),
                    intMeta(meta, arch + ".rope.dimension_count").orElse(0));
            ModelConfig.Vocabulary vocabulary = new ModelConfig.Vocabulary(vocabType(LlamaH.llama_vocab_type(vocab)),
                    LlamaH.llama_vocab_n_tokens(vocab), LlamaH.llama_vocab_bos(vocab), LlamaH.llama_vocab_eos(vocab),
                    LlamaH.llama_vocab_eot(vocab));
            Optional<String> chatTemplate = chatTemplate(model, MemorySegment.NULL);
            return new ModelConfig(arch, name, desc == null ? "" : desc, params, sizeBytes,
                    LlamaH.llama_model_n_ctx_train(model), embd, layers, attention, moe, rope, vocabulary, chatTemplate, meta);
        }
    }

    /**
     * The elements of a GGUF file's routed-expert tensors: those llama.cpp names {@code blk.N.ffn_*_exps} (gate, up,
     * down or fused gate-up projections, and their biases), which stack one slice per expert along their last
     * dimension. Shared experts ({@code *_shexp}), the router and dense blocks are not among them.
     *
     * @param file a parsed GGUF file (one part of a split model counts its own tensors)
     * @return the element count
     */
    public static long expertParameters(io.llamaffm.gguf.GgufFile file) {
        long n = 0;
        for (io.llamaffm.gguf.TensorInfo t : file.tensors()) {
            String name = t.name();
            if (name.startsWith("blk.") && name.contains("_exps.")) {
                long elements = 1;
                for (long d : t.dims()) {
                    elements = Math.multiplyExact(elements, d);
                }
                n = Math.addExact(n, elements);
            }
        }
        return n;
    }

    /**
     * llama.cpp's description ends with the file type's name; a model built from memory had no tensor infos to guess
     * it from (it says "all F32, guessed"), so put the name of the type guessed from our tensor infos there instead.
     */
    private static String withFileType(String desc, int fileType) {
        String nativeGuess = fileTypeName(LlamaH.LLAMA_FTYPE_ALL_F32() | LlamaH.LLAMA_FTYPE_GUESSED());
        String ours = fileTypeName(fileType);
        return desc.endsWith(nativeGuess) ? desc.substring(0, desc.length() - nativeGuess.length()) + ours : desc;
    }

    private static String fileTypeName(int fileType) {
        return LlamaH.llama_ftype_name(fileType).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** The model's chat template of that name (NULL: the default one), if it has one. */
    public static Optional<String> chatTemplate(MemorySegment model, MemorySegment name) {
        MemorySegment text = LlamaH.llama_model_chat_template(model, name);
        return text.equals(MemorySegment.NULL) ? Optional.empty() : Optional.of(text.reinterpret(Long.MAX_VALUE).getString(0));
    }

    private static String string(Arena arena, StringCall call) {
        long size = 256;
        for (int attempt = 0; attempt < 2; attempt++) {
            MemorySegment buf = arena.allocate(size);
            int len = call.call(buf, size);
            if (len < 0) {
                return null;
            }
            if (len < size) {
                return buf.getString(0);
            }
            size = len + 1L;
        }
        return null;
    }

    private static Optional<Integer> intMeta(Map<String, String> meta, String key) {
        try {
            return Optional.ofNullable(meta.get(key)).map(String::trim).map(Integer::parseInt);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static Optional<Float> floatMeta(Map<String, String> meta, String key) {
        try {
            return Optional.ofNullable(meta.get(key)).map(String::trim).map(Float::parseFloat);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static ModelConfig.RopeType ropeType(int t) {
        if (t == LlamaH.LLAMA_ROPE_TYPE_NONE()) return ModelConfig.RopeType.NONE;
        if (t == LlamaH.LLAMA_ROPE_TYPE_NORM()) return ModelConfig.RopeType.NORM;
        if (t == LlamaH.LLAMA_ROPE_TYPE_NEOX()) return ModelConfig.RopeType.NEOX;
        if (t == LlamaH.LLAMA_ROPE_TYPE_MROPE()) return ModelConfig.RopeType.MROPE;
        if (t == LlamaH.LLAMA_ROPE_TYPE_IMROPE()) return ModelConfig.RopeType.IMROPE;
        if (t == LlamaH.LLAMA_ROPE_TYPE_VISION()) return ModelConfig.RopeType.VISION;
        return ModelConfig.RopeType.UNKNOWN;
    }

    private static ModelConfig.VocabularyType vocabType(int t) {
        ModelConfig.VocabularyType[] all = {ModelConfig.VocabularyType.NONE, ModelConfig.VocabularyType.SPM,
                ModelConfig.VocabularyType.BPE, ModelConfig.VocabularyType.WPM, ModelConfig.VocabularyType.UGM,
                ModelConfig.VocabularyType.RWKV, ModelConfig.VocabularyType.PLAMO2};
        return t >= 0 && t < all.length ? all[t] : ModelConfig.VocabularyType.UNKNOWN;
    }
}
