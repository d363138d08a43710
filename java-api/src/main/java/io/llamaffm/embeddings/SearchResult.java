package io.llamaffm.embeddings;

import java.util.Objects;

/**
 * One hit of a {@link VectorIndex#search}.
 *
 * @param id       the entry's id
 * @param score    cosine similarity between the query and the entry, in {@code [-1, 1]}
 * @param metadata the entry's metadata, or {@code null} if it has none
 */
public record SearchResult(String id, double score, String metadata) {
    /** Validates that the id is not null. */
    public SearchResult {
        Objects.requireNonNull(id, "id");
    }
}
