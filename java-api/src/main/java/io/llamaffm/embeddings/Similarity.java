package io.llamaffm.embeddings;

import java.util.Objects;

/**
 * Similarity and distance between embedding vectors, and L2 normalization.
 *
 * <p>Sums are accumulated in {@code double} (in index order), so the results do not depend on how large the
 * vectors' components are. Both vectors must have the same length, else {@link IllegalArgumentException}.
 *
 * <p>NaN: a NaN component makes {@link #dot}, {@link #cosine} and {@link #euclidean} return NaN; infinite
 * components follow IEEE arithmetic (so they usually give an infinite or NaN result). The normalizers reject
 * vectors with a NaN or infinite component instead, since no unit vector points their way.
 */
public final class Similarity {
    private Similarity() {}

    /**
     * The dot product {@code sum(a[i] * b[i])}, accumulated in double.
     *
     * @param a a vector
     * @param b a vector of the same length
     * @return the dot product; 0 for two empty vectors
     */
    public static double dot(float[] a, float[] b) {
        checkLengths(a, b);
        return dot(a, 0, b, 0, a.length);
    }

    /**
     * The cosine of the angle between {@code a} and {@code b}, in {@code [-1, 1]} (clamped against rounding).
     * Defined as 0 when either vector is all zeros (a zero vector points nowhere).
     *
     * @param a a vector
     * @param b a vector of the same length
     * @return the cosine similarity
     */
    public static double cosine(float[] a, float[] b) {
        checkLengths(a, b);
        double dot = 0, normA = 0, normB = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            normA += (double) a[i] * a[i];
            normB += (double) b[i] * b[i];
        }
        if (Double.isNaN(dot) || Double.isNaN(normA) || Double.isNaN(normB)) {
            return Double.NaN;
        }
        if (normA == 0 || normB == 0) {
            return 0;
        }
        double cos = dot / (Math.sqrt(normA) * Math.sqrt(normB));
        return Math.max(-1, Math.min(1, cos));
    }

    /**
     * The Euclidean (L2) distance {@code sqrt(sum((a[i] - b[i])^2))}.
     *
     * @param a a vector
     * @param b a vector of the same length
     * @return the distance; 0 for equal vectors
     */
    public static double euclidean(float[] a, float[] b) {
        checkLengths(a, b);
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            sum += d * d;
        }
        return Math.sqrt(sum);
    }

    /**
     * The L2 norm {@code sqrt(sum(v[i]^2))}.
     *
     * @param v a vector
     * @return its length
     */
    public static double norm(float[] v) {
        Objects.requireNonNull(v, "vector");
        return Math.sqrt(dot(v, 0, v, 0, v.length));
    }

    /**
     * Scales {@code v} in place to length 1 and returns it; a zero vector stays zero.
     *
     * @param v the vector, changed in place
     * @return {@code v}
     * @throws IllegalArgumentException if a component is NaN or infinite
     */
    public static float[] l2Normalize(float[] v) {
        Objects.requireNonNull(v, "vector");
        checkFinite(v);
        double norm = Math.sqrt(dot(v, 0, v, 0, v.length));
        if (norm == 0) {
            return v;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / norm);
        }
        return v;
    }

    /**
     * A copy of {@code v} scaled to length 1 ({@code v} is left as it is); a zero vector gives a zero vector.
     *
     * @param v the vector
     * @return the scaled copy
     * @throws IllegalArgumentException if a component is NaN or infinite
     */
    public static float[] l2Normalized(float[] v) {
        Objects.requireNonNull(v, "vector");
        return l2Normalize(v.clone());
    }

    /** {@code sum(a[aOffset + i] * b[bOffset + i])} for i below length, accumulated in double. */
    static double dot(float[] a, int aOffset, float[] b, int bOffset, int length) {
        double sum = 0;
        for (int i = 0; i < length; i++) {
            sum += (double) a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    static void checkFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new IllegalArgumentException("component " + i + " is " + v[i] + ": vectors must be finite");
            }
        }
    }

    private static void checkLengths(float[] a, float[] b) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        if (a.length != b.length) {
            throw new IllegalArgumentException("vector lengths differ: " + a.length + " and " + b.length);
        }
    }
}
