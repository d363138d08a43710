package io.llamaffm.lucene;

import io.llamaffm.embeddings.Attributes;
import io.llamaffm.embeddings.CorruptIndexException;
import io.llamaffm.embeddings.MetadataFilter;
import io.llamaffm.embeddings.SearchResult;
import io.llamaffm.embeddings.Similarity;
import io.llamaffm.embeddings.VectorRecord;
import io.llamaffm.embeddings.VectorStore;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.DoublePoint;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A persistent {@link VectorStore} on Apache Lucene: an HNSW graph ({@link KnnFloatVectorField}, dot product of
 * L2-normalized vectors, i.e. cosine similarity) in a directory, searched approximately with
 * {@link KnnFloatVectorQuery}. Metadata filters become Lucene queries used as the kNN pre-filter, so a filtered
 * search returns the best matching entries, not a filtered subset of the unfiltered best.
 *
 * <p>Each entry is one Lucene document: the id (a term, so an add with an existing id is
 * {@link IndexWriter#updateDocument an update} and a remove is {@link IndexWriter#deleteDocuments a delete}), the
 * vector, the text (stored), the attributes (stored, and indexed per key as {@code s.KEY} terms, {@code l.KEY}
 * long points and {@code f.KEY} double points).
 *
 * <p>Changes are visible to the next search at once (near-real-time: a search after a change refreshes the
 * reader through a {@link SearcherManager}) and durable after {@link #commit()} or {@link #close()}. Searches run
 * concurrently with each other and with writes; the dimension is kept in the commit data.
 *
 * <p>Lucene uses the JDK's Vector API for its distance computations when the JVM runs with
 * {@code --add-modules jdk.incubator.vector}; {@link #vectorApiEnabled()} says whether this JVM does.
 */
public final class LuceneVectorStore implements VectorStore {
    static final String ID = "id";
    static final String VECTOR = "vector";
    static final String TEXT = "text";
    static final String ATTRIBUTES = "attributes";
    static final String DIMENSION_KEY = "llamaffm.dimension";
    static final String FORMAT_KEY = "llamaffm.vectorstore";
    static final String FORMAT = "1";
    private static final int MAX_TERM_BYTES = 32766;

    private final Path path;
    private final int dimension;
    private final HnswConfig config;
    private final Directory directory;
    private final IndexWriter writer;
    private final SearcherManager searchers;
    private final ReentrantLock writeLock = new ReentrantLock(); // for read-then-delete (remove, removeAll) and close
    private final AtomicLong writes = new AtomicLong(); // changes made so far
    private final Object refreshLock = new Object();
    private volatile long visible; // changes the current searcher sees (at least)
    private volatile boolean closed;

    private LuceneVectorStore(Path path, int dimension, HnswConfig config, Directory directory, IndexWriter writer)
            throws IOException {
        this.path = path;
        this.dimension = dimension;
        this.config = config;
        this.directory = directory;
        this.writer = writer;
        this.searchers = new SearcherManager(writer, null);
    }

    /**
     * Opens the store in {@code directory}, creating it (and the directory) when there is none.
     *
     * @param directory the index directory
     * @param dimension the dimension of a new store; an existing one must have it
     * @param config    HNSW parameters (for segments written from now on, and for queries)
     * @return the store
     * @throws IllegalArgumentException if the existing store has another dimension, or the dimension is not in
     *                                  {@code [1, 1024]} (Lucene's HNSW format's limit)
     * @throws CorruptIndexException    if the directory holds something that is not a readable store
     * @throws IOException              if the directory cannot be read or written
     */
    public static LuceneVectorStore open(Path directory, int dimension, HnswConfig config) throws IOException {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(config, "config");
        checkDimension(dimension);
        if (Files.exists(directory) && !Files.isDirectory(directory)) {
            throw new IllegalArgumentException(directory + " is a file, not an index directory");
        }
        Files.createDirectories(directory);
        Directory dir = FSDirectory.open(directory);
        try {
            if (DirectoryReader.indexExists(dir)) {
                int existing = storedDimension(directory, dir);
                if (existing != dimension) {
                    throw new IllegalArgumentException(directory + " holds vectors of dimension " + existing
                            + ", not " + dimension);
                }
            } else if (hasFiles(directory)) {
                throw new CorruptIndexException(directory, "not a vector store: the directory has files but no index");
            }
            return openWriter(directory, dir, dimension, config);
        } catch (IOException | RuntimeException e) {
            dir.close();
            throw e;
        }
    }

    /**
     * Opens an existing store, taking its dimension from the index.
     *
     * @param directory the index directory
     * @param config    HNSW parameters (for segments written from now on, and for queries)
     * @return the store
     * @throws NoSuchFileException   if there is no index in the directory
     * @throws CorruptIndexException if the directory holds something that is not a readable store
     * @throws IOException           if the directory cannot be read
     */
    public static LuceneVectorStore openExisting(Path directory, HnswConfig config) throws IOException {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(config, "config");
        if (!Files.isDirectory(directory)) {
            throw new NoSuchFileException(directory.toString(), null, "no vector store: not a directory");
        }
        Directory dir = FSDirectory.open(directory);
        try {
            if (!DirectoryReader.indexExists(dir)) {
                if (hasFiles(directory)) {
                    throw new CorruptIndexException(directory, "not a vector store: the directory has files but no index");
                }
                throw new NoSuchFileException(directory.toString(), null, "no vector store in this directory");
            }
            return openWriter(directory, dir, storedDimension(directory, dir), config);
        } catch (IOException | RuntimeException e) {
            dir.close();
            throw e;
        }
    }

    /** {@return whether this JVM gives Lucene the Vector API (it runs with --add-modules jdk.incubator.vector)} */
    public static boolean vectorApiEnabled() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    private static LuceneVectorStore openWriter(Path path, Directory dir, int dimension, HnswConfig config)
            throws IOException {
        IndexWriterConfig iwc = new IndexWriterConfig()
                .setCodec(codec(config))
                .setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND)
                .setRAMBufferSizeMB(256)
                .setCommitOnClose(true);
        IndexWriter writer;
        try {
            writer = new IndexWriter(dir, iwc);
        } catch (org.apache.lucene.index.CorruptIndexException | IndexFormatTooOldException | IndexFormatTooNewException
                 | EOFException | NoSuchFileException e) {
            throw new CorruptIndexException(path, "unreadable Lucene index: " + e.getMessage(), e);
        }
        try {
            writer.setLiveCommitData(Map.of(DIMENSION_KEY, Integer.toString(dimension), FORMAT_KEY, FORMAT).entrySet());
            if (!DirectoryReader.indexExists(dir)) { // a new store: an empty first commit records its dimension
                writer.commit();
            }
            LuceneVectorStore store = new LuceneVectorStore(path, dimension, config, dir, writer);
            store.searchers.maybeRefreshBlocking();
            return store;
        } catch (org.apache.lucene.index.CorruptIndexException | IndexFormatTooOldException | IndexFormatTooNewException
                 | EOFException | NoSuchFileException e) {
            writer.rollback();
            throw new CorruptIndexException(path, "unreadable Lucene index: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            writer.rollback();
            throw e;
        }
    }

    private static Codec codec(HnswConfig config) {
        KnnVectorsFormat format = new Lucene99HnswVectorsFormat(config.maxConnections(), config.beamWidth());
        return new Lucene104Codec() {
            @Override
            public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
                return format;
            }
        };
    }

    private static void checkDimension(int dimension) {
        int max = new Lucene99HnswVectorsFormat().getMaxDimensions(VECTOR);
        if (dimension < 1 || dimension > max) {
            throw new IllegalArgumentException("dimension must be in [1, " + max + "] (Lucene's HNSW format's limit), got "
                    + dimension);
        }
    }

    private static boolean hasFiles(Path directory) throws IOException {
        try (var files = Files.list(directory)) {
            return files.anyMatch(f -> !f.getFileName().toString().equals("write.lock"));
        }
    }

    private static int storedDimension(Path path, Directory dir) throws IOException {
        Map<String, String> data;
        try {
            data = SegmentInfos.readLatestCommit(dir).getUserData();
        } catch (org.apache.lucene.index.CorruptIndexException | IndexFormatTooOldException | IndexFormatTooNewException
                 | EOFException | NoSuchFileException e) {
            throw new CorruptIndexException(path, "unreadable Lucene index: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(data.get(FORMAT_KEY)) || data.get(DIMENSION_KEY) == null) {
            throw new CorruptIndexException(path, "a Lucene index, but not a llama-ffm vector store (no "
                    + DIMENSION_KEY + " in its commit data)");
        }
        try {
            int d = Integer.parseInt(data.get(DIMENSION_KEY));
            checkDimension(d);
            return d;
        } catch (IllegalArgumentException e) {
            throw new CorruptIndexException(path, "invalid dimension in the commit data: " + data.get(DIMENSION_KEY));
        }
    }

    /** {@return the index directory} */
    public Path path() {
        return path;
    }

    /** {@return the HNSW parameters} */
    public HnswConfig config() {
        return config;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    @Override
    public int size() {
        return withSearcher(s -> s.getIndexReader().numDocs());
    }

    @Override
    public void add(String id, float[] vector, String text, Map<String, ?> attributes) {
        checkTerm(Objects.requireNonNull(id, "id"), "id");
        if (text != null) {
            checkUnicode(text, "text");
        }
        Map<String, Object> attrs = Attributes.copyOf(attributes);
        float[] unit = unitVector(vector, "vector");
        Document doc = new Document();
        doc.add(new StringField(ID, id, Field.Store.YES));
        doc.add(new KnnFloatVectorField(VECTOR, unit, VectorSimilarityFunction.DOT_PRODUCT));
        if (text != null) {
            doc.add(new StoredField(TEXT, text));
        }
        if (!attrs.isEmpty()) {
            doc.add(new StoredField(ATTRIBUTES, AttributeCodec.encode(attrs)));
        }
        attrs.forEach((key, value) -> {
            if (key.length() > 1024) {
                throw new IllegalArgumentException("attribute key longer than 1024 characters: " + key.substring(0, 40) + "...");
            }
            switch (value) {
                case String s -> {
                    checkTerm(s, "attribute " + key);
                    doc.add(new StringField(FilterQueries.stringField(key), s, Field.Store.NO));
                }
                case Integer i -> doc.add(new LongPoint(FilterQueries.longField(key), i));
                case Long l -> doc.add(new LongPoint(FilterQueries.longField(key), l));
                case Number n -> doc.add(new DoublePoint(FilterQueries.doubleField(key), n.doubleValue() + 0.0));
                default -> throw new IllegalStateException("unexpected attribute type " + value.getClass());
            }
        });
        ensureOpen();
        try {
            writer.updateDocument(new Term(ID, id), doc);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writes.incrementAndGet();
    }

    @Override
    public boolean remove(String id) {
        Objects.requireNonNull(id, "id");
        return deleteMatching(new TermQuery(new Term(ID, id))) > 0;
    }

    @Override
    public int removeAll(MetadataFilter filter) {
        Objects.requireNonNull(filter, "filter");
        return deleteMatching(FilterQueries.of(filter));
    }

    private int deleteMatching(Query query) {
        writeLock.lock();
        try {
            int count = withSearcher(s -> s.count(query));
            if (count > 0) {
                writer.deleteDocuments(query);
                writes.incrementAndGet();
            }
            return count;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public Optional<VectorRecord> find(String id) {
        Objects.requireNonNull(id, "id");
        return withSearcher(s -> {
            TopDocs top = s.search(new TermQuery(new Term(ID, id)), 1);
            if (top.scoreDocs.length == 0) {
                return Optional.empty();
            }
            int doc = top.scoreDocs[0].doc;
            Document stored = s.storedFields().document(doc);
            return Optional.of(new VectorRecord(id, vectorOf(s, doc), stored.get(TEXT), attributesOf(stored)));
        });
    }

    @Override
    public List<SearchResult> search(float[] query, int k) {
        return search(query, k, null);
    }

    @Override
    public List<SearchResult> search(float[] query, int k, MetadataFilter filter) {
        return search(query, k, filter, config.candidates());
    }

    /**
     * A search with another number of candidates than the store's {@link HnswConfig#candidates()}: the recall /
     * latency trade-off chosen per query.
     *
     * @param query      the vector searched for
     * @param k          the most results wanted
     * @param filter     the condition on attributes; {@code null} for none
     * @param candidates candidates gathered (at least {@code k} are)
     * @return the results, best first
     */
    public List<SearchResult> search(float[] query, int k, MetadataFilter filter, int candidates) {
        if (candidates < 1) {
            throw new IllegalArgumentException("candidates must be positive, got " + candidates);
        }
        if (k < 0) {
            throw new IllegalArgumentException("k must not be negative, got " + k);
        }
        float[] q = unitVector(query, "query");
        Query pre = filter == null ? null : FilterQueries.of(filter);
        if (k == 0) {
            ensureOpen();
            return List.of();
        }
        return withSearcher(s -> {
            TopDocs top = s.search(new KnnFloatVectorQuery(VECTOR, q, Math.max(k, candidates), pre), k);
            List<SearchResult> results = new ArrayList<>(top.scoreDocs.length);
            var stored = s.storedFields();
            for (ScoreDoc hit : top.scoreDocs) {
                Document d = stored.document(hit.doc);
                double cosine = Math.clamp(2.0 * hit.score - 1.0, -1.0, 1.0); // DOT_PRODUCT scores (1 + dot) / 2
                results.add(new SearchResult(d.get(ID), cosine, d.get(TEXT), attributesOf(d)));
            }
            return results;
        });
    }

    /**
     * Merges the index into one segment, so that a search walks one HNSW graph instead of one per segment: worth
     * it after a bulk load (it takes about as long as building the graph once more).
     *
     * @throws IOException if merging fails
     */
    public void forceMerge() throws IOException {
        ensureOpen();
        writer.forceMerge(1);
        writes.incrementAndGet();
    }

    @Override
    public void commit() throws IOException {
        ensureOpen();
        writer.commit();
    }

    @Override
    public void close() throws IOException {
        writeLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try (directory; writer; searchers) {
                writer.commit();
            }
        } finally {
            writeLock.unlock();
        }
    }

    private interface SearcherFunction<T> {
        T apply(IndexSearcher searcher) throws IOException;
    }

    private <T> T withSearcher(SearcherFunction<T> f) {
        ensureOpen();
        try {
            refreshIfChanged();
            IndexSearcher s = searchers.acquire();
            try {
                return f.apply(s);
            } finally {
                searchers.release(s);
            }
        } catch (org.apache.lucene.store.AlreadyClosedException e) {
            throw new IllegalStateException("the vector store is closed", e);
        } catch (IndexSearcher.TooManyClauses e) {
            throw FilterQueries.tooLarge(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Makes every change made before this call (by any thread) visible to the searchers acquired after it. */
    private void refreshIfChanged() throws IOException {
        if (visible >= writes.get()) {
            return;
        }
        synchronized (refreshLock) {
            long wanted = writes.get();
            if (visible < wanted) {
                searchers.maybeRefreshBlocking();
                visible = wanted;
            }
        }
    }

    private float[] vectorOf(IndexSearcher s, int doc) throws IOException {
        List<LeafReaderContext> leaves = s.getIndexReader().leaves();
        LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(doc, leaves));
        FloatVectorValues values = leaf.reader().getFloatVectorValues(VECTOR);
        KnnVectorValues.DocIndexIterator it = values.iterator();
        if (it.advance(doc - leaf.docBase) != doc - leaf.docBase) {
            throw new IOException("document " + doc + " has no vector");
        }
        return values.vectorValue(it.index()).clone();
    }

    private Map<String, Object> attributesOf(Document d) throws IOException {
        BytesRef bytes = d.getBinaryValue(ATTRIBUTES);
        if (bytes == null) {
            return Map.of();
        }
        try {
            return AttributeCodec.decode(BytesRef.deepCopyOf(bytes).bytes);
        } catch (IOException | IllegalArgumentException e) {
            throw new CorruptIndexException(path, "damaged attributes of entry " + d.get(ID), e);
        }
    }

    private float[] unitVector(float[] vector, String what) {
        Objects.requireNonNull(vector, what);
        if (vector.length != dimension) {
            throw new IllegalArgumentException(what + " has " + vector.length + " components, the store has dimension "
                    + dimension);
        }
        float[] unit;
        try {
            unit = Similarity.l2Normalized(vector);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
        if (Similarity.norm(unit) == 0) {
            throw new IllegalArgumentException(what + " is all zeros: it has no direction to compare");
        }
        return unit;
    }

    private static void checkTerm(String s, String what) {
        checkUnicode(s, what);
        if (s.getBytes(StandardCharsets.UTF_8).length > MAX_TERM_BYTES) {
            throw new IllegalArgumentException(what + " is longer than " + MAX_TERM_BYTES + " UTF-8 bytes");
        }
    }

    private static void checkUnicode(String text, String what) {
        try {
            Attributes.copyOf(Map.of("k", text));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is not valid Unicode (it has an unpaired surrogate)");
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the vector store is closed");
        }
    }
}
