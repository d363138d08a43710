package io.llamaffm;

/**
 * How long a generation took.
 *
 * @param promptTokens            prompt tokens decoded (those reused from the KV cache are not counted)
 * @param promptNanos             time to decode them
 * @param generatedTokens         tokens generated
 * @param generationNanos         time from the first sampled token to the last
 * @param timeToFirstTokenNanos   from the start of the generation to the first token
 */
public record Timings(int promptTokens, long promptNanos, int generatedTokens, long generationNanos, long timeToFirstTokenNanos) {
    /** {@return the prompt processing speed, tokens per second (0 when nothing was decoded)} */
    public double promptTokensPerSecond() {
        return promptNanos == 0 ? 0 : promptTokens * 1e9 / promptNanos;
    }

    /** {@return the generation speed after the first token, tokens per second (0 with fewer than two tokens)} */
    public double tokensPerSecond() {
        return generatedTokens < 2 || generationNanos == 0 ? 0 : (generatedTokens - 1) * 1e9 / generationNanos;
    }
}
