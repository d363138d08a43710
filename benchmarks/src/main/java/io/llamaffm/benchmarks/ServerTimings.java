package io.llamaffm.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The per-request timings the JNI binding's embedded llama.cpp server prints to stderr when a request ends
 * ({@code slot print_timing}), read back from the child JVM's log. java-llama.cpp hands out no timings through its
 * API (and its log callback does not receive the server's lines), so this is the only way to see how many prompt
 * tokens the server really decoded and how long its decode took:
 *
 * <pre>
 * prompt eval time =       7.08 ms /   128 tokens (    0.06 ms per token, 18079.10 tokens per second)
 *        eval time =       0.23 ms /     1 tokens (    0.23 ms per token,  4329.00 tokens per second)
 * </pre>
 *
 * <p>{@code prompt eval} counts only the prompt tokens the server decoded for that request (tokens reused from a
 * cached prefix are not counted); its time runs from the start of prompt processing to the first sampled token.
 */
record ServerTimings(double promptMillis, int promptTokens, double evalMillis, int evalTokens) {
    private static final Pattern PROMPT = Pattern.compile("^prompt eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens");
    private static final Pattern EVAL = Pattern.compile("^\\s*eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens");

    /** Prompt tokens per second by the server's own timer. */
    double promptTokensPerSecond() {
        return promptTokens / (promptMillis / 1e3);
    }

    /** Generated tokens per second by the server's own timer. */
    double evalTokensPerSecond() {
        return evalTokens / (evalMillis / 1e3);
    }

    /** Every timing block in {@code log}, in order (a {@code prompt eval} line directly followed by an {@code eval} line). */
    static List<ServerTimings> parse(List<String> log) {
        List<ServerTimings> all = new ArrayList<>();
        Matcher prompt = null;
        for (String line : log) {
            Matcher eval = EVAL.matcher(line);
            if (prompt != null && eval.find()) {
                all.add(new ServerTimings(Double.parseDouble(prompt.group(1)), Integer.parseInt(prompt.group(2)),
                        Double.parseDouble(eval.group(1)), Integer.parseInt(eval.group(2))));
            }
            Matcher m = PROMPT.matcher(line);
            prompt = m.find() ? m : null;
        }
        return all;
    }
}
