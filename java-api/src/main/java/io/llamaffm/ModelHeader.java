package io.llamaffm;

import io.llamaffm.gguf.GgufFile;
import io.llamaffm.internal.hub.GgufChoice;
import io.llamaffm.internal.load.HeaderReader;

import java.nio.file.Path;
import java.util.List;

/**
 * What a GGUF file's header says about a model, read in plain Java without llama.cpp and without the weights: the
 * {@link ModelConfig} and, per layer, what decides the memory ({@link #estimateMemory}). A file cut after its header,
 * a file without tensors or without a tokenizer, and the first bytes of a download
 * ({@link io.llamaffm.hub.ModelDownloader#readHeader}) all do.
 *
 * <p>The configuration is what {@link Model#config()} gives once the file is loaded, with these differences:
 * <ul>
 *   <li>{@link ModelConfig#description()} is {@code "<architecture> <parameters, rounded> <general.file_type>"}
 *       (e.g. {@code llama 292K F32}); llama.cpp names a size class it knows per architecture and guesses the file type
 *       from the tensors when the key is absent;</li>
 *   <li>a file llama.cpp would refuse still reads: without {@code tokenizer.ggml.model} the vocabulary is NONE with the
 *       token list's size and no special tokens; an unknown architecture has RoPE type UNKNOWN;</li>
 *   <li>when several tokens' texts mark an end of turn and the file names none, llama.cpp takes whichever its hash map
 *       yields first; this takes the highest id, which is what libstdc++'s map yields first;</li>
 *   <li>sliding-window layers are known for gemma2, gemma3, gpt-oss, olmo2, cohere2 and smallthinker (llama.cpp's
 *       rules, window and period); other architectures with windows (llama4, gemma3n, exaone4, ...) read as having
 *       none, so their cache is estimated in full, an overestimate.</li>
 * </ul>
 *
 * @param source             where the header came from: a path or URL
 * @param headerBytes        bytes the header takes (what had to be read; of a split model, all parts' headers)
 * @param config             the model's configuration
 * @param layers             the blocks ({@code blk.N}), including any next-token-prediction blocks past
 *                           {@link ModelConfig#layerCount()}
 * @param inputWeightsBytes  bytes of the input tensors (token embeddings, ...), which llama.cpp keeps on the CPU
 * @param outputWeightsBytes bytes of the other tensors outside the blocks (output norm and projection, ...), placed
 *                           with the output layer
 * @param tiedOutputBytes    when the model has no {@code output.weight} and reuses the token embeddings, their bytes
 *                           (llama.cpp places a second copy with an offloaded output layer); else 0
 * @param cacheKind          whether a context keeps a KV cache
 */
