package io.llamaffm.benchmarks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class StatsTest {
    @Test
    void medianAndQuartiles() {
        Stats s = new Stats(new double[] {5, 1, 4, 2, 3});
        assertEquals(3, s.median());
        assertEquals(2, s.quantile(0.25));
        assertEquals(4, s.quantile(0.75));
        assertEquals(1, s.quantile(0));
        assertEquals(5, s.quantile(1));
        assertEquals(2.5, new Stats(new double[] {4, 1, 3, 2}).median());
        assertEquals(1.75, new Stats(new double[] {4, 1, 3, 2}).quantile(0.25), 1e-12);
        assertEquals("3.0 (1.0–5.0)", s.cell());
    }

    @Test
    void pairedRatiosDivideRepetitionByRepetition() {
        // a slow phase of the machine (second pair) halves both sides: every paired ratio stays 0.9
        Stats r = Stats.pairedRatios(new double[] {90, 45, 90, 180}, new double[] {100, 50, 100, 200});
        assertEquals(0.9, r.median(), 1e-12);
        assertEquals(0.9, r.min(), 1e-12);
        assertEquals(0.9, r.max(), 1e-12);
        assertEquals("0.900 [0.900–0.900]", r.ratioCell());
        assertThrows(IllegalArgumentException.class, () -> Stats.pairedRatios(new double[] {1}, new double[] {1, 2}));
        assertThrows(IllegalArgumentException.class, () -> new Stats(new double[0]));
        assertThrows(IllegalArgumentException.class, () -> s().quantile(1.5));
    }

    private static Stats s() {
        return new Stats(new double[] {1});
    }
}
