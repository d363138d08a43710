package io.llamaffm.convert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Rank pooling (the reranking path) checked against an independent computation: no cross-encoder is reachable
 * from this machine, so the fixture is all-MiniLM-L6-v2 with a seeded classification head (llama.cpp's BERT rank
 * head: CLS row → dense + bias → tanh → dense + bias). The reference runs the same ONNX encoder in ONNX Runtime on
 * the same [CLS] query [SEP] document [SEP] ids and applies the same head in Java; the scores must agree.
 */
class RerankIT {
    @TempDir
    static Path dir;

    @Test
    void rankScoresEqualTheClassificationHeadOverOnnxRuntimeHiddenStates() throws Exception {
        Path onnx = extract("all-minilm-l6-v2.onnx");
        Path tokenizer = extract("all-minilm-l6-v2-tokenizer.json");
        Path base = dir.resolve("minilm-f32.gguf");
        OnnxToGguf.convert(onnx, tokenizer, base, GgmlType.F32);
        int n = 384;
        Random rnd = new Random(7);
        float[] w1 = new float[n * n];
        float[] b1 = new float[n];
        float[] w2 = new float[n];
        for (int i = 0; i < w1.length; i++) {
            w1[i] = (float) (rnd.nextGaussian() * 0.05);
        }
        for (int i = 0; i < n; i++) {
            b1[i] = (float) (rnd.nextGaussian() * 0.05);
            w2[i] = (float) (rnd.nextGaussian() * 0.2);
        }
        float b2 = 0.25f;
        Path reranker = dir.resolve("minilm-rank.gguf");
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
            w.addTensor("cls.weight", GgmlType.F32, new long[] {n, n}, w1);
            w.addTensor("cls.bias", GgmlType.F32, new long[] {n}, b1);
            w.addTensor("cls.output.weight", GgmlType.F32, new long[] {n, 1}, w2);
            w.addTensor("cls.output.bias", GgmlType.F32, new long[] {1}, new float[] {b2});
            w.write(reranker);
        }

        String query = "How many people live in Berlin?";
        List<String> docs = List.of("Berlin has a population of 3,520,031 registered inhabitants.",
                "New York City is famous for the Metropolitan Museum of Art.", "Berlin is the capital of Germany.",
                "I like turtles.");
        float[] ours;
        List<int[]> pairs;
        try (Model m = Model.load(reranker);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(1024).withSequences(4).withThreads(2)
                     .withEmbeddings(true))) {
            ours = ctx.rank(query, docs, EmbeddingParams.defaults());
            int[] q = m.tokenizer().encode(query, true, false);
            pairs = docs.stream().map(d -> {
                int[] doc = m.tokenizer().encode(d, true, false);
                int[] pair = Arrays.copyOf(q, q.length + doc.length - 1);
                System.arraycopy(doc, 1, pair, q.length, doc.length - 1);
                return pair;
            }).toList();
            assertThrows(IllegalStateException.class, () -> ctx.embed("x", EmbeddingParams.defaults()), "a ranking context");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double[] reference = new double[docs.size()];
        try (OrtSession session = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            for (int i = 0; i < docs.size(); i++) {
                float[] cls = clsHidden(env, session, pairs.get(i));
                double score = b2;
                for (int o = 0; o < n; o++) {
                    double acc = b1[o];
                    for (int j = 0; j < n; j++) {
                        acc += (double) w1[o * n + j] * cls[j];
                    }
                    score += w2[o] * Math.tanh(acc);
                }
                System.out.printf("doc %d: llama-ffm %.6f, reference %.6f%n", i, ours[i], score);
                // the head sums 384 × 384 products of the encoder's output: 1e-6-level differences in the hidden state
                // (the cosines of the embedding tests) grow to about 1e-3 in the score
                assertEquals(score, ours[i], 3e-3, "document " + i);
                reference[i] = score;
            }
        }
        float[] oursCopy = ours;
        java.util.Comparator<Integer> byOurs = java.util.Comparator.comparingDouble(i -> -oursCopy[i]);
        java.util.Comparator<Integer> byReference = java.util.Comparator.comparingDouble(i -> -reference[i]);
        List<Integer> idx = List.of(0, 1, 2, 3);
        assertEquals(idx.stream().sorted(byReference).toList(), idx.stream().sorted(byOurs).toList(), "same ranking");
        try (Model m = Model.load(base);
             Context ctx = m.newContext(ContextParams.defaults().withEmbeddings(true))) {
            assertThrows(IllegalStateException.class, () -> ctx.rank(query, docs, EmbeddingParams.defaults()),
                    "mean pooling cannot rank");
        }
    }

    /** The encoder's last hidden state of the [CLS] token, token types all 0 (as llama.cpp feeds them). */
    private static float[] clsHidden(OrtEnvironment env, OrtSession session, int[] ids) throws Exception {
        long[][] input = {Arrays.stream(ids).asLongStream().toArray()};
        long[][] mask = {new long[ids.length]};
        Arrays.fill(mask[0], 1);
        long[][] types = {new long[ids.length]};
        try (OnnxTensor a = OnnxTensor.createTensor(env, input);
             OnnxTensor b = OnnxTensor.createTensor(env, mask);
             OnnxTensor c = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            return ((float[][][]) r.get(0).getValue())[0][0];
        }
    }

    private static Path extract(String resource) throws Exception {
        Path p = dir.resolve(resource);
        try (InputStream in = RerankIT.class.getClassLoader().getResourceAsStream(resource)) {
            Files.copy(java.util.Objects.requireNonNull(in, resource + " (Maven artifact) missing"), p);
        }
        return p;
    }
}
