package io.llamaffm;

import io.llamaffm.internal.TextStream;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One generation in progress: the decode loop, one token per step. Use {@link #nextToken()} and {@link #text()}
 * (no allocation per token in steady state), or iterate {@link GeneratedToken}s, or {@link #stream()} them.
 * Holds its context until closed or exhausted; closing is idempotent.
 *
 * <pre>{@code
 * try (Generation g = ctx.start(prompt, GenerationParams.defaults(), SamplerChain.greedy())) {
 *     for (int t; (t = g.nextToken()) >= 0; ) System.out.print(g.text());
 *     System.out.print(g.text()); // what was held back until the end
 * }
 * }</pre>
 */
public final class Generation implements Iterator<Generation.GeneratedToken>, AutoCloseable {
    /**
     * A generated token and the text it completed.
     *
     * @param id   the token id, or -1 for the final element that carries text held back until the end
     * @param text the text this token completed (may be empty while a multi-byte character or stop string is pending)
     */
    public record GeneratedToken(int id, String text) {}

    private final Context context;
    private final Sampler sampler;
    private final GenerationParams params;
    private final TextStream stream;
    private final StringBuilder text = new StringBuilder();
    private final int promptTokens;
    private final int reused;
    private final long startNanos;
    private final long promptNanos;
    private long firstTokenNanos;
    private long lastTokenNanos;
    private int generated;
    private float lastLogprob = Float.NaN;
    private int lookahead = -2;      // iterator: -2 = not fetched
    private boolean finished;
    private boolean released;
    private Completion.StopReason stopReason;

    Generation(Context context, Sampler sampler, GenerationParams params, int[] prompt) {
        this.context = context;
        this.sampler = sampler;
        this.params = params;
        this.stream = new TextStream(params.stopStrings());
        this.promptTokens = prompt.length;
        this.startNanos = System.nanoTime();
        int r;
        try {
            r = context.preparePrompt(prompt);
        } catch (DecodeException e) {
            if (e.status() != DecodeException.Status.ABORTED) {
                throw e;
            }
            r = 0;
            finish(Completion.StopReason.CANCELLED);
        }
        this.reused = r;
        this.promptNanos = System.nanoTime() - startNanos;
    }

    /**
     * Generates the next token: returns its id, or -1 when the generation has ended ({@link #stopReason()} says
     * why). After each call {@link #text()} holds the text completed by this step.
     *
     * @return the token id, or -1 at the end
     */
    public int nextToken() {
        text.setLength(0);
        if (finished) {
            return -1;
        }
        context.enter();
        try {
            if (context.cancelRequested() || Thread.currentThread().isInterrupted()) {
                return finish(Completion.StopReason.CANCELLED);
            }
            if (generated >= params.maxTokens()) {
                return finish(Completion.StopReason.MAX_TOKENS);
            }
            if (context.cachedCount() >= context.tokensPerSequence()) { // sequence 0's share of the KV cache
                return finish(Completion.StopReason.CONTEXT_FULL);
            }
            int token = context.sample(sampler);
            if (params.logprobs()) {
                lastLogprob = context.logprobOfLast(token);
            }
            long now = System.nanoTime();
            if (generated == 0) {
                firstTokenNanos = now;
            }
            lastTokenNanos = now;
            if (!params.ignoreEos() && context.tokenizer().isEndOfGeneration(token)) {
                return finish(Completion.StopReason.END_OF_GENERATION);
            }
            generated++;
            if (stream.push(context.pieceBytes(), context.piece(token), text)) {
                finish(Completion.StopReason.STOP_STRING);
                return token;
            }
            try {
                context.decodeOne(token);
            } catch (DecodeException e) {
                if (e.status() != DecodeException.Status.ABORTED) {
                    throw e;
                }
                finish(Completion.StopReason.CANCELLED);
            }
            return token;
        } finally {
            context.exit();
        }
    }

    private int finish(Completion.StopReason reason) {
        if (!finished) {
            finished = true;
            stopReason = reason;
            stream.finish(text);
            release();
        }
        return -1;
    }

    /** {@return the text completed by the last {@link #nextToken()} call; a view reused by the next call} */
    public CharSequence text() {
        return text;
    }

    /**
     * {@return the log-probability of the token last returned by {@link #nextToken()}, when
     * {@link GenerationParams#logprobs()} is on; NaN otherwise}
     */
    public float logprob() {
        return lastLogprob;
    }

    /** {@return why the generation ended, or null while it runs} */
    public Completion.StopReason stopReason() {
        return stopReason;
    }

    /** {@return the tokens generated so far} */
    public int generatedTokens() {
        return generated;
    }

    /** {@return the prompt tokens reused from the KV cache (not decoded again)} */
    public int reusedTokens() {
        return reused;
    }

    /** {@return the timings so far} */
    public Timings timings() {
        return new Timings(promptTokens - reused, promptNanos, generated,
                generated == 0 ? 0 : lastTokenNanos - firstTokenNanos, generated == 0 ? 0 : firstTokenNanos - startNanos);
    }

    @Override
    public boolean hasNext() {
        if (lookahead == -2) {
            lookahead = nextToken();
        }
        return lookahead >= 0 || !text.isEmpty();
    }

    @Override
    public GeneratedToken next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        GeneratedToken t = new GeneratedToken(lookahead, text.toString());
        text.setLength(0);
        lookahead = finished && lookahead < 0 ? -1 : -2;
        return t;
    }

    /** {@return the remaining tokens as a stream (a final element with id -1 carries text held back until the end, if any)} */
    public Stream<GeneratedToken> stream() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(this::close);
    }

    /** Ends the generation and gives the context back. Idempotent. */
    @Override
    public void close() {
        if (!finished) {
            finished = true;
            stopReason = Completion.StopReason.CANCELLED;
        }
        release();
    }

    void release() {
        if (!released) {
            released = true;
            sampler.close();
        }
        context.generationClosed(this); // also after a release during construction, before the context recorded it
    }

    boolean released() {
        return released;
    }
}
