package io.llamaffm;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-token path allocates nothing on the Java heap once the JIT has compiled it: {@link Generation#nextToken()}
 * (greedy, a sampling chain, stop strings, logprobs) and {@link StreamingDecoder#push(int, StringBuilder)}. Counted
 * with the JVM's per-thread allocation counter over whole windows of tokens; the JIT needs some thousands of tokens
 * before escape analysis removes the temporaries of the FFM calls, so each case runs windows until one allocates
 * nothing, and fails when none does.
 */
class AllocationIT {
    private static final int WINDOWS = 60;       // of 232 counted tokens: the JIT has compiled the loop after ~25
    private static final int SKIP = 8;           // tokens at the start of a window, not counted (the window's own setup)
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void greedyNextTokenAllocatesNothing() {
        assertSteadyStateAllocatesNothing(SamplerChain.greedy(), GenerationParams.defaults());
    }

    @Test
    void samplingChainNextTokenAllocatesNothing() {
        assertSteadyStateAllocatesNothing(SamplerChain.of(new SamplerChain.TopK(40), new SamplerChain.TopP(0.95f, 1),
                new SamplerChain.Temperature(0.8f), new SamplerChain.Dist(42)), GenerationParams.defaults());
    }

    @Test
    void stopStringsAndLogprobsAllocateNothing() {
        assertSteadyStateAllocatesNothing(SamplerChain.greedy(),
                GenerationParams.defaults().withStopStrings("The End", "zzz").withLogprobs(true));
    }

    private static void assertSteadyStateAllocatesNothing(SamplerChain chain, GenerationParams base) {
        GenerationParams params = base.withMaxTokens(Integer.MAX_VALUE).withIgnoreEos(true);
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(1))) {
            int[] prompt = m.tokenizer().encode("Once upon a time");
            List<Long> perWindow = new ArrayList<>();
            for (int w = 0; w < WINDOWS; w++) {
                try (Generation g = ctx.start(prompt, params, chain)) {
                    for (int i = 0; i < SKIP; i++) {
                        assertTrue(g.nextToken() >= 0);
                    }
                    int counted = ctx.contextLength() - prompt.length - 2 * SKIP;
                    long before = THREADS.getCurrentThreadAllocatedBytes();
                    int sum = 0;
                    for (int i = 0; i < counted; i++) {
                        sum += g.nextToken() + g.text().length();
                    }
                    long bytes = THREADS.getCurrentThreadAllocatedBytes() - before;
                    assertTrue(sum >= counted, "every step produced a token");
                    assertEquals(ctx.contextLength() - SKIP, ctx.cachedTokens().length);
                    perWindow.add(bytes);
                    if (bytes == 0) {
                        return;
                    }
                }
            }
            throw new AssertionError("every window of tokens allocated on the heap; bytes per window: " + perWindow);
        }
    }

    @Test
    void streamingDecoderIntoABufferAllocatesNothing() {
        try (Model m = Model.load(TestEnv.stories())) {
            StreamingDecoder d = m.tokenizer().streamingDecoder();
            int[] tokens = m.tokenizer().encode("Lily saw a 🦙 and said \"héllo\" to the big red ball.", false, false);
            StringBuilder text = new StringBuilder(256);
            List<Long> perWindow = new ArrayList<>();
            for (int w = 0; w < 200; w++) {
                long before = THREADS.getCurrentThreadAllocatedBytes();
                for (int rep = 0; rep < 100; rep++) {
                    text.setLength(0);
                    for (int t : tokens) {
                        d.push(t, text);
                    }
                }
                long bytes = THREADS.getCurrentThreadAllocatedBytes() - before;
                assertEquals(" Lily saw a 🦙 and said \"héllo\" to the big red ball.", text.toString());
                perWindow.add(bytes);
                if (bytes == 0) {
                    return;
                }
            }
            throw new AssertionError("every window allocated; bytes per window: " + perWindow);
        }
    }
}
