package io.llamaffm;

/**
 * The next-token candidates as a sampler stage sees them (a view of llama.cpp's llama_token_data_array), valid
 * only during the call that received it. Indexes run from 0 to {@link #size()}-1.
 */
public interface Candidates {
    /** Number of candidates still in play. */
    int size();

    /** Token id of candidate {@code i}. */
    int token(int i);

    /** Logit of candidate {@code i}. */
    float logit(int i);

    /** Changes the logit of candidate {@code i}. */
    void setLogit(int i, float logit);

    /** Probability of candidate {@code i} as the previous stages left it (valid after a stage that computes them). */
    float probability(int i);

    /** Whether the candidates are sorted by logit, highest first. */
    boolean sorted();

    /** Keeps only the first {@code n} candidates. */
    void truncate(int n);
}
