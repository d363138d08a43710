package io.llamaffm;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufFormatException;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ModelHeader}: configuration and memory from GGUF headers written here, with exact values. */
public class ModelHeaderTest {
    private static final List<String> TOKENS = List.of("a", "b", "c", "<|endoftext|>", "d", "<|im_end|>");

    /** A 2-block llama: 8 heads, 4 KV heads, head size 8, RoPE scaled 4 linearly; tokenizer and tensors optional. */
    public static GgufWriter llama(boolean tokenizer, boolean tensors) {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama").putString("general.name", "tiny")
                .putUInt32("general.file_type", 0)
                .putUInt32("llama.context_length", 2048).putUInt32("llama.embedding_length", 64)
                .putUInt32("llama.block_count", 2).putUInt32("llama.attention.head_count", 8)
                .putUInt32("llama.attention.head_count_kv", 4).putFloat32("llama.rope.freq_base", 500_000f)
                .putString("llama.rope.scaling.type", "linear").putFloat32("llama.rope.scaling.factor", 4f)
                .putUInt32("llama.rope.dimension_count", 8);
        if (tokenizer) {
            w.putString("tokenizer.ggml.model", "gpt2").putArray("tokenizer.ggml.tokens", GgufValue.Array.ofStrings(TOKENS))
                    .putUInt32("tokenizer.ggml.bos_token_id", 0).putString("tokenizer.chat_template", "{{ messages }}");
        }
        if (tensors) {
            w.addTensor("token_embd.weight", GgmlType.F32, new long[] {64, 6}, new float[64 * 6]);
            w.addTensor("blk.0.attn_q.weight", GgmlType.F32, new long[] {64, 64}, new float[64 * 64]);
            w.addTensor("blk.1.attn_q.weight", GgmlType.F32, new long[] {64, 64}, new float[64 * 64]);
            w.addTensor("output_norm.weight", GgmlType.F32, new long[] {64}, new float[64]);
        }
        return w;
    }

    private static ModelHeader header(GgufWriter w, Path dir, String name) {
        Path file = dir.resolve(name);
        w.write(file);
        return ModelHeader.read(file);
    }

    @Test
    void aTensorFreeFileGivesTheWholeConfiguration(@TempDir Path dir) {
        ModelHeader h = header(llama(true, false), dir, "meta-only.gguf");
        ModelConfig c = h.config();
        assertEquals("llama", c.architecture());
        assertEquals("tiny", c.name());
        assertEquals("llama 0 F32", c.description());
        assertEquals(0, c.parameterCount());
        assertEquals(0, c.sizeBytes());
        assertEquals(2048, c.trainedContextLength());
        assertEquals(64, c.embeddingLength());
        assertEquals(2, c.layerCount());
        assertEquals(new ModelConfig.Attention(8, 4, 8, ModelConfig.AttentionKind.GQA, 2, 0), c.attention());
        assertEquals(Optional.empty(), c.moe());
        assertEquals(new ModelConfig.Rope(ModelConfig.RopeType.NORM, 500_000f, 0.25f, Optional.of("linear"), 8), c.rope());
        // gpt2's default EOS (11) is outside 6 tokens: none; EOT: the highest id of an end-of-turn text
        assertEquals(new ModelConfig.Vocabulary(ModelConfig.VocabularyType.BPE, 6, 0, -1, 5), c.vocabulary());
        assertEquals(Optional.of("{{ messages }}"), c.chatTemplate());
        assertEquals("500000.000000", c.metadata().get("llama.rope.freq_base"));
        assertEquals("2048", c.metadata().get("llama.context_length"));
        assertFalse(c.metadata().containsKey("tokenizer.ggml.tokens"), "arrays are left out, as llama.cpp does");
        assertEquals(ModelHeader.CacheKind.ATTENTION, h.cacheKind());
        // 1 000 tokens round up to 1 024 cells; 2 layers x (32 key + 32 value values) x 2 bytes per cell
        assertEquals(new MemoryEstimate(0, 1024L * 2 * 128), h.estimateMemory(1000, 1, CacheType.F16, 0));
    }

    @Test
    void aTokenizerFreeFileHasNoVocabulary(@TempDir Path dir) {
        ModelConfig c = header(llama(false, true), dir, "no-tokenizer.gguf").config();
        assertEquals(new ModelConfig.Vocabulary(ModelConfig.VocabularyType.NONE, 0, -1, -1, -1), c.vocabulary());
        assertEquals(Optional.empty(), c.chatTemplate());
        assertEquals(64 * 6 + 2 * 64 * 64 + 64, c.parameterCount());
        assertEquals(4L * (64 * 6 + 2 * 64 * 64 + 64), c.sizeBytes());
    }

