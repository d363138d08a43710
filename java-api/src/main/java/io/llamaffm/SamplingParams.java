package io.llamaffm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The common sampling knobs, with llama.cpp's defaults and llama.cpp's order: {@link #toChain()} builds the
 * {@link SamplerChain} that llama.cpp's {@code common_sampler_init} (common/sampling.cpp of the pinned source) builds
 * from the same values. Start from {@link #defaults()}; every value is checked here, whatever the temperature, so a
 * bad value fails when it is set, not when a token is drawn.
 *
 * <p>The chain, stages left out where their value turns them off (llama.cpp keeps them, and they then do nothing):
 * <ol>
 *   <li>{@link SamplerChain.Grammar} (when set): first, so every later stage sees only the tokens the grammar allows
 *       (llama.cpp's "grammar first");</li>
 *   <li>{@link SamplerChain.LogitBias} (when not empty);</li>
 *   <li>{@link SamplerChain.Penalties} (off when {@link #penaltyLastN()} is 0 or repeat is 1 and frequency and
 *       presence are 0);</li>
 *   <li>{@link SamplerChain.Dry} (when set with a multiplier other than 0 and a window other than 0);</li>
 *   <li>at {@link #temperature()} 0: {@link SamplerChain.Greedy}, the most probable token, and nothing else;</li>
 *   <li>otherwise {@link SamplerChain.TopNSigma} (above 0), {@link SamplerChain.TopK} (above 0),
 *       {@link SamplerChain.Typical} (below 1), {@link SamplerChain.TopP} (below 1), {@link SamplerChain.MinP}
 *       (above 0), {@link SamplerChain.Xtc} (probability above 0, threshold at most 0.5),
 *       {@link SamplerChain.Temperature}, then a {@link SamplerChain.Dist} draw seeded by {@link #seed()}.</li>
 * </ol>
 * Mirostat and dynamic temperature are not part of this recipe: compose them with {@link SamplerChain#of}.
 *
 * @param temperature      divides the logits, at least 0; 0 picks the most probable token (greedy). llama.cpp: 0.8
 * @param topK             keeps the {@code topK} most probable tokens, at least 0 (0 = off). llama.cpp: 40
 * @param topP             keeps the most probable tokens whose probabilities add up to this, in [0, 1] (1 = off).
 *                         llama.cpp: 0.95
 * @param minP             drops tokens less than {@code minP} times as probable as the best one, in [0, 1] (0 = off).
 *                         llama.cpp: 0.05
 * @param typicalP         locally typical sampling's mass, in [0, 1] (1 = off). llama.cpp: 1
 * @param topNSigma        keeps tokens within this many standard deviations of the largest logit, finite (0 or
 *                         below = off). llama.cpp: -1
 * @param xtcProbability   how often exclude-top-choices acts, in [0, 1] (0 = off). llama.cpp: 0
 * @param xtcThreshold     the probability above which a token counts as a top choice, in [0, 1] (above 0.5 = off).
 *                         llama.cpp: 0.1
 * @param penaltyLastN     how many of the last tokens the penalties look at, at least 0 (0 = off). llama.cpp: 64
 * @param repeatPenalty    divides the logits of tokens seen, above 0 (1 = off). llama.cpp: 1
 * @param frequencyPenalty subtracted from a seen token's logit once per occurrence (0 = off). llama.cpp: 0
 * @param presencePenalty  subtracted from a seen token's logit once (0 = off). llama.cpp: 0
 * @param dry              the DRY repetition penalty, or null for none (llama.cpp: multiplier 0, off)
 * @param logitBias        added to the logits of these token ids ({@code Float.NEGATIVE_INFINITY} bans a token); empty
 *                         for none. Ids are checked against the vocabulary when a {@link Sampler} is built
 * @param seed             the seed of the draw (and of XTC's); {@link #RANDOM_SEED} picks a new random one each time
 * @param grammar          the grammar the output must match, or null for none
 */
public record SamplingParams(float temperature, int topK, float topP, float minP, float typicalP, float topNSigma,
                             float xtcProbability, float xtcThreshold, int penaltyLastN, float repeatPenalty,
                             float frequencyPenalty, float presencePenalty, SamplerChain.Dry dry,
                             Map<Integer, Float> logitBias, int seed, SamplerChain.Grammar grammar) {

    /** The seed that asks llama.cpp for a random one (LLAMA_DEFAULT_SEED, 0xFFFFFFFF). */
    public static final int RANDOM_SEED = -1;

    /**
     * Checks the components and copies the logit biases.
     *
     * @throws IllegalArgumentException if a value is out of its range (the message names it and the range)
     * @throws NullPointerException     if {@code logitBias} is null or holds a null key or value
     */
    public SamplingParams {
        if (!(temperature >= 0) || temperature == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("temperature must be a number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
        requireUnit(topP, "topP", "1 = off");
        requireUnit(minP, "minP", "0 = off");
        requireUnit(typicalP, "typicalP", "1 = off");
        if (!Float.isFinite(topNSigma)) {
            throw new IllegalArgumentException("topNSigma must be a finite number (0 or below = off), got " + topNSigma);
        }
        requireUnit(xtcProbability, "xtcProbability", "0 = off");
        requireUnit(xtcThreshold, "xtcThreshold", "above 0.5 = off");
        if (penaltyLastN < 0) throw new IllegalArgumentException("penaltyLastN must be >= 0 (0 = off), got " + penaltyLastN);
        if (!(repeatPenalty > 0) || repeatPenalty == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("repeatPenalty must be a number > 0 (1 = off), got " + repeatPenalty);
        }
        requireFinite(frequencyPenalty, "frequencyPenalty");
        requireFinite(presencePenalty, "presencePenalty");
        logitBias = Map.copyOf(logitBias);
        logitBias.forEach((token, bias) -> {
            if (token < 0) throw new IllegalArgumentException("logitBias token ids must be >= 0, got " + token);
            if (Float.isNaN(bias) || bias == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("the logitBias of token " + token
                        + " must be a number or -Infinity (bans the token), got " + bias);
            }
        });
    }

    /**
     * {@return llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, typical-p 1, top-n-sigma -1,
     * XTC 0 / 0.1, penalties over the last 64 tokens at repeat 1, frequency 0 and presence 0, no DRY, no logit bias,
     * a random seed, no grammar}
     */
    public static SamplingParams defaults() {
        return new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, -1f, 0f, 0.1f, 64, 1f, 0f, 0f, null, Map.of(), RANDOM_SEED, null);
    }

    /**
     * The sampler chain these values ask for, in llama.cpp's order (see the class description).
     *
     * @return the chain; it always picks a token ({@link SamplerChain#picksToken()})
     */
    public SamplerChain toChain() {
        List<SamplerChain.Stage> stages = new ArrayList<>();
        if (grammar != null) stages.add(grammar);
        if (!logitBias.isEmpty()) stages.add(new SamplerChain.LogitBias(logitBias));
        if (penaltyLastN != 0 && (repeatPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0)) {
            stages.add(new SamplerChain.Penalties(penaltyLastN, repeatPenalty, frequencyPenalty, presencePenalty));
        }
        if (dry != null && dry.multiplier() != 0 && dry.penaltyLastN() != 0) stages.add(dry);
        if (temperature == 0) {
            stages.add(new SamplerChain.Greedy());
            return new SamplerChain(stages);
        }
        if (topNSigma > 0) stages.add(new SamplerChain.TopNSigma(topNSigma));
        if (topK > 0) stages.add(new SamplerChain.TopK(topK));
        if (typicalP < 1) stages.add(new SamplerChain.Typical(typicalP, 1));
        if (topP < 1) stages.add(new SamplerChain.TopP(topP, 1));
        if (minP > 0) stages.add(new SamplerChain.MinP(minP, 1));
        if (xtcProbability > 0 && xtcThreshold <= 0.5f) stages.add(new SamplerChain.Xtc(xtcProbability, xtcThreshold, 1, seed));
        stages.add(new SamplerChain.Temperature(temperature));
        stages.add(new SamplerChain.Dist(seed));
        return new SamplerChain(stages);
    }

    /**
     * Sets the temperature.
     *
     * @param t at least 0; 0 is greedy decoding
     * @return a copy with that change
     */
    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets top-k.
     *
     * @param k how many of the most probable tokens to keep, at least 0 (0 = off)
     * @return a copy with that change
     */
    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets top-p (nucleus sampling).
     *
     * @param p the probability mass to keep, in [0, 1] (1 = off)
     * @return a copy with that change
     */
    public SamplingParams withTopP(float p) {
        return new SamplingParams(temperature, topK, p, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets min-p.
     *
     * @param p the least probability relative to the most probable token, in [0, 1] (0 = off)
     * @return a copy with that change
     */
    public SamplingParams withMinP(float p) {
        return new SamplingParams(temperature, topK, topP, p, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets locally typical sampling.
     *
     * @param p the probability mass to keep, in [0, 1] (1 = off)
     * @return a copy with that change
     */
    public SamplingParams withTypicalP(float p) {
        return new SamplingParams(temperature, topK, topP, minP, p, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets top-n-sigma.
     *
     * @param n how many standard deviations below the largest logit a token may be (0 or below = off)
     * @return a copy with that change
     */
    public SamplingParams withTopNSigma(float n) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, n, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets exclude-top-choices (XTC).
     *
     * @param probability how often it acts, in [0, 1] (0 = off)
     * @param threshold   the probability above which a token counts as a top choice, in [0, 1] (above 0.5 = off)
     * @return a copy with that change
     */
    public SamplingParams withXtc(float probability, float threshold) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, probability, threshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets how many of the last tokens the repeat, frequency and presence penalties look at.
     *
     * @param n the window in tokens, at least 0 (0 = off)
     * @return a copy with that change
     */
    public SamplingParams withPenaltyLastN(int n) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, n,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets the repeat penalty.
     *
     * @param penalty divides the logits of tokens seen in the window, above 0 (1 = off)
     * @return a copy with that change
     */
    public SamplingParams withRepeatPenalty(float penalty) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                penalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets the frequency penalty.
     *
     * @param penalty subtracted from a seen token's logit once per occurrence in the window (0 = off)
     * @return a copy with that change
     */
    public SamplingParams withFrequencyPenalty(float penalty) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, penalty, presencePenalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets the presence penalty.
     *
     * @param penalty subtracted once from the logit of a token seen in the window (0 = off)
     * @return a copy with that change
     */
    public SamplingParams withPresencePenalty(float penalty) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, penalty, dry, logitBias, seed, grammar);
    }

    /**
     * Sets the DRY repetition penalty ({@link SamplerChain.Dry#defaults()} is a common start).
     *
     * @param d the stage, or null for none
     * @return a copy with that change
     */
    public SamplingParams withDry(SamplerChain.Dry d) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, d, logitBias, seed, grammar);
    }

    /**
     * Sets the logit biases.
     *
     * @param biases the bias added to each token id's logit ({@code Float.NEGATIVE_INFINITY} bans it); empty for none
     * @return a copy with that change
     */
    public SamplingParams withLogitBias(Map<Integer, Float> biases) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, biases, seed, grammar);
    }

    /**
     * Sets the seed of the draw.
     *
     * @param s the seed: the same seed, prompt and values give the same tokens; {@link #RANDOM_SEED} for a random one
     * @return a copy with that change
     */
    public SamplingParams withSeed(int s) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, s, grammar);
    }

    /**
     * Sets the grammar the output must match.
     *
     * @param g the grammar ({@link SamplerChain.Grammar#of}, {@link SamplerChain.Grammar#fromJsonSchema}), or null for none
     * @return a copy with that change
     */
    public SamplingParams withGrammar(SamplerChain.Grammar g) {
        return new SamplingParams(temperature, topK, topP, minP, typicalP, topNSigma, xtcProbability, xtcThreshold, penaltyLastN,
                repeatPenalty, frequencyPenalty, presencePenalty, dry, logitBias, seed, g);
    }

    private static void requireUnit(float v, String name, String off) {
        if (!(v >= 0 && v <= 1)) throw new IllegalArgumentException(name + " must be in [0, 1] (" + off + "), got " + v);
    }

    private static void requireFinite(float v, String name) {
        if (!Float.isFinite(v)) throw new IllegalArgumentException(name + " must be a finite number (0 = off), got " + v);
    }
}
