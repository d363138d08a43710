package io.llamaffm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The core context pool on stories260K: bounded, a returned context is leased again, never shared, clean closing. */
class ContextPoolIT {
    private static final ContextParams SMALL = ContextParams.defaults().withContextLength(128).withThreads(1);
    private static final String PROMPT = "Once upon a time";
    private static Model model;
    private static String greedy;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
        try (Context ctx = model.newContext(SMALL)) {
            greedy = ctx.generate(PROMPT, 12, SamplerChain.greedy(), null).text();
        }
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void theAcquireBeyondTheSizeTimesOutWithTheExactException() throws Exception {
        try (ContextPool pool = ContextPool.eager(model, SMALL, 2);
             ContextPool.Lease a = pool.acquire(Duration.ZERO);
             ContextPool.Lease b = pool.acquire(Duration.ZERO)) {
            assertNotSame(a.context(), b.context());
            long start = System.nanoTime();
            ContextPoolTimeoutException e = assertThrows(ContextPoolTimeoutException.class,
                    () -> pool.acquire(Duration.ofMillis(300)));
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(waitedMs >= 290, "waited the timeout, " + waitedMs + " ms");
            assertEquals("all 2 context(s) of the pool are leased and none came back within 300 ms: retry later, or make "
                    + "the pool larger", e.getMessage());
            assertEquals(2, e.poolSize());
            assertEquals(Duration.ofMillis(300), e.timeout());
            assertThrows(ContextPoolTimeoutException.class, () -> pool.acquire(Duration.ZERO), "no wait at all");
            assertEquals(greedy, a.context().generate(PROMPT, 12, SamplerChain.greedy(), null).text(), "the leases still work");
        }
    }

    @Test
    void aReturnedContextIsLeasedAgainAndKeepsItsCache() throws Exception {
        try (ContextPool pool = ContextPool.eager(model, SMALL, 1)) {
            assertEquals(OptionalInt.of(256), pool.contextLength(), "an eager pool knows its contexts' length (llama.cpp rounds 128 up)");
            Context first;
            try (ContextPool.Lease lease = pool.acquire(Duration.ZERO)) {
                first = lease.context();
                assertEquals(greedy, first.generate(PROMPT, 12, SamplerChain.greedy(), null).text());
            }
            try (ContextPool.Lease again = pool.acquire(Duration.ZERO)) {
                assertSame(first, again.context());
                Completion c = again.context().generate(PROMPT, 12, SamplerChain.greedy(), null);
                assertEquals(greedy, c.text());
                assertTrue(c.reusedTokens() > 0, "the same prompt again reuses the context's cache: " + c.reusedTokens());
            }
        }
    }

