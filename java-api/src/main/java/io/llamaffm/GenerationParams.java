package io.llamaffm;

import java.util.List;

/**
 * How a generation runs. Start from {@link #defaults()}.
 *
 * @param maxTokens   most tokens to generate (at least 1)
 * @param stopStrings generation stops before the first occurrence of any of these in the text (not emitted)
 * @param ignoreEos   keep generating past end-of-generation tokens (benchmarks, fixed-length output)
 * @param logprobs    record each generated token's log-probability under the model (before sampling transforms)
 * @param topLogprobs with logprobs, also the log-probabilities of the most probable tokens at each step (0 to
 *                    {@value #MAX_TOP_LOGPROBS}); they reach the step listeners of a
 *                    {@link io.llamaffm.decoding.BatchScheduler}
 */
public record GenerationParams(int maxTokens, List<String> stopStrings, boolean ignoreEos, boolean logprobs, int topLogprobs) {
    /** The most alternatives {@link #topLogprobs()} may ask for (as OpenAI's API). */
    public static final int MAX_TOP_LOGPROBS = 20;

    /**
     * The components with no top log-probabilities.
     *
     * @param maxTokens   see {@link #maxTokens()}
     * @param stopStrings see {@link #stopStrings()}
     * @param ignoreEos   see {@link #ignoreEos()}
     * @param logprobs    see {@link #logprobs()}
     */
    public GenerationParams(int maxTokens, List<String> stopStrings, boolean ignoreEos, boolean logprobs) {
        this(maxTokens, stopStrings, ignoreEos, logprobs, 0);
    }

    /**
     * Checks the components and copies the stop strings.
     *
     * @throws IllegalArgumentException if {@code maxTokens} is below 1, a stop string is empty, or
     *                                  {@code topLogprobs} is out of range or set without {@code logprobs}
     */
    public GenerationParams {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw new IllegalArgumentException("topLogprobs must be in 0.." + MAX_TOP_LOGPROBS + ", got " + topLogprobs);
        }
        if (topLogprobs > 0 && !logprobs) {
            throw new IllegalArgumentException("topLogprobs needs logprobs on");
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
        return new GenerationParams(n, stopStrings, ignoreEos, logprobs, topLogprobs);
    }

    /**
     * Sets the texts that stop generation (not emitted).
     *
     * @param stops the stop strings, none empty
     * @return a copy with that change
     */
    public GenerationParams withStopStrings(String... stops) {
        return new GenerationParams(maxTokens, List.of(stops), ignoreEos, logprobs, topLogprobs);
    }

    /**
     * Sets whether generation goes on past end-of-generation tokens.
     *
     * @param ignore true to keep generating
     * @return a copy with that change
     */
    public GenerationParams withIgnoreEos(boolean ignore) {
        return new GenerationParams(maxTokens, stopStrings, ignore, logprobs, topLogprobs);
    }

    /**
     * Sets whether each generated token's log-probability is recorded.
     *
     * @param on true to record them
     * @return a copy with that change
     */
    public GenerationParams withLogprobs(boolean on) {
        return new GenerationParams(maxTokens, stopStrings, ignoreEos, on, on ? topLogprobs : 0);
    }

    /**
     * Sets how many of the most probable tokens are reported with each generated token (logprobs turned on with it).
     *
     * @param n 0 to {@value #MAX_TOP_LOGPROBS}
     * @return a copy with that change
     */
    public GenerationParams withTopLogprobs(int n) {
        return new GenerationParams(maxTokens, stopStrings, ignoreEos, logprobs || n > 0, n);
    }
}
