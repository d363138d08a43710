package io.llamaffm.convert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

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
        Path base = MiniLmFixture.gguf(dir, GgmlType.F32);
        Path onnx = MiniLmFixture.extract("all-minilm-l6-v2.onnx", dir);
        MiniLmFixture.RankHead head = MiniLmFixture.RankHead.seeded(7);
        Path reranker = head.writeReranker(base, dir.resolve("minilm-rank.gguf"));

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
                double score = head.score(clsHidden(env, session, pairs.get(i)));
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
}
