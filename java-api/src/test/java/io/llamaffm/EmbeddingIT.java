package io.llamaffm;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Embedding mechanics through llama.cpp on stories260K (mean pooling over a decoder's hidden states). */
class EmbeddingIT {
    private static final List<String> TEXTS = List.of("Once upon a time there was a girl.", "The dog ran to the park.",
            "Lily liked her red ball very much.", "Tom and Sue played all day long in the sun.", "Hi.");

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    @Test
    void batchedAndOneByOneAgreeAndVectorsAreNormalized() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(512).withSequences(4).withEmbeddings(true)
                     .withPooling(ContextParams.Pooling.MEAN))) {
            List<Embedding> batched = ctx.embed(TEXTS, EmbeddingParams.defaults());
            assertEquals(TEXTS.size(), batched.size());
            for (int i = 0; i < TEXTS.size(); i++) {
                Embedding single = ctx.embed(TEXTS.get(i), EmbeddingParams.defaults());
                assertEquals(64, single.dimension());
                double norm = Math.sqrt(batched.get(i).vector().length == 0 ? 0 : cosine(single.vector(), single.vector()));
                assertEquals(1.0, norm, 1e-6);
                double sq = 0;
                for (float x : single.vector()) {
                    sq += x * x;
                }
                assertEquals(1.0, sq, 1e-4, "L2-normalized");
                assertTrue(cosine(single.vector(), batched.get(i).vector()) >= 0.9999, "text " + i);
                assertEquals(m.tokenizer().encode(TEXTS.get(i), true, false).length, single.tokens());
                assertFalse(single.truncated());
            }
            assertTrue(cosine(batched.get(0).vector(), batched.get(1).vector()) < 0.9999, "different texts differ");
            Embedding raw = ctx.embed(TEXTS.getFirst(), EmbeddingParams.defaults().withNormalize(false));
            assertTrue(cosine(raw.vector(), batched.getFirst().vector()) >= 0.9999);
        }
    }

    @Test
    void meanPoolingEqualsTheMeanOfTheTokenVectors() {
        try (Model m = Model.load(TestEnv.stories());
             Context pooled = m.newContext(ContextParams.defaults().withContextLength(256).withEmbeddings(true)
                     .withPooling(ContextParams.Pooling.MEAN));
             Context perToken = m.newContext(ContextParams.defaults().withContextLength(256).withEmbeddings(true)
                     .withPooling(ContextParams.Pooling.NONE))) {
            String text = TEXTS.get(2);
            float[][] rows = perToken.embedTokens(text);
            assertEquals(m.tokenizer().encode(text, true, false).length, rows.length);
            float[] mean = new float[rows[0].length];
            for (float[] r : rows) {
                for (int j = 0; j < r.length; j++) {
                    mean[j] += r[j] / rows.length;
                }
            }
            float[] v = pooled.embed(text, EmbeddingParams.defaults().withNormalize(false)).vector();
            assertTrue(cosine(mean, v) >= 0.9999, "cos " + cosine(mean, v));
            assertThrows(IllegalStateException.class, () -> perToken.embed(text, EmbeddingParams.defaults()));
            assertThrows(IllegalStateException.class, () -> pooled.embedTokens(text));
        }
    }

    @Test
    void longTextsFollowTheStatedPolicy() {
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withBatchSize(32).withEmbeddings(true)
                     .withPooling(ContextParams.Pooling.MEAN));
             Context plain = m.newContext(ContextParams.defaults().withContextLength(64))) {
            String longText = "Lily went to the park and played with her friends. ".repeat(10);
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> ctx.embed(longText, EmbeddingParams.defaults()));
            assertTrue(refused.getMessage().contains("at most 32"), refused.getMessage());
            Embedding cut = ctx.embed(longText, EmbeddingParams.defaults().withLongInput(EmbeddingParams.LongInput.TRUNCATE));
            assertTrue(cut.truncated());
            assertEquals(32, cut.tokens());
            assertThrows(IllegalStateException.class, () -> plain.embed("x", EmbeddingParams.defaults()), "embeddings off");
        }
    }

    /**
     * Regression: llama.cpp aborted the JVM (GGML_ASSERT ggml_can_mul_mat) creating a mean-pooling context whose
     * micro-batch (512) is not a multiple of its sequences (3); it is refused in Java with the fix in the message, and
     * a micro-batch that is a multiple works and pools each text alone.
     */
    @Test
    void meanPoolingWithSequencesThatDoNotDivideTheMicroBatchIsRefusedNotAnAbort() {
        try (Model m = Model.load(TestEnv.stories())) {
            ContextParams three = ContextParams.defaults().withContextLength(512).withSequences(3).withEmbeddings(true)
                    .withPooling(ContextParams.Pooling.MEAN);
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> m.newContext(three));
            assertTrue(refused.getMessage().contains("512 tokens for 3 sequences"), refused.getMessage());
            assertTrue(refused.getMessage().contains("withMicroBatchSize(510)"), refused.getMessage());
            // the model is still usable, and the suggested micro-batch works
            try (Context ctx = m.newContext(three.withMicroBatchSize(510));
                 Context single = m.newContext(ContextParams.defaults().withContextLength(512).withEmbeddings(true)
                         .withPooling(ContextParams.Pooling.MEAN))) {
                List<Embedding> batched = ctx.embed(TEXTS.subList(0, 3), EmbeddingParams.defaults());
                for (int i = 0; i < 3; i++) {
                    assertTrue(cosine(single.embed(TEXTS.get(i), EmbeddingParams.defaults()).vector(),
                            batched.get(i).vector()) >= 0.9999, "text " + i);
                }
            }
            // other poolings are not affected
            try (Context cls = m.newContext(three.withPooling(ContextParams.Pooling.LAST))) {
                assertEquals(3, cls.embed(TEXTS.subList(0, 3), EmbeddingParams.defaults()).size());
            }
        }
    }
}
