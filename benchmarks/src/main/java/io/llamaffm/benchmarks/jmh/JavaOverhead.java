package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Context;
import io.llamaffm.Generation;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The library's Java-side time per generated token: {@link Generation#nextToken()} against the same native calls made
 * straight through the bindings ({@link NativeLlama#nextToken()}), in blocks of tokens that alternate between the two
 * in one thread, so that whatever the machine does at a moment hits both alike. Each block is timed by the thread's
 * CPU time (one ggml thread: llama.cpp computes on the calling thread, and time spent waiting for a core is left out)
 * and by the wall clock. The two run the same position schedule: the prompt, then tokens until the 256-token cache is
 * full, then the prompt again (outside the timed blocks). Prints the median and a bootstrap 95% interval of the
 * per-token difference for the greedy and the typical chain.
 *
 * <pre>java -cp benchmarks/target/llama-ffm-jmh.jar io.llamaffm.benchmarks.jmh.JavaOverhead [ROUNDS] [MODEL] [OUT]</pre>
 */
public final class JavaOverhead {
    private static final int BLOCK = 50;         // tokens per timed block: the 251-token window holds 5 of them
    private static final int WARMUP_WINDOWS = 40; // about 10 000 tokens each: the JIT compiles both loops
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private JavaOverhead() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 400;
        Path modelPath = Fixture.model(args.length > 1 ? args[1] : Fixture.DEFAULT_MODEL);
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "Java-side time per generated token: Generation.nextToken minus the same native calls through the bindings%n"
                        + "%s, %d-token cache, %d thread, %d alternating blocks of %d tokens per side (CPU time of the thread; wall clock)%n%n",
                modelPath.getFileName(), Fixture.CONTEXT_LENGTH, Fixture.THREADS, rounds, BLOCK));
        out.append("| chain | native µs/token (CPU) | nextToken µs/token (CPU) | Java overhead µs/token (CPU), median [95% CI] "
                + "| Java overhead µs/token (wall), median [95% CI] |\n|---|---|---|---|---|\n");
        try (Model m = Model.load(modelPath);
             Context ctx = m.newContext(Fixture.contextParams());
             NativeLlama llama = new NativeLlama(modelPath, Fixture.CONTEXT_LENGTH, Fixture.THREADS)) {
            Fixture.checkContext(ctx, llama);
            int[] prompt = m.tokenizer().encode(Fixture.PROMPT);
            System.out.print(out);
            for (String chain : new String[] {Fixture.GREEDY, Fixture.TYPICAL}) {
                String row = measure(ctx, llama, prompt, chain, rounds);
                System.out.print(row);
                out.append(row);
            }
        }
        if (args.length > 2) {
            Files.writeString(Path.of(args[2]), out.toString());
        }
    }

    private static String measure(Context ctx, NativeLlama llama, int[] prompt, String chainName, int rounds) {
        SamplerChain chain = Fixture.chain(chainName);
        GenerationParams params = GenerationParams.defaults().withMaxTokens(Integer.MAX_VALUE).withIgnoreEos(true);
        llama.useChain(chainName);
        llama.start(prompt);
        Generation g = ctx.start(prompt, params, chain);
        try {
            int window = llama.remaining();
            for (int i = 0; i < WARMUP_WINDOWS * window; i++) {
                if (g.nextToken() < 0) {
                    g.close();
                    g = ctx.start(prompt, params, chain);
                }
                llama.nextToken();
            }
            g.close();
            g = ctx.start(prompt, params, chain);
            llama.restart();
            double[] oursCpu = new double[rounds];
            double[] nativeCpu = new double[rounds];
            double[] diffCpu = new double[rounds];
            double[] diffWall = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                if (llama.remaining() < BLOCK) { // both at the end of the window: start again, untimed
                    g.close();
                    g = ctx.start(prompt, params, chain);
                    llama.restart();
                }
                long[] ours;
                long[] base;
                if ((r & 1) == 0) {
                    ours = timeOurs(g);
                    base = timeNative(llama);
                } else {
                    base = timeNative(llama);
                    ours = timeOurs(g);
                }
                oursCpu[r] = ours[0] / 1e3 / BLOCK;
                nativeCpu[r] = base[0] / 1e3 / BLOCK;
                diffCpu[r] = (ours[0] - base[0]) / 1e3 / BLOCK;
                diffWall[r] = (ours[1] - base[1]) / 1e3 / BLOCK;
            }
            if (ctx.cachedTokens().length != llama.contextLength() - llama.remaining()) {
                throw new IllegalStateException("the two sides are at different positions");
            }
            double[] cpuCi = bootstrapMedian(diffCpu);
            double[] wallCi = bootstrapMedian(diffWall);
            return String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2f [%.2f, %.2f] | %.2f [%.2f, %.2f] |%n", chainName,
                    median(nativeCpu), median(oursCpu), median(diffCpu), cpuCi[0], cpuCi[1], median(diffWall), wallCi[0], wallCi[1]);
        } finally {
            g.close();
        }
    }

    /** CPU and wall nanoseconds of one block of {@link Generation#nextToken()}. */
    private static long[] timeOurs(Generation g) {
        long cpu = THREADS.getCurrentThreadCpuTime();
        long wall = System.nanoTime();
        for (int i = 0; i < BLOCK; i++) {
            if (g.nextToken() < 0) {
                throw new IllegalStateException("the generation ended inside a block: " + g.stopReason());
            }
        }
        return new long[] {THREADS.getCurrentThreadCpuTime() - cpu, System.nanoTime() - wall};
    }

    private static long[] timeNative(NativeLlama llama) {
        long cpu = THREADS.getCurrentThreadCpuTime();
        long wall = System.nanoTime();
        for (int i = 0; i < BLOCK; i++) {
            llama.nextToken();
        }
        return new long[] {THREADS.getCurrentThreadCpuTime() - cpu, System.nanoTime() - wall};
    }

    /** 95% interval of the median by resampling (2000 resamples, fixed seed). */
    private static double[] bootstrapMedian(double[] v) {
        SplittableRandom random = new SplittableRandom(1);
        double[] medians = new double[2000];
        double[] sample = new double[v.length];
        for (int b = 0; b < medians.length; b++) {
            for (int i = 0; i < v.length; i++) {
                sample[i] = v[random.nextInt(v.length)];
            }
            medians[b] = median(sample);
        }
        Arrays.sort(medians);
        return new double[] {medians[(int) (medians.length * 0.025)], medians[(int) (medians.length * 0.975) - 1]};
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
