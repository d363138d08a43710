package io.llamaffm.benchmarks;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The JNI baseline in its child JVM, on stories260K. */
class JniBaselineIT {
    static Path stories;

    @BeforeAll
    static void model() {
        stories = SyntheticModel.defaultTokenizerSource();
        assumeTrue(Files.isRegularFile(stories), stories + " is absent (clone with ../shared beside the project)");
    }

    @Test
    void measuresBothSpeedsAndGeneratesWhatLlamaFfmGenerates() {
        JniBaseline.Result r = JniBaseline.run(stories, 2, 64, 16, 2, Duration.ofMinutes(3));
        assertEquals(2, r.promptTokensPerSecond().size());
        assertEquals(2, r.promptWallTokensPerSecond().size());
        assertEquals(2, r.tokensPerSecond().size());
        for (double v : r.promptTokensPerSecond()) assertTrue(v > 0 && Double.isFinite(v), r.toString());
        for (int i = 0; i < 2; i++) {
            // the server's decode lies inside the span timed in Java, from generate() to the first output
            assertTrue(r.promptTokensPerSecond().get(i) > r.promptWallTokensPerSecond().get(i), r.toString());
        }
        for (double v : r.tokensPerSecond()) assertTrue(v > 0 && Double.isFinite(v), r.toString());
        assertEquals(2, r.serverTokensPerSecond().size());
        for (double v : r.serverTokensPerSecond()) assertTrue(v > 0 && Double.isFinite(v), r.toString());
        assertEquals(16 + 1 + 1, r.streamedOutputs(), r.toString()); // one output per token, then the final one

        // greedy from the same prompt: the binding's llama.cpp build and ours agree on the 17 tokens
        try (Model m = Model.load(stories);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(128).withThreads(2))) {
            Completion c = ctx.generate(JniBaselineChild.GENERATION_PROMPT,
                    GenerationParams.defaults().withMaxTokens(17).withIgnoreEos(true), SamplerChain.greedy(), null);
            assertEquals(", there was a little girl named Lily. She loved to play ", c.text());
            assertEquals(c.text(), r.generatedText());
        }
    }

    @Test
    void aModelTheBindingCannotLoadIsAClearErrorWithItsLog(@TempDir Path dir) throws IOException {
        Path bad = Files.write(dir.resolve("bad.gguf"), new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
        var e = assertThrows(IllegalStateException.class, () -> JniBaseline.run(bad, 2, 16, 4, 1, Duration.ofMinutes(2)));
        assertTrue(e.getMessage().contains("failed on " + bad), e.getMessage());
        assertTrue(e.getMessage().contains("exit status 1"), e.getMessage());
        assertTrue(e.getMessage().contains("LlamaException"), e.getMessage()); // the child's stack trace, from its log
    }

    @Test
    void aChildPastItsTimeoutIsKilled() {
        long start = System.nanoTime();
        var e = assertThrows(IllegalStateException.class,
                () -> JniBaseline.run(stories, 2, 16, 4, 1, Duration.ofMillis(200)));
        assertTrue(e.getMessage().contains("ran past its timeout of PT0.2S and was killed"), e.getMessage());
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "killing took too long");
    }

    @Test
    void argumentsAreCheckedBeforeAnyChildStarts(@TempDir Path dir) {
        assertThrows(IllegalArgumentException.class, () -> JniBaseline.run(dir.resolve("none.gguf"), 2, 16, 4));
        assertThrows(IllegalArgumentException.class, () -> JniBaseline.run(stories, 0, 16, 4));
        assertThrows(IllegalArgumentException.class, () -> JniBaseline.run(stories, 2, 1, 4));
        assertThrows(IllegalArgumentException.class, () -> JniBaseline.run(stories, 2, 16, 0));
        assertThrows(IllegalArgumentException.class, () -> JniBaseline.run(stories, 2, 16, 4, 0, Duration.ofMinutes(1)));
    }
}