    @Test
    void aFileCutAfterItsHeaderReadsAsTheWholeFile(@TempDir Path dir) throws IOException {
        Path full = dir.resolve("full.gguf");
        llama(true, true).write(full);
        long headerSize;
        try (GgufFile f = GgufFile.open(full)) {
            headerSize = f.headerSize();
            assertTrue(headerSize < f.dataOffset() + 1 && headerSize > 100, "header " + headerSize);
        }
        byte[] bytes = Files.readAllBytes(full);
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, (int) headerSize));
        ModelHeader whole = ModelHeader.read(full);
        ModelHeader header = ModelHeader.read(cut);
        assertEquals(whole.config(), header.config());
        assertEquals(whole.layers(), header.layers());
        assertEquals(headerSize, header.headerBytes());
        assertThrows(GgufFormatException.class, () -> GgufFile.open(cut).close(), "a whole-file read wants the data");
        try (GgufFile f = GgufFile.openHeader(cut)) {
            assertThrows(IllegalStateException.class, () -> f.tensorData(f.tensor("blk.0.attn_q.weight").orElseThrow()));
        }
        Path shorter = Files.write(dir.resolve("shorter.gguf"), Arrays.copyOf(bytes, (int) headerSize - 1));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> ModelHeader.read(shorter));
        assertTrue(e.truncated(), e.getMessage());
        Path notGguf = Files.write(dir.resolve("not.gguf"), "not a model at all".getBytes());
        assertFalse(assertThrows(GgufFormatException.class, () -> ModelHeader.read(notGguf)).truncated());
    }

    @Test
    void everyPrefixShorterThanTheHeaderIsTruncatedAndTheHeaderItselfParses(@TempDir Path dir) throws IOException {
        Path full = dir.resolve("full.gguf");
        llama(true, true).write(full);
        byte[] bytes = Files.readAllBytes(full);
        ModelConfig expected = ModelHeader.read(full).config();
        int headerSize;
        try (GgufFile f = GgufFile.openHeader(full)) {
            headerSize = (int) f.headerSize();
        }
        for (int n = 0; n < headerSize; n++) {
            java.lang.foreign.MemorySegment prefix = java.lang.foreign.MemorySegment.ofArray(Arrays.copyOf(bytes, n));
            int len = n;
            GgufFormatException e = assertThrows(GgufFormatException.class,
                    () -> GgufFile.readHeader(prefix, "prefix").close(), () -> "prefix of " + len);
            assertTrue(e.truncated(), () -> "prefix of " + len + ": " + e.getMessage());
        }
        try (GgufFile f = GgufFile.readHeader(java.lang.foreign.MemorySegment.ofArray(Arrays.copyOf(bytes, headerSize)), "h")) {
            assertEquals(expected, ModelHeader.of(f, "full.gguf", "h").config());
        }
    }

    /** {@link #llama}'s tensors in two parts: the metadata and two tensors, then the other two. */
    public static List<GgufWriter> llamaInTwoParts() {
        GgufWriter first = llama(true, false).putUInt16("split.no", 0).putUInt16("split.count", 2)
                .putInt32("split.tensors.count", 4);
        first.addTensor("token_embd.weight", GgmlType.F32, new long[] {64, 6}, new float[64 * 6]);
        first.addTensor("blk.0.attn_q.weight", GgmlType.F32, new long[] {64, 64}, new float[64 * 64]);
        GgufWriter second = new GgufWriter().putUInt16("split.no", 1).putUInt16("split.count", 2)
                .putInt32("split.tensors.count", 4);
        second.addTensor("blk.1.attn_q.weight", GgmlType.F32, new long[] {64, 64}, new float[64 * 64]);
        second.addTensor("output_norm.weight", GgmlType.F32, new long[] {64}, new float[64]);
        return List.of(first, second);
    }

    @Test
    void aSplitModelCountsTheTensorsOfEveryPart(@TempDir Path dir) {
        ModelHeader single = header(llama(true, true), dir, "single.gguf");
        List<GgufWriter> parts = llamaInTwoParts();
        parts.get(0).write(dir.resolve("tiny-00001-of-00002.gguf"));
        parts.get(1).write(dir.resolve("tiny-00002-of-00002.gguf"));
        ModelHeader split = ModelHeader.read(dir.resolve("tiny-00001-of-00002.gguf"));
        assertEquals(single.config().parameterCount(), split.config().parameterCount());
        assertEquals(single.config().sizeBytes(), split.config().sizeBytes());
        assertEquals(single.layers(), split.layers());
        assertEquals(single.estimateMemory(1000, 2, CacheType.F16, 2), split.estimateMemory(1000, 2, CacheType.F16, 2));
        assertEquals(split.config(), ModelHeader.read(dir.resolve("tiny-00002-of-00002.gguf")).config(),
                "any part finds the others");
    }

    @Test
    void gpuLayersSplitWeightsAndCacheByLayer(@TempDir Path dir) {
        ModelHeader h = header(llama(true, true), dir, "split.gguf");
        assertEquals(List.of(new ModelHeader.Layer(0, 8, 4, 8, 8, false, true, 16_384),
                new ModelHeader.Layer(1, 8, 4, 8, 8, false, true, 16_384)), h.layers());
        assertEquals(1536, h.inputWeightsBytes());
        assertEquals(256, h.outputWeightsBytes());
        assertEquals(1536, h.tiedOutputBytes(), "no output.weight: the embeddings are the output");
        long layerKv = 1024L * 128;
        assertEquals(new MemoryEstimate(34_560, 2 * layerKv, 0, 0), h.estimateMemory(1000, 1, CacheType.F16, 0));
        // one offloaded layer is the output layer, with its copy of the tied embeddings
        assertEquals(new MemoryEstimate(36_096, 2 * layerKv, 1792, 0), h.estimateMemory(1000, 1, CacheType.F16, 1));
        assertEquals(new MemoryEstimate(36_096, 2 * layerKv, 1792 + 16_384, layerKv),
                h.estimateMemory(1000, 1, CacheType.F16, 2));
        MemoryEstimate all = h.estimateMemory(1000, 1, CacheType.F16, -1);
        assertEquals(new MemoryEstimate(36_096, 2 * layerKv, 1792 + 2 * 16_384, 2 * layerKv), all);
        assertEquals(all, h.estimateMemory(1000, 1, CacheType.F16, 99));
        assertEquals(1536, all.cpuBytes(), "the input layer stays on the CPU");
        assertTrue(all.fits(1536, all.gpuBytes()));
        assertFalse(all.fits(1535, all.gpuBytes()));
        assertFalse(all.fits(-1, -1), "no GPU: a GPU share does not fit");
        assertThrows(IllegalArgumentException.class, () -> h.estimateMemory(1000, 1, CacheType.F16, -2));
    }

    @Test
    void slidingWindowLayersFollowLlamaCppsRules(@TempDir Path dir) {
        GgufWriter gemma2 = new GgufWriter().putString("general.architecture", "gemma2")
                .putUInt32("gemma2.context_length", 8192).putUInt32("gemma2.embedding_length", 64)
                .putUInt32("gemma2.block_count", 4).putUInt32("gemma2.attention.head_count", 4)
                .putUInt32("gemma2.attention.head_count_kv", 2).putUInt32("gemma2.attention.key_length", 32)
                .putUInt32("gemma2.attention.value_length", 32).putUInt32("gemma2.attention.sliding_window", 16);
        ModelHeader h = header(gemma2, dir, "gemma2.gguf");
        assertEquals(16, h.config().attention().slidingWindow());
        assertEquals(List.of(true, false, true, false), h.layers().stream().map(ModelHeader.Layer::slidingWindow).toList());
        assertEquals(ModelConfig.RopeType.NEOX, h.config().rope().type());
        ContextParams p = ContextParams.defaults().withContextLength(4096).withSequences(2);
        // 2 048 cells per sequence; a window layer 16 + 512 (micro-batch) rounded up to 768 per sequence
        assertEquals(new ModelHeader.Cells(4096, 1536), h.cells(p, false));
        assertEquals(new ModelHeader.Cells(4096, 4096), h.cells(p, true));
        assertEquals(4096L * 256 * 2 + 1536L * 256 * 2, h.estimateMemory(p, 0, false).kvCacheBytes());
        assertEquals(4096L * 256 * 4, h.estimateMemory(p, 0).kvCacheBytes());
        // unified: the window times the sequences, one stream
        assertEquals(new ModelHeader.Cells(4096, 768), h.cells(p.withUnifiedCache(true), false));

        GgufWriter gemma2Default = new GgufWriter().putString("general.architecture", "gemma2")
                .putUInt32("gemma2.block_count", 2).putUInt32("gemma2.attention.head_count", 4);
        assertEquals(4096, header(gemma2Default, dir, "g2.gguf").config().attention().slidingWindow(), "gemma2's default");
        GgufWriter gemma3NoWindow = new GgufWriter().putString("general.architecture", "gemma3")
                .putUInt32("gemma3.block_count", 2).putUInt32("gemma3.attention.head_count", 4);
        ModelHeader g3 = header(gemma3NoWindow, dir, "g3.gguf");
        assertEquals(0, g3.config().attention().slidingWindow());
        assertTrue(g3.layers().stream().noneMatch(ModelHeader.Layer::slidingWindow));
        GgufWriter phi3 = new GgufWriter().putString("general.architecture", "phi3").putUInt32("phi3.block_count", 2)
                .putUInt32("phi3.attention.head_count", 4).putUInt32("phi3.attention.sliding_window", 2047);
        assertEquals(0, header(phi3, dir, "phi3.gguf").config().attention().slidingWindow(), "llama.cpp drops phi3's");
    }

    @Test
    void latentAttentionCachesKeysOnlyAndEncodersAndRecurrentModelsNothing(@TempDir Path dir) {
        GgufWriter ds = new GgufWriter().putString("general.architecture", "deepseek2")
                .putUInt32("deepseek2.block_count", 3).putUInt32("deepseek2.embedding_length", 64)
                .putUInt32("deepseek2.attention.head_count", 4).putUInt32("deepseek2.attention.head_count_kv", 1)
                .putUInt32("deepseek2.attention.key_length", 40).putUInt32("deepseek2.attention.value_length", 32)
                .putUInt32("deepseek2.attention.key_length_mla", 24).putUInt32("deepseek2.attention.value_length_mla", 16)
                .putUInt32("deepseek2.expert_count", 8).putUInt32("deepseek2.expert_used_count", 2);
        ModelHeader h = header(ds, dir, "ds.gguf");
        assertEquals(new ModelHeader.Layer(0, 4, 1, 40, 0, false, true, 0), h.layers().getFirst());
        assertEquals(3L * 256 * 40 * 2, h.estimateMemory(256, 1, CacheType.F16, 0).kvCacheBytes());
        assertEquals(new ModelConfig.MixtureOfExperts(8, 2, OptionalLong.empty()), h.config().moe().orElseThrow(),
                "no expert tensors: no active count");

        GgufWriter bert = new GgufWriter().putString("general.architecture", "bert").putUInt32("bert.block_count", 2)
                .putUInt32("bert.attention.head_count", 4).putUInt32("bert.embedding_length", 64);
        ModelHeader b = header(bert, dir, "bert.gguf");
        assertEquals(ModelHeader.CacheKind.NONE, b.cacheKind());
        assertEquals(0, b.estimateMemory(512, 1, CacheType.F16, 0).kvCacheBytes());
        GgufWriter mamba = new GgufWriter().putString("general.architecture", "mamba").putUInt32("mamba.block_count", 2);
        ModelHeader m = header(mamba, dir, "mamba.gguf");
        assertEquals(ModelHeader.CacheKind.RECURRENT, m.cacheKind());
        assertEquals(ModelConfig.RopeType.NONE, m.config().rope().type());
        assertEquals(0, m.estimateMemory(512, 1, CacheType.F16, 0).kvCacheBytes());
        GgufWriter unknown = new GgufWriter().putString("general.architecture", "future-arch");
        assertEquals(ModelConfig.RopeType.UNKNOWN, header(unknown, dir, "u.gguf").config().rope().type());
    }

    @Test
    void perLayerHeadCountsAreKeptAndLayersWithoutKvHeadsHoldNoCache(@TempDir Path dir) {
        GgufWriter w = new GgufWriter().putString("general.architecture", "jamba").putUInt32("jamba.block_count", 3)
                .putUInt32("jamba.embedding_length", 64)
                .putArray("jamba.attention.head_count", GgufValue.Array.ofInt32(8, 8, 8))
                .putArray("jamba.attention.head_count_kv", GgufValue.Array.ofInt32(0, 2, 0));
        ModelHeader h = header(w, dir, "jamba.gguf");
        assertEquals(List.of(0, 2, 0), h.layers().stream().map(ModelHeader.Layer::kvHeadCount).toList());
        assertEquals(List.of(false, true, false), h.layers().stream().map(ModelHeader.Layer::cached).toList());
        assertEquals(256L * 2 * (16 + 16), h.estimateMemory(256, 1, CacheType.F16, 0).kvCacheBytes());
    }

    @Test
    void theTwoPartEstimateStaysOnTheCpu() {
        MemoryEstimate e = new MemoryEstimate(100, 20);
        assertEquals(new MemoryEstimate(100, 20, 0, 0), e);
        assertEquals(120, e.cpuBytes());
        assertEquals(0, e.gpuBytes());
        assertThrows(IllegalArgumentException.class, () -> new MemoryEstimate(100, 20, 101, 0));
    }
}
