package io.llamaffm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigIT {
    @Test
    void storiesIsASmallGqaLlama() {
        try (Model m = Model.load(TestEnv.stories())) {
            ModelConfig c = m.config();
            assertEquals("llama", c.architecture());
            assertEquals(5, c.layerCount());
            assertEquals(64, c.embeddingLength());
            assertEquals(2048, c.trainedContextLength());
            assertEquals(8, c.attention().headCount());
            assertEquals(4, c.attention().kvHeadCount());
            assertEquals(2, c.attention().groupSize());
            assertEquals(8, c.attention().headDim());
            assertEquals(ModelConfig.AttentionKind.GQA, c.attention().kind());
            assertTrue(c.moe().isEmpty());
            assertEquals(ModelConfig.RopeType.NORM, c.rope().type());
            assertEquals(10000f, c.rope().frequencyBase());
            assertEquals(1f, c.rope().frequencyScale());
            assertEquals(8, c.rope().dimensionCount());
            assertEquals(new ModelConfig.Vocabulary(ModelConfig.VocabularyType.SPM, 512, 1, 2, -1), c.vocabulary());
            assertTrue(c.chatTemplate().isEmpty());
            assertEquals(292_800, c.parameterCount());
            assertEquals(292_800L * 4, c.sizeBytes(), "all tensors F32");
            assertEquals("5", c.metadata().get("llama.block_count"));
            assertFalse(c.description().isEmpty());
            // 2 × 5 layers × 2048 tokens × 4 KV heads × 8 dims × 2 bytes
            MemoryEstimate e = c.estimateMemory(2048, 1, CacheType.F16);
            assertEquals(2L * 5 * 2048 * 4 * 8 * 2, e.kvCacheBytes());
            assertEquals(c.sizeBytes() + e.kvCacheBytes(), e.totalBytes());
        }
    }

    @Test
    void aVocabularyOnlyLoadReportsHeadsFromTheMetadataWithoutTouchingLayers() {
        // llama.cpp's per-layer accessors abort the process on a vocabulary-only model; the config must not call them
        try (Model m = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true))) {
            ModelConfig c = m.config();
            assertEquals(8, c.attention().headCount());
            assertEquals(4, c.attention().kvHeadCount());
            assertEquals(ModelConfig.AttentionKind.GQA, c.attention().kind());
            assertEquals(512, c.vocabulary().size());
        }
    }
}
