package io.llamaffm.benchmarks.jmh;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.benchmarks.EmbeddingBench;
import io.llamaffm.convert.OnnxToGguf;
import io.llamaffm.gguf.GgmlType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * One embedding batch: 16 sentences of mixed length (the first of {@link EmbeddingBench#texts()}) through
 * {@link Context#embed(List, EmbeddingParams)}, mean-pooled and normalized, with all-MiniLM-L6-v2 (F32) converted from LangChain4j's ONNX artifact during setup. The speed
 * comparison with ONNX Runtime is {@code benchmarks/embeddings.sh}.
 */
@State(Scope.Thread)
public class EmbedBench extends Defaults {
    private static final int BATCH = 16;

    private Path dir;
    private Model m;
    private Context ctx;
    private List<String> texts;

    @Setup(Level.Trial)
    public void open() throws Exception {
        dir = Files.createTempDirectory("llamaffm-jmh-embed");
        Path onnx = EmbeddingBench.extract("all-minilm-l6-v2.onnx", dir);
        Path tokenizer = EmbeddingBench.extract("all-minilm-l6-v2-tokenizer.json", dir);
        Path gguf = dir.resolve("minilm.gguf");
        OnnxToGguf.convert(onnx, tokenizer, gguf, GgmlType.F32);
        m = Model.load(gguf);
        ctx = m.newContext(ContextParams.defaults().withContextLength(2048).withBatchSize(512).withSequences(BATCH)
                .withThreads(Fixture.THREADS).withEmbeddings(true));
        texts = EmbeddingBench.texts().subList(0, BATCH);
    }

    @Benchmark
    public List<Embedding> ffmEmbedBatch() {
        return ctx.embed(texts, EmbeddingParams.defaults());
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        ctx.close();
        m.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
