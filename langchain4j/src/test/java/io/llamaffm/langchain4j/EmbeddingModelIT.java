package io.llamaffm.langchain4j;

import dev.langchain4j.data.document.Document;
import dev.langchain4j.data.document.Metadata;
import dev.langchain4j.data.document.splitter.DocumentSplitters;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.rag.content.Content;
import dev.langchain4j.rag.content.retriever.EmbeddingStoreContentRetriever;
import dev.langchain4j.rag.query.Query;
import dev.langchain4j.store.embedding.EmbeddingMatch;
import dev.langchain4j.store.embedding.EmbeddingSearchRequest;
import dev.langchain4j.store.embedding.EmbeddingStoreIngestor;
import dev.langchain4j.store.embedding.inmemory.InMemoryEmbeddingStore;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.embeddings.Similarity;
import io.llamaffm.gguf.GgmlType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Embeddings, scoring and token counting on a real sentence-embedding model: all-MiniLM-L6-v2, converted from the
 * ONNX file in LangChain4j's own in-process embedding artifact to GGUF by llama-ffm's converter.
 */
class EmbeddingModelIT {
    /** Documents on unrelated topics, each a few sentences (some longer than one 48-token segment). */
    static final Map<String, String> DOCUMENTS = Map.of(
            "cats", "Cats are small carnivorous mammals that many people keep as pets. They purr when they are content "
                    + "and like to sleep in warm, sunny places.\n\nA cat grooms its fur with its rough tongue for hours every day.",
            "jvm", "The Java virtual machine runs bytecode compiled from Java, Kotlin or Scala. Its garbage collector "
                    + "frees the memory of objects that are no longer reachable, so programs do not release memory by hand.",
            "paris", "Paris is the capital of France. It is famous for the Eiffel Tower, the Louvre museum and the cafes "
                    + "along the river Seine.",
            "plants", "Plants make their own food through photosynthesis. Using the energy of sunlight, their leaves turn "
                    + "water and carbon dioxide into sugar and release oxygen into the air.",
            "football", "The World Cup is an international football tournament held every four years. National teams from "
                    + "every continent play for the trophy.",
            "bread", "To bake bread, mix flour, water, yeast and salt into a dough. Knead it, let it rise for an hour in "
                    + "a warm place, then bake the loaf in a hot oven until the crust is brown.");

    static final Map<String, String> QUESTIONS = Map.of(
            "Which city has the Eiffel Tower?", "paris",
            "How do plants produce oxygen?", "plants",
            "What does the garbage collector of the JVM do?", "jvm",
            "How long should dough rise before baking?", "bread",
            "Which pet purrs when it is happy?", "cats",
            "Who plays in the World Cup?", "football");

    @TempDir
    static Path dir;
    static Path minilm;
    static Model model;

