package io.llamaffm.convert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.embeddings.Similarity;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embeddings issue's acceptance checks, for all-MiniLM-L6-v2 (mean pooling) and bge-small-en-v1.5 (CLS pooling),
 * both converted from the ONNX files of their Maven Central artifacts: over 100+ varied sentences our tokenization
 * equals WordPiece over tokenizer.json's vocabulary, our embeddings (through the public {@link Context#embed} API,
 * batched) match ONNX Runtime on the same file (cosine ≥ 0.999 for F32/F16/BF16, ≥ 0.99 for Q8_0), retrieval returns the
 * same nearest neighbour, batched equals one by one, and a text longer than a batch follows the stated policy.
 */
class EmbeddingFidelityIT {
    enum Case {
        MINILM("all-minilm-l6-v2", OnnxToGguf.Pooling.MEAN), BGE_SMALL("bge-small-en-v1.5", OnnxToGguf.Pooling.CLS);

        final String resource;
        final OnnxToGguf.Pooling pooling;

        Case(String resource, OnnxToGguf.Pooling pooling) {
            this.resource = resource;
            this.pooling = pooling;
        }
    }

    static final List<String> SENTENCES = sentences();

    /** 120 varied sentences: short and long, punctuation, numbers, capitals, accents and other non-ASCII letters. */
    static List<String> sentences() {
        List<String> base = new ArrayList<>(OnnxToGgufIT.SENTENCES);
        base.addAll(List.of("Café au lait, s'il vous plaît!", "Der Bäcker backt frische Brötchen.", "¿Dónde está la estación?",
                "Zürich is a city in Switzerland.", "The naïve approach failed; the résumé was rejected.", "Tokyo 東京 is huge.",
                "Prices rose by 12.5% in Q3 2024.", "Call me at 555-0199 or e-mail info@example.com.", "OK", "Wow!!!",
                "a", "Yes.", "No way...", "(parenthetical remarks) [brackets] {braces}", "He said: \"never again\".",
                "Emoji are fun 🙂 but rare in news.", "Ångström units measure tiny lengths.", "São Paulo and Bogotá are large.",
                "THE WEATHER TODAY IS SUNNY AND WARM.", "the weather today is sunny and warm."));
        String[] subjects = {"The teacher", "A small robot", "My neighbour", "The committee", "A hungry fox", "The engineer"};
        String[] verbs = {"explained", "repaired", "ignored", "celebrated", "measured"};
        String[] objects = {"the new bridge design", "an old clock", "the quarterly report", "a broken violin", "the river's depth"};
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>(base);
        for (int i = 0; out.size() < 120; i++) { // every subject × verb × object combination is a different sentence
            String s = subjects[i % subjects.length] + " " + verbs[(i / subjects.length) % verbs.length] + " "
                    + objects[(i / (subjects.length * verbs.length)) % objects.length];
            out.add(i % 7 == 0 ? s + ", and then went home after a long and exhausting day at work." : s + ".");
        }
        return List.copyOf(out);
    }

    @TempDir
    static Path dir;

