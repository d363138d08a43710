package io.llamaffm;

/**
 * One text's embedding.
 *
 * @param vector    the pooled vector (L2-normalized when asked)
 * @param tokens    how many tokens were embedded
 * @param truncated whether the text was longer than a sequence holds and was cut (policy {@link EmbeddingParams.LongInput#TRUNCATE})
 */
public record Embedding(float[] vector, int tokens, boolean truncated) {
    /**
     * Copies the arrays.
     */
    public Embedding {
        vector = vector.clone();
    }

    /** {@return a copy of the pooled vector} */
    @Override
    public float[] vector() {
        return vector.clone();
    }

    /** {@return the dimensions of the vector} */
    public int dimension() {
        return vector.length;
    }
}
