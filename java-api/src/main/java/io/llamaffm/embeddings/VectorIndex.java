package io.llamaffm.embeddings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.IntStream;

/**
 * An in-memory index of embedding vectors, searched exhaustively by cosine similarity.
 *
 * <p>Each entry is an id (unique: adding an id again replaces its entry), a vector of the index's fixed
 * {@link #dimension()}, and optional metadata text (e.g. the chunk the vector was computed from). Vectors are
 * stored L2-normalized, one after another in a single {@code float[]}, so a search is one pass of dot products
 * over contiguous memory. Ids and metadata must be valid Unicode (no unpaired surrogates) so that they survive
 * {@link #save} unchanged.
 *
 * <p>Thread-safe: searches, {@link #get} and {@link #save} share a read lock and run concurrently; {@link #add}
 * and {@link #remove} take the write lock and wait for them.
 *
 * <h2>File format</h2>
 * {@link #save} writes, all integers big-endian, strings as UTF-8:
 * <pre>
 * magic      4 bytes   "LFVI"
 * version    int32     1
 * dimension  int32     &gt; 0
 * count      int32     &gt;= 0, the number of entries
 * count entries, in ascending id order:
 *   idLength        int32      bytes of the id
 *   id              idLength bytes
 *   metadataLength  int32      bytes of the metadata, -1 when it has none
 *   metadata        metadataLength bytes (none when -1)
 *   vector          dimension float32 (IEEE 754), the normalized vector
 * crc32      int32     CRC-32 of every byte before it, from the magic on
 * </pre>
 * {@link #load} checks every length against the bytes the file has left before allocating anything, so a
 * damaged or truncated file gives a {@link CorruptIndexException}, never an {@link OutOfMemoryError}.
 */
public final class VectorIndex {
    private static final Comparator<Hit> BEST_FIRST =
            Comparator.comparingDouble(Hit::score).reversed().thenComparing(Hit::id);
    private static final Comparator<Hit> WORST_FIRST = BEST_FIRST.reversed();

    private final int dimension;
    private final int maxSize;
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<String, Integer> slots = new HashMap<>();
    private float[] vectors = new float[0]; // entry in slot s: vectors[s * dimension .. (s + 1) * dimension)
    private String[] ids = new String[0];
    private String[] metadata = new String[0];
    private int size;

    /**
     * An empty index of vectors with {@code dimension} components.
     *
     * @param dimension the number of components of every vector
     * @throws IllegalArgumentException if {@code dimension} is not positive
     */
    public VectorIndex(int dimension) {
        if (dimension <= 0) {
            throw new IllegalArgumentException("dimension must be positive, got " + dimension);
        }
        this.dimension = dimension;
        this.maxSize = (Integer.MAX_VALUE - 8) / dimension;
    }

    /**
     * An entry as stored: the vector is the normalized copy the index keeps.
     *
     * @param id       the entry's id
     * @param vector   the entry's vector scaled to length 1 (a copy)
     * @param metadata the entry's metadata, or {@code null}
     */
    public record Entry(String id, float[] vector, String metadata) {
        /** Copies the vector. */
        public Entry {
            Objects.requireNonNull(id, "id");
            vector = vector.clone();
        }

        /** {@return a copy of the normalized vector} */
        @Override
        public float[] vector() {
            return vector.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Entry(String i, float[] v, String m)
                    && id.equals(i) && Arrays.equals(vector, v) && Objects.equals(metadata, m);
        }

        @Override
        public int hashCode() {
            return Objects.hash(id, Arrays.hashCode(vector), metadata);
        }

        @Override
        public String toString() {
            return "Entry[id=" + id + ", vector=" + Arrays.toString(vector) + ", metadata=" + metadata + "]";
        }
    }

    /** {@return the number of components of every vector in this index} */
    public int dimension() {
        return dimension;
    }

