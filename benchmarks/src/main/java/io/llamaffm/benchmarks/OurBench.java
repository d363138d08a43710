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
 * 1-token prompt, greedy, end-of-generation ignored. Also runnable in a child JVM (main) so that another set of
 * native libraries (llamaffm.library.path) can be measured beside the default one.
 */
final class OurBench implements AutoCloseable {
    private final Model model;
    private final Context context;
    private final int vocabulary;

    OurBench(Path modelFile, int threads, int maxPrompt) {
        this(modelFile, threads, maxPrompt, ContextParams.DEFAULT_POLLING);
    }

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

    /** Runs pp and tg {@code rounds} times without recording them (JIT warm-up, as llama-bench's warm-up run). */
    void warmUp(int rounds, int[] promptSizes, int generate) {
        for (int i = 0; i < rounds; i++) {
            for (int p : promptSizes) {
                prompt(p);
            }
            generate(generate);
        }
    }

    @Override
    public void close() {
        context.close();
        model.close();
    }

    /**
     * Child mode: {@code OurBench MODEL THREADS REPS WARMUP GENERATE PROMPT...} prints one line per repetition,
     * {@code rep pp1 pp2 ... tg}, after a line {@code variant <cpu variant> <origin> <library dir>}.
     */
    public static void main(String[] args) {
        Path modelFile = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        int reps = Integer.parseInt(args[2]);
        int warmUp = Integer.parseInt(args[3]);
        int generate = Integer.parseInt(args[4]);
        int[] prompts = new int[args.length - 5];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = Integer.parseInt(args[5 + i]);
        }
        int max = java.util.Arrays.stream(prompts).max().orElse(128);
        try (OurBench b = new OurBench(modelFile, threads, max)) {
            BackendInfo info = Llama.backendInfo();
            System.out.println("variant " + info.cpuVariant().orElse("built-in") + " " + info.origin() + " " + info.nativeDirectory());
            b.warmUp(warmUp, prompts, generate);
            for (int r = 0; r < reps; r++) {
                StringBuilder line = new StringBuilder("rep");
                for (int p : prompts) {
                    line.append(String.format(Locale.ROOT, " %.3f", b.prompt(p)));
                }
                line.append(String.format(Locale.ROOT, " %.3f", b.generate(generate)));
                System.out.println(line);
            }
        }
    }
}
