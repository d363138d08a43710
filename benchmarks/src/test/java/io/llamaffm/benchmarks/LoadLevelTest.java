package io.llamaffm.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LoadLevelTest {
    @Test
    void aggregateThroughputIsAllTokensOverTheWallTime() {
        LoadLevel l = new LoadLevel(2, 2.5, List.of(
                request(100, new double[] {10, 20}, 64, 30),
                request(300, new double[] {30, 40, 50}, 64, 34),
                request(200, new double[] {}, 32, -1)));
        assertEquals(160, l.tokens());
        assertEquals(64.0, l.tokensPerSecond());
        assertEquals(32, l.promptTokens()); // median of 30 and 34; the request without usage does not count
        assertEquals(31, l.cachedTokens());
    }

    @Test
    void percentilesInterpolateBetweenOrderStatistics() {
        LoadLevel l = new LoadLevel(2, 1, List.of(
                request(100, new double[] {10, 20}, 3, 5),
                request(300, new double[] {30, 40, 50}, 4, 5),
                request(200, new double[] {}, 1, 5)));
        // TTFT 100, 200, 300: p50 200; p99 at 0.99 × 2 = 1.98 → 200 + 0.98 × 100
        assertEquals(200.0, l.ttft().quantile(0.5));
        assertEquals(298.0, l.ttft().quantile(0.99), 1e-9);
        // ITL pooled 10..50: p50 30; p99 at 0.99 × 4 = 3.96 → 40 + 0.96 × 10
        assertEquals(30.0, l.itl().quantile(0.5));
        assertEquals(49.6, l.itl().quantile(0.99), 1e-9);
        assertEquals("30.0 / 49.6", LoadLevel.percentiles(l.itl()));
        assertEquals("200.0 / 298.0", LoadLevel.percentiles(l.ttft()));
    }

    @Test
    void aLevelWhoseRequestsStreamedOneChunkHasNoItl() {
        LoadLevel l = new LoadLevel(1, 1, List.of(request(5, new double[] {}, 1, 3)));
        assertNull(l.itl());
        assertEquals("n/a", LoadLevel.percentiles(l.itl()));
        assertThrows(IllegalArgumentException.class, () -> new LoadLevel(1, 1, List.of()));
    }

    private static StreamedCompletion request(double ttft, double[] itl, int tokens, int promptTokens) {
        return new StreamedCompletion(ttft, itl, tokens, itl.length + 1, promptTokens, promptTokens >= 0 ? promptTokens - 1 : -1,
                promptTokens >= 0);
    }
}
