package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Model;
import io.llamaffm.Sampler;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;


/**
 * The sampler chain over the model's logits for the prompt (one value per vocabulary token): {@link Sampler#sample(float[])}
 * against the same chain built and run through the bindings (candidates filled, llama_sampler_apply, accept).
 */
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@State(Scope.Thread)
public class SamplerBench extends Defaults {
    @Param({Fixture.GREEDY, Fixture.TYPICAL})
    String chain;
    @Param(Fixture.DEFAULT_MODEL)
    String model;

    private Model m;
    private NativeLlama llama;
    private Sampler sampler;
    private float[] logits;

    @Setup(Level.Trial)
    public void open() {
        m = Model.load(Fixture.model(model));
        llama = new NativeLlama(Fixture.model(model), 512, Fixture.THREADS);
        llama.useChain(chain);
        llama.start(m.tokenizer().encode(Fixture.PROMPT));
        logits = llama.logits();
        sampler = Sampler.create(m, Fixture.chain(chain));
    }

    @Benchmark
    public int ffmSample() {
        return sampler.sample(logits);
    }

    @Benchmark
    public int nativeSample() {
        return llama.sample(logits);
    }

    @TearDown(Level.Trial)
    public void close() {
        sampler.close();
        llama.close();
        m.close();
    }
}
