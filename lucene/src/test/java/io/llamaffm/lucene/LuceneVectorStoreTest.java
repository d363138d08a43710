package io.llamaffm.lucene;

import io.llamaffm.embeddings.CorruptIndexException;
import io.llamaffm.embeddings.MetadataFilter;
import io.llamaffm.embeddings.SearchResult;
import io.llamaffm.embeddings.VectorIndex;
import io.llamaffm.embeddings.VectorRecord;
import io.llamaffm.embeddings.VectorStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.llamaffm.embeddings.MetadataFilter.and;
import static io.llamaffm.embeddings.MetadataFilter.contains;
import static io.llamaffm.embeddings.MetadataFilter.eq;
import static io.llamaffm.embeddings.MetadataFilter.ge;
import static io.llamaffm.embeddings.MetadataFilter.gt;
import static io.llamaffm.embeddings.MetadataFilter.in;
import static io.llamaffm.embeddings.MetadataFilter.le;
import static io.llamaffm.embeddings.MetadataFilter.lt;
import static io.llamaffm.embeddings.MetadataFilter.ne;
import static io.llamaffm.embeddings.MetadataFilter.not;
import static io.llamaffm.embeddings.MetadataFilter.notIn;
import static io.llamaffm.embeddings.MetadataFilter.or;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LuceneVectorStoreTest {
    /** Wide enough a beam that a search over a few thousand vectors visits them all: exact answers. */
    private static final HnswConfig EXACT = HnswConfig.defaults().withCandidates(5000);

    @TempDir
    Path dir;

    @Test
    void roundTripUpdateAndDelete() throws IOException {
        try (LuceneVectorStore store = LuceneVectorStore.open(dir.resolve("idx"), 2, HnswConfig.defaults())) {
            store.add("east", new float[] {2, 0}, "e", Map.of("side", "right", "deg", 0));
            store.add("north", new float[] {0, 5}, null, Map.of("side", "up", "deg", 90L, "w", 1.5f));
            store.add("west", new float[] {-3, 0}, "w", Map.of());
            assertEquals(3, store.size());
            assertEquals(Optional.of(new VectorRecord("north", new float[] {0, 1}, null,
                    Map.of("side", "up", "deg", 90L, "w", 1.5f))), store.find("north"));
            assertEquals(Float.class, store.find("north").orElseThrow().attributes().get("w").getClass());
            List<SearchResult> hits = store.search(new float[] {1, 1}, 2);
            assertEquals(List.of("east", "north"), hits.stream().map(SearchResult::id).sorted().toList());
            assertEquals(Math.sqrt(0.5), hits.getFirst().score(), 1e-6);
            SearchResult west = store.search(new float[] {-1, 0}, 1).getFirst();
            assertEquals(new SearchResult("west", west.score(), "w", Map.of()), west);
            assertEquals(1.0, west.score(), 1e-6);

            store.add("east", new float[] {0, -1}, "south now", Map.of("side", "down"));
            assertEquals(3, store.size());
            assertEquals("south now", store.find("east").orElseThrow().text());
            assertEquals("east", store.search(new float[] {0, -1}, 1).getFirst().id());
            assertTrue(store.remove("north"));
            assertFalse(store.remove("north"));
            assertEquals(Optional.empty(), store.find("north"));
            assertEquals(1, store.removeAll(eq("side", "down")));
            assertEquals(0, store.removeAll(eq("side", "down")));
            assertEquals(List.of("west"), store.search(new float[] {0, -1}, 5).stream().map(SearchResult::id).toList());
        }
    }

    /**
     * {@code count} values for an in/notIn filter, more than Lucene's 1024 clauses: strings for "lang" (a few real
     * ones among them), numbers of every kind for the others (integers, integer-valued and fractional doubles).
     */
    private static Object[] manyValues(String key, int count) {
        Object[] values = new Object[count];
        for (int i = 0; i < count; i++) {
            values[i] = switch (key) {
                case "lang" -> i % 1000 == 0 ? "fr" : i % 1001 == 0 ? "e*n?" : "x" + i;
                case "year" -> i % 3 == 0 ? (Object) (1990 + i % 97) : i % 3 == 1 ? (Object) (1990.0 + i % 61) : (Object) (1990.5 + i);
                default -> i % 2 == 0 ? (Object) (long) (i * 7) : (Object) (i / 2.0);
            };
        }
        return values;
    }

    @Test
    void filtersGiveTheFlatStoresAnswers() throws IOException {
        Random random = new Random(11);
        VectorIndex flat = new VectorIndex(16);
        try (LuceneVectorStore lucene = LuceneVectorStore.open(dir.resolve("idx"), 16, EXACT)) {
            String[] langs = {"en", "fr", "de", "e*n?"};
            for (int i = 0; i < 3000; i++) {
                float[] v = new float[16];
                for (int j = 0; j < v.length; j++) {
                    v[j] = (float) random.nextGaussian();
                }
                Map<String, Object> attrs = new java.util.HashMap<>(Map.of("lang", langs[i % 4], "n", i % 10 == 0 ? (Object) (i / 10.0) : (Object) (long) (i / 10)));
                if (i % 3 == 0) {
                    attrs.put("year", 1990 + i % 40);
                }
                if (i % 7 == 0) {
                    attrs.put("f", (float) (i % 13) / 4);
                }
                flat.add("v" + i, v, "t" + i, attrs);
                lucene.add("v" + i, v, "t" + i, attrs);
            }
            List<MetadataFilter> filters = List.of(eq("lang", "fr"), ne("lang", "fr"), in("lang", "de", "en"),
                    notIn("lang", "de", "en"), eq("year", 2000), eq("year", 2000.0), eq("year", 2000.5),
                    gt("year", 2010), ge("year", 2010.5), lt("year", 1995L), le("year", 1995.0),
                    gt("n", 150.0), lt("n", 20), ge("n", 100), le("f", 1.25), gt("f", 1), eq("f", 0.75f),
                    gt("lang", "e"), le("lang", "en"), contains("lang", "*n?"), contains("lang", "e"),
                    and(eq("lang", "en"), or(lt("year", 2000), gt("n", 250))), not(eq("lang", "en")),
                    not(and()), or(), ne("year", 2000), eq("missing", 1), ne("missing", "x"),
                    and(ge("n", 1), le("n", 2)), eq("n", 10L), in("year", 2000, 2001L, 2002.0, 2003.5),
                    in("lang", manyValues("lang", 5000)), notIn("lang", manyValues("lang", 5000)),
                    in("year", manyValues("year", 5000)), notIn("n", manyValues("n", 3000)));
            for (MetadataFilter filter : filters) {
                for (int q = 0; q < 3; q++) {
                    float[] query = new float[16];
                    for (int j = 0; j < query.length; j++) {
                        query[j] = (float) random.nextGaussian();
                    }
                    List<SearchResult> want = flat.search(query, 10, filter);
                    List<SearchResult> got = lucene.search(query, 10, filter);
                    assertEquals(want.stream().map(SearchResult::id).toList(), got.stream().map(SearchResult::id).toList(),
                            filter.toString());
                    for (int r = 0; r < want.size(); r++) {
                        assertEquals(want.get(r).score(), got.get(r).score(), 1e-5);
                        assertEquals(want.get(r).attributes(), got.get(r).attributes());
                        assertEquals(want.get(r).metadata(), got.get(r).metadata());
                    }
                }
                assertEquals(List.of(), lucene.search(new float[] {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, filter));
            }
            MetadataFilter tooMany = or(java.util.stream.IntStream.range(0, 2000).mapToObj(i -> eq("n", i)).toArray(MetadataFilter[]::new));
            float[] unit = new float[16];
            unit[0] = 1;
            assertEquals(3, flat.search(unit, 3, tooMany).size());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lucene.search(unit, 3, tooMany));
            assertTrue(e.getMessage().startsWith("the filter is too large for Lucene"), e.getMessage());
            assertEquals(flat.removeAll(gt("n", 200)), lucene.removeAll(gt("n", 200)));
            assertEquals(flat.size(), lucene.size());
        }
    }

    @Test
    void reopensFromDisk() throws IOException {
        Path path = dir.resolve("idx");
        try (LuceneVectorStore store = LuceneVectorStore.open(path, 3, HnswConfig.defaults())) {
            store.add("a", new float[] {1, 2, 3}, "alpha", Map.of("k", "v"));
            store.add("b", new float[] {3, 2, 1}, null, Map.of());
            store.commit();
            store.add("c", new float[] {0, 0, 1}, null, Map.of()); // committed by close
        }
        try (LuceneVectorStore store = LuceneVectorStore.openExisting(path, HnswConfig.defaults())) {
            assertEquals(3, store.dimension());
            assertEquals(3, store.size());
            assertEquals("alpha", store.find("a").orElseThrow().text());
            assertEquals(Map.of("k", "v"), store.find("a").orElseThrow().attributes());
            assertEquals("c", store.search(new float[] {0, 0, 2}, 1).getFirst().id());
        }
        assertEquals("dimension mismatch", assertThrows(IllegalArgumentException.class,
                () -> LuceneVectorStore.open(path, 4, HnswConfig.defaults()), "dimension mismatch").getMessage()
                .contains("holds vectors of dimension 3, not 4") ? "dimension mismatch" : "other");
        try (LuceneVectorStore store = LuceneVectorStore.open(path, 3, HnswConfig.defaults())) {
            assertEquals(3, store.size());
        }
    }

    @Test
    void missingAndCorruptDirectories() throws IOException {
        Path missing = dir.resolve("missing");
        assertThrows(NoSuchFileException.class, () -> LuceneVectorStore.openExisting(missing, HnswConfig.defaults()));
        Files.createDirectories(missing);
        assertThrows(NoSuchFileException.class, () -> LuceneVectorStore.openExisting(missing, HnswConfig.defaults()));

        Path junk = dir.resolve("junk");
        Files.createDirectories(junk);
        Files.writeString(junk.resolve("notes.txt"), "hello");
        CorruptIndexException e = assertThrows(CorruptIndexException.class,
                () -> LuceneVectorStore.openExisting(junk, HnswConfig.defaults()));
        assertEquals(junk + ": not a vector store: the directory has files but no index", e.getMessage());
        assertThrows(CorruptIndexException.class, () -> LuceneVectorStore.open(junk, 2, HnswConfig.defaults()));

        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        assertThrows(IllegalArgumentException.class, () -> LuceneVectorStore.open(file, 2, HnswConfig.defaults()));

        Path damaged = dir.resolve("damaged");
        try (LuceneVectorStore store = LuceneVectorStore.open(damaged, 2, HnswConfig.defaults())) {
            store.add("a", new float[] {1, 0}, null, Map.of());
        }
        try (var files = Files.list(damaged)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("segments_")).toList()) {
                byte[] bytes = Files.readAllBytes(f);
                bytes[bytes.length / 2] ^= 0x5A;
                Files.write(f, bytes);
            }
        }
        CorruptIndexException c = assertThrows(CorruptIndexException.class,
                () -> LuceneVectorStore.openExisting(damaged, HnswConfig.defaults()));
        assertTrue(c.getMessage().startsWith(damaged + ": unreadable Lucene index: "), c.getMessage());
    }

    @Test
    void badInputAndClosedStore() throws IOException {
        LuceneVectorStore store = LuceneVectorStore.open(dir.resolve("idx"), 2, HnswConfig.defaults());
        assertEquals("vector has 3 components, the store has dimension 2", assertThrows(IllegalArgumentException.class,
                () -> store.add("a", new float[] {1, 2, 3}, null, Map.of())).getMessage());
        assertEquals("vector: component 1 is NaN: vectors must be finite", assertThrows(IllegalArgumentException.class,
                () -> store.add("a", new float[] {1, Float.NaN}, null, Map.of())).getMessage());
        assertEquals("query is all zeros: it has no direction to compare", assertThrows(IllegalArgumentException.class,
                () -> store.search(new float[] {0, 0}, 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> store.search(new float[] {1, 0}, -1));
        assertThrows(IllegalArgumentException.class, () -> store.add("a", new float[] {1, 0}, null, Map.of("k", List.of())));
        assertThrows(IllegalArgumentException.class, () -> store.add("\uD800", new float[] {1, 0}, null, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> LuceneVectorStore.open(dir.resolve("big"), 5000, HnswConfig.defaults()));
        assertThrows(IllegalArgumentException.class, () -> HnswConfig.defaults().withCandidates(0));
        assertEquals(0, store.size());
        store.close();
        store.close();
        assertEquals("the vector store is closed",
                assertThrows(IllegalStateException.class, () -> store.search(new float[] {1, 0}, 1)).getMessage());
        assertThrows(IllegalStateException.class, () -> store.add("a", new float[] {1, 0}, null, Map.of()));
        assertThrows(IllegalStateException.class, store::size);
        assertThrows(IllegalStateException.class, store::commit);
    }

    @Test
    void concurrentSearchesWhileWriting() throws Exception {
        try (LuceneVectorStore store = LuceneVectorStore.open(dir.resolve("idx"), 8, HnswConfig.defaults())) {
            Random random = new Random(3);
            List<float[]> vectors = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                float[] v = new float[8];
                for (int j = 0; j < 8; j++) {
                    v[j] = (float) random.nextGaussian();
                }
                vectors.add(v);
            }
            for (int i = 0; i < 500; i++) {
                store.add("v" + i, vectors.get(i), null, Map.of("i", i));
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                Future<?> writer = pool.submit(() -> {
                    for (int i = 500; i < 2000; i++) {
                        store.add("v" + i, vectors.get(i), null, Map.of("i", i));
                        if (i % 10 == 0) {
                            store.remove("v" + (i - 500));
                        }
                    }
                    return null;
                });
                List<Future<Integer>> readers = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    int seed = t;
                    readers.add(pool.submit(() -> {
                        int checked = 0;
                        for (int n = 0; n < 200; n++) {
                            float[] q = vectors.get((seed * 31 + n * 7) % 500 + 1500);
                            List<SearchResult> hits = store.search(q, 5, ge("i", 0));
                            for (int r = 1; r < hits.size(); r++) {
                                assertTrue(hits.get(r - 1).score() >= hits.get(r).score());
                            }
                            assertEquals(5, hits.size());
                            checked++;
                        }
                        return checked;
                    }));
                }
                writer.get();
                for (Future<Integer> r : readers) {
                    assertEquals(200, r.get());
                }
            } finally {
                pool.shutdown();
            }
            assertEquals(2000 - 150, store.size());
            assertEquals("v1999", store.search(vectors.get(1999), 1).getFirst().id());
        }
    }

    /** Recall of the default HNSW settings against the exact index, on 10 000 clustered vectors. */
    @Test
    void recallAtTenOnTenThousandClusteredVectors() throws IOException {
        int n = 10_000;
        int dim = 128;
        float[][] data = ClusteredVectors.generate(n + 100, dim, 10, 1.5, 42); // noise as large as the centres: not trivial
        VectorStore exact = new VectorIndex(dim);
        double recall;
        try (LuceneVectorStore hnsw = LuceneVectorStore.open(dir.resolve("idx"), dim, HnswConfig.defaults())) {
            for (int i = 0; i < n; i++) {
                exact.add("v" + i, data[i], null, Map.of());
                hnsw.add("v" + i, data[i], null, Map.of());
            }
            int found = 0;
            for (int q = n; q < n + 100; q++) {
                List<String> truth = exact.search(data[q], 10).stream().map(SearchResult::id).toList();
                found += (int) hnsw.search(data[q], 10).stream().filter(r -> truth.contains(r.id())).count();
            }
            recall = found / 1000.0;
        }
        assertTrue(recall >= 0.95, "recall@10 " + recall);
        System.out.printf("recall@10 on %d clustered vectors: %.3f (Vector API %s)%n", n, recall,
                LuceneVectorStore.vectorApiEnabled() ? "on" : "off");
    }
}
