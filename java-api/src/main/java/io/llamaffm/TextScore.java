package io.llamaffm;

/**
 * How likely a text is under a model.
 *
 * @param tokens     the text's tokens (BOS first)
 * @param logprobs   natural-log probability of tokens[i + 1] given tokens[0..i]
 * @param perplexity {@code exp(-mean(logprobs))}: 1 for a certain text, the vocabulary size for uniform guessing
 */
public record TextScore(int[] tokens, float[] logprobs, double perplexity) {
    /**
     * Copies the arrays.
     */
    public TextScore {
        tokens = tokens.clone();
        logprobs = logprobs.clone();
    }

    /** {@return a copy of the text's tokens} */
    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** {@return a copy of the log-probabilities} */
    @Override
    public float[] logprobs() {
        return logprobs.clone();
    }
}
