package io.llamaffm.benchmarks;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Generation;
import io.llamaffm.GenerationParams;
import io.llamaffm.Llama;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prompt processing and generation speed of llama-ffm next to native llama-bench (built from the same pinned
 * source), measured in one run on the same model and thread count. Prints a Markdown table with the ratios.
 *
 * <pre>java -jar llama-ffm-benchmarks.jar LLAMA_BENCH MODEL [THREADS] [REPETITIONS] [OUT.md]</pre>
 */
public final class SideBySide {
    private static final int PROMPT = 128;
    private static final int GENERATE = 128;

    private SideBySide() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: SideBySide LLAMA_BENCH MODEL [THREADS] [REPETITIONS] [OUT.md]");
            System.exit(2);
        }
        Path bench = Path.of(args[0]);
        Path model = Path.of(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 5;

        double[] nativePp = new double[reps];
        double[] nativeTg = new double[reps];
        double[] ffmPp = new double[reps];
        double[] ffmTg = new double[reps];
        try (Model m = Model.load(model);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(512).withBatchSize(512).withThreads(threads))) {
            int[] prompt = new int[PROMPT];
            for (int i = 0; i < PROMPT; i++) {
                prompt[i] = 3 + (i * 37) % (m.tokenizer().vocabularySize() - 3);
            }
            for (int w = 0; w < 40; w++) { // warm-up: let the JIT compile the decode loop (about 5 000 steps)
                measure(ctx, prompt, new double[1], new double[1], 0);
            }
            // alternate native and Java runs so that machine noise hits both alike
            for (int r = 0; r < reps; r++) {
                double[] n = llamaBench(bench, model, threads);
                nativePp[r] = n[0];
                nativeTg[r] = n[1];
                measure(ctx, prompt, ffmPp, ffmTg, r);
            }
        }
        String cpu = Llama.backendInfo().cpuVariant().orElse("?");
        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "model %s, %d threads, %d runs each (medians, alternated), CPU variant %s%n%n",
                model.getFileName(), threads, reps, cpu));
        md.append("| test | llama-bench (tokens/s) | llama-ffm (tokens/s) | llama-ffm / native |\n|---|---|---|---|\n");
        row(md, "pp" + PROMPT, nativePp, ffmPp);
        row(md, "tg" + GENERATE, nativeTg, ffmTg);
        System.out.print(md);
        if (args.length > 4) {
            Files.writeString(Path.of(args[4]), md.toString());
        }
    }

    /**
     * One repetition of ours, shaped like llama-bench's two tests: pp = a 128-token prompt decoded in one batch into
     * an empty cache; tg = 128 tokens generated one by one from an empty cache (a 1-token prompt), greedy, EOS ignored.
     */
    private static void measure(Context ctx, int[] prompt, double[] pp, double[] tg, int r) {
        ctx.clear();
        try (Generation g = ctx.start(prompt, GenerationParams.defaults().withMaxTokens(1), SamplerChain.greedy())) {
            pp[r] = g.timings().promptTokensPerSecond();
        }
        ctx.clear();
        GenerationParams params = GenerationParams.defaults().withMaxTokens(GENERATE + 1).withIgnoreEos(true);
        try (Generation g = ctx.start(new int[] {prompt[0]}, params, SamplerChain.greedy())) {
            while (g.nextToken() >= 0) {
                // tokens/s from the generation's own timings
            }
            tg[r] = g.timings().tokensPerSecond();
        }
    }

    /** Runs llama-bench once: [pp t/s, tg t/s]. */
    private static double[] llamaBench(Path bench, Path model, int threads) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(bench.toString(), "-m", model.toString(), "-p", Integer.toString(PROMPT), "-n",
                Integer.toString(GENERATE), "-t", Integer.toString(threads), "-r", "1", "-o", "json")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String json = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("llama-bench failed: " + json);
        }
        Matcher m = Pattern.compile("\"n_prompt\":\\s*(\\d+),\\s*\"n_gen\":\\s*(\\d+),[\\s\\S]*?\"avg_ts\":\\s*([0-9.]+)").matcher(json);
        double pp = -1;
        double tg = -1;
        while (m.find()) {
            if (Integer.parseInt(m.group(1)) > 0) {
                pp = Double.parseDouble(m.group(3));
            } else {
                tg = Double.parseDouble(m.group(3));
            }
        }
        if (pp < 0 || tg < 0) {
            throw new IOException("unexpected llama-bench output: " + json);
        }
        return new double[] {pp, tg};
    }

    private static void row(StringBuilder md, String test, double[] nativeTs, double[] ffmTs) {
        double n = median(nativeTs);
        double f = median(ffmTs);
        md.append(String.format(Locale.ROOT, "| %s | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) | %.3f |%n", test, n, min(nativeTs),
                max(nativeTs), f, min(ffmTs), max(ffmTs), f / n));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElseThrow();
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElseThrow();
    }
}
