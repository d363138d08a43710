package io.llamaffm;

import io.llamaffm.decoding.SpeculativeDecoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Speculative decoding gives the target model's own output, whatever the draft proposes. */
class SpeculativeIT {
    private static final String PROMPT = "Once upon a time";

    @Test
    void theSameModelAsDraftIsAcceptedAlwaysAndChangesNothing() {
        try (Model m = Model.load(TestEnv.stories());
             Context plain = m.newContext(ContextParams.defaults().withContextLength(256));
             Context target = m.newContext(ContextParams.defaults().withContextLength(256));
             Context draft = m.newContext(ContextParams.defaults().withContextLength(256))) {
            GenerationParams p = GenerationParams.defaults().withMaxTokens(48).withIgnoreEos(true);
            Completion ref = plain.generate(PROMPT, p, SamplerChain.greedy(), null);
            StringBuilder streamed = new StringBuilder();
            SpeculativeDecoding.Result r = SpeculativeDecoding.generate(target, draft, PROMPT, p, SamplerChain.greedy(), 4,
                    streamed::append);
            assertArrayEquals(ref.tokens(), r.completion().tokens());
            assertEquals(ref.text(), r.completion().text());
            assertEquals(ref.text(), streamed.toString());
            assertEquals(1.0, r.acceptanceRate(), 1e-9);
            assertTrue(r.draftedTokens() >= 36, "about 4 proposals per target decode: " + r.draftedTokens());
        }
    }

    @Test
    void aWeakerDraftStillYieldsTheTargetsOutputForGreedyAndSeededSampling(@TempDir Path tmp) {
        Path q4 = tmp.resolve("stories-q4_0.gguf");
        Quantizer.quantize(TestEnv.stories(), q4, Quantizer.Type.Q4_0, 2);
        try (Model m = Model.load(TestEnv.stories()); Model small = Model.load(q4);
             Context plain = m.newContext(ContextParams.defaults().withContextLength(256));
             Context target = m.newContext(ContextParams.defaults().withContextLength(256));
             Context draft = small.newContext(ContextParams.defaults().withContextLength(256))) {
            GenerationParams p = GenerationParams.defaults().withMaxTokens(64).withIgnoreEos(true);
            for (SamplerChain chain : new SamplerChain[] {SamplerChain.greedy(), SamplerChain.sampling(0.9f, 40, 0.95f, 0.05f, 77)}) {
                Completion ref = plain.generate(PROMPT, p, chain, null);
                SpeculativeDecoding.Result r = SpeculativeDecoding.generate(target, draft, PROMPT, p, chain, 3, null);
                if (chain.stages().size() == 1) {
                    assertArrayEquals(ref.tokens(), r.completion().tokens(), "greedy: identical");
                } else {
                    // seeded sampling draws the same random numbers; a draw can only flip where the verification batch's
                    // logits round differently from one-token decodes, so a long common prefix must hold
                    int same = 0;
                    while (same < 64 && ref.tokens()[same] == r.completion().tokens()[same]) {
                        same++;
                    }
                    assertTrue(same >= 24, "common prefix " + same);
                }
                assertTrue(r.acceptanceRate() > 0 && r.acceptanceRate() <= 1, "rate " + r.acceptanceRate());
                System.out.printf("speculative %s: %d drafted, %d accepted (%.0f %%)%n", chain.stages().getLast(),
                        r.draftedTokens(), r.acceptedTokens(), 100 * r.acceptanceRate());
            }
            assertThrows(IllegalArgumentException.class,
                    () -> SpeculativeDecoding.generate(target, target, PROMPT, p, SamplerChain.greedy(), 3, null));
            assertThrows(IllegalArgumentException.class,
                    () -> SpeculativeDecoding.generate(target, draft, PROMPT, p, SamplerChain.greedy(), 0, null));
        }
    }
}
