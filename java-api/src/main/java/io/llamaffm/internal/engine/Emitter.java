package io.llamaffm.internal.engine;

import io.llamaffm.Completion;
import io.llamaffm.Completion.StopReason;
import io.llamaffm.GenerationParams;
import io.llamaffm.Timings;
import io.llamaffm.internal.TextStream;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The one stop/emit policy of a generated sequence, used by every strategy: it decides when a generation stops
 * (end-of-generation token, stop string, token budget, full sequence, cancellation) and what text goes out (whole
 * UTF-8 characters only, never any part of a stop string, held-back text released at the end), records tokens,
 * log-probabilities and timings, and builds the {@link Completion}.
 *
 * <p>Text of each step collects in {@link #delta()} (cleared by {@link #beginStep()}); it is also appended to the
 * whole text when collecting and passed to the callback when there is one. Without both, a step allocates nothing.
 */
public final class Emitter {
    private final Engine engine;
    private final GenerationParams params;
    private final boolean collect;
    private final Consumer<String> onText;
    private final TextStream stream;
    private final StringBuilder delta = new StringBuilder();
    private final StringBuilder text;
    private int[] tokens;
    private float[] logprobs;
    private int count;
    private int lastToken = -1;
    private float lastLogprob = Float.NaN;
    private StopReason reason;
    private final long startNanos = System.nanoTime();
    private long promptNanos;
    private int promptTokens;
    private int reusedTokens;
    private long firstTokenNanos;
    private long lastTokenNanos;
    private final int[] topIds;
    private final float[] topLogprobs;
    private int positionLimit;

    /**
     * @param engine  the context generating (pieces, end-of-generation tokens, cancellation)
     * @param params  budget, stop strings, ignore-EOS, logprobs
     * @param collect whether to keep the tokens and text for a {@link Completion}
     * @param onText  receives each piece of text as it goes out; may be null
     */
    public Emitter(Engine engine, GenerationParams params, boolean collect, Consumer<String> onText) {
        this.engine = engine;
        this.params = params;
        this.collect = collect;
        this.onText = onText;
        this.stream = new TextStream(params.stopStrings());
        this.text = collect ? new StringBuilder() : null;
        int initial = collect ? Math.min(params.maxTokens(), 256) : 0;
        this.tokens = new int[initial];
        this.logprobs = new float[params.logprobs() ? initial : 0];
        this.topIds = new int[params.topLogprobs()];
        this.topLogprobs = new float[params.topLogprobs()];
        this.positionLimit = engine.tokensPerSequence();
    }

    /** Ends the output with {@link StopReason#CONTEXT_FULL} before position {@code limit} (a sequence's share of a shared cache). */
    public void limitPositions(int limit) {
        this.positionLimit = Math.min(limit, engine.tokensPerSequence());
    }

    /** {@return the ids of the most probable tokens at the last sample, most probable first (a view; empty when not asked for)} */
    public int[] topIds() {
        return topIds;
    }

    /** {@return the log-probabilities of {@link #topIds()} (a view)} */
    public float[] topLogprobs() {
        return topLogprobs;
    }

    /** Records that the prompt is in the cache: {@code promptTokens} tokens, {@code reused} of them from the cache. */
    public void promptDecoded(int promptTokens, int reused) {
        this.promptTokens = promptTokens;
        this.reusedTokens = reused;
        this.promptNanos = System.nanoTime() - startNanos;
    }

    /** Clears the text of the previous step. */
    public void beginStep() {
        delta.setLength(0);
    }

    /**
     * Decides whether another token may be sampled, the next one going to {@code position} of its sequence: not after
     * a cancellation or an interrupt, not past the budget, not past the sequence's share of the cache. Ends the
     * output otherwise.
     *
     * @return true if a token may be sampled
     */
    public boolean canSample(int position) {
        if (reason != null) {
            return false;
        }
        if (engine.stopRequested()) {
            end(StopReason.CANCELLED);
        } else if (count >= params.maxTokens()) {
            end(StopReason.MAX_TOKENS);
        } else if (position >= positionLimit) {
            end(StopReason.CONTEXT_FULL);
        }
        return reason == null;
    }

    /**
     * Takes a sampled token. An end-of-generation token (unless ignored) ends the output and is not kept; any other
     * token is kept, its text goes out, and a stop string it completes or the budget it uses up ends the output.
     *
     * @param token   the token sampled
     * @param logprob its log-probability under the raw logits (used when logprobs are on)
     * @return true if the token is kept and belongs in the KV cache (not for an end-of-generation token or one that
     *         completed a stop string); the output may have ended all the same ({@link #ended()})
     */
    public boolean accept(int token, float logprob) {
        long now = System.nanoTime();
        if (count == 0) {
            firstTokenNanos = now;
        }
        lastTokenNanos = now;
        if (!params.ignoreEos() && engine.isEndOfGeneration(token)) {
            lastToken = -1;
            end(StopReason.END_OF_GENERATION);
            return false;
        }
        if (collect) {
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, (int) Math.min(params.maxTokens(), Math.max(16L, 2L * count)));
                logprobs = params.logprobs() ? Arrays.copyOf(logprobs, tokens.length) : logprobs;
            }
            tokens[count] = token;
            if (params.logprobs()) {
                logprobs[count] = logprob;
            }
        }
        count++;
        lastToken = token;
        lastLogprob = params.logprobs() ? logprob : Float.NaN;
        int mark = delta.length();
        int length = engine.piece(token); // first: a longer piece than any before replaces the array pieceBytes returns
        boolean stop = stream.push(engine.pieceBytes(), length, delta);
        flush(mark);
        if (stop) {
            end(StopReason.STOP_STRING);
            return false;
        }
        if (count >= params.maxTokens()) {
            end(StopReason.MAX_TOKENS);
        }
        return true;
    }

    /** Ends the output for {@code why} (the first reason wins) and releases the text held back. */
    public void end(StopReason why) {
        if (reason == null) {
            reason = why;
            int mark = delta.length();
            stream.finish(delta);
            flush(mark);
        }
    }

    private void flush(int mark) {
        if (delta.length() > mark) {
            if (collect) {
                text.append(delta, mark, delta.length());
            }
            if (onText != null) {
                onText.accept(delta.substring(mark));
            }
        }
    }

    /** {@return whether the output has ended} */
    public boolean ended() {
        return reason != null;
    }

    /** {@return why the output ended, or null} */
    public StopReason reason() {
        return reason;
    }

    /** {@return the text of the current step (a view, cleared by the next step)} */
    public CharSequence delta() {
        return delta;
    }

    /** {@return the tokens kept so far} */
    public int count() {
        return count;
    }

    /** {@return the last token kept by the last {@link #accept}, or -1 if it kept none} */
    public int lastToken() {
        return lastToken;
    }

    /** {@return the last kept token's log-probability, NaN when logprobs are off} */
    public float lastLogprob() {
        return lastLogprob;
    }

    /** {@return whether log-probabilities are wanted} */
    public boolean wantsLogprobs() {
        return params.logprobs();
    }

    public int reusedTokens() {
        return reusedTokens;
    }

    /** {@return the timings so far} */
    public Timings timings() {
        return new Timings(promptTokens - reusedTokens, promptNanos, count, count == 0 ? 0 : lastTokenNanos - firstTokenNanos,
                count == 0 ? 0 : firstTokenNanos - startNanos);
    }

    /** {@return the whole output (the emitter must collect)} */
    public Completion completion() {
        return completion(timings());
    }

    /** {@return the whole output with timings measured by the caller} */
    public Completion completion(Timings timings) {
        if (!collect) {
            throw new IllegalStateException("this output was not collected");
        }
        return new Completion(text.toString(), Arrays.copyOf(tokens, count),
                params.logprobs() ? Arrays.copyOf(logprobs, count) : new float[0], promptTokens, reusedTokens, reason, timings);
    }
}
