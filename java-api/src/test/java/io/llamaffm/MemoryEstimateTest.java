package io.llamaffm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MemoryEstimateTest {
    private static final long GIB = 1L << 30;

    @Test
    void theWorkedExampleHoldsExactly() {
        // 32 layers, 8 192 tokens, head dim 128, batch 8, 2 bytes per value, 32 query heads
        assertEquals(32 * GIB, MemoryEstimate.kvCacheBytes(32, 8192, 32, 128, 8, CacheType.F16), "MHA: 32 KV heads");
        assertEquals(8 * GIB, MemoryEstimate.kvCacheBytes(32, 8192, 8, 128, 8, CacheType.F16), "GQA: 8 KV heads");
        assertEquals(1 * GIB, MemoryEstimate.kvCacheBytes(32, 8192, 1, 128, 8, CacheType.F16), "MQA: 1 KV head");
    }

    @Test
    void quantizedCachesUseTheirBlockSizes() {
        // one K row of 128 values: Q8_0 = 4 blocks of 34 bytes, Q4_0 = 4 blocks of 18 bytes
        assertEquals(2L * 136, MemoryEstimate.kvCacheBytes(1, 1, 1, 128, 1, CacheType.Q8_0));
        assertEquals(2L * 72, MemoryEstimate.kvCacheBytes(1, 1, 1, 128, 1, CacheType.Q4_0));
        assertEquals(2L * 512, MemoryEstimate.kvCacheBytes(1, 1, 1, 128, 1, CacheType.F32));
        assertEquals(34 / 32.0, CacheType.Q8_0.bytesPerValue());
    }

    @Test
    void attentionKindFollowsTheHeadCounts() {
        assertEquals(ModelConfig.AttentionKind.MHA, ModelConfig.Attention.of(32, 32, 128).kind());
        ModelConfig.Attention gqa = ModelConfig.Attention.of(32, 8, 128);
        assertEquals(ModelConfig.AttentionKind.GQA, gqa.kind());
        assertEquals(4, gqa.groupSize());
        assertEquals(ModelConfig.AttentionKind.MQA, ModelConfig.Attention.of(32, 1, 128).kind());
        assertThrows(IllegalArgumentException.class, () -> ModelConfig.Attention.of(32, 5, 128));
        assertThrows(IllegalArgumentException.class, () -> MemoryEstimate.kvCacheBytes(0, 1, 1, 1, 1, CacheType.F16));
        assertThrows(ArithmeticException.class, () -> MemoryEstimate.kvCacheBytes(1 << 20, 1 << 30, 1 << 10, 1 << 10, 1 << 10, CacheType.F32));
    }
}
