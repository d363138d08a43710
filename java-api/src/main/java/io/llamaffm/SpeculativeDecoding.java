package io.llamaffm;


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
     * @param completion    the generated text and tokens
     * @param draftedTokens tokens the draft model proposed
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
     * Both contexts are used from this thread for the duration of the call; their KV caches hold the result afterwards.
     *
     * @param target      the context of the model whose output this is
     * @param draft       the context of the smaller model that proposes tokens (same vocabulary)
     * @param prompt      the text to continue
     * @param params      token budget, stop strings, ignore-EOS
     * @param sampler     the target's decoding strategy; must end with a stage that picks the token
     * @param draftTokens tokens proposed per target decode, 1 to the target's batch size - 1
     * @param onText      receives the text as it is produced; may be null
     * @return the completion and how many proposals were drafted and accepted
     * @throws IllegalArgumentException if the two models' vocabularies differ, or {@code draftTokens} is out of 1..batch-1
     */
    public static Result generate(Context target, Context draft, String prompt, GenerationParams params, SamplerChain sampler,
                                  int draftTokens, Consumer<String> onText) {
        if (target == draft) {
            throw new IllegalArgumentException("the draft needs its own context");
        }
        if (!sampler.picksToken()) {
            throw new IllegalArgumentException("the sampler chain must end with a stage that picks the token");
        }
        if (draftTokens < 1 || draftTokens >= Math.min(target.batchSize(), draft.batchSize())) {
            throw new IllegalArgumentException("draftTokens must be in 1.." + (Math.min(target.batchSize(), draft.batchSize()) - 1));
        }
        Tokenizer tt = target.model().tokenizer();
        Tokenizer dt = draft.model().tokenizer();
        if (tt.vocabularySize() != dt.vocabularySize() || tt.bos() != dt.bos() || tt.eos() != dt.eos()) {
            throw new IllegalArgumentException("the draft model's vocabulary differs from the target's");
        }
        int[] promptTokens = tt.encode(prompt);
        if (promptTokens.length + params.maxTokens() + draftTokens >= Math.min(target.contextLength(), draft.contextLength())) {
            throw new IllegalArgumentException("prompt + maxTokens + draftTokens must fit both contexts");
        }
        target.enter();
        try {
            draft.enter();
            try (Sampler targetSampler = Sampler.create(target.model(), sampler);
                 Sampler draftSampler = Sampler.create(draft.model(), SamplerChain.greedy())) {
                return run(target, draft, promptTokens, params, targetSampler, draftSampler, draftTokens, onText);
            } finally {
                draft.exit();
            }
        } finally {
            target.exit();
        }
    }

    private static Result run(Context target, Context draft, int[] prompt, GenerationParams params, Sampler targetSampler,
                              Sampler draftSampler, int k, Consumer<String> onText) {
        long start = System.nanoTime();
        int reused = target.preparePrompt(prompt);
        draft.preparePrompt(prompt);
        long promptNanos = System.nanoTime() - start;

        TokenOutput out = new TokenOutput(target, params, onText);
        int drafted = 0;
        int accepted = 0;
        int[] batch = new int[k + 1];
        long firstToken = System.nanoTime();

        int x = target.sample(targetSampler, -1); // sampled, not yet in the target's cache
        while (out.emit(x)) {
            if (target.cancelRequested() || Thread.currentThread().isInterrupted()) {
                out.end(Completion.StopReason.CANCELLED);
                break;
            }
            // the draft proposes tokens after x
            int base = target.cachedCount(); // the accepted prefix, x not included
            int proposals = Math.min(k, params.maxTokens() - out.count());
            batch[0] = x;
            draft.decodeOne(x);
            for (int j = 1; j <= proposals; j++) {
                batch[j] = draft.sample(draftSampler, -1);
                if (j < proposals) {
                    draft.decodeOne(batch[j]);
                }
            }
            drafted += proposals;
            // the target checks x and the proposals in one batch; each position is sampled once, in order
            target.decodeAllOutputs(batch, proposals + 1);
            int next = -1;
            for (int i = 0; i <= proposals; i++) {
                int y = target.sample(targetSampler, i);
                if (i < proposals && y == batch[i + 1]) {
                    accepted++; // y is in the target's cache already
                    if (!out.emit(y)) {
                        break;
                    }
                    continue;
                }
                // first disagreement (or every proposal accepted): y is the next token; drop the rejected tail
                next = y;
                int keep = base + 1 + i; // accepted prefix + x + d1..di
                target.truncate(keep);
                draft.truncate(keep);
                if (draft.cachedCount() == keep - 1) {
                    draft.decodeOne(batch[proposals]); // all accepted: the draft never decoded its last proposal
                }
                break;
            }
            if (out.reason() != null) {
                break;
            }
            x = next;
        }
        long end = System.nanoTime();
        Timings timings = new Timings(prompt.length - reused, promptNanos, out.count(), out.count() == 0 ? 0 : end - firstToken,
                firstToken - start);
        return new Result(out.completion(prompt.length, reused, timings), drafted, accepted);
    }
}
