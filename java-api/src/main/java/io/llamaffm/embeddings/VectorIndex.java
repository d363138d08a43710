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
import java.util.function.IntPredicate;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.IntStream;

/**
 * An in-memory index of embedding vectors, searched exhaustively by cosine similarity: the exact
 * {@link VectorStore}.
 *
 * <p>Each entry is an id (unique: adding an id again replaces its entry), a vector of the index's fixed
 * {@link #dimension()}, optional metadata text (e.g. the chunk the vector was computed from) and optional
 * {@linkplain Attributes attributes} that {@link MetadataFilter}s select on (evaluated in Java during the scan).
 * Vectors are
 * stored L2-normalized, one after another in a single {@code float[]}, so a search is one pass of dot products
 * over contiguous memory. Ids and metadata must be valid Unicode (no unpaired surrogates) so that they survive
 * {@link #save} unchanged.
 *
 * <p>Thread-safe: searches, {@link #get} and {@link #save} share a read lock and run concurrently; {@link #add}
 * and {@link #remove} take the write lock and wait for them.
 *
 * <p>An index read by {@link #load} or {@link #openOrCreate} remembers its file: {@link #commit()} (and
 * {@link #close()}) write it back there when something changed. One made with the constructor has no file; save
 * it with {@link #save}.
 *
 * <h2>File format</h2>
 * {@link #save} writes, all integers big-endian, strings as UTF-8:
 * <pre>
 * magic      4 bytes   "LFVI"
 * version    int32     1, or 2 when some entry has attributes
 * dimension  int32     &gt; 0
 * count      int32     &gt;= 0, the number of entries
 * count entries, in ascending id order:
 *   idLength        int32      bytes of the id
 *   id              idLength bytes
 *   metadataLength  int32      bytes of the metadata, -1 when it has none
 *   metadata        metadataLength bytes (none when -1)
 *   attributes      (version 2 only) int32 count, then count times: key (int32 length, UTF-8 bytes),
 *                   a type byte and the value: 1 string (int32 length, UTF-8 bytes), 2 int32, 3 int64,
 *                   4 float32, 5 float64; keys in ascending order
 *   vector          dimension float32 (IEEE 754), the normalized vector
 * crc32      int32     CRC-32 of every byte before it, from the magic on
 * </pre>
 * {@link #load} checks every length against the bytes the file has left before allocating anything, so a
 * damaged or truncated file gives a {@link CorruptIndexException}, never an {@link OutOfMemoryError}.
 */
public final class VectorIndex implements VectorStore {
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
    private Map<String, Object>[] attributes = newAttributeArray(0);
    private int size;
    private Path file; // where commit() writes, or null
    private boolean dirty;
    private volatile boolean closed;

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

    /**
     * The index kept in {@code file}: read from it when it exists, else empty. {@link #commit()} writes it back.
     *
     * @param file      the index file
     * @param dimension the dimension of a new index; an existing one must have it
     * @return the index
     * @throws CorruptIndexException    if the file exists but is not a valid index
     * @throws IllegalArgumentException if the file's index has another dimension
     * @throws IOException              if the file cannot be read
     */
    public static VectorIndex openOrCreate(Path file, int dimension) throws IOException {
        Objects.requireNonNull(file, "file");
        VectorIndex index;
        if (java.nio.file.Files.exists(file)) {
            index = load(file);
            if (index.dimension != dimension) {
                throw new IllegalArgumentException(file + " holds vectors of dimension " + index.dimension
                        + ", not " + dimension);
            }
        } else {
            index = new VectorIndex(dimension);
            index.file = file;
            index.dirty = true;
        }
        return index;
    }

    /** {@return the number of components of every vector in this index} */
    @Override
    public int dimension() {
        return dimension;
    }

    /** {@return the number of entries} */
    @Override
    public int size() {
        ensureOpen();
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
        return addEntry(id, vector, metadata, Map.of());
    }

    /**
     * Adds an entry with attributes, or replaces the entry that has the same id; see
     * {@link #add(String, float[], String)}.
     *
     * @param id         the entry's id
     * @param vector     the entry's vector (copied and normalized)
     * @param text       text kept with the entry and returned with search results; may be {@code null}
     * @param attributes metadata attributes (see {@link Attributes#copyOf})
     */
    @Override
    public void add(String id, float[] vector, String text, Map<String, ?> attributes) {
        addEntry(id, vector, text, attributes);
    }