    @BeforeAll
    static void convert() throws Exception {
        minilm = MiniLmFixture.gguf(dir, GgmlType.F32);
        model = Model.load(minilm);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    static LlamaFfmEmbeddingModel.Builder embeddings() {
        return LlamaFfmEmbeddingModel.builder().model(model).contextParams(contextParams());
    }

    static ContextParams contextParams() {
        return LlamaFfmEmbeddingModel.Builder.defaultContextParams().withThreads(1);
    }

    static List<Document> documents() {
        return DOCUMENTS.entrySet().stream().map(e -> Document.from(e.getValue(), Metadata.from("id", e.getKey()))).toList();
    }

    @Test
    void ingestedDocumentsAreRetrievedForTheirQuestions() {
        try (LlamaFfmEmbeddingModel embeddingModel = embeddings().build();
             LlamaFfmTokenCountEstimator estimator = LlamaFfmTokenCountEstimator.builder().model(model).build()) {
            InMemoryEmbeddingStore<TextSegment> store = new InMemoryEmbeddingStore<>();
            EmbeddingStoreIngestor.builder()
                    .documentSplitter(DocumentSplitters.recursive(48, 0, estimator))
                    .embeddingModel(embeddingModel)
                    .embeddingStore(store)
                    .build()
                    .ingest(documents());
            EmbeddingStoreContentRetriever retriever = EmbeddingStoreContentRetriever.builder()
                    .embeddingStore(store).embeddingModel(embeddingModel).maxResults(3).build();
            for (Map.Entry<String, String> q : QUESTIONS.entrySet()) {
                Embedding query = embeddingModel.embed(q.getKey()).content();
                List<EmbeddingMatch<TextSegment>> matches = store.search(EmbeddingSearchRequest.builder()
                        .queryEmbedding(query).maxResults(3).build()).matches();
                System.out.printf("%s -> %s %.3f%n", q.getKey(), matches.getFirst().embedded().metadata().getString("id"),
                        matches.getFirst().score());
                assertEquals(q.getValue(), matches.getFirst().embedded().metadata().getString("id"), q.getKey());
                List<Content> contents = retriever.retrieve(Query.from(q.getKey()));
                assertEquals(q.getValue(), contents.getFirst().textSegment().metadata().getString("id"), "retriever: " + q.getKey());
            }
        }
    }

    @Test
    void vectorsAreTheContextApisAndUsageCountsTheirTokens() {
        List<String> texts = new ArrayList<>(DOCUMENTS.values());
        texts.addAll(QUESTIONS.keySet()); // 12 texts: two decodes of 8 sequences at most
        List<io.llamaffm.Embedding> expected;
        try (Context ctx = model.newContext(contextParams().withEmbeddings(true))) {
            expected = ctx.embed(texts, EmbeddingParams.defaults());
        }
        try (LlamaFfmEmbeddingModel embeddingModel = embeddings().build()) {
            Response<List<Embedding>> r = embeddingModel.embedAll(texts.stream().map(TextSegment::from).toList());
            assertEquals(texts.size(), r.content().size());
            int tokens = 0;
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(expected.get(i).vector(), r.content().get(i).vector(), 1e-6f, "text " + i);
                tokens += model.tokenizer().encode(texts.get(i), true, false).length;
            }
            assertEquals(tokens, r.tokenUsage().inputTokenCount(), "[CLS] ... [SEP] of every text");
            assertEquals(384, embeddingModel.dimension());
            assertEquals(1.0, Similarity.norm(r.content().getFirst().vector()), 1e-5, "normalized");
            assertEquals(model.config().name(), embeddingModel.modelName());
        }
        try (LlamaFfmEmbeddingModel raw = embeddings().normalize(false).build()) {
            float[] v = raw.embed(texts.getFirst()).content().vector();
            assertTrue(Math.abs(Similarity.norm(v) - 1.0) > 1e-3, "not normalized: " + Similarity.norm(v));
            assertEquals(1.0, Similarity.cosine(v, expected.getFirst().vector()), 1e-6);
        }
    }

