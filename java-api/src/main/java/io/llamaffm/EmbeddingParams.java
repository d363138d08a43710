package io.llamaffm;

/**
 * How texts are embedded.
 *
 * @param normalize L2-normalize each vector (cosine similarity becomes a dot product)
 * @param longInput what happens to a text with more tokens than one embedding batch holds
 */
public record EmbeddingParams(boolean normalize, LongInput longInput) {
    /** The policy for texts longer than one batch. */
    public enum LongInput {
        /** Keep the first tokens and the last one (a BERT separator stays in place); {@link Embedding#truncated()} says so. */
        TRUNCATE,
        /** Throw {@link IllegalArgumentException}. */
        REFUSE
    }

    /**
     * Checks the components.
     *
     * @throws IllegalArgumentException if {@code longInput} is null
     */
    public EmbeddingParams {
        if (longInput == null) {
            throw new IllegalArgumentException("longInput is required");
        }
    }

    /** {@return normalized vectors, refusing over-long texts} */
    public static EmbeddingParams defaults() {
        return new EmbeddingParams(true, LongInput.REFUSE);
    }

    /**
     * Sets whether each vector is L2-normalized.
     *
     * @param on true to normalize
     * @return a copy with that change
     */
    public EmbeddingParams withNormalize(boolean on) {
        return new EmbeddingParams(on, longInput);
    }

    /**
     * Sets what happens to a text longer than one batch.
     *
     * @param policy truncate or refuse
     * @return a copy with that change
     */
    public EmbeddingParams withLongInput(LongInput policy) {
        return new EmbeddingParams(normalize, policy);
    }
}
