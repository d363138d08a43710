package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Model;
import io.llamaffm.StreamingDecoder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Streaming detokenization, one token per operation, cycling through the tokens of an English text of about 100
 * tokens: {@link StreamingDecoder#push(int)} (a String per token) and the reusable-buffer form, against
 * llama_token_to_piece alone into a native buffer.
 */
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@State(Scope.Thread)
public class DetokenizeBench extends Defaults {
    @Param(Fixture.DEFAULT_MODEL)
    String model;

    private Model m;
    private NativeLlama llama;
    private StreamingDecoder decoder;
    private final StringBuilder text = new StringBuilder();
    private int[] tokens;
    private int next;

    @Setup(Level.Trial)
    public void open() {
        m = Model.load(Fixture.model(model));
        llama = new NativeLlama(Fixture.model(model), 512, Fixture.THREADS);
        decoder = m.tokenizer().streamingDecoder();
        tokens = m.tokenizer().encode(Fixture.TEXT);
    }

    private int token() {
        int t = tokens[next];
        next = next + 1 == tokens.length ? 0 : next + 1;
        return t;
    }

    @Benchmark
    public String ffmPush() {
        return decoder.push(token());
    }

    @Benchmark
    public int ffmPushInto() {
        text.setLength(0);
        return decoder.push(token(), text);
    }

    @Benchmark
    public int nativePiece() {
        return llama.piece(token());
    }

    @TearDown(Level.Trial)
    public void close() {
        llama.close();
        m.close();
    }
}
