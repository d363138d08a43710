package io.llamaffm.embeddings;

import java.util.Map;
import java.util.Objects;

/**
 * One hit of a {@link VectorStore#search}.
 *
 * @param id         the entry's id
 * @param score      cosine similarity between the query and the entry, in {@code [-1, 1]}
 * @param metadata   the entry's text (metadata), or {@code null} if it has none
 * @param attributes the entry's metadata attributes (unmodifiable; empty if it has none)
 */
public record SearchResult(String id, double score, String metadata, Map<String, Object> attributes) {
    /** Validates that the id is not null and copies the attributes. */
    public SearchResult {
        Objects.requireNonNull(id, "id");
        attributes = Attributes.copyOf(attributes);
    }

    /**
     * A hit without attributes.
     *
     * @param id       the entry's id
     * @param score    cosine similarity
     * @param metadata the entry's text, or {@code null}
     */
    public SearchResult(String id, double score, String metadata) {
        this(id, score, metadata, Map.of());
    }
}
