package io.llamaffm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One model shared by 8 threads, each with its own context: no crash, and every seed's output as single-threaded. */
class ConcurrencyIT {
    private static final String[] PROMPTS = {"Once upon a time", "The little dog", "Lily saw a bird", "Tom had a red car"};

    @Test
    void eightThreadsShareOneModel() throws Exception {
        int threads = 8;
        int generations = 1000;
        try (Model m = Model.load(TestEnv.stories())) {
            // the reference: every (prompt, seed) pair once, on this thread
            Map<String, String> reference = new ConcurrentHashMap<>();
            try (Context ctx = m.newContext(ContextParams.defaults().withContextLength(128).withThreads(1))) {
                for (int i = 0; i < PROMPTS.length * 10; i++) {
                    reference.put(key(i), ctx.generate(PROMPTS[i % PROMPTS.length], 8,
                            SamplerChain.sampling(0.9f, 40, 0.95f, 0.05f, seed(i)), null).text());
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int worker = t;
                done.add(pool.submit(() -> {
                    int checked = 0;
                    try (Context ctx = m.newContext(ContextParams.defaults().withContextLength(128).withThreads(1))) {
                        for (int g = worker; g < generations; g += threads) {
                            int i = g % (PROMPTS.length * 10);
                            String text = ctx.generate(PROMPTS[i % PROMPTS.length], 8,
                                    SamplerChain.sampling(0.9f, 40, 0.95f, 0.05f, seed(i)), null).text();
                            assertEquals(reference.get(key(i)), text, "generation " + g + " on thread " + worker);
                            m.tokenizer().encode(text); // the shared tokenizer, concurrently
                            checked++;
                        }
                    }
                    return checked;
                }));
            }
            pool.shutdown();
            assertTrue(pool.awaitTermination(10, TimeUnit.MINUTES), "timed out");
            int total = 0;
            for (Future<Integer> f : done) {
                total += f.get();
            }
            assertEquals(generations, total);
        }
    }

    private static int seed(int i) {
        return 1000 + i / PROMPTS.length;
    }

    private static String key(int i) {
        return PROMPTS[i % PROMPTS.length] + "#" + seed(i);
    }
}
