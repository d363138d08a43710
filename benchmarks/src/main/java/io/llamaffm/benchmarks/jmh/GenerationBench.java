package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Context;
import io.llamaffm.Generation;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;


/**
 * One generated token: {@link Generation#nextToken()} (sample, end-of-generation check, text, decode) against the same
 * native calls made straight through the bindings ({@link NativeLlama#nextToken()}); the difference is the library's
 * Java-side time per token. Both run the same position schedule: from the prompt until the 256-token cache is full,
 * then again from the prompt (the prompt itself reused from the cache). End-of-generation tokens are ignored, stop
 * strings are off. The benchmark for a fixed position is {@link DecodeBench}.
 */
@Warmup(iterations = 5, time = 3)
public class GenerationBench extends Defaults {

    /** The library's generation loop. */
    @State(Scope.Thread)
    public static class Library {
        @Param({Fixture.GREEDY, Fixture.TYPICAL})
        String chain;
        @Param(Fixture.DEFAULT_MODEL)
        String model;

        Model m;
        Context ctx;
        int[] prompt;
        GenerationParams params;
        SamplerChain sampler;
        Generation generation;

        @Setup(Level.Trial)
        public void open() {
            m = Model.load(Fixture.model(model));
            ctx = m.newContext(Fixture.contextParams());
            prompt = m.tokenizer().encode(Fixture.PROMPT);
            params = GenerationParams.defaults().withMaxTokens(Integer.MAX_VALUE).withIgnoreEos(true);
            sampler = Fixture.chain(chain);
            generation = ctx.start(prompt, params, sampler);
        }

        int nextToken() {
            int t = generation.nextToken();
            if (t < 0) { // the cache is full: start again from the prompt
                generation.close();
                generation = ctx.start(prompt, params, sampler);
                t = generation.nextToken();
            }
            return t;
        }

        @TearDown(Level.Trial)
        public void close() {
            generation.close();
            ctx.close();
            m.close();
        }
    }

    /** The same native calls through the bindings. */
    @State(Scope.Thread)
    public static class Native {
        @Param({Fixture.GREEDY, Fixture.TYPICAL})
        String chain;
        @Param(Fixture.DEFAULT_MODEL)
        String model;

        Model loader; // loads the natives
        NativeLlama llama;

        @Setup(Level.Trial)
        public void open() {
            loader = Model.load(Fixture.model(model));
            llama = new NativeLlama(Fixture.model(model), Fixture.CONTEXT_LENGTH, Fixture.THREADS);
            llama.useChain(chain);
            llama.start(loader.tokenizer().encode(Fixture.PROMPT));
        }

        @TearDown(Level.Trial)
        public void close() {
            llama.close();
            loader.close();
        }
    }

    @Benchmark
    public int ffmNextToken(Library s) {
        return s.nextToken();
    }

    @Benchmark
    public int nativeNextToken(Native s) {
        return s.llama.nextToken();
    }
}
