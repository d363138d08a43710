package io.llamaffm;

import java.util.List;

/**
 * How a generation runs. Start from {@link #defaults()}.
 *
 * @param maxTokens   most tokens to generate (at least 1)
 * @param stopStrings generation stops before the first occurrence of any of these in the text (not emitted)
 * @param ignoreEos   keep generating past end-of-generation tokens (benchmarks, fixed-length output)
 * @param logprobs    record each generated token's log-probability under the model (before sampling transforms)
 */
public record GenerationParams(int maxTokens, List<String> stopStrings, boolean ignoreEos, boolean logprobs) {
    /**
     * Checks the components and copies the stop strings.
     *
     * @throws IllegalArgumentException if {@code maxTokens} is below 1 or a stop string is empty
     */
    public GenerationParams {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        stopStrings = List.copyOf(stopStrings);
        if (stopStrings.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("stop strings must not be empty");
        }
    }

    /** {@return 256 tokens, no stop strings, stop at end-of-generation, no logprobs} */
    public static GenerationParams defaults() {
        return new GenerationParams(256, List.of(), false, false);
    }

    /**
     * Sets the most tokens to generate.
     *
     * @param n the token budget, at least 1
     * @return a copy with that change
     */
    public GenerationParams withMaxTokens(int n) {
        return new GenerationParams(n, stopStrings, ignoreEos, logprobs);
    }

    /**
     * Sets the texts that stop generation (not emitted).
     *
     * @param stops the stop strings, none empty
     * @return a copy with that change
     */
    public GenerationParams withStopStrings(String... stops) {
        return new GenerationParams(maxTokens, List.of(stops), ignoreEos, logprobs);
    }

    /**
     * Sets whether generation goes on past end-of-generation tokens.
     *
     * @param ignore true to keep generating
     * @return a copy with that change
     */
    public GenerationParams withIgnoreEos(boolean ignore) {
        return new GenerationParams(maxTokens, stopStrings, ignore, logprobs);
    }

    /**
     * Sets whether each generated token's log-probability is recorded.
     *
     * @param on true to record them
     * @return a copy with that change
     */
    public GenerationParams withLogprobs(boolean on) {
        return new GenerationParams(maxTokens, stopStrings, ignoreEos, on);
    }
}
