package io.llamaffm;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The polling level reaches ggml's CPU thread pool: after a generation, the context's worker thread busy-waits for
 * the next computation as long as the level says, and the process's CPU time while the decoding thread sleeps shows
 * it. At the default level the worker is asleep within milliseconds; at 100 it spins for a large part of a second
 * (13 million pause instructions). Generated text is the same at every level.
 */
class ThreadPoolPollingIT {
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final long WINDOW_MS = 600;

    @Test
    void workersSleepSoonAfterAGenerationAtTheDefaultLevelAndSpinAtHighLevels() throws Exception {
        try (Model m = Model.load(TestEnv.stories())) {
            int[] prompt = m.tokenizer().encode("Once upon a time");
            long quiet = Long.MAX_VALUE;
            long idle = Long.MAX_VALUE;
            long spinning = 0;
            String text = null;
            for (int round = 0; round < 3; round++) {
                for (int level : new int[] {ContextParams.DEFAULT_POLLING, 0, 100}) {
                    try (Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(2).withPolling(level))) {
                        String generated = null;
                        for (int warm = 0; warm < 3; warm++) {
                            ctx.clear();
                            generated = ctx.generate(prompt, GenerationParams.defaults().withMaxTokens(40), SamplerChain.greedy(), piece -> { }).text();
                        }
                        if (text == null) {
                            text = generated;
                        }
                        assertEquals(text, generated, "polling level " + level + " changes the output");
                        long cpu = cpuWhileSleeping();
                        if (level == 100) {
                            spinning = Math.max(spinning, cpu);
                        } else if (level == 0) {
                            quiet = Math.min(quiet, cpu);
                        } else {
                            idle = Math.min(idle, cpu);
                        }
                    }
                }
            }
            // process CPU time is counted in scheduler ticks (10 ms here); the JVM's own threads add a little
            assertTrue(idle <= 20, "default polling: " + idle + " ms of CPU in the " + WINDOW_MS + " ms after a generation");
            assertTrue(quiet <= 20, "polling 0: " + quiet + " ms of CPU in the " + WINDOW_MS + " ms after a generation");
            assertTrue(spinning >= 40, "polling 100: only " + spinning + " ms of CPU in the " + WINDOW_MS + " ms after a generation");
        }
    }

    /** Milliseconds of process CPU time while this thread sleeps {@link #WINDOW_MS} right after the last decode. */
    private static long cpuWhileSleeping() throws InterruptedException {
        long before = OS.getProcessCpuTime();
        Thread.sleep(WINDOW_MS);
        return (OS.getProcessCpuTime() - before) / 1_000_000;
    }
}
