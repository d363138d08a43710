package io.llamaffm.internal.engine;

import io.llamaffm.Completion.StopReason;
import io.llamaffm.DecodeException;
import io.llamaffm.Sampler;
import io.llamaffm.internal.CpuThreadPool;

import java.util.ArrayList;
import java.util.List;

/**
 * The decode loop: any number of sequences ({@link Slot}s) advance together, one {@link Batch} per step. Each
 * {@link #step()} lets every slot whose logits the last decode computed sample one token and hand it to its
 * {@link Emitter}; then it fills the batch with those tokens and with prompt chunks of slots still reading their
 * prompt, and decodes it once. A single generation is one slot; {@code generateAll} is one slot per prompt; a server
 * schedules its requests as slots.
 */
public final class DecodeLoop {
    /** One sequence being generated. */
    public static final class Slot {
        final int sequence;
        final int[] prompt;
        final Sampler sampler;
        final Emitter out;
        final int reused;
        final Slot leader;       // a slot whose prompt this one shares (n choices of one prompt), or null
        boolean promptDone;      // the prompt is in the cache and promptDecoded was called
        int promptNext;          // next prompt token to decode
        int position;            // where the next token goes in the sequence
        int outputIndex = -1;    // batch index of this slot's logits in the last decode, or -1
        int token = -1;          // the token of the last step, or -1

        Slot(int sequence, int[] prompt, Sampler sampler, Emitter out, int reused, Slot leader) {
            this.sequence = sequence;
            this.prompt = prompt;
            this.sampler = sampler;
            this.out = out;
            this.reused = reused;
            this.leader = leader;
            this.promptNext = leader != null ? prompt.length : reused;
            this.position = leader != null ? prompt.length : reused;
        }

        /** {@return the KV-cache sequence id} */
        public int sequence() {
            return sequence;
        }

        /** {@return whether the slot is still decoding its prompt} */
        public boolean prefilling() {
            return promptNext < prompt.length;
        }

        /** {@return the token the last step produced for this slot, or -1 (none, or the output ended)} */
        public int token() {
            return token;
        }

        public Emitter output() {
            return out;
        }

        public int reusedTokens() {
            return reused;
        }
    }

    private final Engine engine;
    private final Batch batch;
    private final List<Slot> slots = new ArrayList<>();

    public DecodeLoop(Engine engine) {
        this.engine = engine;
        this.batch = engine.batch();
    }

    /**
     * Adds a sequence to the loop. Its prompt is decoded by the next steps, reusing what the sequence already holds
     * in the cache (the rest of the sequence is removed).
     *
     * @param sequence the KV-cache sequence id
     * @param prompt   the prompt tokens (checked by the caller, at least one)
     * @param sampler  the sequence's own sampler
     * @param out      the sequence's stop/emit policy
     * @return the slot
     */
    public Slot add(int sequence, int[] prompt, Sampler sampler, Emitter out) {
        Slot s = new Slot(sequence, prompt, sampler, out, engine.reusablePrefix(sequence, prompt), null);
        slots.add(s);
        return s;
    }

    /**
     * Adds a sequence that continues {@code leader}'s prompt with a sampler of its own (another choice for the same
     * prompt): it decodes nothing of the prompt; once the leader's prompt is in the cache, the sequence gets a copy
     * (shared cells in a unified cache) and samples its first token from the same logits.
     *
     * @param leader   a slot added with {@link #add} that has not finished its prompt
     * @param sequence the KV-cache sequence id (its content is replaced)
     * @param sampler  the sequence's own sampler
     * @param out      the sequence's stop/emit policy
     * @return the slot
     */
    public Slot addFollower(Slot leader, int sequence, Sampler sampler, Emitter out) {
        if (leader.leader != null || leader.promptDone) {
            throw new IllegalStateException("a follower needs a leader still reading its prompt");
        }
        engine.truncate(sequence, 0);
        Slot s = new Slot(sequence, leader.prompt, sampler, out, 0, leader);
        slots.add(s);
        return s;
    }

    /** Takes a slot out of the loop (its cache is left as it is). */
    public void remove(Slot s) {
        slots.remove(s);
    }

    /** {@return how many slots the loop holds} */
    public int size() {
        return slots.size();
    }

    /** Runs steps until every slot has decoded its prompt (each records its prompt timing as it does). */
    public void prefill() {
        while (anyPrefilling()) {
            if (engine.stopRequested()) {
                endAll(StopReason.CANCELLED);
                return;
            }
            step();
        }
    }

