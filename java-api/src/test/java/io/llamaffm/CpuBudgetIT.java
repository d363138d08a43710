package io.llamaffm;

import io.llamaffm.internal.CpuThreadPool;
import org.junit.jupiter.api.Assumptions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several contexts in one JVM share one CPU budget: they attach the process's one ggml thread pool (per thread
 * count) and take turns computing, so four busy contexts neither add worker threads nor run slower in aggregate than
 * one context alone (before, each context had a pool of its own and four contexts put 4 × T spinning threads on the
 * cores). The output of each context is the same as alone.
 */
class CpuBudgetIT {
    private static final int THREADS = 2;
    private static final int TOKENS = 300;

    @Test
    void contextsShareOneThreadPool() throws Exception {
        try (Model m = Model.load(TestEnv.stories())) {
            ContextParams params = ContextParams.defaults().withContextLength(512).withThreads(THREADS + 1);
            try (Context first = m.newContext(params)) {
                first.generate("Once", 4, SamplerChain.greedy(), null); // the pool exists (created on first use)
                int before = nativeThreads();
                List<Context> more = new ArrayList<>();
                try {
                    for (int i = 0; i < 4; i++) {
                        Context c = m.newContext(params);
                        more.add(c);
                        c.generate("Once", 4, SamplerChain.greedy(), null);
                    }
                    assertEquals(before, nativeThreads(), "four more contexts started threads of their own");
                } finally {
                    more.forEach(Context::close);
                }
            }
        }
    }