public record ModelHeader(String source, long headerBytes, ModelConfig config, List<Layer> layers, long inputWeightsBytes,
                          long outputWeightsBytes, long tiedOutputBytes, CacheKind cacheKind) {

    /** Copies the layers. */
    public ModelHeader {
        layers = List.copyOf(layers);
    }

    /** What a context of the model caches. */
    public enum CacheKind {
        /** A KV cache of the attention layers. */
        ATTENTION,
        /** Nothing: a non-causal encoder (BERT, ...) processes each batch whole. */
        NONE,
        /** A recurrent state of fixed size per sequence (Mamba, RWKV); not estimated. */
        RECURRENT
    }

    /**
     * One block.
     *
     * @param index         the block's number
     * @param headCount     query heads ({@code attention.head_count}, per layer where the key is an array)
     * @param kvHeadCount   key/value heads ({@code attention.head_count_kv}, per layer; 0 for a layer without attention)
     * @param keyLength     width of a key head (a sliding-window layer's may differ); for multi-head latent attention
     *                      (deepseek2) the cached latent: KV LoRA rank plus RoPE dimensions
     * @param valueLength   width of a value head; 0 where the cache holds keys only (multi-head latent attention)
     * @param slidingWindow whether the layer attends to a sliding window only
     * @param cached        whether the layer has cells in the KV cache
     * @param weightsBytes  bytes of the block's tensors
     */
    public record Layer(int index, int headCount, int kvHeadCount, int keyLength, int valueLength, boolean slidingWindow,
                        boolean cached, long weightsBytes) {
        /** {@return the values of one token's keys in this layer's cache} */
        public long keyWidth() {
            return (long) keyLength * kvHeadCount;
        }

        /** {@return the values of one token's values in this layer's cache} */
        public long valueWidth() {
            return (long) valueLength * kvHeadCount;
        }
    }

    /**
     * Reads the header of a GGUF file; only the header need be in the file.
     *
     * @param path the file
     * @return what the header says
     * @throws io.llamaffm.gguf.GgufFormatException if the header is malformed or cut short
     * @throws LlamaException                       if the file cannot be read
     */
    public static ModelHeader read(Path path) {
        List<String> names = GgufChoice.parts(path.getFileName().toString());
        Path dir = path.toAbsolutePath().getParent();
        return read(names.size() == 1 ? List.of(path) : names.stream().map(dir::resolve).toList());
    }

    /**
     * Reads the headers of a model's files: one file, or the parts of a split model in order (metadata from the first,
     * tensors from all). {@link #read(Path)} finds a split model's parts by name ({@code NAME-00001-of-00003.gguf})
     * next to the part it is given.
     *
     * @param parts the files, in order; only their headers need be there
     * @return what the headers say
     * @throws io.llamaffm.gguf.GgufFormatException if a header is malformed or cut short
     * @throws LlamaException                       if a file cannot be read (a missing part)
     */
    public static ModelHeader read(List<Path> parts) {
        List<GgufFile> files = new java.util.ArrayList<>();
        try {
            for (Path p : parts) {
                files.add(GgufFile.openHeader(p));
            }
            return of(files, parts.getFirst().getFileName().toString(), parts.getFirst().toString());
        } finally {
            files.forEach(GgufFile::close);
        }
    }

    /**
     * What the parsed headers of a model's files say (one file, or a split model's parts in order).
     *
     * @param parts    the files, whole or only their headers
     * @param fileName the model's name when it has no {@code general.name}
     * @param source   where the files came from, for {@link #source()}
     * @return what the headers say
     */
    public static ModelHeader of(List<GgufFile> parts, String fileName, String source) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("no files");
        }
        return HeaderReader.read(parts, fileName, source);
    }

    /**
     * What a parsed GGUF file's header says.
     *
     * @param file     the file, whole or only its header
     * @param fileName the model's name when it has no {@code general.name}
     * @param source   where the file came from, for {@link #source()}
     * @return what the header says
     */
    public static ModelHeader of(GgufFile file, String fileName, String source) {
        return HeaderReader.read(file, fileName, source);
    }

    /**
     * Estimates the memory of the model with a context made with {@code params} ({@link Model#newContext}), as
     * llama.cpp sizes it: the context length rounded up to 256 cells; without a unified cache each sequence its own
     * {@code contextLength / sequences} cells (rounded up to 256); full-size sliding-window layers, as llama.cpp's
     * default ({@code swa_full}) that contexts use.
     *
     * @param params    the context's parameters (length, sequences, micro-batch, cache type, unified cache)
     * @param gpuLayers layers offloaded ({@link ModelParams#gpuLayers()}: -1 for all, 0 for none)
     * @return the estimate
     */
    public MemoryEstimate estimateMemory(ContextParams params, int gpuLayers) {
        return estimateMemory(params, gpuLayers, true);
    }

    /**
     * Estimates the memory with full-size sliding-window layers or not (llama.cpp's {@code swa_full}): when not, a
     * sliding-window layer caches only {@code window × (sequences if unified, else 1) + micro-batch} cells, rounded up
     * to 256 and at most the full size.
     *
     * <p>Weights: of {@code n} blocks, the output layer (the tensors outside the blocks but the input ones, with a
     * copy of tied token embeddings) counts as layer {@code n}, and layer {@code i} is on the GPU when
     * {@code i >= n + 1 - gpuLayers}: one offloaded layer is the output layer, {@code n + 1} are all. The input layer
     * stays on the CPU. A layer's KV cells live where the layer does. Which GPU, and
     * whether one exists, is not considered: the split is what llama.cpp would do with one device.
     *
     * @param params               the context's parameters
     * @param gpuLayers            layers offloaded, -1 for all
     * @param fullSlidingWindowCache whether sliding-window layers get the full context
     * @return the estimate
     * @throws IllegalArgumentException if {@code gpuLayers < -1}
     */
    public MemoryEstimate estimateMemory(ContextParams params, int gpuLayers, boolean fullSlidingWindowCache) {
        if (gpuLayers < ModelParams.ALL_LAYERS) {
            throw new IllegalArgumentException("gpuLayers must be >= -1, got " + gpuLayers);
        }
        int n = layers.size();
        int offloaded = gpuLayers < 0 ? n + 1 : gpuLayers;
        int gpuStart = Math.max(n + 1 - offloaded, 0);
        boolean outputOnGpu = n >= gpuStart && offloaded > 0;

        long weights = Math.addExact(Math.addExact(inputWeightsBytes, outputWeightsBytes), sum(layers));
        long gpuWeights = outputOnGpu ? Math.addExact(outputWeightsBytes, tiedOutputBytes) : 0;
        if (outputOnGpu) {
            weights = Math.addExact(weights, tiedOutputBytes);
        }
        long kv = 0;
        long gpuKv = 0;
        Cells cells = cells(params, fullSlidingWindowCache);
        long maxValueWidth = layers.stream().filter(Layer::cached).mapToLong(Layer::valueWidth).max().orElse(0);
        boolean transposedV = params.flashAttention() == ContextParams.FlashAttention.DISABLED;
        for (Layer l : layers) {
            boolean onGpu = l.index() >= gpuStart;
            if (onGpu) {
                gpuWeights = Math.addExact(gpuWeights, l.weightsBytes());
            }
            if (!l.cached() || cacheKind != CacheKind.ATTENTION) {
                continue;
            }
            long c = l.slidingWindow() ? cells.slidingWindow() : cells.full();
            long valueWidth = l.valueWidth() == 0 ? 0 : transposedV ? maxValueWidth : l.valueWidth();
            long bytes = Math.multiplyExact(c, Math.addExact(params.cacheType().bytes(l.keyWidth()),
                    params.cacheType().bytes(valueWidth)));
            kv = Math.addExact(kv, bytes);
            if (onGpu) {
                gpuKv = Math.addExact(gpuKv, bytes);
            }
        }
        return new MemoryEstimate(weights, kv, gpuWeights, gpuKv);
    }

    /**
     * The cells of the KV cache, over all sequences' streams.
     *
     * @param full          cells of a full-attention layer
     * @param slidingWindow cells of a sliding-window layer
     */
    public record Cells(long full, long slidingWindow) {}

    /**
     * The cells each kind of layer gets in a context made with {@code params}, as llama.cpp sizes them.
     *
     * @param params                 the context's parameters
     * @param fullSlidingWindowCache whether sliding-window layers get the full context (llama.cpp's {@code swa_full})
     * @return the cells, over all sequences
     */
    public Cells cells(ContextParams params, boolean fullSlidingWindowCache) {
        long requested = params.contextLength() == 0 ? config.trainedContextLength() : params.contextLength();
        int sequences = params.sequences();
        boolean unified = params.unifiedCache() || params.embeddings();
        long ctx = pad256(requested);
        long perSequence = unified ? ctx : pad256(ctx / sequences);
        long streams = unified ? 1 : sequences;
        // llama.cpp: n_batch = min(n_ctx, n_batch) for causal models (before rounding), n_ubatch = min(n_batch, n_ubatch)
        long microBatch = Math.min(Math.min(requested, params.batchSize()), params.microBatchSize());
        long window = (long) config.attention().slidingWindow() * (unified ? sequences : 1) + microBatch;
        long slidingPerSequence = fullSlidingWindowCache ? perSequence : pad256(Math.min(perSequence, window));
        return new Cells(perSequence * streams, slidingPerSequence * streams);
    }

    /**
     * Estimates the memory for a context length, sequences and cache type, with the other context parameters at
     * their defaults ({@link ContextParams#defaults()}).
     *
     * @param contextLength tokens of the context, 0 for the trained length
     * @param sequences     sequences kept at once
     * @param cacheType     the KV cache's element type
     * @param gpuLayers     layers offloaded, -1 for all
     * @return the estimate
     */
    public MemoryEstimate estimateMemory(int contextLength, int sequences, CacheType cacheType, int gpuLayers) {
        return estimateMemory(ContextParams.defaults().withContextLength(contextLength).withSequences(sequences)
                .withCacheType(cacheType), gpuLayers);
    }

    private static long pad256(long n) {
        return (n + 255) / 256 * 256;
    }

    private static long sum(List<Layer> layers) {
        long s = 0;
        for (Layer l : layers) {
            s = Math.addExact(s, l.weightsBytes());
        }
        return s;
    }
}