    @Test
    void longTextsFollowThePolicyAndTheModelCanBeOwned() {
        String longText = "The quick brown fox jumps over the lazy dog. ".repeat(80); // ~800 tokens > 512
        try (LlamaFfmEmbeddingModel refusing = embeddings().build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> refusing.embed(longText));
            assertTrue(e.getMessage().contains("TRUNCATE"), e.getMessage());
        }
        try (LlamaFfmEmbeddingModel truncating = LlamaFfmEmbeddingModel.builder().modelPath(minilm)
                .contextParams(contextParams()).longInput(EmbeddingParams.LongInput.TRUNCATE).build()) {
            Response<Embedding> r = truncating.embed(longText);
            assertEquals(512, r.tokenUsage().inputTokenCount(), "cut to one batch");
            assertEquals(384, r.content().dimension());
        }
    }

    @Test
    void cosineScoringRanksTheRelevantPassageFirst() {
        List<TextSegment> passages = DOCUMENTS.values().stream().map(TextSegment::from).toList();
        try (LlamaFfmScoringModel scorer = LlamaFfmScoringModel.builder().model(model).contextParams(contextParams())
                .method(LlamaFfmScoringModel.Method.COSINE).build();
             LlamaFfmEmbeddingModel embeddingModel = embeddings().build()) {
            for (Map.Entry<String, String> q : QUESTIONS.entrySet()) {
                List<Double> scores = scorer.scoreAll(passages, q.getKey()).content();
                int best = 0;
                for (int i = 1; i < scores.size(); i++) {
                    best = scores.get(i) > scores.get(best) ? i : best;
                }
                assertEquals(DOCUMENTS.get(q.getValue()), passages.get(best).text(), q.getKey() + " " + scores);
                // the query and the passages embedded in one call, as the scorer does (same batches, same arithmetic)
                List<TextSegment> all = new ArrayList<>(List.of(TextSegment.from(q.getKey())));
                all.addAll(passages);
                List<Embedding> vectors = embeddingModel.embedAll(all).content();
                for (int i = 0; i < passages.size(); i++) {
                    assertEquals(Similarity.cosine(vectors.getFirst().vector(), vectors.get(i + 1).vector()), scores.get(i), 1e-6,
                            "the cosine of the two embeddings, passage " + i);
                }
            }
            assertEquals(List.of(), scorer.scoreAll(List.of(), "anything").content());
        }
    }

    @Test
    void rerankScoresAreTheCrossEncodersAndANonRerankerIsRefused() throws Exception {
        Path reranker = MiniLmFixture.RankHead.seeded(7).writeReranker(minilm, dir.resolve("minilm-rank.gguf"));
        String query = "How many people live in Berlin?";
        List<String> docs = List.of("Berlin has a population of 3,520,031 registered inhabitants.",
                "New York City is famous for the Metropolitan Museum of Art.", "Berlin is the capital of Germany.");
        try (Model m = Model.load(reranker)) {
            float[] expected;
            try (Context ctx = m.newContext(contextParams().withEmbeddings(true))) {
                expected = ctx.rank(query, docs, EmbeddingParams.defaults());
            }
            try (LlamaFfmScoringModel scorer = LlamaFfmScoringModel.builder().model(m).contextParams(contextParams()).build()) {
                List<Double> scores = scorer.scoreAll(docs.stream().map(TextSegment::from).toList(), query).content();
                for (int i = 0; i < docs.size(); i++) {
                    assertEquals(expected[i], scores.get(i), 1e-6, "document " + i);
                }
                assertEquals(expected[1], scorer.score(docs.get(1), query).content(), 1e-6);
            }
        }
        try (LlamaFfmScoringModel notAReranker = LlamaFfmScoringModel.builder().model(model).contextParams(contextParams()).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> notAReranker.score("text", "query"));
            assertTrue(e.getMessage().contains("rank"), e.getMessage());
        }
    }

    @Test
    void tokenCountsAreTheWordPieceTokenizersAndSplitSegmentsFit() {
        try (LlamaFfmTokenCountEstimator estimator = LlamaFfmTokenCountEstimator.builder().modelPath(minilm).build()) {
            for (String text : DOCUMENTS.values()) {
                assertEquals(model.tokenizer().encode(text, false, false).length, estimator.estimateTokenCountInText(text));
            }
            assertEquals(model.tokenizer().encode("Which pet purrs?", true, false).length - 2,
                    estimator.estimateTokenCountInText("Which pet purrs?"), "without [CLS] and [SEP]");
            for (TextSegment segment : DocumentSplitters.recursive(24, 0, estimator).splitAll(documents())) {
                int n = estimator.estimateTokenCountInText(segment.text());
                assertTrue(n <= 24, n + " tokens: " + segment.text());
                assertFalse(segment.text().isBlank());
            }
        }
    }
}
