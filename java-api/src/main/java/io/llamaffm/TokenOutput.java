package io.llamaffm;

import io.llamaffm.internal.TextStream;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The tokens and text one sequence has produced, for the decode loops that collect a whole {@link Completion}
 * ({@link SpeculativeDecoding}, {@link ParallelGeneration}): end-of-generation, stop strings and the token budget
 * end it; text goes out in whole characters and never shows a stop string.
 */
final class TokenOutput {
    private final Context context;
    private final GenerationParams params;
    private final Consumer<String> onText;
    private final TextStream stream;
    private final StringBuilder text = new StringBuilder();
    private final StringBuilder delta = new StringBuilder();
    private int[] tokens;             // grown as tokens come: maxTokens may be far more than a generation reaches
    private int count;
    private Completion.StopReason reason;

    TokenOutput(Context context, GenerationParams params, Consumer<String> onText) {
        this.context = context;
        this.params = params;
        this.onText = onText;
        this.stream = new TextStream(params.stopStrings());
        this.tokens = new int[Math.min(params.maxTokens(), 256)];
    }

    /** Emits a sampled token; returns false once the output has ended (its {@link #reason()} says why). */
    boolean emit(int token) {
        if (!params.ignoreEos() && context.tokenizer().isEndOfGeneration(token)) {
            end(Completion.StopReason.END_OF_GENERATION);
            return false;
        }
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, (int) Math.min(params.maxTokens(), 2L * count));
        }
        tokens[count++] = token;
        delta.setLength(0);
        boolean stop = stream.push(context.pieceBytes(), context.piece(token), delta);
        flush();
        if (stop) {
            end(Completion.StopReason.STOP_STRING);
        } else if (count >= params.maxTokens()) {
            end(Completion.StopReason.MAX_TOKENS);
        }
        return reason == null;
    }

    /** Ends the output for {@code why} (the first reason wins) and releases the text held back. */
    void end(Completion.StopReason why) {
        if (reason == null) {
            reason = why;
            delta.setLength(0);
            stream.finish(delta);
            flush();
        }
    }

    Completion.StopReason reason() {
        return reason;
    }

    int count() {
        return count;
    }

    Completion completion(int promptTokens, int reusedTokens, Timings timings) {
        return new Completion(text.toString(), Arrays.copyOf(tokens, count), new float[0], promptTokens, reusedTokens, reason,
                timings);
    }

    private void flush() {
        if (!delta.isEmpty()) {
            text.append(delta);
            if (onText != null) {
                onText.accept(delta.toString());
            }
        }
    }
}
