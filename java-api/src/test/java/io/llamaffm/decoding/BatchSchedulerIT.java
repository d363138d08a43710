package io.llamaffm.decoding;

import io.llamaffm.Completion;
import io.llamaffm.Completion.StopReason;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching on the real stories260K model: requests in one decode per step, greedy output equal to a solo
 * generation, shared prefixes, several choices, cancellation freeing the cache, per-slot overflow, the queue bound.
 */
class BatchSchedulerIT {
    private static final ContextParams CONTEXT = ContextParams.defaults().withContextLength(1024).withThreads(2)
            .withSequences(4);
    private static final List<String> PROMPTS = List.of("Once upon a time", "The little dog", "Lily and Tom went to the park",
            "One day, a big bird");
    private static Model model;
    private static Context solo;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
        solo = model.newContext(ContextParams.defaults().withContextLength(256).withThreads(2));
    }

    @AfterAll
    static void close() {
        if (solo != null) {
            solo.close();
        }
        if (model != null) {
            model.close();
        }
    }

    private static Completion alone(int[] prompt, GenerationParams params) {
        solo.clear();
        return solo.generate(prompt, params, SamplerChain.greedy(), null);
    }

    private static int[] tokens(String text) {
        return model.tokenizer().encode(text);
    }

    @Test
    void concurrentRequestsShareEachDecodeAndWriteWhatTheyWriteAlone() throws Exception {
        GenerationParams params = GenerationParams.defaults().withMaxTokens(32).withIgnoreEos(true);
        try (BatchScheduler scheduler = BatchScheduler.start(model, CONTEXT, 8)) {
            List<BatchScheduler.Ticket> tickets = new ArrayList<>();
            List<StringBuilder> streamed = new ArrayList<>();
            for (String p : PROMPTS) {
                StringBuilder text = new StringBuilder();
                streamed.add(text);
                tickets.add(scheduler.submit(tokens(p), params, List.of(SamplerChain.greedy()), (choice, step) -> text.append(step.text())));
            }
            long beforeLast = scheduler.stats().decodes(); // steps that ran before the last request was in
            for (int i = 0; i < PROMPTS.size(); i++) {
                Completion batched = tickets.get(i).completions().get(60, TimeUnit.SECONDS).getFirst();
                Completion single = alone(tokens(PROMPTS.get(i)), params);
                assertArrayEquals(single.tokens(), batched.tokens(), "prompt " + i);
                assertEquals(single.text(), batched.text());
                assertEquals(single.text(), streamed.get(i).toString());
                assertEquals(StopReason.MAX_TOKENS, batched.stopReason());
            }
            // alone: 1 prompt decode + 32 token decodes each, 132 in all; together: one decode per step, so from the
            // last request's arrival on, its 33 decodes (and one that may have begun before) carry the others' tokens
            // too; without sharing the others' remaining tokens would add their own decodes (how many steps ran before
            // the last request arrived depends on the machine: a few, more on a cold JVM)
            long decodes = scheduler.stats().decodes();
            assertTrue(decodes >= 33 && decodes - beforeLast <= 34,
                    decodes + " decodes for 4 requests of 32 tokens, " + beforeLast + " of them before the last request");
        }
    }

    @Test
    void aLongerPrefixHeldByABusySlotIsSharedInsteadOfDecodedAgain() throws Exception {
        String system = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. ";
        int[] first = tokens(system + "One day");
        int[] second = tokens(system + "Her mom said");
        try (BatchScheduler scheduler = BatchScheduler.start(model, CONTEXT, 8)) {
            CountDownLatch running = new CountDownLatch(1);
            BatchScheduler.Ticket a = scheduler.submit(first, GenerationParams.defaults().withMaxTokens(150).withIgnoreEos(true),
                    List.of(SamplerChain.greedy()), (c, s) -> running.countDown());
            assertTrue(running.await(30, TimeUnit.SECONDS));
            GenerationParams params = GenerationParams.defaults().withMaxTokens(24);
            Completion b = scheduler.submit(second, params, List.of(SamplerChain.greedy()), null).completions()
                    .get(60, TimeUnit.SECONDS).getFirst();
            int common = 0;
            while (first[common] == second[common]) {
                common++;
            }
            assertTrue(common > 20, "the prompts share " + common + " tokens");
            assertEquals(common, b.reusedTokens(), "the shared prefix is copied from the busy slot");
            assertArrayEquals(alone(second, params).tokens(), b.tokens());
            a.cancel();
            a.completions().get(30, TimeUnit.SECONDS);
            // the next turn of a finished conversation reuses its own slot
            int[] next = concat(second, b.tokens(), tokens(" Lily"));
            Completion c = scheduler.submit(next, params, List.of(SamplerChain.greedy()), null).completions().get(60, TimeUnit.SECONDS)
                    .getFirst();
            assertEquals(second.length + b.tokens().length, c.reusedTokens());
            assertArrayEquals(alone(next, params).tokens(), c.tokens());
        }
    }

    @Test
    void thePromptCacheRestoresWhatASlotHeldBeforeAnotherPromptTookIt() throws Exception {
        int[] story = tokens("Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. One day");
        int[] other = tokens("The little dog ran to the park");
        GenerationParams params = GenerationParams.defaults().withMaxTokens(16).withIgnoreEos(true);
        ContextParams oneSlot = CONTEXT.withSequences(1).withContextLength(512);
        try (BatchScheduler cached = BatchScheduler.start(model, oneSlot, 8, 64L << 20);
             BatchScheduler uncached = BatchScheduler.start(model, oneSlot, 8);
             BatchScheduler tooSmall = BatchScheduler.start(model, oneSlot, 8, 1)) {
            for (BatchScheduler s : List.of(cached, uncached, tooSmall)) {
                Completion first = run(s, story, params);
                Completion between = run(s, other, params);
                assertTrue(between.reusedTokens() <= 1, "nothing in common but the BOS: " + between.reusedTokens());
                Completion again = run(s, story, params);
                assertArrayEquals(first.tokens(), again.tokens());
                assertArrayEquals(alone(story, params).tokens(), again.tokens());
                if (s == cached) {
                    assertEquals(story.length - 1, again.reusedTokens(), "restored from the prompt cache");
                    // a conversation that comes back after another prompt took its slot decodes only its new part
                    run(s, other, params);
                    int[] next = concat(story, again.tokens(), tokens(" Lily"));
                    Completion turn = run(s, next, params);
                    assertEquals(story.length + again.tokens().length, turn.reusedTokens());
                    assertArrayEquals(alone(next, params).tokens(), turn.tokens());
                } else {
                    assertTrue(again.reusedTokens() <= 1, (s == uncached ? "no cache" : "a cache too small for any state")
                            + ": the prompt is decoded again, reused " + again.reusedTokens());
                }
            }
        }
    }

    private static Completion run(BatchScheduler s, int[] prompt, GenerationParams params) throws Exception {
        return s.submit(prompt, params, List.of(SamplerChain.greedy()), null).completions().get(60, TimeUnit.SECONDS).getFirst();
    }

    @Test
    void choicesShareTheirPromptAndSampleEachWithItsOwnSampler() throws Exception {
        int[] prompt = tokens("Once upon a time");
        GenerationParams params = GenerationParams.defaults().withMaxTokens(20).withIgnoreEos(true);
        try (BatchScheduler scheduler = BatchScheduler.start(model, CONTEXT, 8)) {
            List<Completion> greedy = scheduler.submit(prompt, params, List.of(SamplerChain.greedy(), SamplerChain.greedy(),
                    SamplerChain.greedy()), null).completions().get(60, TimeUnit.SECONDS);
            int[] expected = alone(prompt, params).tokens();
            assertEquals(3, greedy.size());
            for (Completion c : greedy) {
                assertArrayEquals(expected, c.tokens());
            }
            List<Completion> sampled = scheduler.submit(prompt, params, List.of(SamplerChain.sampling(1.0f, 0, 1.0f, 0.0f, 1),
                    SamplerChain.sampling(1.0f, 0, 1.0f, 0.0f, 2)), null).completions().get(60, TimeUnit.SECONDS);
            assertFalse(Arrays.equals(sampled.get(0).tokens(), sampled.get(1).tokens()), "two seeds, one text");
            assertThrows(IllegalArgumentException.class, () -> scheduler.submit(prompt, params,
                    Collections.nCopies(5, SamplerChain.greedy()), null));
        }
    }

    @Test
    void topLogprobsAreTheMostProbableTokensAndTheGreedyTokenLeads() throws Exception {
        GenerationParams params = GenerationParams.defaults().withMaxTokens(8).withIgnoreEos(true).withTopLogprobs(5);
        try (BatchScheduler scheduler = BatchScheduler.start(model, CONTEXT, 8)) {
            List<BatchScheduler.Step> steps = Collections.synchronizedList(new ArrayList<>());
            Completion c = scheduler.submit(tokens("The little dog"), params, List.of(SamplerChain.greedy()), (i, s) -> steps.add(s))
                    .completions().get(60, TimeUnit.SECONDS).getFirst();
            assertEquals(8, steps.size());
            for (int i = 0; i < 8; i++) {
                BatchScheduler.Step s = steps.get(i);
                assertEquals(c.tokens()[i], s.token());
                assertEquals(5, s.topTokens().length);
                assertEquals(s.token(), s.topTokens()[0], "greedy picks the most probable token");
                assertEquals(c.logprobs()[i], s.logprob(), 1e-6);
                assertEquals(s.logprob(), s.topLogprobs()[0], 1e-6);
                for (int k = 1; k < 5; k++) {
                    assertTrue(s.topLogprobs()[k] <= s.topLogprobs()[k - 1]);
                    assertNotEquals(s.topTokens()[k], s.topTokens()[k - 1]);
                }
                assertTrue(s.topLogprobs()[0] <= 0);
            }
        }
    }

    @Test
    void aCancelledRequestFreesItsCellsAndAFullSlotStopsAtItsShare() throws Exception {
        try (BatchScheduler scheduler = BatchScheduler.start(model, CONTEXT.withContextLength(512), 8)) {
            assertEquals(128, scheduler.tokensPerSlot());
            CountDownLatch started = new CountDownLatch(3);
            BatchScheduler.Ticket t = scheduler.submit(tokens("Once upon a time"), GenerationParams.defaults().withMaxTokens(100_000)
                    .withIgnoreEos(true), List.of(SamplerChain.greedy()), (c, s) -> started.countDown());
            assertTrue(started.await(30, TimeUnit.SECONDS));
            t.cancel();
            Completion cancelled = t.completions().get(30, TimeUnit.SECONDS).getFirst();
            assertEquals(StopReason.CANCELLED, cancelled.stopReason());
            BatchScheduler.Stats stats = awaitIdle(scheduler);
            assertEquals(0, stats.busySlots());
            assertEquals(0, stats.busyCells());
            assertEquals(0, stats.idleCells(), "a cancelled request leaves nothing in the cache");

            int[] prompt = tokens("Once upon a time");
            Completion full = scheduler.submit(prompt, GenerationParams.defaults().withMaxTokens(100_000).withIgnoreEos(true),
                    List.of(SamplerChain.greedy()), null).completions().get(60, TimeUnit.SECONDS).getFirst();
            assertEquals(StopReason.CONTEXT_FULL, full.stopReason());
            assertEquals(128 - prompt.length, full.tokens().length);
            assertThrows(IllegalArgumentException.class, () -> scheduler.submit(new int[128], GenerationParams.defaults(),
                    List.of(SamplerChain.greedy()), null));
        }
    }

    @Test
    void aFullQueueRefusesAndClosingCancelsWhatWaits() throws Exception {
        BatchScheduler scheduler = BatchScheduler.start(model, CONTEXT.withSequences(1), 1);
        GenerationParams endless = GenerationParams.defaults().withMaxTokens(100_000).withIgnoreEos(true);
        CountDownLatch running = new CountDownLatch(1);
        BatchScheduler.Ticket busy = scheduler.submit(tokens("Once"), endless, List.of(SamplerChain.greedy()), (c, s) -> running.countDown());
        assertTrue(running.await(30, TimeUnit.SECONDS));
        BatchScheduler.Ticket waiting = scheduler.submit(tokens("Once"), endless, List.of(SamplerChain.greedy()), null);
        assertFalse(waiting.awaitStart(Duration.ofMillis(200)));
        RejectedExecutionException full = assertThrows(RejectedExecutionException.class, () -> scheduler.submit(tokens("Once"),
                endless, List.of(SamplerChain.greedy()), null));
        assertTrue(full.getMessage().contains("queue is full"), full.getMessage());
        scheduler.close(Duration.ofMillis(100));
        assertEquals(StopReason.CANCELLED, busy.completions().get(10, TimeUnit.SECONDS).getFirst().stopReason());
        assertThrows(CancellationException.class, () -> waiting.completions().get(10, TimeUnit.SECONDS));
        assertThrows(RejectedExecutionException.class, () -> scheduler.submit(tokens("Once"), endless, List.of(SamplerChain.greedy()), null));
    }

    private static BatchScheduler.Stats awaitIdle(BatchScheduler scheduler) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            BatchScheduler.Stats s = scheduler.stats();
            if (s.busySlots() == 0 && s.busyCells() == 0) {
                return s;
            }
            Thread.sleep(10);
        }
        return scheduler.stats();
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