    @Test
    void aWaitingAcquireGetsTheContextWhenItsLeaseCloses() throws Exception {
        try (ContextPool pool = ContextPool.eager(model, SMALL, 1)) {
            assertEquals(0, pool.leased());
            ContextPool.Lease held = pool.acquire(Duration.ZERO);
            Context context = held.context();
            assertEquals(1, pool.leased());
            assertEquals(0, pool.waiting());
            CompletableFuture<Context> waiter = CompletableFuture.supplyAsync(() -> {
                try (ContextPool.Lease l = pool.acquire(Duration.ofSeconds(30))) {
                    return l.context();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (pool.waiting() == 0 && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertEquals(1, pool.waiting(), "the second caller waits");
            assertFalse(waiter.isDone(), "waits while the only context is leased");
            held.close();
            assertSame(context, waiter.get(30, TimeUnit.SECONDS));
            assertEquals(0, pool.waiting());
            assertEquals(0, pool.leased(), "both leases closed");
        }
    }

    @Test
    void concurrentLeasesNeverShareAContextAndALazyPoolCreatesAtMostItsSize() throws Exception {
        int size = 3;
        int threads = 6;
        Set<Context> inUse = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        Set<Context> seen = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        AtomicInteger most = new AtomicInteger();
        try (ContextPool pool = ContextPool.lazy(model, SMALL, size)) {
            assertEquals(OptionalInt.empty(), pool.contextLength(), "no context yet");
            ExecutorService workers = Executors.newFixedThreadPool(threads);
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(workers.submit(() -> {
                    int checked = 0;
                    for (int i = 0; i < 8; i++) {
                        try (ContextPool.Lease lease = pool.acquire(Duration.ofSeconds(60))) {
                            Context ctx = lease.context();
                            assertTrue(inUse.add(ctx), "a context leased twice at once");
                            seen.add(ctx);
                            most.accumulateAndGet(inUse.size(), Math::max);
                            assertEquals(greedy, ctx.generate(PROMPT, 12, SamplerChain.greedy(), null).text());
                            assertTrue(inUse.remove(ctx));
                            checked++;
                        }
                    }
                    return checked;
                }));
            }
            workers.shutdown();
            assertTrue(workers.awaitTermination(5, TimeUnit.MINUTES), "timed out");
            int total = 0;
            for (Future<Integer> f : done) {
                total += f.get();
            }
            assertEquals(threads * 8, total);
            assertTrue(seen.size() <= size, seen.size() + " contexts created");
            assertTrue(most.get() <= size, most.get() + " leases at once");
            assertEquals(OptionalInt.of(256), pool.contextLength());
        }
    }

    @Test
    void closingIsRefusedWhileALeaseIsOpenThenClosesTheContextsAndRefusesAcquires() throws Exception {
        ContextPool pool = ContextPool.eager(model, SMALL, 2);
        ContextPool.Lease lease = pool.acquire(Duration.ZERO);
        Context leased = lease.context();
        IllegalStateException busy = assertThrows(IllegalStateException.class, pool::close);
        assertEquals("1 of the 2 contexts of this pool are still leased: close their leases, then the pool", busy.getMessage());
        IllegalStateException modelBusy = assertThrows(IllegalStateException.class, model::close);
        assertTrue(modelBusy.getMessage().contains("open context"), modelBusy.getMessage());
        assertEquals(greedy, leased.generate(PROMPT, 12, SamplerChain.greedy(), null).text(), "a refused close changes nothing");
        try (ContextPool.Lease other = pool.acquire(Duration.ZERO)) {
            assertNotSame(leased, other.context());
        }
        lease.close();
        lease.close(); // idempotent
        IllegalStateException returned = assertThrows(IllegalStateException.class, lease::context);
        assertEquals("this lease is closed: its context went back to the pool", returned.getMessage());
        pool.close();
        pool.close(); // idempotent
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> pool.acquire(Duration.ZERO));
        assertEquals("the context pool is closed", closed.getMessage());
        assertThrows(IllegalStateException.class, () -> pool.acquire());
        IllegalStateException contextClosed = assertThrows(IllegalStateException.class, leased::contextLength);
        assertEquals("context is closed", contextClosed.getMessage());
    }

    @Test
    void aContextItsHolderClosedIsReplaced() throws Exception {
        try (ContextPool pool = ContextPool.eager(model, SMALL, 1)) {
            Context closedByHolder;
            try (ContextPool.Lease lease = pool.acquire(Duration.ZERO)) {
                closedByHolder = lease.context();
                closedByHolder.close();
            }
            try (ContextPool.Lease lease = pool.acquire(Duration.ZERO)) {
                assertNotSame(closedByHolder, lease.context());
                assertEquals(greedy, lease.context().generate(PROMPT, 12, SamplerChain.greedy(), null).text());
            }
        }
    }

    @Test
    void badArgumentsAndInterruptionAreRefused() throws Exception {
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> ContextPool.lazy(model, SMALL, 0));
        assertEquals("a context pool needs at least one context, got size 0", size.getMessage());
        try (ContextPool pool = ContextPool.lazy(model, SMALL, 1)) {
            IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                    () -> pool.acquire(Duration.ofMillis(-1)));
            assertEquals("timeout must not be negative, got PT-0.001S", negative.getMessage());
            try (ContextPool.Lease held = pool.acquire(Duration.ofDays(365_000_000))) { // longer than nanoseconds count
                Thread.currentThread().interrupt();
                assertThrows(InterruptedException.class, () -> pool.acquire(Duration.ofSeconds(30)));
                assertFalse(Thread.interrupted(), "the interrupt was consumed by the exception");
                assertEquals(greedy, held.context().generate(PROMPT, 12, SamplerChain.greedy(), null).text());
            }
        }
    }

    @Test
    void applyRunsOnALeasedContextAndGivesItBackEvenWhenTheWorkThrows() {
        try (ContextPool pool = ContextPool.lazy(model, SMALL, 1)) {
            assertEquals(greedy, pool.apply(c -> c.generate(PROMPT, 12, SamplerChain.greedy(), null).text()));
            assertEquals(0, pool.leased());
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pool.apply(c -> {
                throw new IllegalStateException("work failed");
            }));
            assertEquals("work failed", thrown.getMessage());
            assertEquals(0, pool.leased(), "the lease closed with the exception");
            try (ContextPool.Lease held = pool.acquire(Duration.ZERO)) {
                Thread.currentThread().interrupt(); // an interrupted wait becomes a LlamaException and keeps the interrupt
                LlamaException interrupted = assertThrows(LlamaException.class, () -> pool.apply(c -> "never"));
                assertEquals("interrupted while waiting for a free context of stories260K.gguf", interrupted.getMessage());
                assertTrue(Thread.interrupted());
            } catch (InterruptedException e) {
                throw new AssertionError("acquire(ZERO) with a free context does not wait", e);
            }
        }
    }
}