    @ParameterizedTest
    @EnumSource(Case.class)
    void fidelityAgainstOnnxRuntime(Case c) throws Exception {
        Path onnx = extract(c.resource + ".onnx");
        Path tokenizer = extract(c.resource + "-tokenizer.json");
        Map<String, Integer> vocab = vocab(tokenizer);

        List<int[]> ids = new ArrayList<>();
        List<float[]> reference = new ArrayList<>();
        Path f32 = dir.resolve(c.resource + "-f32.gguf");
        OnnxToGguf.convert(onnx, tokenizer, f32, OnnxToGguf.Options.defaults().withType(GgmlType.F32).withPooling(c.pooling));
        try (Model m = Model.load(f32)) {
            int mismatches = 0;
            for (String s : SENTENCES) {
                int[] ours = m.tokenizer().encode(s, true, false);
                int[] wordPiece = wordPiece(s, vocab);
                if (!Arrays.equals(ours, wordPiece)) {
                    mismatches++;
                    System.out.println(c + " tokenization differs for '" + s + "': " + Arrays.toString(ours) + " vs "
                            + Arrays.toString(wordPiece));
                }
                ids.add(ours);
            }
            assertEquals(0, mismatches, c + ": sentences tokenized differently from WordPiece");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long ortNanos;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(onnx.toString(), opts)) {
                long t0 = System.nanoTime();
                for (int[] t : ids) {
                    reference.add(ortEmbedding(env, session, t, c.pooling));
                }
                ortNanos = System.nanoTime() - t0;
            }
        }
        for (GgmlType type : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0)) {
            Path gguf = dir.resolve(c.resource + "-" + type + ".gguf");
            if (!Files.exists(gguf)) {
                OnnxToGguf.convert(onnx, tokenizer, gguf, OnnxToGguf.Options.defaults().withType(type).withPooling(c.pooling));
            }
            try (Model m = Model.load(gguf);
                 Context ctx = m.newContext(ContextParams.defaults().withContextLength(2048).withBatchSize(512)
                         .withSequences(16).withThreads(2).withEmbeddings(true))) {
                long t0 = System.nanoTime();
                List<Embedding> ours = ctx.embed(SENTENCES, EmbeddingParams.defaults());
                long oursNanos = System.nanoTime() - t0;
                double min = 1;
                double sum = 0;
                for (int i = 0; i < SENTENCES.size(); i++) {
                    double cos = Similarity.cosine(ours.get(i).vector(), reference.get(i));
                    min = Math.min(min, cos);
                    sum += cos;
                }
                System.out.printf(Locale.ROOT, "%s %s vs ONNX Runtime, %d sentences: min cosine %.6f, mean %.6f; "
                                + "%.0f embeddings/s batched (ONNX Runtime one by one: %.0f/s)%n", c, type, SENTENCES.size(), min,
                        sum / SENTENCES.size(), SENTENCES.size() / (oursNanos / 1e9), SENTENCES.size() / (ortNanos / 1e9));
                assertTrue(min >= (type == GgmlType.Q8_0 ? 0.99 : 0.999), c + " " + type + ": min cosine " + min);

                // retrieval: every sentence's nearest other sentence by our vectors is ONNX Runtime's nearest one too
                // (or ties with it within the tolerance the cosines themselves were checked to)
                int different = 0;
                int worse = 0;
                double tolerance = type == GgmlType.Q8_0 ? 0.02 : 2e-3;
                for (int q = 0; q < SENTENCES.size(); q++) {
                    int mine = nearest(q, ours.stream().map(Embedding::vector).toList());
                    int theirs = nearest(q, reference);
                    if (mine != theirs) {
                        different++;
                        double gap = Similarity.cosine(reference.get(q), reference.get(theirs))
                                - Similarity.cosine(reference.get(q), reference.get(mine));
                        if (gap > tolerance) {
                            worse++;
                        }
                    }
                }
                System.out.printf(Locale.ROOT, "%s %s retrieval: %d/%d nearest neighbours identical, %d near-ties, %d worse%n",
                        c, type, SENTENCES.size() - different, SENTENCES.size(), different - worse, worse);
                assertEquals(0, worse, c + " " + type + ": nearest neighbours that ONNX Runtime ranks clearly lower");

                if (type == GgmlType.F16) {
                    for (int i = 0; i < SENTENCES.size(); i += 7) {
                        float[] single = ctx.embed(SENTENCES.get(i), EmbeddingParams.defaults()).vector();
                        assertTrue(Similarity.cosine(single, ours.get(i).vector()) >= 0.9999, c + " batched vs single " + i);
                    }
                    String tooLong = "word ".repeat(600);
                    assertThrows(IllegalArgumentException.class, () -> ctx.embed(tooLong, EmbeddingParams.defaults()));
                    Embedding cut = ctx.embed(tooLong, EmbeddingParams.defaults().withLongInput(EmbeddingParams.LongInput.TRUNCATE));
                    assertTrue(cut.truncated());
                    assertEquals(512, cut.tokens());
                }
            }
        }
    }

    private static int nearest(int q, List<float[]> vectors) {
        int best = -1;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vectors.size(); i++) {
            if (i != q) {
                double s = Similarity.cosine(vectors.get(q), vectors.get(i));
                if (s > bestScore) {
                    bestScore = s;
                    best = i;
                }
            }
        }
        return best;
    }

    private static float[] ortEmbedding(OrtEnvironment env, OrtSession session, int[] ids, OnnxToGguf.Pooling pooling) throws Exception {
        long[][] inputIds = {Arrays.stream(ids).asLongStream().toArray()};
        long[][] mask = {new long[ids.length]};
        Arrays.fill(mask[0], 1);
        long[][] types = {new long[ids.length]};
        try (OnnxTensor a = OnnxTensor.createTensor(env, inputIds);
             OnnxTensor b = OnnxTensor.createTensor(env, mask);
             OnnxTensor t = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", t))) {
            float[][][] hidden = (float[][][]) r.get(0).getValue();
            float[] pooled;
            if (pooling == OnnxToGguf.Pooling.CLS) {
                pooled = hidden[0][0].clone();
            } else {
                pooled = new float[hidden[0][0].length];
                for (float[] token : hidden[0]) {
                    for (int j = 0; j < pooled.length; j++) {
                        pooled[j] += token[j] / ids.length;
                    }
                }
            }
            return Similarity.l2Normalize(pooled);
        }
    }

    /** BERT's basic tokenizer (NFD accent stripping, lower case, punctuation and CJK split) + greedy WordPiece. */
    static int[] wordPiece(String text, Map<String, Integer> vocab) {
        String norm = Normalizer.normalize(text.toLowerCase(Locale.ROOT), Normalizer.Form.NFD).replaceAll("\\p{Mn}", "");
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        for (int i = 0; i < norm.length(); ) {
            int cp = norm.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp)) {
                flush(w, words);
            } else if (isPunctuation(cp) || isCjk(cp)) {
                flush(w, words);
                words.add(new String(Character.toChars(cp)));
            } else if (cp == 0 || cp == 0xFFFD || Character.getType(cp) == Character.CONTROL) {
                // dropped, as BERT's tokenizer cleans them
            } else {
                w.appendCodePoint(cp);
            }
        }
        flush(w, words);
        List<Integer> ids = new ArrayList<>(List.of(vocab.get("[CLS]")));
        for (String word : words) {
            List<Integer> pieces = new ArrayList<>();
            int start = 0;
            while (start < word.length()) {
                int end = word.length();
                Integer id = null;
                while (end > start) {
                    id = vocab.get((start > 0 ? "##" : "") + word.substring(start, end));
                    if (id != null) {
                        break;
                    }
                    end--;
                }
                if (id == null) {
                    pieces = List.of(vocab.get("[UNK]"));
                    break;
                }
                pieces.add(id);
                start = end;
            }
            ids.addAll(pieces);
        }
        ids.add(vocab.get("[SEP]"));
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION
                || t == Character.FINAL_QUOTE_PUNCTUATION || t == Character.OTHER_PUNCTUATION;
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0xF900 && cp <= 0xFAFF);
    }

    private static void flush(StringBuilder w, List<String> words) {
        if (!w.isEmpty()) {
            words.add(w.toString());
        }
        w.setLength(0);
    }

    private static Path extract(String resource) throws IOException {
        Path p = dir.resolve(resource);
        if (Files.exists(p)) {
            return p;
        }
        try (InputStream in = EmbeddingFidelityIT.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new AssertionError(resource + " is not on the test class path (Maven artifact missing)");
            }
            Files.copy(in, p);
            return p;
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Integer> vocab(Path tokenizer) throws IOException {
        Map<String, Object> root = (Map<String, Object>) JsonParser.parse(Files.readString(tokenizer));
        Map<String, Object> v = (Map<String, Object>) ((Map<String, Object>) root.get("model")).get("vocab");
        Map<String, Integer> out = new java.util.HashMap<>();
        v.forEach((k, id) -> out.put(k, ((java.math.BigDecimal) id).intValueExact()));
        return out;
    }
}
