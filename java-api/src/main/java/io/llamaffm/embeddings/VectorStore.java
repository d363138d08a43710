package io.llamaffm.embeddings;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A store of embedding vectors for semantic search: each entry is an id (unique: adding an id again replaces its
 * entry), a vector of the store's fixed {@link #dimension()}, optional text, and metadata attributes that
 * {@link MetadataFilter}s select on. Vectors are compared by cosine similarity.
 *
 * <p>Two implementations: {@link VectorIndex}, exact and in memory (one scan per query; right up to tens of
 * thousands of vectors), and {@code io.llamaffm.lucene.LuceneVectorStore} (module llama-ffm-lucene), an
 * approximate HNSW graph persisted in a directory.
 *
 * <p>Implementations are thread-safe. After {@link #close()} every method but {@code close} throws
 * {@link IllegalStateException}.
 */
public interface VectorStore extends AutoCloseable {

    /** {@return the number of components of every vector in this store} */
    int dimension();

    /** {@return the number of entries} */
    int size();

    /**
     * Adds an entry, or replaces the entry that has the same id. The vector is copied and normalized.
     *
     * @param id         the entry's id
     * @param vector     the entry's vector
     * @param text       text kept with the entry and returned with search results; may be {@code null}
     * @param attributes metadata attributes (see {@link Attributes#copyOf}); may be empty
     * @throws IllegalArgumentException if the vector's length is not {@link #dimension()}, it has a NaN or
     *                                  infinite component or is all zeros, or a string or attribute is invalid
     */
    void add(String id, float[] vector, String text, Map<String, ?> attributes);

    /**
     * Removes the entry with an id.
     *
     * @param id the entry's id
     * @return whether there was one
     */
    boolean remove(String id);

    /**
     * Removes every entry whose attributes match a filter.
     *
     * @param filter the filter
     * @return the number of entries removed
     */
    int removeAll(MetadataFilter filter);

    /**
     * The entry with an id.
     *
     * @param id the id
     * @return the entry (its vector normalized), or empty if there is none
     */
    Optional<VectorRecord> find(String id);

    /**
     * The {@code k} entries most similar to {@code query}, best first; see {@link #search(float[], int,
     * MetadataFilter)}.
     *
     * @param query the vector searched for
     * @param k     the most results wanted
     * @return the results, best first
     */
    List<SearchResult> search(float[] query, int k);

    /**
     * The {@code k} entries most similar to {@code query} among those whose attributes match {@code filter},
     * best first, scored by cosine similarity. An exact store returns the true top {@code k}; an approximate
     * one may miss some (its recall is measured in benchmarks/RESULTS.md).
     *
     * @param query  the vector searched for
     * @param k      the most results wanted; fewer come back when fewer entries match
     * @param filter the condition on attributes; {@code null} for none
     * @return the results, best first
     * @throws IllegalArgumentException if {@code k} is negative, or the query's length is not
     *                                  {@link #dimension()}, it has a NaN or infinite component or is all zeros
     */
    List<SearchResult> search(float[] query, int k, MetadataFilter filter);

    /**
     * Makes every change so far durable in the store's persistent storage (a no-op for a store that has none).
     *
     * @throws IOException if writing fails
     */
    void commit() throws IOException;

    /**
     * Commits pending changes (where the store has persistent storage) and releases the store's resources.
     * Idempotent.
     *
     * @throws IOException if the final commit fails
     */
    @Override
    void close() throws IOException;
}
