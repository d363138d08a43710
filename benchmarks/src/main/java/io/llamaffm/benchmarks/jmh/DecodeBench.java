package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Model;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;


/**
 * One decode step alone: a one-token batch, prepared once, decoded at the next position of a cache holding
 * {@code position} tokens, then dropped from the cache again so every step decodes at the same position. The default
 * position, 128, is the middle of {@link GenerationBench}'s schedule (attention cost grows with the position), so this
 * is about the decode share of a generated token there; the rest is sampling, the token's text, and the library's Java
 * code.
 */
@State(Scope.Thread)
public class DecodeBench extends Defaults {
    @Param("128")
    int position;
    @Param(Fixture.DEFAULT_MODEL)
    String model;

    private Model loader;
    private NativeLlama llama;
    private int token;

    @Setup(Level.Trial)
    public void open() {
        if (position < 1 || position >= Fixture.CONTEXT_LENGTH) {
            throw new IllegalArgumentException("position must be in 1.." + (Fixture.CONTEXT_LENGTH - 1));
        }
        loader = Model.load(Fixture.model(model));
        llama = new NativeLlama(Fixture.model(model), Fixture.CONTEXT_LENGTH, Fixture.THREADS);
        llama.useChain(Fixture.GREEDY);
        int[] text = loader.tokenizer().encode(Fixture.TEXT);
        int[] prompt = new int[position]; // one batch
        for (int i = 0; i < position; i++) {
            prompt[i] = text[i % text.length];
        }
        llama.start(prompt);
        token = text[1];
    }

    @Benchmark
    public int nativeDecodeStep() {
        return llama.decodeStep(token);
    }

    @TearDown(Level.Trial)
    public void close() {
        llama.close();
        loader.close();
    }
}
