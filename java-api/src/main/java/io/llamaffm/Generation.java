package io.llamaffm;

import io.llamaffm.internal.engine.DecodeLoop;
import io.llamaffm.internal.engine.Emitter;
import io.llamaffm.internal.engine.Engine;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One generation in progress, one token per step. Use {@link #nextToken()} and {@link #text()}
 * (no allocation per token in steady state), or iterate {@link GeneratedToken}s, or {@link #stream()} them.
 * Holds its context until closed or exhausted; closing is idempotent. The steps run on the context's one decode loop
 * and follow its one stop/emit policy, as every other way of generating does.
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

    private final Engine engine;
    private final Sampler sampler;
    private final Emitter out;
    private final DecodeLoop.Slot slot;
    private final DecodeLoop loop;
    private int lookahead = -2;      // iterator: -2 = not fetched
    private boolean released;

    /** Starts on an engine the caller has entered and that no generation holds; decodes the prompt. */
    Generation(Engine engine, Sampler sampler, GenerationParams params, int[] prompt, boolean collect) {
        this.engine = engine;
        this.sampler = sampler;
        this.out = new Emitter(engine, params, collect, null);
        this.loop = new DecodeLoop(engine);
        this.slot = loop.add(0, prompt, sampler, out);
        engine.hold(this);
        try {
            loop.prefill();
        } catch (RuntimeException | Error e) {
            release();
            throw e;
        }
        if (out.ended()) { // a prompt decode cancelled at once ends the generation before it starts
            release();
        }
    }

    /**
     * Generates the next token: returns its id, or -1 when the generation has ended ({@link #stopReason()} says
     * why). After each call {@link #text()} holds the text completed by this step.
     *
     * @return the token id, or -1 at the end
     */
    public int nextToken() {
        if (out.ended()) {
            out.beginStep();
            release();
            return -1;
        }
        engine.enter();
        try {
            loop.step();
            if (out.ended()) {
                release();
            }
            return slot.token();
        } finally {
            engine.exit();
        }
    }

    /** {@return the text completed by the last {@link #nextToken()} call; a view reused by the next call} */
    public CharSequence text() {
        return out.delta();
    }

    /**
     * {@return the log-probability of the token last returned by {@link #nextToken()}, when
     * {@link GenerationParams#logprobs()} is on; NaN otherwise}
     */
    public float logprob() {
        return out.lastLogprob();
    }

    /** {@return why the generation ended, or null while it runs} */
    public Completion.StopReason stopReason() {
        return out.reason();
    }

    /** {@return the tokens generated so far} */
    public int generatedTokens() {
        return out.count();
    }

    /** {@return the prompt tokens reused from the KV cache (not decoded again)} */
    public int reusedTokens() {
        return slot.reusedTokens();
    }

    /** {@return the timings so far} */
    public Timings timings() {
        return out.timings();
    }

    /** {@return everything generated, when the generation was started to collect it (Context.generate)} */
    Completion completion() {
        return out.completion();
    }

    @Override
    public boolean hasNext() {
        if (lookahead == -2) {
            lookahead = nextToken();
        }
        return lookahead >= 0 || !out.delta().isEmpty();
    }

    @Override
    public GeneratedToken next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        GeneratedToken t = new GeneratedToken(lookahead, out.delta().toString());
        out.beginStep();
        lookahead = out.ended() && lookahead < 0 ? -1 : -2;
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
        out.end(Completion.StopReason.CANCELLED);
        release();
    }

    /** Frees the sampler and gives the context back. */
    void release() {
        if (!released) {
            released = true;
            sampler.close();
        }
        engine.release(this);
    }
}
