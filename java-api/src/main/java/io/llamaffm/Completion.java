package io.llamaffm;

/**
 * The result of one generation.
 *
 * @param text         the generated text (without the prompt)
 * @param tokens       the generated token ids, in order (an end-of-generation token is not included)
 * @param promptTokens how many tokens the prompt took
 * @param stopReason   why generation stopped
 */
public record Completion(String text, int[] tokens, int promptTokens, StopReason stopReason) {
    /** Why generation stopped. */
    public enum StopReason {
        /** The model produced an end-of-generation token. */
        END_OF_GENERATION,
        /** The token budget was used up. */
        MAX_TOKENS,
        /** The context is full. */
        CONTEXT_FULL
    }

    public Completion {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }
}
