package io.llamaffm;

import io.llamaffm.SamplerChain.Dist;
import io.llamaffm.SamplerChain.Dry;
import io.llamaffm.SamplerChain.Grammar;
import io.llamaffm.SamplerChain.Greedy;
import io.llamaffm.SamplerChain.LogitBias;
import io.llamaffm.SamplerChain.MinP;
import io.llamaffm.SamplerChain.Penalties;
import io.llamaffm.SamplerChain.Temperature;
import io.llamaffm.SamplerChain.TopK;
import io.llamaffm.SamplerChain.TopNSigma;
import io.llamaffm.SamplerChain.TopP;
import io.llamaffm.SamplerChain.Typical;
import io.llamaffm.SamplerChain.Xtc;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one sampling recipe: llama.cpp's defaults, llama.cpp's order, greedy at temperature 0, checked values. */
class SamplingParamsTest {
    private static final SamplingParams D = SamplingParams.defaults();

    @Test
    void defaultsAreLlamaCppsCommonParamsSampling() {
        assertEquals(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, -1f, 0f, 0.1f, 64, 1f, 0f, 0f, null, Map.of(), -1, null), D);
        assertEquals(List.of(new TopK(40), new TopP(0.95f, 1), new MinP(0.05f, 1), new Temperature(0.8f), new Dist(-1)),
                D.toChain().stages(), "the stages llama.cpp's defaults leave on, in its order");
    }

    @Test
    void everyStageInLlamaCppsOrder() {
        Grammar grammar = Grammar.of("root ::= \"a\" | \"b\"");
        Dry dry = Dry.defaults();
        SamplingParams all = D.withGrammar(grammar).withLogitBias(Map.of(7, -2f)).withRepeatPenalty(1.1f)
                .withFrequencyPenalty(0.25f).withPresencePenalty(0.5f).withPenaltyLastN(128).withDry(dry).withTopNSigma(1.5f)
                .withTopK(20).withTypicalP(0.9f).withTopP(0.8f).withMinP(0.1f).withXtc(0.5f, 0.2f).withTemperature(0.7f)
                .withSeed(42);
        assertEquals(List.of(grammar, new LogitBias(Map.of(7, -2f)), new Penalties(128, 1.1f, 0.25f, 0.5f), dry,
                new TopNSigma(1.5f), new TopK(20), new Typical(0.9f, 1), new TopP(0.8f, 1), new MinP(0.1f, 1),
                new Xtc(0.5f, 0.2f, 1, 42), new Temperature(0.7f), new Dist(42)), all.toChain().stages());
    }

    @Test
    void temperatureZeroIsGreedyAfterTheStagesThatChangeLogits() {
        assertEquals(SamplerChain.greedy(), D.withTemperature(0).toChain());
        assertEquals(SamplerChain.greedy(), D.withTemperature(-0f).withTopK(3).withTopP(0.5f).withXtc(1, 0.1f).toChain());
        Grammar grammar = Grammar.of("root ::= \"x\"");
        assertEquals(List.of(grammar, new LogitBias(Map.of(1, Float.NEGATIVE_INFINITY)), new Penalties(64, 1.3f, 0, 0),
                        new Greedy()),
                D.withTemperature(0).withGrammar(grammar).withLogitBias(Map.of(1, Float.NEGATIVE_INFINITY))
                        .withRepeatPenalty(1.3f).toChain().stages());
        assertTrue(D.withTemperature(0).toChain().picksToken());
    }

    @Test
    void valuesThatTurnAStageOffLeaveItOut() {
        SamplingParams off = D.withTopK(0).withTopP(1).withMinP(0).withTemperature(1).withSeed(7);
        assertEquals(List.of(new Temperature(1), new Dist(7)), off.toChain().stages());
        assertEquals(List.of(new Temperature(1), new Dist(7)), off.withFrequencyPenalty(0.5f).withPenaltyLastN(0).toChain().stages(),
                "a window of 0 turns the penalties off");
        assertEquals(List.of(new Temperature(1), new Dist(7)), off.withXtc(0.9f, 0.6f).toChain().stages(),
                "an XTC threshold above 0.5 turns it off");
        assertEquals(List.of(new Temperature(1), new Dist(7)), off.withTopNSigma(0).withTypicalP(1)
                .withDry(new Dry(0, 1.75f, 2, 64, List.of())).toChain().stages());
        assertEquals(List.of(new Penalties(4096, 1, 0, -0.5f), new Temperature(1), new Dist(7)),
                off.withPresencePenalty(-0.5f).withPenaltyLastN(4096).toChain().stages(), "a negative penalty is a penalty");
    }

    @Test
    void samplerChainSamplingIsThisRecipe() {
        assertEquals(SamplerChain.of(new TopK(40), new TopP(0.95f, 1), new MinP(0.05f, 1), new Temperature(0.9f), new Dist(77)),
                SamplerChain.sampling(0.9f, 40, 0.95f, 0.05f, 77));
        assertEquals(SamplerChain.greedy(), SamplerChain.sampling(0, 40, 0.9f, 0.05f, 7));
        assertEquals(SamplerChain.of(new TopK(100), new Temperature(1.5f), new Dist(1)), SamplerChain.sampling(1.5f, 100, 1f, 0f, 1));
    }

    @Test
    void theLogitBiasesAreCopied() {
        Map<Integer, Float> biases = new HashMap<>(Map.of(3, 1f));
        SamplingParams p = D.withLogitBias(biases);
        biases.put(4, 2f);
        assertEquals(Map.of(3, 1f), p.logitBias());
    }

    @Test
    void badValuesAreRefusedWithTheirNameAndRange() {
        refused("temperature must be a number >= 0 (0 = greedy), got -0.1", () -> D.withTemperature(-0.1f));
        refused("temperature must be a number >= 0 (0 = greedy), got NaN", () -> D.withTemperature(Float.NaN));
        refused("temperature must be a number >= 0 (0 = greedy), got Infinity", () -> D.withTemperature(Float.POSITIVE_INFINITY));
        refused("topK must be >= 0 (0 = off), got -1", () -> D.withTopK(-1));
        refused("topP must be in [0, 1] (1 = off), got 1.5", () -> D.withTopP(1.5f));
        refused("topP must be in [0, 1] (1 = off), got NaN", () -> D.withTopP(Float.NaN));
        refused("minP must be in [0, 1] (0 = off), got -1.0", () -> D.withMinP(-1f));
        refused("typicalP must be in [0, 1] (1 = off), got 2.0", () -> D.withTypicalP(2f));
        refused("topNSigma must be a finite number (0 or below = off), got NaN", () -> D.withTopNSigma(Float.NaN));
        refused("xtcProbability must be in [0, 1] (0 = off), got 1.1", () -> D.withXtc(1.1f, 0.1f));
        refused("xtcThreshold must be in [0, 1] (above 0.5 = off), got -0.1", () -> D.withXtc(0.5f, -0.1f));
        refused("penaltyLastN must be >= 0 (0 = off), got -1", () -> D.withPenaltyLastN(-1));
        refused("repeatPenalty must be a number > 0 (1 = off), got 0.0", () -> D.withRepeatPenalty(0));
        refused("repeatPenalty must be a number > 0 (1 = off), got NaN", () -> D.withRepeatPenalty(Float.NaN));
        refused("frequencyPenalty must be a finite number (0 = off), got Infinity",
                () -> D.withFrequencyPenalty(Float.POSITIVE_INFINITY));
        refused("presencePenalty must be a finite number (0 = off), got NaN", () -> D.withPresencePenalty(Float.NaN));
        refused("logitBias token ids must be >= 0, got -3", () -> D.withLogitBias(Map.of(-3, 1f)));
        refused("the logitBias of token 5 must be a number or -Infinity (bans the token), got NaN",
                () -> D.withLogitBias(Map.of(5, Float.NaN)));
        refused("the logitBias of token 5 must be a number or -Infinity (bans the token), got Infinity",
                () -> D.withLogitBias(Map.of(5, Float.POSITIVE_INFINITY)));
    }

    @Test
    void valuesGreedyIgnoresAreCheckedToo() {
        SamplingParams greedy = D.withTemperature(0);
        refused("topK must be >= 0 (0 = off), got -5", () -> greedy.withTopK(-5));
        refused("topP must be in [0, 1] (1 = off), got 1.01", () -> greedy.withTopP(1.01f));
    }

    private static void refused(String message, Supplier<SamplingParams> make) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make::get);
        assertEquals(message, e.getMessage());
    }
}