    @Test
    void fourBusyContextsAreNotSlowerInAggregateThanOne() throws Exception {
        try (Model m = Model.load(TestEnv.stories())) {
            ContextParams params = ContextParams.defaults().withContextLength(TOKENS + 16).withThreads(THREADS);
            GenerationParams gen = GenerationParams.defaults().withMaxTokens(TOKENS).withIgnoreEos(true);
            int[] prompt = m.tokenizer().encode("Once upon a time");
            List<Context> contexts = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                for (int i = 0; i < 4; i++) {
                    contexts.add(m.newContext(params));
                }
                String alone = contexts.getFirst().generate(prompt, gen, SamplerChain.greedy(), null).text();
                double[] ratios = new double[9];
                for (int round = 0; round < ratios.length; round++) {
                    double single = tokensPerSecond(pool, contexts.subList(0, 1), prompt, gen, alone);
                    double four = tokensPerSecond(pool, contexts, prompt, gen, alone);
                    ratios[round] = four / single;
                    System.out.printf("round %d: 1 context %.0f tokens/s, 4 contexts %.0f tokens/s (x%.2f)%n", round, single, four,
                            ratios[round]);
                }
                Arrays.sort(ratios);
                // the median of paired ratios (this VM's speed drifts, and a round now and then runs at a hundredth of
                // the usual speed on both sides); 4 contexts taking turns give ~1.0x of one on a quiet machine, where
                // separate pools gave 0.07x; 0.8 leaves room for the noise
                assertTrue(ratios[ratios.length / 2] >= 0.8, "4 busy contexts / 1 context, median of paired rounds: "
                        + ratios[ratios.length / 2] + " " + Arrays.toString(ratios));
            } finally {
                pool.shutdownNow();
                contexts.forEach(Context::close);
            }
        }
    }

    @Test
    void turnsTakeAsManyCoresAsThreadsAndReuseIdlePools() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        try (Model m = Model.load(TestEnv.stories())) { // the CPU backend is loaded: pools can be made
            m.tokenizer();
            CpuThreadPool.Turn first = CpuThreadPool.take(1, 1);
            assertTrue(CpuThreadPool.take(1, 1) == first, "a thread in its turn gets the same turn again");
            CpuThreadPool.give(first);
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                if (cores >= 2) { // one core each: a second 1-thread computation runs beside the first, on a pool of its own
                    CpuThreadPool.Turn second = other.submit(() -> CpuThreadPool.take(1, 1)).get(10, TimeUnit.SECONDS);
                    assertFalse(second.pool().equals(first.pool()) && !first.pool().equals(java.lang.foreign.MemorySegment.NULL),
                            "two turns at once never share a pool");
                    other.submit(() -> CpuThreadPool.give(second)).get(10, TimeUnit.SECONDS);
                }
                // every core: waits until the turns holding cores are given back
                Future<CpuThreadPool.Turn> all = other.submit(() -> CpuThreadPool.take(cores, 1));
                assertThrows(TimeoutException.class, () -> all.get(300, TimeUnit.MILLISECONDS));
                CpuThreadPool.give(first);
                CpuThreadPool.Turn whole = all.get(10, TimeUnit.SECONDS);
                other.submit(() -> CpuThreadPool.give(whole)).get(10, TimeUnit.SECONDS);
                // an idle pool of the shape is reused, not made again
                CpuThreadPool.Turn again = CpuThreadPool.take(1, 1);
                assertTrue(again.pool().equals(first.pool()), "the idle pool is reused");
                CpuThreadPool.give(again);
            } finally {
                other.shutdownNow();
            }
        }
    }

    @Test
    void contextsOfFewerThreadsThanCoresComputeSideBySide() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        Assumptions.assumeTrue(cores >= 2, "one core: nothing to run side by side");
        try (Model m = Model.load(TestEnv.stories())) {
            ContextParams params = ContextParams.defaults().withContextLength(TOKENS + 16).withThreads(1);
            GenerationParams gen = GenerationParams.defaults().withMaxTokens(TOKENS).withIgnoreEos(true);
            int[] prompt = m.tokenizer().encode("Once upon a time");
            List<Context> contexts = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int i = 0; i < 2; i++) {
                    contexts.add(m.newContext(params));
                }
                String alone = contexts.getFirst().generate(prompt, gen, SamplerChain.greedy(), null).text();
                double[] ratios = new double[7];
                for (int round = 0; round < ratios.length; round++) {
                    double single = tokensPerSecond(pool, contexts.subList(0, 1), prompt, gen, alone);
                    double two = tokensPerSecond(pool, contexts, prompt, gen, alone);
                    ratios[round] = two / single;
                    System.out.printf("round %d: 1 context of 1 thread %.0f tokens/s, 2 at once %.0f tokens/s (x%.2f)%n", round,
                            single, two, ratios[round]);
                }
                Arrays.sort(ratios);
                // two 1-thread contexts on two cores: ~2x when they run side by side, ~1x if they took turns
                assertTrue(ratios[ratios.length / 2] >= 1.3, "2 contexts of 1 thread / 1, median of paired rounds: "
                        + ratios[ratios.length / 2] + " " + Arrays.toString(ratios));
            } finally {
                pool.shutdownNow();
                contexts.forEach(Context::close);
            }
        }
    }

    /** Aggregate generated tokens per second of the contexts generating at once; each must write {@code expected}. */
    private static double tokensPerSecond(ExecutorService pool, List<Context> contexts, int[] prompt, GenerationParams gen,
                                          String expected) throws Exception {
        long start = System.nanoTime();
        List<Future<Completion>> runs = new ArrayList<>();
        for (Context c : contexts) {
            runs.add(pool.submit(() -> {
                c.clear();
                return c.generate(prompt, gen, SamplerChain.greedy(), null);
            }));
        }
        int tokens = 0;
        for (Future<Completion> f : runs) {
            Completion c = f.get();
            assertEquals(expected, c.text());
            tokens += c.tokens().length;
        }
        return tokens / ((System.nanoTime() - start) / 1e9);
    }

    /** The threads of this process, as the kernel counts them (Java and native). */
    private static int nativeThreads() throws Exception {
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
            return (int) tasks.count();
        }
    }

    static {
        ManagementFactory.getRuntimeMXBean(); // JMX's threads start now, not between the counts
    }
}
