package io.llamaffm.langchain4j;

import dev.langchain4j.data.document.Metadata;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.store.embedding.EmbeddingMatch;
import dev.langchain4j.store.embedding.EmbeddingSearchRequest;
import dev.langchain4j.store.embedding.filter.Filter;
import io.llamaffm.embeddings.MetadataFilter;
import io.llamaffm.embeddings.VectorIndex;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.langchain4j.store.embedding.filter.MetadataFilterBuilder.metadataKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The adapter's mechanics without a model: filter translation, metadata types, scores. */
class LlamaFfmEmbeddingStoreTest {
    @Test
    void filtersTranslateToMetadataFilters() {
        UUID u = UUID.fromString("12345678-1234-1234-1234-123456789abc");
        assertEquals(MetadataFilter.eq("k", "v"), LlamaFfmEmbeddingStore.toMetadataFilter(metadataKey("k").isEqualTo("v")));
        assertEquals(MetadataFilter.eq("id", u.toString()), LlamaFfmEmbeddingStore.toMetadataFilter(metadataKey("id").isEqualTo(u)));
        assertEquals(MetadataFilter.and(MetadataFilter.gt("n", 1), MetadataFilter.not(MetadataFilter.le("x", 2.5))),
                LlamaFfmEmbeddingStore.toMetadataFilter(metadataKey("n").isGreaterThan(1).and(Filter.not(metadataKey("x").isLessThanOrEqualTo(2.5)))));
        assertEquals(new MetadataFilter.In("k", List.of("a", "b")),
                LlamaFfmEmbeddingStore.toMetadataFilter(metadataKey("k").isIn("a", "b")));
        assertEquals(MetadataFilter.or(MetadataFilter.contains("t", "x"), MetadataFilter.ne("t", "y")),
                LlamaFfmEmbeddingStore.toMetadataFilter(metadataKey("t").containsString("x").or(metadataKey("t").isNotEqualTo("y"))));
        Filter custom = object -> true;
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> LlamaFfmEmbeddingStore.toMetadataFilter(custom));
        assertTrue(e.getMessage().startsWith("unsupported filter "), e.getMessage());
    }

    @Test
    void metadataTypesAndScoresRoundTrip() {
        LlamaFfmEmbeddingStore store = new LlamaFfmEmbeddingStore(new VectorIndex(2));
        UUID u = UUID.randomUUID();
        Metadata metadata = Metadata.from(Map.of("s", "x", "i", 1, "l", 2L, "f", 1.5f, "d", 2.5, "u", u));
        String id = store.add(Embedding.from(new float[] {1, 0}), TextSegment.from("text", metadata));
        store.add("plain", Embedding.from(new float[] {0, 1}));
        List<EmbeddingMatch<TextSegment>> matches = store.search(EmbeddingSearchRequest.builder()
                .queryEmbedding(Embedding.from(new float[] {1, 1})).maxResults(5).build()).matches();
        assertEquals(2, matches.size());
        EmbeddingMatch<TextSegment> first = matches.stream().filter(m -> m.embeddingId().equals(id)).findFirst().orElseThrow();
        assertEquals(metadata, first.embedded().metadata());
        assertEquals("text", first.embedded().text());
        assertEquals((Math.sqrt(0.5) + 1) / 2, first.score(), 1e-6);
        assertNull(matches.stream().filter(m -> m.embeddingId().equals("plain")).findFirst().orElseThrow().embedded());

        List<EmbeddingMatch<TextSegment>> filtered = store.search(EmbeddingSearchRequest.builder()
                .queryEmbedding(Embedding.from(new float[] {0, 1})).maxResults(5).filter(metadataKey("u").isEqualTo(u)).build()).matches();
        assertEquals(List.of(id), filtered.stream().map(EmbeddingMatch::embeddingId).toList());
        List<EmbeddingMatch<TextSegment>> above = store.search(EmbeddingSearchRequest.builder()
                .queryEmbedding(Embedding.from(new float[] {0, 1})).maxResults(5).minScore(0.9).build()).matches();
        assertEquals(List.of("plain"), above.stream().map(EmbeddingMatch::embeddingId).toList());

        assertThrows(IllegalArgumentException.class, () -> store.add(Embedding.from(new float[] {1, 0}),
                TextSegment.from("t", Metadata.from(LlamaFfmEmbeddingStore.UUID_KEYS, "x"))));
        assertThrows(IllegalArgumentException.class, () -> store.add(Embedding.from(new float[] {1, 0, 0})));
        store.removeAll(metadataKey("i").isEqualTo(1L));
        assertEquals(1, store.store().size());
        store.removeAll();
        assertEquals(0, store.store().size());
    }
}
