package io.llamaffm.decoding;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.DecodeException;
import io.llamaffm.GenerationParams;
import io.llamaffm.Sampler;
import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;
import io.llamaffm.internal.engine.Batch;
import io.llamaffm.internal.engine.Emitter;
import io.llamaffm.internal.engine.Engine;

import java.util.function.Consumer;

/**
 * Speculative decoding: a small draft model proposes tokens, the target model checks them all in one batch.
 *
 * <p>Every emitted token is sampled from the target model's distribution given the tokens accepted so far, with
 * the target's sampler chain, exactly once; a draft token is kept only when it equals that sample. The output is
 * therefore the target's own output (for greedy and for seeded sampling alike, up to the rounding differences of
 * batched versus one-token matrix products); the draft only decides how many tokens one target decode yields.
 */
public final class SpeculativeDecoding {
    /**
     * The result of a speculative generation.
     *
     * @param completion     the generated text and tokens
     * @param draftedTokens  tokens the draft model proposed
     * @param acceptedTokens proposals the target model accepted
     */
    public record Result(Completion completion, int draftedTokens, int acceptedTokens) {
        /** {@return the share of proposals accepted (0 when nothing was proposed)} */
        public double acceptanceRate() {
            return draftedTokens == 0 ? 0 : acceptedTokens / (double) draftedTokens;
        }
    }

    private SpeculativeDecoding() {}

    /**
     * Generates from {@code prompt} with {@code target}, {@code draftTokens} proposals at a time from {@code draft}.
     * Both contexts are claimed for the duration of the call (refused while a generation is open on either); their KV
     * caches hold the result afterwards (sequence 0), and a later call reuses the common prefix.
     *
     * @param target      the context of the model whose output this is
     * @param draft       the context of the smaller model that proposes tokens (same vocabulary)
     * @param prompt      the text to continue
     * @param params      token budget, stop strings, ignore-EOS, logprobs
     * @param sampler     the target's decoding strategy; must end with a stage that picks the token
     * @param draftTokens tokens proposed per target decode, 1 to the target's batch size - 1
     * @param onText      receives the text as it is produced; may be null
     * @return the completion and how many proposals were drafted and accepted
     * @throws IllegalArgumentException if the two models' vocabularies differ, or {@code draftTokens} is out of 1..batch-1
     * @throws IllegalStateException    if a generation is open on either context or another thread uses it
     */
    public static Result generate(Context target, Context draft, String prompt, GenerationParams params, SamplerChain sampler,
                                  int draftTokens, Consumer<String> onText) {
        if (target == draft) {
            throw new IllegalArgumentException("the draft needs its own context");
        }
        Strategies.requirePicker(sampler);
        if (draftTokens < 1 || draftTokens >= Math.min(target.batchSize(), draft.batchSize())) {
            throw new IllegalArgumentException("draftTokens must be in 1.." + (Math.min(target.batchSize(), draft.batchSize()) - 1));
        }
        Tokenizer tt = target.model().tokenizer();
        Tokenizer dt = draft.model().tokenizer();
        if (tt.vocabularySize() != dt.vocabularySize() || tt.bos() != dt.bos() || tt.eos() != dt.eos()) {
            throw new IllegalArgumentException("the draft model's vocabulary differs from the target's");
        }
        int[] promptTokens = tt.encode(prompt);
        if (promptTokens.length == 0 || promptTokens.length + draftTokens + 1
                >= Math.min(target.tokensPerSequence(), draft.tokensPerSequence())) {
            throw new IllegalArgumentException("the prompt (" + promptTokens.length + " tokens) and " + draftTokens
                    + " proposals must fit both contexts");
        }
        Engine t = Strategies.claim(target);
        try {
            Engine d = Strategies.claim(draft);
            try (Sampler targetSampler = Sampler.create(target.model(), sampler);
                 Sampler draftSampler = Sampler.create(draft.model(), SamplerChain.greedy())) {
                return run(t, d, promptTokens, params, targetSampler, draftSampler, draftTokens, onText);
            } finally {
                d.exit();
            }
        } finally {
            t.exit();
        }
    }

    private static Result run(Engine target, Engine draft, int[] prompt, GenerationParams params, Sampler targetSampler,
                              Sampler draftSampler, int k, Consumer<String> onText) {
        Emitter out = new Emitter(target, params, true, onText);
        int reused;
        try {
            reused = target.prefill(0, prompt);
            draft.prefill(0, prompt);
        } catch (DecodeException e) {
            Strategies.requireAborted(e);
            out.promptDecoded(prompt.length, 0);
            out.end(Completion.StopReason.CANCELLED);
            return new Result(out.completion(), 0, 0);
        }
        out.promptDecoded(prompt.length, reused);
        int drafted = 0;
        int accepted = 0;
        int[] proposal = new int[k + 1];
        int last = Math.min(target.tokensPerSequence(), draft.tokensPerSequence()) - 1; // the last position either holds
        Batch batch = target.batch();

        int at = target.lastOutput();               // where x's logits are
        int x = target.sample(targetSampler, at);   // sampled, not yet in the target's cache
        int pos = prompt.length;                    // where x goes
        boolean done = false;
        while (!done && out.canSample(pos) && out.accept(x, logprob(target, out, at, x))) {
            if (out.ended()) { // the budget is used up: x is kept, and goes into the cache like every kept token
                target.decodeToken(0, x, pos);
                break;
            }
            // the draft proposes tokens after x, as many as the budget and both caches leave room for
            int proposals = Math.min(Math.min(k, params.maxTokens() - out.count()), last - pos);
            proposal[0] = x;
            if (proposals > 0) {
                draft.decodeToken(0, x, pos);
                for (int j = 1; j <= proposals; j++) {
                    proposal[j] = draft.sample(draftSampler, 0);
                    if (j < proposals) {
                        draft.decodeToken(0, proposal[j], pos + j);
                    }
                }
                drafted += proposals;
            }
            // the target checks x and the proposals in one batch; each position is sampled once, in order
            batch.clear();
            batch.addAll(proposal, 0, proposals + 1, pos, 0, true, true);
            try {
                target.decode(batch);
            } catch (DecodeException e) {
                Strategies.requireAborted(e);
                out.end(Completion.StopReason.CANCELLED);
                break;
            }
            for (int i = 0; i <= proposals; i++) {
                int y = target.sample(targetSampler, i);
                if (i < proposals && y == proposal[i + 1]) { // y is in the target's cache already
                    accepted++;
                    if (!out.canSample(pos + 1 + i) || !out.accept(y, logprob(target, out, i, y)) || out.ended()) {
                        done = true;
                        break;
                    }
                    continue;
                }
                // first disagreement (or every proposal accepted): y is the next token; drop the rejected tail
                int keep = pos + 1 + i; // what was there + x + d1..di
                target.truncate(0, keep);
                if (proposals > 0) {
                    draft.truncate(0, keep);
                    if (draft.knownCount(0) == keep - 1) {
                        draft.decodeToken(0, proposal[proposals], keep - 1); // all accepted: the draft never decoded its last
                    }
                }
                x = y;
                at = i;
                pos = keep;
                break;
            }
        }
        // the cache holds the prompt and the kept tokens, not proposals past where the output ended
        target.truncate(0, Math.min(target.knownCount(0), prompt.length + out.count()));
        return new Result(out.completion(), drafted, accepted);
    }

    private static float logprob(Engine target, Emitter out, int index, int token) {
        return out.wantsLogprobs() ? target.logprob(index, token) : Float.NaN;
    }
}
