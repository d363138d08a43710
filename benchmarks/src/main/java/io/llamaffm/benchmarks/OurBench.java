package io.llamaffm.benchmarks;

import io.llamaffm.BackendInfo;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Generation;
import io.llamaffm.GenerationParams;
import io.llamaffm.Llama;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;

import java.nio.file.Path;
import java.util.Locale;

/**
 * llama-ffm doing llama-bench's work through the public API, on one model and context: pp = a prompt of N tokens
 * decoded into an empty cache (timed by the generation's own prompt timer); tg = tokens generated one by one from a
 * 1-token prompt, greedy, end-of-generation ignored. The side-by-side runner runs it in a child JVM of its own
 * ({@link #main}), which also lets another set of native libraries (llamaffm.library.path) be measured.
 */
final class OurBench implements AutoCloseable {
    private final Model model;
    private final Context context;
    private final int vocabulary;

    /** With the CPU thread pool's polling level {@code polling} (ContextParams.withPolling). */
    OurBench(Path modelFile, int threads, int maxPrompt, int polling) {
        this.model = Model.load(modelFile);
        try {
            int ctx = Math.max(1024, maxPrompt + 256);
            this.context = model.newContext(ContextParams.defaults().withContextLength(ctx).withBatchSize(Math.max(512, maxPrompt))
                    .withThreads(threads).withPolling(polling));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        this.vocabulary = model.tokenizer().vocabularySize();
    }

    /** Prompt tokens/s of one prompt of {@code size} tokens. */
    double prompt(int size) {
        int[] prompt = new int[size];
        for (int i = 0; i < size; i++) {
            prompt[i] = 3 + (i * 37) % (vocabulary - 3);
        }
        context.clear();
        try (Generation g = context.start(prompt, GenerationParams.defaults().withMaxTokens(1), SamplerChain.greedy())) {
            return g.timings().promptTokensPerSecond();
        }
    }

    /** Generated tokens/s of {@code tokens} greedy tokens after a 1-token prompt. */
    double generate(int tokens) {
        context.clear();
        GenerationParams params = GenerationParams.defaults().withMaxTokens(tokens + 1).withIgnoreEos(true);
        try (Generation g = context.start(new int[] {3}, params, SamplerChain.greedy())) {
            while (g.nextToken() >= 0) {
                // the generation's own timer measures from the first to the last token
            }
            return g.timings().tokensPerSecond();
        }
    }

    @Override
    public void close() {
        context.close();
        model.close();
    }

    /**
     * One repetition of llama-bench's tests, as {@code llama-bench -r runs} runs them: for each prompt size, then for
     * generation, one unmeasured run of the test (for generation a 1-token one, as llama-bench's) and {@code runs}
     * measured ones, whose mean tokens/s it reports (llama-bench's {@code avg_ts}). Returns tokens/s per prompt size,
     * then generation's.
     */
    double[] repetition(int[] promptSizes, int generate, int runs) {
        double[] out = new double[promptSizes.length + 1];
        for (int i = 0; i < promptSizes.length; i++) {
            prompt(promptSizes[i]);
            for (int r = 0; r < runs; r++) {
                out[i] += prompt(promptSizes[i]) / runs;
            }
        }
        generate(1);
        for (int r = 0; r < runs; r++) {
            out[promptSizes.length] += generate(generate) / runs;
        }
        return out;
    }

    /**
     * The child process the side-by-side runner measures llama-ffm in: {@code OurBench MODEL THREADS POLLING WARMUP
     * GENERATE PROMPT...} loads the model, warms up, prints {@code ready <cpu variant> <origin> <library dir>}, then
     * answers each line of standard input: {@code rep RUNS} with {@code rep <pp tokens/s>... <tg tokens/s>} (one
     * {@link #repetition} of RUNS runs per test), {@code idle MS} with {@code idle <CPU ms of this process while it slept MS ms>}. Exits at
     * the end of its input.
     */
    public static void main(String[] args) throws Exception {
        Path modelFile = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        int polling = Integer.parseInt(args[2]);
        int warmUp = Integer.parseInt(args[3]);
        int generate = Integer.parseInt(args[4]);
        int[] prompts = new int[args.length - 5];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = Integer.parseInt(args[5 + i]);
        }
        int max = java.util.Arrays.stream(prompts).max().orElse(128);
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8));
        try (OurBench b = new OurBench(modelFile, threads, max, polling)) {
            BackendInfo info = Llama.backendInfo();
            for (int i = 0; i < warmUp; i++) {
                b.repetition(prompts, generate, 1); // the very code measured, so that the JIT has compiled all of it
            }
            System.out.println("ready " + info.cpuVariant().orElse("built-in") + " " + info.origin() + " " + info.nativeDirectory());
            for (String request; (request = in.readLine()) != null; ) {
                String[] f = request.trim().split(" ");
                StringBuilder line = new StringBuilder(f[0]);
                switch (f[0]) {
                    case "rep" -> {
                        for (double v : b.repetition(prompts, generate, Integer.parseInt(f[1]))) {
                            line.append(String.format(Locale.ROOT, " %.3f", v));
                        }
                    }
                    case "idle" -> {
                        long before = os.getProcessCpuTime();
                        Thread.sleep(Long.parseLong(f[1]));
                        line.append(String.format(Locale.ROOT, " %.1f", (os.getProcessCpuTime() - before) / 1e6));
                    }
                    default -> throw new IllegalArgumentException("unknown request: " + request);
                }
                System.out.println(line);
            }
        }
    }
}
