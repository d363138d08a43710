package io.llamaffm;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generation on stories260K; greedy output compared with a native llama.h run built from the same pinned source. */
class GenerationIT {
    private static final String PROMPT = "Once upon a time";

    @Test
    void greedyMatchesNativeLlamaCppTokenForToken() throws Exception {
        Path model = TestEnv.stories();
        int n = 64;
        int[] nativeTokens = TestEnv.nativeGreedy(model, n, 2, PROMPT);
        assertEquals(n, nativeTokens.length, "the native run generated its full budget");
        try (Model m = Model.load(model);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(2))) {
            List<String> streamed = new ArrayList<>();
            Completion c = ctx.generate(PROMPT, n, SamplerChain.greedy(), streamed::add);
            assertArrayEquals(nativeTokens, c.tokens());
            assertEquals(Completion.StopReason.MAX_TOKENS, c.stopReason());
            assertEquals(5, c.promptTokens());
            assertEquals(c.text(), String.join("", streamed));
            assertTrue(c.text().startsWith(", there was a little girl named Lily. She loved to play outside in the park."),
                    c.text());
            assertEquals(c.text(), m.tokenizer().decode(c.tokens()));
        }
    }

    @Test
    void generationIsRepeatableInOneContextAndTemperatureZeroIsGreedy() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(128))) {
            Completion a = ctx.generate(PROMPT, 20, SamplerChain.greedy(), null);
            Completion b = ctx.generate(PROMPT, 20, SamplerChain.sampling(0f, 40, 0.9f, 0.05f, 7), null);
            assertEquals(a.text(), b.text());
            Completion s1 = ctx.generate(PROMPT, 20, SamplerChain.sampling(0.9f, 40, 0.95f, 0.05f, 42), null);
            Completion s2 = ctx.generate(PROMPT, 20, SamplerChain.sampling(0.9f, 40, 0.95f, 0.05f, 42), null);
            assertEquals(s1.text(), s2.text(), "same seed, same text");
        }
    }

    @Test
    void contextFullStopsAndOversizedPromptIsRefused() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(16).withBatchSize(64))) {
            int n = ctx.contextLength(); // llama.cpp rounds the length up (256 here)
            assertTrue(n >= 16, "context length " + n);
            StringBuilder prompt = new StringBuilder("Once upon a time");
            while (m.tokenizer().encode(prompt.toString()).length < n - 8) {
                prompt.append(" Lily");
            }
            int promptTokens = m.tokenizer().encode(prompt.toString()).length;
            Completion c = ctx.generate(prompt.toString(), 1000, SamplerChain.greedy(), null);
            assertEquals(Completion.StopReason.CONTEXT_FULL, c.stopReason(), c.text());
            assertEquals(n - promptTokens, c.tokens().length);

            String longPrompt = "Once upon a time ".repeat(n);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ctx.generate(longPrompt, 5, SamplerChain.greedy(), null));
            assertTrue(e.getMessage().contains("context holds " + n), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ctx.generate(PROMPT, 0, SamplerChain.greedy(), null));
            // the context is still usable after refusing
            assertEquals(5, ctx.generate(PROMPT, 5, SamplerChain.greedy(), null).tokens().length);
        }
    }

    @Test
    void stopStringsIteratorStreamAndTimings() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256))) {
            Completion full = ctx.generate(PROMPT, 40, SamplerChain.greedy(), null);
            int cut = full.text().indexOf(" named");
            assertTrue(cut > 0, full.text());
            List<String> streamed = new ArrayList<>();
            Completion stopped = ctx.generate(PROMPT, GenerationParams.defaults().withMaxTokens(40).withStopStrings(" named", "zzz"),
                    SamplerChain.greedy(), streamed::add);
            assertEquals(Completion.StopReason.STOP_STRING, stopped.stopReason());
            assertEquals(full.text().substring(0, cut), stopped.text());
            assertEquals(stopped.text(), String.join("", streamed), "nothing of the stop string leaks into the stream");

            StringBuilder viaIterator = new StringBuilder();
            int count = 0;
            try (Generation g = ctx.start(PROMPT, GenerationParams.defaults().withMaxTokens(40), SamplerChain.greedy())) {
                while (g.hasNext()) {
                    Generation.GeneratedToken t = g.next();
                    viaIterator.append(t.text());
                    if (t.id() >= 0) {
                        count++;
                    }
                }
                assertEquals(Completion.StopReason.MAX_TOKENS, g.stopReason());
                Timings timings = g.timings();
                assertEquals(40, timings.generatedTokens());
                assertTrue(timings.tokensPerSecond() > 0 && timings.timeToFirstTokenNanos() > 0, timings.toString());
            }
            assertEquals(40, count);
            assertEquals(full.text(), viaIterator.toString());
            try (Generation g = ctx.start(PROMPT, GenerationParams.defaults().withMaxTokens(40), SamplerChain.greedy());
                 java.util.stream.Stream<Generation.GeneratedToken> s = g.stream()) {
                assertEquals(full.text(), s.map(Generation.GeneratedToken::text).collect(java.util.stream.Collectors.joining()));
            }
            Completion ignoring = ctx.generate(PROMPT, GenerationParams.defaults().withMaxTokens(300).withIgnoreEos(true),
                    SamplerChain.greedy(), null);
            assertEquals(Math.min(300, ctx.contextLength() - 5), ignoring.tokens().length);
        }
    }

    @Test
    void cancelFromAnotherThreadStopsAndTheContextStaysUsable() throws Exception {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(2048))) {
            java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();
            Completion c = ctx.generate(PROMPT, GenerationParams.defaults().withMaxTokens(1000).withIgnoreEos(true),
                    SamplerChain.greedy(), s -> {
                        if (seen.incrementAndGet() == 10) {
                            Thread t = Thread.ofPlatform().start(ctx::cancel);
                            try {
                                t.join();
                            } catch (InterruptedException e) {
                                throw new AssertionError(e);
                            }
                        }
                    });
            assertEquals(Completion.StopReason.CANCELLED, c.stopReason());
            assertTrue(c.tokens().length >= 10 && c.tokens().length <= 11, "stopped right after the cancel: " + c.tokens().length);
            Completion again = ctx.generate(PROMPT, 8, SamplerChain.greedy(), null);
            assertEquals(Completion.StopReason.MAX_TOKENS, again.stopReason());
            assertEquals(8, again.tokens().length);

            Thread.currentThread().interrupt();
            Completion interrupted = ctx.generate(PROMPT, 50, SamplerChain.greedy(), null);
            assertTrue(Thread.interrupted(), "the interrupt flag is left set");
            assertEquals(Completion.StopReason.CANCELLED, interrupted.stopReason());
        }
    }

    @Test
    void anInterruptAbortsALongPromptDecodeWithinAMicroBatchAndTheContextStaysUsable() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(2048).withBatchSize(2048)
                     .withMicroBatchSize(64).withThreads(1));
             Context fresh = m.newContext(ContextParams.defaults().withContextLength(2048).withThreads(1))) {
            String longPrompt = "Once upon a time" + " Lily played in the park with her friends.".repeat(150);
            int promptTokens = m.tokenizer().encode(longPrompt).length;
            assertTrue(promptTokens > 1500, "prompt " + promptTokens);
            Thread.currentThread().interrupt(); // llama's abort callback sees it at the first graph node
            Completion c;
            try {
                c = ctx.generate(longPrompt, 8, SamplerChain.greedy(), null);
            } finally {
                assertTrue(Thread.interrupted(), "the interrupt flag is left set (and cleared here)");
            }
            assertEquals(Completion.StopReason.CANCELLED, c.stopReason());
            assertEquals(0, c.tokens().length);
            assertTrue(ctx.cachedTokens().length <= 64, "at most one micro-batch was kept: " + ctx.cachedTokens().length);
            // usable afterwards, with the same output as a fresh context
            assertEquals(fresh.generate(PROMPT, 12, SamplerChain.greedy(), null).text(),
                    ctx.generate(PROMPT, 12, SamplerChain.greedy(), null).text());
        }
    }

    @Test
    void aCancelFromAnotherThreadAbortsALongPromptDecodeAtAMicroBatchBoundary() throws Exception {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(2048).withBatchSize(2048)
                     .withMicroBatchSize(64).withThreads(1));
             Context fresh = m.newContext(ContextParams.defaults().withContextLength(2048).withBatchSize(2048)
                     .withMicroBatchSize(64).withThreads(1))) {
            String longPrompt = "Once upon a time" + " Lily played in the park with her friends.".repeat(150);
            int promptTokens = m.tokenizer().encode(longPrompt).length;
            long wholeDecodeNanos = fresh.generate(longPrompt, 1, SamplerChain.greedy(), null).timings().promptNanos();
            String expected = fresh.generate(PROMPT, 12, SamplerChain.greedy(), null).text();
            // from the start: the first micro-batch is aborted; a third of the way in: it stops between two of them
            for (long delayNanos : new long[] {0, wholeDecodeNanos / 3}) {
                ctx.clear(); // no cached prefix: the micro-batches start at position 0
                Completion c = cancelledAfter(ctx, longPrompt, delayNanos);
                assertEquals(Completion.StopReason.CANCELLED, c.stopReason());
                assertEquals(0, c.tokens().length);
                int kept = ctx.cachedTokens().length;
                assertTrue(kept % 64 == 0 && kept < promptTokens && (delayNanos > 0 || kept <= 64),
                        "cancelled after " + delayNanos / 1000 + " us of a " + wholeDecodeNanos / 1000 + " us decode of "
                                + promptTokens + " tokens: kept " + kept);
                assertEquals(expected, ctx.generate(PROMPT, 12, SamplerChain.greedy(), null).text(), "usable afterwards");
            }
        }
    }

    /**
     * Generates from {@code prompt} while another thread, {@code delayNanos} after the call began, calls cancel() until
     * it returns (a cancel() that lands before start() has begun is forgotten: every generation starts uncancelled).
     */
    private static Completion cancelledAfter(Context ctx, String prompt, long delayNanos) throws InterruptedException {
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        long start = System.nanoTime();
        Thread canceller = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                if (System.nanoTime() - start >= delayNanos) {
                    ctx.cancel();
                }
                Thread.onSpinWait();
            }
        });
        try {
            return ctx.generate(prompt, 8, SamplerChain.greedy(), null);
        } finally {
            done.set(true);
            canceller.join();
        }
    }

    @Test
    void severalPromptsDecodedTogetherMatchOneByOne() {
        List<String> prompts = List.of("Once upon a time", "The little dog", "Lily and Tom went to the park. They");
        try (Model m = Model.load(TestEnv.stories());
             Context one = m.newContext(ContextParams.defaults().withContextLength(256));
             Context many = m.newContext(ContextParams.defaults().withContextLength(768).withSequences(3).withBatchSize(16))) {
            GenerationParams p = GenerationParams.defaults().withMaxTokens(24);
            java.util.Map<Integer, StringBuilder> streamed = new java.util.TreeMap<>();
            List<Completion> together = many.generateAll(prompts, p, SamplerChain.greedy(),
                    (i, text) -> streamed.computeIfAbsent(i, k -> new StringBuilder()).append(text));
            assertEquals(3, together.size());
            for (int i = 0; i < prompts.size(); i++) {
                Completion alone = one.generate(prompts.get(i), p, SamplerChain.greedy(), null);
                assertArrayEquals(alone.tokens(), together.get(i).tokens(), prompts.get(i));
                assertEquals(alone.text(), together.get(i).text());
                assertEquals(alone.text(), streamed.get(i).toString());
                assertEquals(alone.stopReason(), together.get(i).stopReason());
            }
            assertThrows(IllegalArgumentException.class,
                    () -> many.generateAll(List.of("a", "b", "c", "d"), p, SamplerChain.greedy(), null), "4 prompts, 3 sequences");
            // the context is usable for a plain generation afterwards
            assertEquals(one.generate(PROMPT, 8, SamplerChain.greedy(), null).text(),
                    many.generate(PROMPT, 8, SamplerChain.greedy(), null).text());
        }
    }

    @Test
    void severalPromptsWithABudgetBeyondTheCacheStopWhenTheirShareIsFull() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withSequences(2).withThreads(1))) {
            int share = ctx.tokensPerSequence();
            List<Completion> full = ctx.generateAll(List.of("Once upon a time", "The little dog"),
                    GenerationParams.defaults().withMaxTokens(Integer.MAX_VALUE).withIgnoreEos(true), SamplerChain.greedy(), null);
            for (Completion c : full) {
                assertEquals(Completion.StopReason.CONTEXT_FULL, c.stopReason());
                // as a single generation does: the sequence's share holds the prompt and every generated token
                assertEquals(share, c.promptTokens() + c.tokens().length);
            }
        }
    }
}
