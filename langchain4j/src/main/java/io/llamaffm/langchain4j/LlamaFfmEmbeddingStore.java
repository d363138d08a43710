package io.llamaffm.langchain4j;

import dev.langchain4j.data.document.Metadata;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.store.embedding.EmbeddingMatch;
import dev.langchain4j.store.embedding.EmbeddingSearchRequest;
import dev.langchain4j.store.embedding.EmbeddingSearchResult;
import dev.langchain4j.store.embedding.EmbeddingStore;
import dev.langchain4j.store.embedding.RelevanceScore;
import dev.langchain4j.store.embedding.filter.Filter;
import dev.langchain4j.store.embedding.filter.comparison.ContainsString;
import dev.langchain4j.store.embedding.filter.comparison.IsEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsGreaterThan;
import dev.langchain4j.store.embedding.filter.comparison.IsGreaterThanOrEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsIn;
import dev.langchain4j.store.embedding.filter.comparison.IsLessThan;
import dev.langchain4j.store.embedding.filter.comparison.IsLessThanOrEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsNotEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsNotIn;
import dev.langchain4j.store.embedding.filter.logical.And;
import dev.langchain4j.store.embedding.filter.logical.Not;
import dev.langchain4j.store.embedding.filter.logical.Or;
import io.llamaffm.embeddings.MetadataFilter;
import io.llamaffm.embeddings.SearchResult;
import io.llamaffm.embeddings.VectorRecord;
import io.llamaffm.embeddings.VectorStore;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * A LangChain4j {@link EmbeddingStore} over any llama-ffm {@link VectorStore}: the exact in-memory
 * {@link io.llamaffm.embeddings.VectorIndex} or the persistent HNSW {@code io.llamaffm.lucene.LuceneVectorStore}.
 *
 * <p>A segment's text is the entry's text and its metadata the entry's attributes (String, Integer, Long, Float and
 * Double as they are; a UUID as its string, listed under the reserved attribute {@value #UUID_KEYS} so that it comes
 * back as a UUID). LangChain4j's filters ({@link IsEqualTo}, {@link IsNotEqualTo}, {@link IsGreaterThan} and the
 * other comparisons, {@link IsIn}, {@link IsNotIn}, {@link ContainsString}, {@link And}, {@link Or}, {@link Not})
 * become {@link MetadataFilter}s, which the Lucene store runs as a kNN pre-filter; any other filter is refused with
 * an {@link UnsupportedOperationException}. Scores are LangChain4j's relevance, {@code (cosine + 1) / 2}.
 *
 * <p>The store is used, not owned: closing it (and committing a persistent one) is the caller's.
 */
public final class LlamaFfmEmbeddingStore implements EmbeddingStore<TextSegment> {
    /** The reserved attribute that lists (one per line) the metadata keys whose values are UUIDs. */
    public static final String UUID_KEYS = "_llamaffm_uuid_keys";

    private final VectorStore store;

