package io.llamaffm.benchmarks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The order in which the contenders of a repetition run: each takes its turn at going first. */
class TurnTest {
    private static int[] order(int r, int sides) {
        int[] order = new int[sides];
        for (int k = 0; k < sides; k++) {
            order[k] = EmbeddingBench.turn(k, r, sides);
        }
        return order;
    }

    @Test
    void twoSidesSwapEveryRepetition() {
        assertArrayEquals(new int[] {0, 1}, order(0, 2));
        assertArrayEquals(new int[] {1, 0}, order(1, 2));
        assertArrayEquals(new int[] {0, 1}, order(2, 2));
    }

    @Test
    void threeSidesRotateSoEachGoesFirstOnceInThreeRepetitions() {
        assertArrayEquals(new int[] {0, 1, 2}, order(0, 3));
        assertArrayEquals(new int[] {1, 2, 0}, order(1, 3));
        assertArrayEquals(new int[] {2, 0, 1}, order(2, 3));
    }
}
