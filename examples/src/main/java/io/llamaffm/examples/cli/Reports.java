package io.llamaffm.examples.cli;

import io.llamaffm.Completion;
import io.llamaffm.Timings;

/** The one-line summaries the CLI prints to stderr after a generation. */
final class Reports {
    private Reports() {}

    /** {@code prompt: 5 tokens, 2500.0 tokens/s | generated: 16 tokens, 800.0 tokens/s | first token: 2.0 ms | stop: max tokens}. */
    static String timings(Completion c) {
        Timings t = c.timings();
        return "prompt: " + t.promptTokens() + plural(t.promptTokens(), " token") + ", "
                + Units.rate(t.promptTokensPerSecond()) + " tokens/s"
                + (c.reusedTokens() > 0 ? " (" + c.reusedTokens() + " reused from the cache)" : "")
                + " | generated: " + t.generatedTokens() + plural(t.generatedTokens(), " token") + ", "
                + Units.rate(t.tokensPerSecond()) + " tokens/s"
                + " | first token: " + Units.duration(t.timeToFirstTokenNanos())
                + " | stop: " + stopReason(c.stopReason());
    }

    static String stopReason(Completion.StopReason r) {
        return r == null ? "none" : r.name().toLowerCase().replace('_', ' ');
    }

    private static String plural(int n, String word) {
        return n == 1 ? word : word + "s";
    }
}