    /**
     * A LangChain4j view of a store.
     *
     * @param store the vector store (its dimension must be the embedding model's)
     */
    public LlamaFfmEmbeddingStore(VectorStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /** {@return the underlying store} */
    public VectorStore store() {
        return store;
    }

    @Override
    public String add(Embedding embedding) {
        String id = UUID.randomUUID().toString();
        add(id, embedding);
        return id;
    }

    @Override
    public void add(String id, Embedding embedding) {
        put(id, embedding, null);
    }

    @Override
    public String add(Embedding embedding, TextSegment segment) {
        String id = UUID.randomUUID().toString();
        put(id, embedding, segment);
        return id;
    }

    @Override
    public List<String> addAll(List<Embedding> embeddings) {
        List<String> ids = embeddings.stream().map(e -> UUID.randomUUID().toString()).toList();
        addAll(ids, embeddings, null);
        return ids;
    }

    @Override
    public void addAll(List<String> ids, List<Embedding> embeddings, List<TextSegment> segments) {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(embeddings, "embeddings");
        if (ids.size() != embeddings.size() || (segments != null && segments.size() != embeddings.size())) {
            throw new IllegalArgumentException("ids, embeddings and segments must have the same size: " + ids.size()
                    + ", " + embeddings.size() + (segments == null ? "" : ", " + segments.size()));
        }
        for (int i = 0; i < ids.size(); i++) {
            put(ids.get(i), embeddings.get(i), segments == null ? null : segments.get(i));
        }
    }

    private void put(String id, Embedding embedding, TextSegment segment) {
        requireNotBlank(id, "id");
        Objects.requireNonNull(embedding, "embedding");
        Map<String, Object> attributes = new HashMap<>();
        if (segment != null) {
            Set<String> uuids = new TreeSet<>();
            segment.metadata().toMap().forEach((key, value) -> {
                if (key.equals(UUID_KEYS)) {
                    throw new IllegalArgumentException("the metadata key " + UUID_KEYS + " is reserved");
                }
                if (value instanceof UUID u) {
                    uuids.add(key);
                    attributes.put(key, u.toString());
                } else {
                    attributes.put(key, value);
                }
            });
            if (!uuids.isEmpty()) {
                attributes.put(UUID_KEYS, String.join("\n", uuids));
            }
        }
        store.add(id, embedding.vector(), segment == null ? null : segment.text(), attributes);
    }

    @Override
    public void remove(String id) {
        requireNotBlank(id, "id");
        store.remove(id);
    }

    /**
     * Removes the entries with these ids; none (null or empty) removes nothing.
     *
     * @param ids the ids
     */
    @Override
    public void removeAll(Collection<String> ids) {
        if (ids != null) {
            ids.forEach(this::remove);
        }
    }

    @Override
    public void removeAll(Filter filter) {
        if (filter == null) {
            throw new IllegalArgumentException("filter cannot be null");
        }
        store.removeAll(toMetadataFilter(filter));
    }

    @Override
    public void removeAll() {
        store.removeAll(MetadataFilter.and());
    }

    @Override
    public EmbeddingSearchResult<TextSegment> search(EmbeddingSearchRequest request) {
        Objects.requireNonNull(request, "request");
        MetadataFilter filter = request.filter() == null ? null : toMetadataFilter(request.filter());
        List<SearchResult> hits = store.search(request.queryEmbedding().vector(), request.maxResults(), filter);
        List<EmbeddingMatch<TextSegment>> matches = new ArrayList<>();
        for (SearchResult hit : hits) {
            double score = RelevanceScore.fromCosineSimilarity(hit.score());
            if (score < request.minScore()) {
                break; // best first: the rest score lower
            }
            float[] vector = store.find(hit.id()).map(VectorRecord::vector).orElse(null);
            if (vector == null) {
                continue; // removed since the search
            }
            matches.add(new EmbeddingMatch<>(score, hit.id(), Embedding.from(vector), segment(hit)));
        }
        return new EmbeddingSearchResult<>(matches);
    }

    private static TextSegment segment(SearchResult hit) {
        if (hit.metadata() == null) {
            return null;
        }
        Map<String, Object> attributes = new HashMap<>(hit.attributes());
        Object uuidKeys = attributes.remove(UUID_KEYS);
        if (uuidKeys instanceof String keys) {
            for (String key : keys.split("\n")) {
                if (attributes.get(key) instanceof String s) {
                    attributes.put(key, UUID.fromString(s));
                }
            }
        }
        return TextSegment.from(hit.metadata(), Metadata.from(attributes));
    }

    /**
     * Translates a LangChain4j filter into a llama-ffm one.
     *
     * @param filter the LangChain4j filter
     * @return the equivalent {@link MetadataFilter}
     * @throws UnsupportedOperationException for a filter type that has no equivalent (e.g. a custom one)
     * @throws IllegalArgumentException      for a comparison value of an unsupported type
     */
    public static MetadataFilter toMetadataFilter(Filter filter) {
        return switch (filter) {
            case IsEqualTo f -> MetadataFilter.eq(f.key(), value(f.key(), f.comparisonValue()));
            case IsNotEqualTo f -> MetadataFilter.ne(f.key(), value(f.key(), f.comparisonValue()));
            case IsGreaterThan f -> MetadataFilter.gt(f.key(), value(f.key(), f.comparisonValue()));
            case IsGreaterThanOrEqualTo f -> MetadataFilter.ge(f.key(), value(f.key(), f.comparisonValue()));
            case IsLessThan f -> MetadataFilter.lt(f.key(), value(f.key(), f.comparisonValue()));
            case IsLessThanOrEqualTo f -> MetadataFilter.le(f.key(), value(f.key(), f.comparisonValue()));
            case IsIn f -> new MetadataFilter.In(f.key(), values(f.key(), f.comparisonValues()));
            case IsNotIn f -> new MetadataFilter.NotIn(f.key(), values(f.key(), f.comparisonValues()));
            case ContainsString f -> MetadataFilter.contains(f.key(), f.comparisonValue());
            case And f -> MetadataFilter.and(toMetadataFilter(f.left()), toMetadataFilter(f.right()));
            case Or f -> MetadataFilter.or(toMetadataFilter(f.left()), toMetadataFilter(f.right()));
            case Not f -> MetadataFilter.not(toMetadataFilter(f.expression()));
            default -> throw new UnsupportedOperationException("unsupported filter " + filter.getClass().getName()
                    + ": the supported ones are " + Arrays.asList("IsEqualTo", "IsNotEqualTo", "IsGreaterThan",
                    "IsGreaterThanOrEqualTo", "IsLessThan", "IsLessThanOrEqualTo", "IsIn", "IsNotIn", "ContainsString",
                    "And", "Or", "Not"));
        };
    }

    private static Object value(String key, Object value) {
        return value instanceof UUID u ? u.toString() : value;
    }

    private static List<Object> values(String key, Collection<?> values) {
        return values.stream().map(v -> value(key, v)).toList();
    }

    private static void requireNotBlank(String s, String what) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException(what + " cannot be null or blank");
        }
    }
}
