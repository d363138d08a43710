package io.llamaffm.decoding;

import io.llamaffm.Completion;
import io.llamaffm.Completion.StopReason;
import io.llamaffm.Context;
import io.llamaffm.DecodeException;
import io.llamaffm.GenerationParams;
import io.llamaffm.Timings;
import io.llamaffm.internal.engine.Batch;
import io.llamaffm.internal.engine.Emitter;
import io.llamaffm.internal.engine.Engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;

/**
 * Beam search over parallel sequences: keeps the {@code width} most probable continuations (by summed
 * log-probability), expanding each by its {@code width} best next tokens every step, and returns the best finished
 * (or, when the budget, the cache or a cancellation ends the search, the best) continuation. Each beam lives in its
 * own KV sequence; a step copies parent sequences into the children's slots, so the context needs {@code 2 × width}
 * sequences. A beam finishes at an end-of-generation token (unless ignored) or when its text shows a stop string.
 */
public final class BeamSearch {
    /**
     * The best continuation.
     *
     * @param completion its text (never showing a stop string), tokens, per-token log-probabilities when asked, why it
     *                   ended, and timings
     * @param logprob    the sum of its tokens' natural-log probabilities (an end-of-generation token that finished it
     *                   included): the score it won with
     */
    public record Result(Completion completion, double logprob) {}

    /** A beam: the tokens after the prompt, each token's log-probability, the sum, where it lives and how it ended. */
    private record Beam(int[] tokens, float[] logprobs, double score, int sequence, int endToken, StopReason ended) {
        Beam child(int token, float logprob, int endToken, StopReason ended) {
            int[] t = Arrays.copyOf(tokens, tokens.length + (endToken >= 0 ? 0 : 1));
            float[] l = Arrays.copyOf(logprobs, t.length);
            if (endToken < 0) {
                t[t.length - 1] = token;
                l[l.length - 1] = logprob;
            }
            return new Beam(t, l, score + logprob, sequence, endToken, ended);
        }
    }

    private record Candidate(Beam parent, int token, float logprob) {}

    private BeamSearch() {}

    /**
     * Runs the search from {@code prompt}. The KV cache is cleared before and after.
     *
     * @param context a context with at least {@code 2 × width} sequences
     * @param prompt  the text to continue (encoded with BOS added and special tokens parsed)
     * @param params  token budget, stop strings, ignore-EOS, logprobs
     * @param width   beams kept per step (1 = greedy)
     * @param onText  receives the best continuation's text once the search ends; may be null
     * @return the best continuation
     * @throws IllegalArgumentException if {@code width < 1}, the context has too few sequences, or the prompt is empty
     *                                  or does not fit a sequence
     * @throws IllegalStateException    if a generation is open on the context or another thread uses it
     */
    public static Result generate(Context context, String prompt, GenerationParams params, int width, Consumer<String> onText) {
        if (width < 1) {
            throw new IllegalArgumentException("width must be >= 1, got " + width);
        }
        if (context.sequences() < 2 * width) {
            throw new IllegalArgumentException("beam width " + width + " needs a context with " + 2 * width
                    + " sequences (ContextParams.withSequences)");
        }
        int[] promptTokens = context.model().tokenizer().encode(prompt);
        if (promptTokens.length == 0 || promptTokens.length >= context.tokensPerSequence()) {
            throw new IllegalArgumentException("the prompt has " + promptTokens.length + " tokens; a sequence holds "
                    + context.tokensPerSequence());
        }
        Engine engine = Strategies.claim(context);
        try {
            engine.clear();
            return run(engine, promptTokens, params, width, onText);
        } finally {
            engine.clear();
            engine.exit();
        }
    }

