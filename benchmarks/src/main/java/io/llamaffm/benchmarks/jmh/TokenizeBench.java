package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Model;
import io.llamaffm.Tokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Tokenizing an English text of about 100 tokens: {@link Tokenizer#encode(String)} (String to token ids, BOS added,
 * special tokens parsed) against llama_tokenize alone, on UTF-8 bytes and a token buffer prepared in native memory.
 */
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@State(Scope.Thread)
public class TokenizeBench extends Defaults {
    @Param(Fixture.DEFAULT_MODEL)
    String model;

    private Model m;
    private Tokenizer tokenizer;
    private NativeLlama llama;
    private Arena arena;
    private MemorySegment utf8;
    private int utf8Length;
    private MemorySegment tokens;

    @Setup(Level.Trial)
    public void open() {
        m = Model.load(Fixture.model(model));
        tokenizer = m.tokenizer();
        llama = new NativeLlama(Fixture.model(model), 512, Fixture.THREADS);
        arena = Arena.ofConfined();
        byte[] bytes = Fixture.TEXT.getBytes(StandardCharsets.UTF_8);
        utf8 = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, utf8, ValueLayout.JAVA_BYTE, 0, bytes.length);
        utf8Length = bytes.length;
        tokens = arena.allocate(ValueLayout.JAVA_INT, bytes.length + 8);
        int ours = tokenizer.encode(Fixture.TEXT).length;
        int theirs = llama.tokenize(utf8, utf8Length, tokens, utf8Length + 8);
        if (ours != theirs) {
            throw new IllegalStateException("the library made " + ours + " tokens, llama_tokenize " + theirs);
        }
    }

    @Benchmark
    public int[] ffmEncode() {
        return tokenizer.encode(Fixture.TEXT);
    }

    @Benchmark
    public int nativeTokenize() {
        return llama.tokenize(utf8, utf8Length, tokens, utf8Length + 8);
    }

    @TearDown(Level.Trial)
    public void close() {
        arena.close();
        llama.close();
        m.close();
    }
}
