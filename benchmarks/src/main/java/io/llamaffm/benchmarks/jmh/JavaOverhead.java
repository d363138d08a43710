package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Context;
import io.llamaffm.Generation;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.TensorInfo;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The library's Java-side time per generated token: {@link Generation#nextToken()} against the same native calls made
 * straight through the bindings ({@link NativeLlama#nextToken()}), in blocks of tokens that alternate between the two
 * in one thread, so that whatever the machine does at a moment hits both alike. Each block is timed by the thread's
 * CPU time (one ggml thread: llama.cpp computes on the calling thread, and time spent waiting for a core is left out)
 * and by the wall clock. Both run the same position schedule: the prompt, then tokens until the 256-token cache is
 * full, then the prompt again (outside the timed blocks). A control row runs the bindings against a second copy of
 * themselves the same way: its difference shows what the method reads when there is nothing to find. Everything runs
 * on the model and on a copy of it cut to its first block, whose cheaper decode lets the difference show more finely.
 *
 * <pre>java -cp benchmarks/target/llama-ffm-jmh.jar io.llamaffm.benchmarks.jmh.JavaOverhead [ROUNDS] [MODEL]</pre>
 */
public final class JavaOverhead {
    private static final int BLOCK = 50;          // tokens per timed block: the 251-token window holds 5 of them
    private static final int WARMUP_WINDOWS = 40; // about 10 000 tokens each: the JIT compiles both loops
    private static final int SESSIONS = 4;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** One side of the comparison: generates tokens one at a time, from a window of the cache. */
    private interface Tokens extends AutoCloseable {
        void nextToken();

        /** Starts again from the prompt (the prompt itself stays in the cache). */
        void restart();

        /** Tokens in the cache. */
        int position();

        @Override
        void close();
    }

    private JavaOverhead() {}

    public static void main(String[] args) throws IOException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 400;
        Path modelPath = Fixture.model(args.length > 1 ? args[1] : Fixture.DEFAULT_MODEL);
        System.out.printf(Locale.ROOT, "Java-side time per generated token: Generation.nextToken (B) minus the same native calls "
                        + "through the bindings (A)%n%d-token cache, %d thread, %d alternating blocks of %d tokens per side; "
                        + "µs per token; B − A: median of the paired block differences [bootstrap 95%% interval], mean%n%n",
                Fixture.CONTEXT_LENGTH, Fixture.THREADS, rounds, BLOCK);
        System.out.println("| model | chain | A | B | A (CPU) | B (CPU) | B − A (CPU): median [95%] | mean | B − A (wall): median [95%] |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        Path firstBlock = firstBlockOnly(modelPath);
        try {
            for (Path model : new Path[] {modelPath, firstBlock}) {
                String name = model == firstBlock ? modelPath.getFileName() + ", first block only" : modelPath.getFileName().toString();
                compareAll(model, name, rounds);
            }
        } finally {
            Files.deleteIfExists(firstBlock);
        }
    }

    /** The library against the bindings for both chains, then the bindings against themselves. */
    private static void compareAll(Path modelPath, String name, int rounds) {
        try (Model m = Model.load(modelPath)) {
            int[] prompt = m.tokenizer().encode(Fixture.PROMPT);
            for (String chain : new String[] {Fixture.GREEDY, Fixture.TYPICAL}) {
                System.out.print(compare(name, chain, "bindings", () -> bindings(modelPath, chain, prompt),
                        "nextToken", () -> library(m, chain, prompt), rounds));
            }
            System.out.print(compare(name, Fixture.GREEDY, "bindings", () -> bindings(modelPath, Fixture.GREEDY, prompt),
                    "bindings (control)", () -> bindings(modelPath, Fixture.GREEDY, prompt), rounds));
        }
    }

    /**
     * A copy of a llama-architecture model with only its first block: a valid model whose decode costs a fraction of
     * the original's, while the Java side of a token stays the same, so that the difference shows more finely.
     */
    private static Path firstBlockOnly(Path model) throws IOException {
        Path out = Files.createTempFile("llamaffm-first-block", ".gguf");
        try (GgufFile in = GgufFile.open(model)) {
            String arch = in.getString("general.architecture");
            GgufWriter w = new GgufWriter();
            in.metadata().forEach(w::put);
            w.putUInt32(arch + ".block_count", 1);
            for (TensorInfo t : in.tensors()) {
                if (!t.name().startsWith("blk.") || t.name().startsWith("blk.0.")) {
                    w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t));
                }
            }
            w.write(out);
        } catch (RuntimeException e) {
            Files.deleteIfExists(out);
            throw e;
        }
        return out;
    }

    private static Tokens library(Model m, String chainName, int[] prompt) {
        Context ctx = m.newContext(Fixture.contextParams());
        SamplerChain chain = Fixture.chain(chainName);
        GenerationParams params = GenerationParams.defaults().withMaxTokens(Integer.MAX_VALUE).withIgnoreEos(true);
        return new Tokens() {
            Generation g = ctx.start(prompt, params, chain);

            @Override
            public void nextToken() {
                if (g.nextToken() < 0) {
                    throw new IllegalStateException("the generation ended inside a block: " + g.stopReason());
                }
            }

            @Override
            public void restart() {
                g.close();
                g = ctx.start(prompt, params, chain);
            }

            @Override
            public int position() {
                return ctx.cachedTokens().length;
            }

            @Override
            public void close() {
                g.close();
                ctx.close();
            }
        };
    }

    private static Tokens bindings(Path modelPath, String chain, int[] prompt) {
        NativeLlama llama = new NativeLlama(modelPath, Fixture.CONTEXT_LENGTH, Fixture.THREADS);
        llama.useChain(chain);
        llama.start(prompt);
        return new Tokens() {
            @Override
            public void nextToken() {
                llama.nextToken();
            }

            @Override
            public void restart() {
                llama.restart();
            }

            @Override
            public int position() {
                return llama.contextLength() - llama.remaining();
            }

            @Override
            public void close() {
                llama.close();
            }
        };
    }

    /**
     * Times {@code rounds} pairs of blocks, alternating which side goes first, over {@link #SESSIONS} pairs of fresh
     * contexts (where llama.cpp's buffers land in memory changes the decode time of a context a little, and would
     * otherwise stay with one side for the whole run); the JIT is warmed up in the first.
     */
    private static String compare(String model, String chain, String nameA, Supplier<Tokens> sideA, String nameB,
                                  Supplier<Tokens> sideB, int rounds) {
        double[] cpuA = new double[rounds];
        double[] cpuB = new double[rounds];
        double[] diffCpu = new double[rounds];
        double[] diffWall = new double[rounds];
        for (int session = 0, r = 0; session < SESSIONS; session++) {
            try (Tokens a = sideA.get(); Tokens b = sideB.get()) {
                warmUp(a, b, session == 0 ? WARMUP_WINDOWS : 2);
                for (int end = rounds * (session + 1) / SESSIONS; r < end; r++) {
                    if (Fixture.CONTEXT_LENGTH - a.position() < BLOCK) { // both at the end of the window: again, untimed
                        a.restart();
                        b.restart();
                    }
                    long[] ta;
                    long[] tb;
                    if ((r & 1) == 0) {
                        ta = time(a);
                        tb = time(b);
                    } else {
                        tb = time(b);
                        ta = time(a);
                    }
                    cpuA[r] = ta[0] / 1e3 / BLOCK;
                    cpuB[r] = tb[0] / 1e3 / BLOCK;
                    diffCpu[r] = cpuB[r] - cpuA[r];
                    diffWall[r] = (tb[1] - ta[1]) / 1e3 / BLOCK;
                }
                if (a.position() != b.position()) {
                    throw new IllegalStateException("the two sides are at different positions: " + a.position() + ", " + b.position());
                }
            }
        }
        double[] cpuCi = bootstrapMedian(diffCpu);
        double[] wallCi = bootstrapMedian(diffWall);
        return String.format(Locale.ROOT, "| %s | %s | %s | %s | %.1f | %.1f | %.2f [%.2f, %.2f] | %.2f | %.2f [%.2f, %.2f] |%n",
                model, chain, nameA, nameB, median(cpuA), median(cpuB), median(diffCpu), cpuCi[0], cpuCi[1],
                Arrays.stream(diffCpu).average().orElseThrow(), median(diffWall), wallCi[0], wallCi[1]);
    }

    /** Whole windows of tokens on both sides, restarting both at the end of each. */
    private static void warmUp(Tokens a, Tokens b, int windows) {
        int window = Fixture.CONTEXT_LENGTH - a.position();
        for (int w = 0; w < windows; w++) {
            for (int i = 0; i + BLOCK <= window; i += BLOCK) {
                time(a);
                time(b);
            }
            a.restart();
            b.restart();
        }
    }

    /** CPU and wall nanoseconds of one block of tokens. */
    private static long[] time(Tokens side) {
        long cpu = THREADS.getCurrentThreadCpuTime();
        long wall = System.nanoTime();
        for (int i = 0; i < BLOCK; i++) {
            side.nextToken();
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