    private static Result run(Engine engine, int[] prompt, GenerationParams params, int width, Consumer<String> onText) {
        long start = System.nanoTime();
        StopReason stopped = StopReason.MAX_TOKENS;
        int budget = params.maxTokens();
        try {
            engine.prefill(0, prompt);
        } catch (DecodeException e) {
            Strategies.requireAborted(e);
            stopped = StopReason.CANCELLED;
            budget = 0;
        }
        long promptNanos = System.nanoTime() - start;
        float[] logprobs = new float[engine.vocabularySize()];
        Batch batch = engine.batch();
        List<Beam> open = List.of(new Beam(new int[0], new float[0], 0, 0, -1, null));
        int[] outputIndex = {engine.lastOutput()};
        List<Beam> finished = new ArrayList<>();
        int half = 0; // children go to sequences [width * (1 - half), ...)

        for (int step = 0; ; step++) {
            if (step >= budget) {
                break;
            }
            if (engine.stopRequested()) {
                stopped = StopReason.CANCELLED;
                break;
            }
            if (prompt.length + step >= engine.tokensPerSequence()) {
                stopped = StopReason.CONTEXT_FULL;
                break;
            }
            List<Candidate> candidates = new ArrayList<>();
            for (int b = 0; b < open.size(); b++) {
                engine.logSoftmax(outputIndex[b], logprobs);
                for (int t : topK(logprobs, width)) {
                    candidates.add(new Candidate(open.get(b), t, logprobs[t]));
                }
            }
            candidates.sort(Comparator.comparingDouble((Candidate c) -> c.parent().score() + c.logprob()).reversed());
            List<Beam> next = new ArrayList<>();
            for (Candidate c : candidates) {
                if (next.size() == width) {
                    break;
                }
                if (!params.ignoreEos() && engine.isEndOfGeneration(c.token())) {
                    finished.add(c.parent().child(c.token(), c.logprob(), c.token(), StopReason.END_OF_GENERATION));
                    continue;
                }
                Beam child = c.parent().child(c.token(), c.logprob(), -1, null);
                // only a stop string can end a beam in its text: without any, there is nothing to replay
                if (!params.stopStrings().isEmpty() && replay(engine, params, child, null).reason() == StopReason.STOP_STRING) {
                    finished.add(new Beam(child.tokens(), child.logprobs(), child.score(), -1, -1, StopReason.STOP_STRING));
                    continue;
                }
                next.add(child);
            }
            if (next.isEmpty() || bestFinishedBeats(finished, next)) {
                open = next;
                break;
            }
            // children take the other half of the sequences: copy each parent's cache, then decode the new tokens
            int base = half == 0 ? width : 0;
            batch.clear();
            outputIndex = new int[next.size()];
            List<Beam> placed = new ArrayList<>(next.size());
            for (int j = 0; j < next.size(); j++) {
                Beam c = next.get(j);
                engine.replaceSequence(c.sequence(), base + j);
                outputIndex[j] = batch.add(c.tokens()[c.tokens().length - 1], prompt.length + c.tokens().length - 1, base + j, true);
                placed.add(new Beam(c.tokens(), c.logprobs(), c.score(), base + j, -1, null));
            }
            open = placed;
            if (step + 1 < params.maxTokens()) {
                try {
                    engine.decode(batch);
                } catch (DecodeException e) {
                    Strategies.requireAborted(e);
                    stopped = StopReason.CANCELLED;
                    break;
                }
            }
            for (int s = width - base, e = s + width; s < e; s++) {
                engine.removeTokens(s, -1, -1); // the parents' half is free again
            }
            half = 1 - half;
        }
        List<Beam> all = new ArrayList<>(finished);
        all.addAll(open);
        Beam best = all.stream().max(Comparator.comparingDouble(Beam::score)).orElseThrow();
        long generationNanos = System.nanoTime() - start - promptNanos;
        Emitter out = replay(engine, params, best, onText);
        out.end(best.ended() != null ? best.ended() : stopped);
        out.promptDecoded(prompt.length, 0);
        Timings timings = new Timings(prompt.length, promptNanos, out.count(), generationNanos, promptNanos);
        return new Result(out.completion(timings), best.score());
    }

    /** Runs a beam's tokens through the stop/emit policy: what a generation of them would emit, and why it would stop. */
    private static Emitter replay(Engine engine, GenerationParams params, Beam beam, Consumer<String> onText) {
        Emitter out = new Emitter(engine, params, true, onText);
        int[] t = beam.tokens();
        float[] l = beam.logprobs();
        for (int i = 0; i < t.length && !out.ended(); i++) {
            out.accept(t[i], l[i]);
        }
        if (beam.endToken() >= 0 && !out.ended()) {
            out.accept(beam.endToken(), 0);
        }
        return out;
    }

    /** Once a finished beam scores better than every open one, no open beam can catch up (scores only fall). */
    private static boolean bestFinishedBeats(List<Beam> finished, List<Beam> open) {
        if (finished.isEmpty() || open.isEmpty()) {
            return false;
        }
        double bestFinished = finished.stream().mapToDouble(Beam::score).max().orElseThrow();
        return open.stream().allMatch(b -> b.score() < bestFinished);
    }

    /** Indexes of the k largest values. */
    private static int[] topK(float[] values, int k) {
        int[] best = new int[k];
        Arrays.fill(best, -1);
        for (int i = 0; i < values.length; i++) {
            int at = k;
            while (at > 0 && (best[at - 1] < 0 || values[i] > values[best[at - 1]])) {
                at--;
            }
            if (at < k) {
                System.arraycopy(best, at, best, at + 1, k - at - 1);
                best[at] = i;
            }
        }
        return best;
    }
}