    /** {@return the number of entries} */
    public int size() {
        lock.readLock().lock();
        try {
            return size;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Adds an entry without metadata; see {@link #add(String, float[], String)}.
     *
     * @param id     the entry's id
     * @param vector the entry's vector (copied and normalized)
     * @return whether an entry with this id was replaced
     */
    public boolean add(String id, float[] vector) {
        return add(id, vector, null);
    }

    /**
     * Adds an entry, or replaces the entry that has the same id. The vector is copied and normalized; the
     * caller's array is not kept.
     *
     * @param id       the entry's id
     * @param vector   the entry's vector (copied and normalized)
     * @param metadata text kept with the entry and returned with search results; may be {@code null}
     * @return whether an entry with this id was replaced
     * @throws IllegalArgumentException if the vector's length is not {@link #dimension()}, it has a NaN or
     *                                  infinite component or is all zeros, or a string is not valid Unicode
     * @throws IllegalStateException    if the index is full (its vectors would not fit in one Java array)
     */
    public boolean add(String id, float[] vector, String metadata) {
        checkUnicode(Objects.requireNonNull(id, "id"), "id");
        if (metadata != null) {
            checkUnicode(metadata, "metadata");
        }
        float[] unit = unitVector(vector, "vector");
        lock.writeLock().lock();
        try {
            return put(id, unit, metadata);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Removes the entry with an id.
     *
     * @param id the entry's id
     * @return whether there was one
     */
    public boolean remove(String id) {
        Objects.requireNonNull(id, "id");
        lock.writeLock().lock();
        try {
            Integer slot = slots.remove(id);
            if (slot == null) {
                return false;
            }
            int last = --size;
            if (slot != last) { // keep the slots dense: move the last entry into the hole
                System.arraycopy(vectors, last * dimension, vectors, slot * dimension, dimension);
                ids[slot] = ids[last];
                metadata[slot] = metadata[last];
                slots.put(ids[slot], slot);
            }
            ids[last] = null;
            metadata[last] = null;
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Whether an entry has an id.
     *
     * @param id the id
     * @return whether an entry has it
     */
    public boolean contains(String id) {
        Objects.requireNonNull(id, "id");
        lock.readLock().lock();
        try {
            return slots.containsKey(id);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The entry with an id.
     *
     * @param id the id
     * @return the entry (its vector normalized), or empty if there is none
     */
    public Optional<Entry> get(String id) {
        Objects.requireNonNull(id, "id");
        lock.readLock().lock();
        try {
            Integer slot = slots.get(id);
            return slot == null ? Optional.empty() : Optional.of(new Entry(id, vectorAt(slot), metadata[slot]));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** {@return every id, in ascending order} */
    public List<String> ids() {
        lock.readLock().lock();
        try {
            return Arrays.stream(ids, 0, size).sorted().toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The {@code k} entries most similar to {@code query} by cosine similarity, best first; entries with equal
     * scores are ordered by id. The score is the dot product of the normalized query and the normalized stored
     * vector (accumulated in double, clamped to {@code [-1, 1]}), so it can differ from
     * {@link Similarity#cosine} of the original vectors by float rounding (about 1e-7).
     *
     * @param query the vector searched for
     * @param k     the most results wanted; fewer come back when the index holds fewer entries
     * @return the results, best first
     * @throws IllegalArgumentException if {@code k} is negative, or the query's length is not
     *                                  {@link #dimension()}, it has a NaN or infinite component or is all zeros
     */
    public List<SearchResult> search(float[] query, int k) {
        if (k < 0) {
            throw new IllegalArgumentException("k must not be negative, got " + k);
        }
        float[] q = unitVector(query, "query");
        lock.readLock().lock();
        try {
            return topK(q, Math.min(k, size));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Writes the index to {@code path} (through a temporary file beside it, then renamed over it) in the format
     * described above. Entries are written in id order, so equal indexes give equal files.
     *
     * @param path the file written
     * @throws IOException if the file cannot be written
     */
    public void save(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        lock.readLock().lock();
        try {
            IndexFile.write(path, this);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Reads an index written by {@link #save}.
     *
     * @param path the file read
     * @return the index
     * @throws CorruptIndexException if the file is not a vector index, has an unknown version, is truncated,
     *                               or its contents are inconsistent or fail the checksum
     * @throws IOException           if the file cannot be read
     */
    public static VectorIndex load(Path path) throws IOException {
        return IndexFile.read(Objects.requireNonNull(path, "path"));
    }

    private List<SearchResult> topK(float[] q, int limit) {
        if (limit == 0) {
            return List.of();
        }
        PriorityQueue<Hit> heap = new PriorityQueue<>(limit + 1, WORST_FIRST);
        for (int slot = 0; slot < size; slot++) {
            double score = Math.clamp(Similarity.dot(q, 0, vectors, slot * dimension, dimension), -1.0, 1.0);
            if (heap.size() < limit) {
                heap.add(new Hit(slot, score, ids[slot]));
            } else if (beats(score, ids[slot], heap.peek())) {
                heap.poll();
                heap.add(new Hit(slot, score, ids[slot]));
            }
        }
        return heap.stream().sorted(BEST_FIRST)
                .map(h -> new SearchResult(h.id(), h.score(), metadata[h.slot()])).toList();
    }

    private static boolean beats(double score, String id, Hit worst) {
        return score > worst.score() || (score == worst.score() && id.compareTo(worst.id()) < 0);
    }

    private record Hit(int slot, double score, String id) {}

    private float[] unitVector(float[] vector, String what) {
        Objects.requireNonNull(vector, what);
        if (vector.length != dimension) {
            throw new IllegalArgumentException(what + " has " + vector.length + " components, the index has dimension " + dimension);
        }
        float[] unit = Similarity.l2Normalized(vector);
        if (Similarity.dot(unit, 0, unit, 0, dimension) == 0) {
            throw new IllegalArgumentException(what + " is all zeros: it has no direction to compare");
        }
        return unit;
    }

    private static void checkUnicode(String text, String what) {
        if (text.codePoints().anyMatch(cp -> cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE)) {
            throw new IllegalArgumentException(what + " is not valid Unicode (it has an unpaired surrogate)");
        }
    }

    // --- package-private access for IndexFile; callers hold the lock or own the index alone ---

    /** Stores an already normalized vector; the caller holds the write lock (or owns the index alone). */
    boolean put(String id, float[] unit, String meta) {
        Integer slot = slots.get(id);
        boolean replaced = slot != null;
        if (!replaced) {
            ensureCapacity(size + 1);
            slot = size++;
            slots.put(id, slot);
            ids[slot] = id;
        }
        System.arraycopy(unit, 0, vectors, slot * dimension, dimension);
        metadata[slot] = meta;
        return replaced;
    }

    void ensureCapacity(int wanted) {
        if (wanted > maxSize) {
            throw new IllegalStateException("the index is full: at most " + maxSize + " vectors of dimension " + dimension);
        }
        if (wanted <= ids.length) {
            return;
        }
        int capacity = (int) Math.min(maxSize, Math.max(wanted, Math.max(16L, 2L * ids.length)));
        vectors = Arrays.copyOf(vectors, capacity * dimension);
        ids = Arrays.copyOf(ids, capacity);
        metadata = Arrays.copyOf(metadata, capacity);
    }

    int maxSize() {
        return maxSize;
    }

    int[] slotsById() {
        return IntStream.range(0, size).boxed().sorted(Comparator.comparing(s -> ids[s]))
                .mapToInt(Integer::intValue).toArray();
    }

    String idAt(int slot) {
        return ids[slot];
    }

    String metadataAt(int slot) {
        return metadata[slot];
    }

    float[] vectorAt(int slot) {
        return Arrays.copyOfRange(vectors, slot * dimension, (slot + 1) * dimension);
    }
}
