package io.llamaffm;

import io.llamaffm.decoding.BeamSearch;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BeamSearchIT {
    private static final String PROMPT = "Once upon a time";

    @Test
    void widthOneIsGreedyAndWiderBeamsFindAtLeastAsLikelyText() {
        try (Model m = Model.load(TestEnv.stories());
             Context plain = m.newContext(ContextParams.defaults().withContextLength(256));
             Context beams = m.newContext(ContextParams.defaults().withContextLength(1024).withSequences(8))) {
            int n = 24;
            Completion greedy = plain.generate(PROMPT, GenerationParams.defaults().withMaxTokens(n).withIgnoreEos(true),
                    SamplerChain.greedy(), null);
            GenerationParams p = GenerationParams.defaults().withMaxTokens(n).withIgnoreEos(true);
            BeamSearch.Result one = BeamSearch.generate(beams, PROMPT, p, 1, null);
            assertArrayEquals(greedy.tokens(), one.completion().tokens());
            assertEquals(greedy.text(), one.completion().text());
            assertEquals(Completion.StopReason.MAX_TOKENS, one.completion().stopReason());

            int[] prompt = m.tokenizer().encode(PROMPT);
            double greedyLogprob = logprobOf(plain, prompt, greedy.tokens());
            assertEquals(greedyLogprob, one.logprob(), 1e-2);
            for (int width : new int[] {2, 4}) {
                StringBuilder streamed = new StringBuilder();
                BeamSearch.Result best = BeamSearch.generate(beams, PROMPT, p, width, streamed::append);
                assertEquals(n, best.completion().tokens().length);
                double scored = logprobOf(plain, prompt, best.completion().tokens());
                assertEquals(scored, best.logprob(), 1e-2, "the beam's score is the text's log-probability");
                assertTrue(best.logprob() >= greedyLogprob - 1e-3, width + ": " + best.logprob() + " vs greedy " + greedyLogprob);
                assertEquals(m.tokenizer().decode(best.completion().tokens()), best.completion().text());
                assertEquals(best.completion().text(), streamed.toString());
            }
            assertThrows(IllegalArgumentException.class, () -> BeamSearch.generate(beams, PROMPT, p, 5, null), "needs 10 sequences");
            // the context is clean and usable afterwards
            assertEquals(0, beams.cachedTokens().length);
            assertEquals(greedy.text().substring(0, 10),
                    beams.generate(PROMPT, 8, SamplerChain.greedy(), null).text().substring(0, 10));
        }
    }

    private static double logprobOf(Context ctx, int[] prompt, int[] continuation) {
        int[] all = IntStream.concat(Arrays.stream(prompt), Arrays.stream(continuation)).toArray();
        float[] lp = ctx.score(all).logprobs();
        double sum = 0;
        for (int i = prompt.length - 1; i < lp.length; i++) {
            sum += lp[i];
        }
        return sum;
    }
}
