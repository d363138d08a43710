package io.llamaffm.benchmarks.jmh;

import io.llamaffm.ContextParams;
import io.llamaffm.SamplerChain;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the JMH benchmarks share: the model, the texts, the two sampler chains, and contexts of one thread (ggml's
 * worker threads would only add noise on a shared machine; the library's overhead does not depend on them).
 */
final class Fixture {
    /** {@code -p model=PATH} overrides it; the default is the project's test model, relative to the repository root. */
    static final String DEFAULT_MODEL = "../shared/models/stories260K.gguf";
    static final String GREEDY = "greedy";
    static final String TYPICAL = "typical";
    static final int TOP_K = 40;
    static final float TOP_P = 0.95f;
    static final float TEMPERATURE = 0.8f;
    static final int SEED = 42;
    static final int THREADS = 1;
    /**
     * The generation benchmarks start again from the prompt when the cache is full: llama.cpp's smallest cache keeps
     * the tokens cheap (attention grows with the position), so that the Java side's share shows.
     */
    static final int CONTEXT_LENGTH = 256;
    static final String PROMPT = "Once upon a time";

    /** An English text of about 100 tokens (110 with stories260K's vocabulary, BOS included). */
    static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park "
            + "with her friends. One day, she saw a big red ball under a tree. She ran to get it, but a small dog took it "
            + "first. Lily was sad, so her mom gave her a hug and they went home to eat cookies.";

    private Fixture() {}

    static Path model(String path) {
        Path p = Path.of(path);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("model not found: " + p.toAbsolutePath()
                    + " (run from the repository root with ../shared/models beside it, or pass -p model=PATH)");
        }
        return p;
    }

    static ContextParams contextParams() {
        return ContextParams.defaults().withContextLength(CONTEXT_LENGTH).withThreads(THREADS);
    }

    /** {@code greedy}: the most probable token; {@code typical}: top-k 40, top-p 0.95, temperature 0.8, seeded draw. */
    static SamplerChain chain(String name) {
        return switch (name) {
            case GREEDY -> SamplerChain.greedy();
            case TYPICAL -> SamplerChain.of(new SamplerChain.TopK(TOP_K), new SamplerChain.TopP(TOP_P, 1),
                    new SamplerChain.Temperature(TEMPERATURE), new SamplerChain.Dist(SEED));
            default -> throw new IllegalArgumentException("unknown chain " + name);
        };
    }
}
