package io.llamaffm.decoding;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.GenerationParams;
import io.llamaffm.Sampler;
import io.llamaffm.SamplerChain;
import io.llamaffm.internal.engine.DecodeLoop;
import io.llamaffm.internal.engine.Emitter;
import io.llamaffm.internal.engine.Engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Several prompts generated together on one context, one KV-cache sequence each: every step samples one token per
 * sequence and decodes them all in one batch (prompts, too, are packed into shared batches). Each sequence has its
 * own sampler built from the same chain (same seed for all).
 */
public final class ParallelDecoding {
    /**
     * The completions, one per prompt in order.
     *
     * @param completions the completions
     */
    public record Result(List<Completion> completions) {
        /** Copies the list. */
        public Result {
            completions = List.copyOf(completions);
        }
    }

    private ParallelDecoding() {}

    /**
     * Generates a continuation of each prompt. The context needs at least {@code prompts.size()} sequences
     * ({@link io.llamaffm.ContextParams#withSequences}); its KV cache is cleared before and after.
     *
     * @param context the context, with enough sequences
     * @param prompts the prompts (encoded with BOS added and special tokens parsed)
     * @param params  token budget, stop strings, ignore-EOS, logprobs (the same for every prompt)
     * @param sampler the decoding strategy; must end with a stage that picks the token
     * @param onText  receives (prompt index, text) as text is produced; may be null
     * @return one completion per prompt
     * @throws IllegalArgumentException if there are no prompts or more than sequences, or a prompt is empty or does not
     *                                  fit its sequence
     * @throws IllegalStateException    if a generation is open on the context or another thread uses it
     */
    public static Result generate(Context context, List<String> prompts, GenerationParams params, SamplerChain sampler,
                                  BiConsumer<Integer, String> onText) {
        Strategies.requirePicker(sampler);
        int n = prompts.size();
        if (n == 0 || n > context.sequences()) {
            throw new IllegalArgumentException(n + " prompts but the context holds " + context.sequences()
                    + " sequences (ContextParams.withSequences)");
        }
        int perSequence = context.tokensPerSequence();
        int[][] tokens = new int[n][];
        for (int i = 0; i < n; i++) {
            tokens[i] = context.model().tokenizer().encode(prompts.get(i));
            if (tokens[i].length == 0 || tokens[i].length >= perSequence) {
                throw new IllegalArgumentException("prompt " + i + " has " + tokens[i].length
                        + " tokens; each sequence holds " + perSequence);
            }
        }
        Engine engine = Strategies.claim(context);
        Sampler[] samplers = new Sampler[n];
        try {
            engine.clear();
            DecodeLoop loop = new DecodeLoop(engine);
            Emitter[] outputs = new Emitter[n];
            for (int i = 0; i < n; i++) {
                int index = i;
                samplers[i] = Sampler.create(context.model(), sampler);
                outputs[i] = new Emitter(engine, params, true, onText == null ? null : text -> onText.accept(index, text));
                loop.add(i, tokens[i], samplers[i], outputs[i]);
            }
            loop.prefill();
            loop.runToEnd();
            List<Completion> completions = new ArrayList<>(n);
            for (Emitter o : outputs) {
                completions.add(o.completion());
            }
            return new Result(completions);
        } finally {
            for (Sampler s : samplers) {
                if (s != null) {
                    s.close();
                }
            }
            engine.clear();
            engine.exit();
        }
    }
}
