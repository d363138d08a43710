package io.llamaffm;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What a model is: the numbers that decide its memory, speed and behaviour, read from llama.cpp and the model's GGUF
 * metadata ({@link Model#config()}), or from the GGUF header alone without loading anything ({@link ModelHeader}).
 *
 * @param architecture         GGUF {@code general.architecture}, e.g. {@code llama}
 * @param name                 {@code general.name}, or the file name when absent
 * @param description          llama.cpp's one-line description (type, size, quantization)
 * @param parameterCount       total parameters
 * @param sizeBytes            bytes of all weights
 * @param trainedContextLength context length the model was trained with, in tokens
 * @param embeddingLength      width of the residual stream
 * @param layerCount           transformer blocks
 * @param attention            heads, KV heads and the attention kind they make
 * @param moe                  mixture-of-experts routing, when the model has experts
 * @param rope                 rotary position embedding settings
 * @param vocabulary           tokenizer kind, size and special tokens
 * @param chatTemplate         the model's default chat template (Jinja), when it has one
 * @param metadata             every GGUF metadata entry as llama.cpp renders it (arrays summarised)
 */
public record ModelConfig(String architecture, String name, String description, long parameterCount, long sizeBytes,
                          int trainedContextLength, int embeddingLength, int layerCount, Attention attention,
                          Optional<MixtureOfExperts> moe, Rope rope, Vocabulary vocabulary, Optional<String> chatTemplate,
                          Map<String, String> metadata) {

    /**
     * Copies the metadata into an unmodifiable map.
     */
    public ModelConfig {
        metadata = Map.copyOf(metadata);
    }

    /** Multi-head (one KV head per query head), grouped-query (several query heads share a KV head) or multi-query (one KV head). */
    public enum AttentionKind {
        /** Multi-head attention: one KV head per query head. */
        MHA,
        /** Grouped-query attention: several query heads share each KV head. */
        GQA,
        /** Multi-query attention: one KV head for all query heads. */
        MQA
    }

    /**
     * Attention geometry.
     *
     * @param headCount     query heads
     * @param kvHeadCount   key/value heads
     * @param headDim       dimensions per head
     * @param kind          MHA, GQA or MQA, from the two counts
     * @param groupSize     query heads per KV head
     * @param slidingWindow tokens a sliding-window layer attends to (llama.cpp's {@code n_swa}; Gemma 2/3, gpt-oss, ...),
     *                      0 when the model has no sliding-window layers or llama.cpp ignores the window it states
     */
    public record Attention(int headCount, int kvHeadCount, int headDim, AttentionKind kind, int groupSize,
                            int slidingWindow) {
        /**
         * Derives kind and group size from the head counts, without a sliding window.
         *
         * @param headCount   query heads, a multiple of {@code kvHeadCount}
         * @param kvHeadCount key/value heads
         * @param headDim     dimensions per head
         * @return the geometry
         * @throws IllegalArgumentException if a count is below 1 or the query heads do not divide into KV groups
         */
        public static Attention of(int headCount, int kvHeadCount, int headDim) {
            return of(headCount, kvHeadCount, headDim, 0);
        }

        /**
         * Derives kind and group size from the head counts.
         *
         * @param headCount     query heads, a multiple of {@code kvHeadCount}
         * @param kvHeadCount   key/value heads
         * @param headDim       dimensions per head
         * @param slidingWindow tokens a sliding-window layer attends to, 0 for none
         * @return the geometry
         * @throws IllegalArgumentException if a count is below 1, the query heads do not divide into KV groups or the
         *                                  window is negative
         */
        public static Attention of(int headCount, int kvHeadCount, int headDim, int slidingWindow) {
            if (headCount < 1 || kvHeadCount < 1 || headCount % kvHeadCount != 0) {
                throw new IllegalArgumentException("bad head counts: " + headCount + " query heads, " + kvHeadCount + " KV heads");
            }
            if (slidingWindow < 0) {
                throw new IllegalArgumentException("negative sliding window: " + slidingWindow);
            }
            AttentionKind kind = kvHeadCount == headCount ? AttentionKind.MHA
                    : kvHeadCount == 1 ? AttentionKind.MQA : AttentionKind.GQA;
            return new Attention(headCount, kvHeadCount, headDim, kind, headCount / kvHeadCount, slidingWindow);
        }
    }

    /**
     * Mixture-of-experts routing.
     *
     * @param expertCount      experts per layer
     * @param expertsUsed      experts each token is routed to
     * @param activeParameters parameters used per token: all but the routed experts' tensors ({@code ffn_*_exps})
     *                         of the experts a token is not routed to; shared experts, the router and dense blocks
     *                         count in full
     */
    public record MixtureOfExperts(int expertCount, int expertsUsed, OptionalLong activeParameters) {}

    /** The kinds of rotary embedding llama.cpp implements. */
    public enum RopeType {
        /** No rotary embedding. */
        NONE,
        /** Rotates adjacent pairs of dimensions (LLaMA). */
        NORM,
        /** Rotates dimension i with dimension i + d/2 (GPT-NeoX, Qwen, Phi). */
        NEOX,
        /** Multimodal RoPE: sections of the dimensions rotate by time, height and width (Qwen2-VL). */
        MROPE,
        /** Interleaved multimodal RoPE (Qwen3-VL). */
        IMROPE,
        /** The 2D RoPE of vision encoders. */
        VISION,
        /** A type this version of the library does not know. */
        UNKNOWN
    }

    /**
     * Rotary position embedding.
     *
     * @param type           how dimensions are paired
     * @param frequencyBase  theta ({@code rope.freq_base}, 10000 when absent)
     * @param frequencyScale the trained frequency scale (1 = none)
     * @param scalingType    {@code rope.scaling.type} (none, linear, yarn, longrope), when set
     * @param dimensionCount rotated dimensions per head ({@code rope.dimension_count}), 0 when absent
     */
    public record Rope(RopeType type, float frequencyBase, float frequencyScale, Optional<String> scalingType, int dimensionCount) {}

    /** Tokenizer families. */
    public enum VocabularyType {
        /** No vocabulary. */
        NONE,
        /** SentencePiece byte-level BPE with byte fallback (LLaMA, Mistral). */
        SPM,
        /** GPT-2 style byte-level BPE (LLaMA 3, Qwen, GPT-NeoX). */
        BPE,
        /** WordPiece (BERT). */
        WPM,
        /** Unigram (T5). */
        UGM,
        /** RWKV's greedy trie tokenizer. */
        RWKV,
        /** PLaMo 2's tokenizer. */
        PLAMO2,
        /** A type this version of the library does not know. */
        UNKNOWN
    }

    /**
     * The vocabulary.
     *
     * @param type the tokenizer family
     * @param size tokens
     * @param bos  beginning-of-sequence token or -1
     * @param eos  end-of-sequence token or -1
     * @param eot  end-of-turn token or -1
     */
    public record Vocabulary(VocabularyType type, int size, int bos, int eos, int eot) {}

    /**
     * Estimates the memory for the weights plus a KV cache of the given shape, by the uniform formula of
     * {@link MemoryEstimate#kvCacheBytes}: every layer caches every token. {@link ModelHeader#estimateMemory} gives
     * llama.cpp's own figures (rounding to 256 cells, per-sequence shares, sliding-window and keys-only layers, layers
     * without a cache) and the CPU/GPU split.
     *
     * @param contextLength the context length in tokens
     * @param sequences     the sequences that share the context
     * @param cacheType     the KV cache's element type
     * @return the estimate, in bytes per part
     */
    public MemoryEstimate estimateMemory(int contextLength, int sequences, CacheType cacheType) {
        return MemoryEstimate.of(this, contextLength, sequences, cacheType);
    }
}
