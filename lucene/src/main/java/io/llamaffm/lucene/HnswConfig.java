package io.llamaffm.lucene;

/**
 * HNSW parameters of a {@link LuceneVectorStore}.
 *
 * @param maxConnections graph neighbours per node ("M"; Lucene's default 16): higher gives better recall, a
 *                       bigger index and slower building
 * @param beamWidth      candidates considered while inserting a node ("efConstruction"; Lucene's default 100)
 * @param candidates     candidates gathered per query ("fan-out", "efSearch"): a search asks Lucene for
 *                       {@code max(k, candidates)} nearest neighbours and returns the best {@code k}; higher gives
 *                       better recall and slower queries
 */
public record HnswConfig(int maxConnections, int beamWidth, int candidates) {
    /** Validates the parameters. */
    public HnswConfig {
        if (maxConnections < 2 || maxConnections > 512) {
            throw new IllegalArgumentException("maxConnections must be in [2, 512], got " + maxConnections);
        }
        if (beamWidth < 1 || beamWidth > 3200) {
            throw new IllegalArgumentException("beamWidth must be in [1, 3200], got " + beamWidth);
        }
        if (candidates < 1 || candidates > 10_000) {
            throw new IllegalArgumentException("candidates must be in [1, 10000], got " + candidates);
        }
    }

    /** {@return M 16, beam width 100, 100 candidates per query} */
    public static HnswConfig defaults() {
        return new HnswConfig(16, 100, 100);
    }

    /**
     * A copy with another value.
     *
     * @param m graph neighbours per node
     * @return a copy with it
     */
    public HnswConfig withMaxConnections(int m) {
        return new HnswConfig(m, beamWidth, candidates);
    }

    /**
     * A copy with another value.
     *
     * @param width candidates while inserting
     * @return a copy with it
     */
    public HnswConfig withBeamWidth(int width) {
        return new HnswConfig(maxConnections, width, candidates);
    }

    /**
     * A copy with another value.
     *
     * @param n candidates per query
     * @return a copy with it
     */
    public HnswConfig withCandidates(int n) {
        return new HnswConfig(maxConnections, beamWidth, n);
    }
}
