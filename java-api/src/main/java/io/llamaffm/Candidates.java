package io.llamaffm;

/**
 * The next-token candidates as a sampler stage sees them (a view of llama.cpp's llama_token_data_array), valid
 * only during the call that received it. Indexes run from 0 to {@link #size()}-1.
 */
public interface Candidates {
    /** {@return the number of candidates still in play} */
    int size();

    /**
     * The token id of a candidate.
     *
     * @param i the candidate's index, {@code 0 .. size()-1}
     * @return its token id
     */
    int token(int i);

    /**
     * The logit of a candidate.
     *
     * @param i the candidate's index, {@code 0 .. size()-1}
     * @return its logit
     */
    float logit(int i);

    /**
     * Changes the logit of a candidate.
     *
     * @param i     the candidate's index, {@code 0 .. size()-1}
     * @param logit the new logit ({@code Float.NEGATIVE_INFINITY} rules the token out)
     */
    void setLogit(int i, float logit);

    /**
     * The probability of a candidate as the previous stages left it (valid after a stage that computes them).
     *
     * @param i the candidate's index, {@code 0 .. size()-1}
     * @return its probability
     */
    float probability(int i);

    /** {@return whether the candidates are sorted by logit, highest first} */
    boolean sorted();

    /**
     * Keeps only the first {@code n} candidates.
     *
     * @param n how many to keep, at most {@link #size()}
     */
    void truncate(int n);
}
