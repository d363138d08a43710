package io.llamaffm;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Log-probabilities of generated tokens and perplexity of a text. */
class ScoreIT {
    @Test
    void generationLogprobsEqualTeacherForcedScores() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256))) {
            int[] prompt = m.tokenizer().encode("Once upon a time");
            Completion c = ctx.generate(prompt, GenerationParams.defaults().withMaxTokens(24).withLogprobs(true),
                    SamplerChain.greedy(), null);
            float[] lp = c.logprobs();
            assertEquals(24, lp.length);
            for (float v : lp) {
                assertTrue(v <= 0 && v > -20, Arrays.toString(lp));
            }
            int[] all = IntStream.concat(Arrays.stream(prompt), Arrays.stream(c.tokens())).toArray();
            TextScore s = ctx.score(all);
            assertEquals(all.length - 1, s.logprobs().length);
            float[] tail = Arrays.copyOfRange(s.logprobs(), prompt.length - 1, all.length - 1);
            for (int i = 0; i < lp.length; i++) {
                assertEquals(lp[i], tail[i], 1e-3f, "token " + i); // batched vs one-token matmuls round differently
            }
            double mean = IntStream.range(0, s.logprobs().length).mapToDouble(i -> s.logprobs()[i]).average().orElseThrow();
            assertEquals(Math.exp(-mean), s.perplexity(), 1e-9);
            assertEquals(0, c.tokens().length - lp.length);
        }
    }

    @Test
    void aStoryIsLessPerplexingThanItsWordsReversed() {
        String story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
        String[] words = story.split(" ");
        java.util.Collections.reverse(Arrays.asList(words));
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withBatchSize(8))) {
            double natural = ctx.score(story).perplexity();
            double reversed = ctx.score(String.join(" ", words)).perplexity();
            assertTrue(natural > 1 && natural < 10, "natural " + natural);
            assertTrue(reversed > 3 * natural, natural + " vs " + reversed);
            assertThrows(IllegalArgumentException.class, () -> ctx.score(new int[] {1}));
            assertThrows(IllegalArgumentException.class, () -> ctx.score(new int[] {1, 999}));
        }
    }
}
