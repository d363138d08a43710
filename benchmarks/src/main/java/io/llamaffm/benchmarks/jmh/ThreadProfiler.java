package io.llamaffm.benchmarks.jmh;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code -prof io.llamaffm.benchmarks.jmh.ThreadProfiler}: CPU time and heap allocation of the benchmark's own threads
 * (JMH's workers) per operation. With one ggml thread, llama.cpp computes on the calling thread, so {@code thread.cpu.norm}
 * holds the whole work of an operation while leaving out the time the thread waited for a core, which a machine shared
 * with other jobs makes noisy. {@code thread.alloc.norm} is {@code gc.alloc.rate.norm} without the allocations of JMH's
 * other threads, which matter when an operation is slow and an iteration holds few of them.
 */
public final class ThreadProfiler implements InternalProfiler {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Map<Long, long[]> before = Map.of();

    @Override
    public String getDescription() {
        return "CPU time and heap allocation of the benchmark threads per operation";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        before = snapshot();
    }

    @Override
    public List<? extends Result> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
                                                 IterationResult result) {
        long cpu = 0;
        long allocated = 0;
        for (Map.Entry<Long, long[]> e : snapshot().entrySet()) {
            long[] start = before.getOrDefault(e.getKey(), new long[2]); // a worker started during the iteration
            cpu += e.getValue()[0] - start[0];
            allocated += e.getValue()[1] - start[1];
        }
        long ops = result.getMetadata().getAllOps();
        if (ops == 0) {
            return List.of();
        }
        return List.of(new ScalarResult("thread.cpu.norm", (double) cpu / ops, "ns/op", AggregationPolicy.AVG),
                new ScalarResult("thread.alloc.norm", (double) allocated / ops, "B/op", AggregationPolicy.AVG));
    }

    /** CPU nanoseconds and allocated bytes of every live JMH worker thread, by thread id. */
    private static Map<Long, long[]> snapshot() {
        Map<Long, long[]> out = new HashMap<>();
        for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (t != null && t.getThreadName().contains("-jmh-worker-")) {
                long id = t.getThreadId();
                out.put(id, new long[] {THREADS.getThreadCpuTime(id), THREADS.getThreadAllocatedBytes(id)});
            }
        }
        return out;
    }
}
