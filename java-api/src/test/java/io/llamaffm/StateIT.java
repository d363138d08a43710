package io.llamaffm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** KV cache state: save/restore in memory and in files, prefix reuse, KV operations. */
class StateIT {
    private static final SamplerChain SEEDED = SamplerChain.sampling(0.8f, 40, 0.95f, 0.05f, 1234);

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(Arrays.stream(a), Arrays.stream(b)).toArray();
    }

    @Test
    void saveGenerateRestoreGenerateGivesIdenticalTokens(@TempDir Path tmp) throws Exception {
        GenerationParams p20 = GenerationParams.defaults().withMaxTokens(20);
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256));
             Arena arena = Arena.ofConfined()) {
            int[] prompt = m.tokenizer().encode("Once upon a time");
            Completion first = ctx.generate(prompt, GenerationParams.defaults().withMaxTokens(10), SamplerChain.greedy(), null);
            int[] history = concat(prompt, first.tokens());
            assertArrayEquals(history, ctx.cachedTokens());

            ContextState state = ctx.saveState(arena);
            assertTrue(state.sizeBytes() > 0);
            Completion a = ctx.generate(history, p20, SEEDED, null);
            assertEquals(history.length - 1, a.reusedTokens(), "only the last history token is decoded again");

            ctx.clear();
            assertEquals(0, ctx.cachedTokens().length);
            ctx.restoreState(state);
            assertArrayEquals(history, ctx.cachedTokens());
            Completion b = ctx.generate(history, p20, SEEDED, null);
            assertEquals(history.length - 1, b.reusedTokens(), "the restored cache is reused");
            assertArrayEquals(a.tokens(), b.tokens());

            Path file = tmp.resolve("state.bin");
            ctx.clear();
            ctx.restoreState(state);
            ctx.saveState(file);
            assertTrue(Files.size(file) > 0);
            ctx.clear();
            ctx.loadState(file);
            assertArrayEquals(history, ctx.cachedTokens());
            Completion c = ctx.generate(history, p20, SEEDED, null);
            assertEquals(history.length - 1, c.reusedTokens());
            assertArrayEquals(a.tokens(), c.tokens());

            // without any saved state the same tokens come from decoding everything again
            ctx.clear();
            Completion d = ctx.generate(history, p20, SEEDED, null);
            assertEquals(0, d.reusedTokens());
            assertArrayEquals(a.tokens(), d.tokens());

            assertThrows(LlamaException.class, () -> ctx.loadState(tmp.resolve("missing.bin")));
        }
    }

    @Test
    void prefixReuseDecodesOnlyTheNewSuffix() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256))) {
            Completion first = ctx.generate("Once upon a time, there was a little girl", 8, SamplerChain.greedy(), null);
            assertEquals(0, first.reusedTokens());
            int[] shared = ctx.cachedTokens(); // prompt + the 8 generated tokens
            int[] longer = m.tokenizer().encode("Once upon a time, there was a little girl named Lily. She");
            Completion second = ctx.generate(longer, GenerationParams.defaults().withMaxTokens(8), SamplerChain.greedy(), null);
            int common = 0;
            while (common < Math.min(shared.length, longer.length) && shared[common] == longer[common]) {
                common++;
            }
            int expected = Math.min(common, longer.length - 1); // the last prompt token is always decoded for its logits
            assertTrue(expected >= 10, "the test reuses a real prefix: " + expected);
            assertEquals(expected, second.reusedTokens());
            assertEquals(longer.length - expected, second.timings().promptTokens(), "decoded tokens = the suffix");
            // the same output as a fresh context
            try (Context fresh = m.newContext(ContextParams.defaults().withContextLength(256))) {
                Completion ref = fresh.generate(longer, GenerationParams.defaults().withMaxTokens(8), SamplerChain.greedy(), null);
                assertEquals(0, ref.reusedTokens());
                assertArrayEquals(ref.tokens(), second.tokens());
            }
        }
    }

    @Test
    void sequenceStateAndKvOperations() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withSequences(2));
             Arena arena = Arena.ofConfined()) {
            ctx.generate("Once upon a time", 6, SamplerChain.greedy(), null);
            int n = ctx.cachedTokens().length;
            assertEquals(n - 1, ctx.maxPosition(0));
            assertEquals(-1, ctx.maxPosition(1));
            ctx.copySequence(0, 1, 0, -1);
            assertEquals(n - 1, ctx.maxPosition(1));
            ContextState seq1 = ctx.saveSequence(arena, 1);
            assertEquals(1, seq1.sequence());
            ctx.keepSequence(0);
            assertEquals(-1, ctx.maxPosition(1));
            ctx.restoreState(seq1);
            assertEquals(n - 1, ctx.maxPosition(1));
            assertTrue(ctx.removeTokens(0, 3, -1));
            assertEquals(2, ctx.maxPosition(0));
            assertEquals(3, ctx.cachedTokens().length);
            assertThrows(IllegalArgumentException.class, () -> ctx.removeTokens(2, 0, -1), "only 2 sequences");
            assertThrows(IllegalArgumentException.class, () -> ctx.removeTokens(0, 5, 2));
        }
    }
}
