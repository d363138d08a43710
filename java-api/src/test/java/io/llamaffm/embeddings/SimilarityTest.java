package io.llamaffm.embeddings;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimilarityTest {
    private static final float[] A = {1, 2, 3};
    private static final float[] B = {4, -5, 6};

    @Test
    void dotIsTheSumOfProducts() {
        assertEquals(4 - 10 + 18, Similarity.dot(A, B));
        assertEquals(0, Similarity.dot(new float[0], new float[0]));
    }

    @Test
    void cosineOfHandMadeVectors() {
        assertEquals(12 / (Math.sqrt(14) * Math.sqrt(77)), Similarity.cosine(A, B), 1e-15);
        assertEquals(1, Similarity.cosine(new float[] {3, 4}, new float[] {6, 8}), 1e-15);
        assertEquals(-1, Similarity.cosine(new float[] {3, 4}, new float[] {-3, -4}), 1e-15);
        assertEquals(0, Similarity.cosine(new float[] {1, 0}, new float[] {0, 5}));
        assertEquals(Math.sqrt(0.5), Similarity.cosine(new float[] {1, 0}, new float[] {1, 1}), 1e-15);
    }

    @Test
    void cosineWithAZeroVectorIsZero() {
        assertEquals(0, Similarity.cosine(new float[] {0, 0}, new float[] {1, 2}));
        assertEquals(0, Similarity.cosine(new float[] {0, 0}, new float[] {0, 0}));
    }

    @Test
    void cosineStaysWithinOneForLargeComponents() {
        float[] big = {3e38f, 3e38f, 3e38f};
        assertEquals(1, Similarity.cosine(big, big));
    }

    @Test
    void euclideanDistance() {
        assertEquals(Math.sqrt(9 + 49 + 9), Similarity.euclidean(A, B), 1e-15);
        assertEquals(5, Similarity.euclidean(new float[] {0, 0}, new float[] {3, 4}));
        assertEquals(0, Similarity.euclidean(A, A.clone()));
    }

    @Test
    void nanPropagates() {
        float[] nan = {1, Float.NaN, 3};
        assertTrue(Double.isNaN(Similarity.dot(nan, A)));
        assertTrue(Double.isNaN(Similarity.cosine(nan, A)));
        assertTrue(Double.isNaN(Similarity.cosine(A, nan)));
        assertTrue(Double.isNaN(Similarity.euclidean(nan, A)));
        assertTrue(Double.isNaN(Similarity.cosine(nan, new float[3])));
    }

    @Test
    void lengthsMustMatch() {
        var e = assertThrows(IllegalArgumentException.class, () -> Similarity.cosine(A, new float[] {1, 2}));
        assertEquals("vector lengths differ: 3 and 2", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Similarity.dot(A, new float[4]));
        assertThrows(IllegalArgumentException.class, () -> Similarity.euclidean(new float[1], A));
        assertThrows(NullPointerException.class, () -> Similarity.dot(null, A));
    }

    @Test
    void normalizeInPlace() {
        float[] v = {3, 4};
        assertSame(v, Similarity.l2Normalize(v));
        assertArrayEquals(new float[] {0.6f, 0.8f}, v);
        assertEquals(1, Similarity.norm(v), 1e-7);
    }

    @Test
    void normalizedCopyLeavesTheInputAlone() {
        float[] v = {0, -2, 0};
        float[] n = Similarity.l2Normalized(v);
        assertNotSame(v, n);
        assertArrayEquals(new float[] {0, -2, 0}, v);
        assertArrayEquals(new float[] {0, -1, 0}, n);
    }

    @Test
    void zeroVectorStaysZero() {
        assertArrayEquals(new float[] {0, 0, 0}, Similarity.l2Normalize(new float[3]));
        assertArrayEquals(new float[] {0, 0}, Similarity.l2Normalized(new float[2]));
        assertArrayEquals(new float[0], Similarity.l2Normalized(new float[0]));
    }

    @Test
    void normalizingNonFiniteVectorsIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> Similarity.l2Normalize(new float[] {1, Float.NaN}));
        assertEquals("component 1 is NaN: vectors must be finite", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Similarity.l2Normalized(new float[] {Float.POSITIVE_INFINITY}));
    }

    @Test
    void normalizingTinyAndHugeVectors() {
        assertArrayEquals(new float[] {0.6f, 0.8f}, Similarity.l2Normalized(new float[] {3e-30f, 4e-30f}), 1e-7f);
        assertArrayEquals(new float[] {0.6f, 0.8f}, Similarity.l2Normalized(new float[] {3e37f, 4e37f}), 1e-7f);
    }
}