    private boolean anyPrefilling() {
        for (Slot s : slots) {
            if (!s.promptDone && !s.out.ended()) {
                return true;
            }
        }
        return false;
    }

    /**
     * One step: sample for every slot that has logits, fill the batch, decode. An abort of the decode (cancel or
     * interrupt) ends every slot with {@link StopReason#CANCELLED}.
     *
     * @return how many slots are still generating
     */
    public int step() {
        return step(null);
    }

    /**
     * {@link #step()}, calling {@code sampled} for every slot after the sampling and before the decode, so that a
     * token's text can go out while the decode runs.
     *
     * @param sampled receives each slot after its sampling (whether or not it produced a token); may be null
     * @return how many slots are still generating
     */
    public int step(java.util.function.Consumer<Slot> sampled) {
        // the whole step (sampling, the text, the decode) is one turn of the process's CPU budget: sampling while
        // another context's decode runs would take a core from its spinning compute threads
        CpuThreadPool.Turn turn = engine.beginTurn();
        try {
            return stepInTurn(sampled);
        } finally {
            CpuThreadPool.give(turn);
        }
    }

    private int stepInTurn(java.util.function.Consumer<Slot> sampled) {
        batch.clear();
        int count = slots.size(); // indexed loops: the per-token path allocates no iterators
        for (int i = 0; i < count; i++) {
            Slot s = slots.get(i);
            s.token = -1;
            s.out.beginStep();
            if (s.outputIndex < 0 || s.out.ended()) {
                continue;
            }
            int at = s.outputIndex;
            s.outputIndex = -1;
            if (!s.out.canSample(s.position)) {
                continue;
            }
            int t = engine.sample(s.sampler, at);
            if (s.out.topIds().length > 0) {
                engine.topLogprobs(at, s.out.topIds(), s.out.topLogprobs());
            }
            boolean keep = s.out.accept(t, s.out.wantsLogprobs() ? engine.logprob(at, t) : Float.NaN);
            s.token = s.out.lastToken();
            if (keep) {
                s.outputIndex = batch.add(t, s.position++, s.sequence, !s.out.ended());
                if (s.out.ended()) {
                    s.outputIndex = -1;  // decoded into the cache, nothing more to sample
                }
            }
        }
        if (sampled != null) {
            for (int i = 0; i < count; i++) {
                sampled.accept(slots.get(i));
            }
        }
        for (int i = 0; i < count; i++) {
            Slot s = slots.get(i);
            if (s.leader == null && s.prefilling() && !s.out.ended() && batch.remaining() > 0) {
                int n = Math.min(batch.remaining(), s.prompt.length - s.promptNext);
                boolean last = s.promptNext + n == s.prompt.length;
                int index = batch.addAll(s.prompt, s.promptNext, n, s.promptNext, s.sequence, false, last);
                s.promptNext += n;
                if (last) {
                    s.position = s.prompt.length;
                    s.outputIndex = index;
                }
            }
        }
        try {
            engine.decode(batch);
        } catch (DecodeException e) {
            if (e.status() != DecodeException.Status.ABORTED) {
                throw e;
            }
            endAll(StopReason.CANCELLED);
        }
        int active = 0;
        for (int i = 0; i < count; i++) {
            Slot s = slots.get(i);
            if (!s.promptDone && !s.out.ended()) {
                promptStep(s);
            }
            if (!s.out.ended()) {
                active++;
            }
        }
        return active;
    }

    /** After a decode: a slot whose prompt is now in the cache records it; a follower takes its leader's prompt. */
    private void promptStep(Slot s) {
        if (s.leader == null) {
            if (!s.prefilling()) {
                s.promptDone = true;
                s.out.promptDecoded(s.prompt.length, s.reused);
            }
        } else if (s.leader.promptDone) {
            engine.copyPrefix(s.leader.sequence, s.sequence, s.prompt.length);
            s.outputIndex = s.leader.outputIndex >= 0 ? s.leader.outputIndex : -1;
            s.promptDone = true;
            s.out.promptDecoded(s.prompt.length, s.prompt.length);
        } else if (s.leader.out.ended() && !s.leader.promptDone) {
            s.out.end(s.leader.out.reason()); // the leader was cancelled before its prompt was in
        }
    }

    private void endAll(StopReason why) {
        for (Slot s : slots) {
            s.out.end(why);
            s.outputIndex = -1;
        }
    }

    /** Runs steps until every slot has ended. */
    public void runToEnd() {
        while (step() > 0) {
            // each step samples, emits and decodes one token per slot
        }
    }
}
