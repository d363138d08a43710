package io.llamaffm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sampler stages through llama.cpp's own implementations, on hand-made logits and on stories260K. */
class SamplerIT {
    private static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Logits over the 512-token vocabulary where only tokens 10..13 are possible, with the given probabilities. */
    private static float[] logits(double... probs) {
        float[] l = new float[512];
        Arrays.fill(l, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < probs.length; i++) {
            l[10 + i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        try (Sampler s = Sampler.create(model, SamplerChain.of(new SamplerChain.TopP(0.9f, 1)))) {
            List<Sampler.TokenProbability> kept = s.apply(logits(.45, .30, .15, .10));
            assertEquals(List.of(10, 11, 12), kept.stream().map(Sampler.TokenProbability::token).toList());
            assertEquals(0.45f, kept.get(0).probability(), 1e-5f);
            assertEquals(0.30f, kept.get(1).probability(), 1e-5f);
            assertEquals(0.15f, kept.get(2).probability(), 1e-5f);
        }
    }

    @Test
    void topKMinPAndGreedyOnLogits() {
        try (Sampler s = Sampler.create(model, SamplerChain.of(new SamplerChain.TopK(2)))) {
            assertEquals(List.of(10, 11), s.apply(logits(.45, .30, .15, .10)).stream().map(Sampler.TokenProbability::token).toList());
        }
        try (Sampler s = Sampler.create(model, SamplerChain.of(new SamplerChain.MinP(0.5f, 1)))) {
            // min-p 0.5 keeps tokens with p >= 0.5 × 0.45
            assertEquals(List.of(10, 11), s.apply(logits(.45, .30, .15, .10)).stream().map(Sampler.TokenProbability::token).toList());
        }
        try (Sampler s = Sampler.create(model, SamplerChain.greedy())) {
            assertEquals(12, s.sample(logits(.2, .3, .4, .1)));
        }
        try (Sampler s = Sampler.create(model, SamplerChain.of(new SamplerChain.Temperature(0), new SamplerChain.Dist(3)))) {
            assertEquals(12, s.sample(logits(.2, .3, .4, .1)), "temperature 0 is greedy");
        }
    }

    @Test
    void logitBiasBansAndAJavaStageChangesCandidatesInsideTheNativeChain() {
        try (Sampler s = Sampler.create(model, SamplerChain.of(
                new SamplerChain.LogitBias(Map.of(12, Float.NEGATIVE_INFINITY)), new SamplerChain.Greedy()))) {
            assertEquals(11, s.sample(logits(.2, .3, .4, .1)));
        }
        SamplerChain.Custom boost13 = new SamplerChain.Custom("boost-13", c -> {
            for (int i = 0; i < c.size(); i++) {
                if (c.token(i) == 13) {
                    c.setLogit(i, c.logit(i) + 10f);
                }
            }
        });
        try (Sampler s = Sampler.create(model, SamplerChain.of(boost13, new SamplerChain.Greedy()))) {
            assertEquals(13, s.sample(logits(.2, .3, .4, .1)));
            assertEquals(13, s.sample(logits(.2, .3, .4, .1)), "the same again: views of the native buffers are reused");
        }
        java.util.concurrent.atomic.AtomicReference<Candidates> escaped = new java.util.concurrent.atomic.AtomicReference<>();
        try (Sampler s = Sampler.create(model, SamplerChain.of(new SamplerChain.Custom("keep", escaped::set), new SamplerChain.Greedy()))) {
            assertEquals(12, s.sample(logits(.2, .3, .4, .1)));
            IllegalStateException late = assertThrows(IllegalStateException.class, () -> escaped.get().token(0));
            assertEquals("candidates are only valid during the stage's call", late.getMessage());
        }
        SamplerChain.Custom failing = new SamplerChain.Custom("fails", c -> {
            throw new IllegalStateException("boom from Java");
        });
        try (Sampler s = Sampler.create(model, SamplerChain.of(failing, new SamplerChain.Greedy()))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.sample(logits(.2, .3, .4, .1)));
            assertEquals("boom from Java", e.getMessage());
            assertThrows(IllegalStateException.class, () -> s.sample(logits(.2, .3, .4, .1)), "fails again, no crash");
        }
    }

    @Test
    void everyStageRunsInGenerationAndSeedsRepeat() {
        List<SamplerChain> chains = List.of(
                SamplerChain.of(new SamplerChain.Penalties(64, 1.1f, 0.1f, 0.1f), new SamplerChain.TopK(40),
                        new SamplerChain.Typical(0.95f, 1), new SamplerChain.TopP(0.95f, 1), new SamplerChain.MinP(0.05f, 1),
                        new SamplerChain.DynamicTemperature(0.8f, 0.2f, 1f), new SamplerChain.Dist(7)),
                SamplerChain.of(SamplerChain.Dry.defaults(), new SamplerChain.TopNSigma(2f), new SamplerChain.Temperature(0.7f),
                        new SamplerChain.Dist(7)),
                SamplerChain.of(new SamplerChain.Xtc(0.5f, 0.1f, 1, 7), new SamplerChain.Temperature(0.9f), new SamplerChain.Dist(7)),
                SamplerChain.of(new SamplerChain.Temperature(0.8f), new SamplerChain.Mirostat(7, 5f, 0.1f, 100)),
                SamplerChain.of(new SamplerChain.Temperature(0.8f), new SamplerChain.MirostatV2(7, 5f, 0.1f)));
        try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(256))) {
            for (SamplerChain chain : chains) {
                Completion a = ctx.generate("Once upon a time", 24, chain, null);
                Completion b = ctx.generate("Once upon a time", 24, chain, null);
                assertArrayEqualsMsg(a.tokens(), b.tokens(), chain.toString());
                assertFalse(a.text().isEmpty(), chain.toString());
            }
            Completion greedy = ctx.generate("Once upon a time", 24, SamplerChain.greedy(), null);
            Completion warm = ctx.generate("Once upon a time", 24, SamplerChain.sampling(1.5f, 100, 1f, 0f, 1), null);
            assertNotEquals(greedy.text(), warm.text(), "a hot temperature departs from greedy");
        }
    }

    @Test
    void grammarConstrainsTheOutput() {
        String gbnf = "root ::= \"Yes\" | \"No\" | (\" \" [a-z]+ \".\")";
        try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(128))) {
            Completion c = ctx.generate("Once upon a time", 12,
                    SamplerChain.of(SamplerChain.Grammar.of(gbnf), new SamplerChain.Greedy()), null);
            assertTrue(c.text().matches("Yes|No| [a-z]+\\.?"), c.text());
        }
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> Sampler.create(model, SamplerChain.of(SamplerChain.Grammar.of("root ::= ("), new SamplerChain.Greedy())));
        assertTrue(bad.getMessage().contains("invalid GBNF grammar"), bad.getMessage());
    }

    @Test
    void jsonSchemaOutputParsesAndMatchesTheSchema() {
        String schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":8},"
                + "\"age\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":99}},\"required\":[\"name\",\"age\"],"
                + "\"additionalProperties\":false}";
        try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(256))) {
            for (SamplerChain.Stage picker : List.of(new SamplerChain.Greedy(), new SamplerChain.Dist(5))) {
                Completion c = ctx.generate("Once upon a time", 64,
                        SamplerChain.of(SamplerChain.Grammar.fromJsonSchema(schema), picker), null);
                assertEquals(Completion.StopReason.END_OF_GENERATION, c.stopReason(), c.text());
                Object parsed = io.llamaffm.internal.JsonParser.parse(c.text());
                assertTrue(parsed instanceof Map<?, ?> m && m.get("name") instanceof String name && name.length() <= 8
                        && m.get("age") instanceof java.math.BigDecimal age && age.intValue() >= 1 && age.intValue() <= 99,
                        c.text());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> SamplerChain.Grammar.fromJsonSchema("{\"type\": \"nope\"}"));
    }

    @Test
    void misuseGivesClearExceptions() {
        Sampler s = Sampler.create(model, SamplerChain.greedy());
        assertThrows(IllegalArgumentException.class, () -> s.apply(new float[3]));
        assertThrows(IllegalArgumentException.class, () -> s.accept(512));
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.sample(logits(.5, .5)));
        assertThrows(IllegalArgumentException.class, () -> new SamplerChain.TopP(1.5f, 1));
        assertThrows(IllegalArgumentException.class, () -> new SamplerChain.Temperature(Float.NaN));
        assertThrows(IllegalArgumentException.class, () -> Sampler.create(model,
                SamplerChain.of(new SamplerChain.LogitBias(Map.of(9999, 1f)), new SamplerChain.Greedy())));
        try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(64))) {
            assertThrows(IllegalArgumentException.class,
                    () -> ctx.generate("x", 4, SamplerChain.of(new SamplerChain.TopK(5)), null), "no picking stage");
        }
    }

    private static void assertArrayEqualsMsg(int[] a, int[] b, String msg) {
        assertEquals(Arrays.toString(a), Arrays.toString(b), msg);
    }
}
