package io.llamaffm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ContextParamsTest {
    @Test
    void defaultsPollBriefly() {
        ContextParams p = ContextParams.defaults();
        assertEquals(1, ContextParams.DEFAULT_POLLING);
        assertEquals(ContextParams.DEFAULT_POLLING, p.polling());
        assertEquals(Runtime.getRuntime().availableProcessors(), p.threads());
    }

    @Test
    void withPollingChangesOnlyThePollingLevel() {
        ContextParams base = ContextParams.defaults().withThreads(3).withSequences(2).withContextLength(256);
        ContextParams p = base.withPolling(50);
        assertEquals(50, p.polling());
        assertEquals(new ContextParams(256, 512, 512, 3, 50, 2, CacheType.F16, ContextParams.FlashAttention.AUTO, false,
                ContextParams.Pooling.MODEL), p);
        assertEquals(0, base.withPolling(0).polling());
        assertEquals(100, base.withPolling(100).polling());
    }

    @Test
    void everyWitherKeepsThePollingLevel() {
        ContextParams p = ContextParams.defaults().withPolling(7);
        for (ContextParams q : new ContextParams[] {p.withContextLength(64), p.withBatchSize(64), p.withMicroBatchSize(64),
                p.withThreads(1), p.withSequences(4), p.withCacheType(CacheType.Q8_0),
                p.withFlashAttention(ContextParams.FlashAttention.DISABLED), p.withEmbeddings(true),
                p.withPooling(ContextParams.Pooling.MEAN)}) {
            assertEquals(7, q.polling(), q.toString());
        }
    }

    @Test
    void pollingOutOfRangeIsRefused() {
        IllegalArgumentException low = assertThrows(IllegalArgumentException.class, () -> ContextParams.defaults().withPolling(-1));
        assertTrue(low.getMessage().contains("polling must be in 0..100, got -1"), low.getMessage());
        IllegalArgumentException high = assertThrows(IllegalArgumentException.class, () -> ContextParams.defaults().withPolling(101));
        assertTrue(high.getMessage().contains("got 101"), high.getMessage());
    }
}
