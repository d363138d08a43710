package io.llamaffm;

/**
 * The result of one generation.
 *
 * @param text         the generated text (without the prompt, without a stop string)
 * @param tokens       the generated token ids, in order (an end-of-generation token is not included)
 * @param logprobs     natural-log probability of each generated token under the model's raw distribution, when
 *                     {@link GenerationParams#logprobs()} was on; empty otherwise
 * @param promptTokens how many tokens the prompt took
 * @param reusedTokens how many of them were already in the KV cache and not decoded again (prefix reuse)
 * @param stopReason   why generation stopped
 * @param timings      time to first token, prompt and generation speed
 */
public record Completion(String text, int[] tokens, float[] logprobs, int promptTokens, int reusedTokens, StopReason stopReason,
                         Timings timings) {
    /** Why generation stopped. */
    public enum StopReason {
        /** The model produced an end-of-generation token. */
        END_OF_GENERATION,
        /** The token budget was used up. */
        MAX_TOKENS,
        /** A stop string appeared. */
        STOP_STRING,
        /** The context is full. */
        CONTEXT_FULL,
        /** {@link Context#cancel()} or an interrupt of the generating thread. */
        CANCELLED
    }

    /**
     * Copies the arrays.
     */
    public Completion {
        tokens = tokens.clone();
        logprobs = logprobs.clone();
    }

    /** {@return a copy of the generated token ids} */
    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** {@return a copy of the generated tokens' log-probabilities} */
    @Override
    public float[] logprobs() {
        return logprobs.clone();
    }
}