    private boolean addEntry(String id, float[] vector, String metadata, Map<String, ?> attrs) {
        ensureOpen();
        checkUnicode(Objects.requireNonNull(id, "id"), "id");
        if (metadata != null) {
            checkUnicode(metadata, "metadata");
        }
        Map<String, Object> copy = Attributes.copyOf(attrs);
        float[] unit = unitVector(vector, "vector");
        lock.writeLock().lock();
        try {
            dirty = true;
            return put(id, unit, metadata, copy);
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
    @Override
    public boolean remove(String id) {
        ensureOpen();
        Objects.requireNonNull(id, "id");
        lock.writeLock().lock();
        try {
            return removeLocked(id);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Removes every entry whose attributes match a filter.
     *
     * @param filter the filter
     * @return the number of entries removed
     */
    @Override
    public int removeAll(MetadataFilter filter) {
        ensureOpen();
        Objects.requireNonNull(filter, "filter");
        lock.writeLock().lock();
        try {
            List<String> matching = IntStream.range(0, size).filter(s -> filter.test(attributes[s]))
                    .mapToObj(s -> ids[s]).toList();
            matching.forEach(this::removeLocked);
            return matching.size();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private boolean removeLocked(String id) {
        Integer slot = slots.remove(id);
        if (slot == null) {
            return false;
        }
        dirty = true;
        int last = --size;
        if (slot != last) { // keep the slots dense: move the last entry into the hole
            System.arraycopy(vectors, last * dimension, vectors, slot * dimension, dimension);
            ids[slot] = ids[last];
            metadata[slot] = metadata[last];
            attributes[slot] = attributes[last];
            slots.put(ids[slot], slot);
        }
        ids[last] = null;
        metadata[last] = null;
        attributes[last] = null;
        return true;
    }

    /**
     * Whether an entry has an id.
     *
     * @param id the id
     * @return whether an entry has it
     */
    public boolean contains(String id) {
        ensureOpen();
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
        ensureOpen();
        Objects.requireNonNull(id, "id");
        lock.readLock().lock();
        try {
            Integer slot = slots.get(id);
            return slot == null ? Optional.empty() : Optional.of(new Entry(id, vectorAt(slot), metadata[slot]));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The entry with an id, with its attributes.
     *
     * @param id the id
     * @return the entry (its vector normalized), or empty if there is none
     */
    @Override
    public Optional<VectorRecord> find(String id) {
        ensureOpen();
        Objects.requireNonNull(id, "id");
        lock.readLock().lock();
        try {
            Integer slot = slots.get(id);
            return slot == null ? Optional.empty()
                    : Optional.of(new VectorRecord(id, vectorAt(slot), metadata[slot], attributes[slot]));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** {@return every id, in ascending order} */
    public List<String> ids() {
        ensureOpen();
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
    @Override
    public List<SearchResult> search(float[] query, int k) {
        return search(query, k, null);
    }

    /**
     * The {@code k} entries most similar to {@code query} among those whose attributes match {@code filter}
     * (evaluated in Java for each entry during the scan), best first; see {@link #search(float[], int)}.
     *
     * @param query  the vector searched for
     * @param k      the most results wanted
     * @param filter the condition on attributes; {@code null} for none
     * @return the results, best first
     */
    @Override
    public List<SearchResult> search(float[] query, int k, MetadataFilter filter) {
        ensureOpen();
        if (k < 0) {
            throw new IllegalArgumentException("k must not be negative, got " + k);
        }
        float[] q = unitVector(query, "query");
        lock.readLock().lock();
        try {
            return topK(q, Math.min(k, size), filter == null ? s -> true : s -> filter.test(attributes[s]));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Writes the index to the file it was read from ({@link #load}, {@link #openOrCreate}) when it changed since;
     * an index made with the constructor has no file, and this does nothing.
     *
     * @throws IOException if the file cannot be written
     */
    @Override
    public void commit() throws IOException {
        ensureOpen();
        lock.writeLock().lock(); // excludes writers while saving, and guards the dirty flag
        try {
            if (file != null && dirty) {
                IndexFile.write(file, this);
                dirty = false;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * {@link #commit() Commits}, then closes the index: every later call but this one throws
     * {@link IllegalStateException}. Idempotent.
     *
     * @throws IOException if the commit fails (the index stays open)
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        commit();
        closed = true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the vector index is closed");
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
        ensureOpen();
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
        VectorIndex index = IndexFile.read(Objects.requireNonNull(path, "path"));
        index.file = path;
        return index;
    }

    private List<SearchResult> topK(float[] q, int limit, IntPredicate accept) {
        if (limit == 0) {
            return List.of();
        }
        PriorityQueue<Hit> heap = new PriorityQueue<>(limit + 1, WORST_FIRST);
        for (int slot = 0; slot < size; slot++) {
            if (!accept.test(slot)) {
                continue;
            }
            double score = Math.clamp(Similarity.dot(q, 0, vectors, slot * dimension, dimension), -1.0, 1.0);
            if (heap.size() < limit) {
                heap.add(new Hit(slot, score, ids[slot]));
            } else if (beats(score, ids[slot], heap.peek())) {
                heap.poll();
                heap.add(new Hit(slot, score, ids[slot]));
            }
        }
        return heap.stream().sorted(BEST_FIRST)
                .map(h -> new SearchResult(h.id(), h.score(), metadata[h.slot()], attributes[h.slot()])).toList();
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
    boolean put(String id, float[] unit, String meta, Map<String, Object> attrs) {
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
        attributes[slot] = attrs;
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
        attributes = Arrays.copyOf(attributes, capacity);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object>[] newAttributeArray(int length) {
        return (Map<String, Object>[]) new Map<?, ?>[length];
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

    Map<String, Object> attributesAt(int slot) {
        return attributes[slot];
    }

    boolean hasAttributes() {
        return IntStream.range(0, size).anyMatch(s -> !attributes[s].isEmpty());
    }

    float[] vectorAt(int slot) {
        return Arrays.copyOfRange(vectors, slot * dimension, (slot + 1) * dimension);
    }
}
