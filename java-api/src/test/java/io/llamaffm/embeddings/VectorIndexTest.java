package io.llamaffm.embeddings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorIndexTest {
    @TempDir
    Path dir;

    private static VectorIndex handMade() {
        VectorIndex index = new VectorIndex(2);
        index.add("east", new float[] {2, 0}, "e");
        index.add("north", new float[] {0, 5});
        index.add("northeast", new float[] {1, 1}, "ne");
        index.add("west", new float[] {-3, 0}, "w");
        return index;
    }

    @Test
    void exactScoresForHandMadeVectors() {
        List<SearchResult> hits = handMade().search(new float[] {1, 0}, 4);
        assertEquals(List.of(
                new SearchResult("east", 1.0, "e"),
                new SearchResult("northeast", (double) (float) Math.sqrt(0.5), "ne"),
                new SearchResult("north", 0.0, null),
                new SearchResult("west", -1.0, "w")), hits);
    }

    @Test
    void topKKeepsTheBest() {
        List<SearchResult> hits = handMade().search(new float[] {1, 2}, 2);
        assertEquals(List.of("northeast", "north"), hits.stream().map(SearchResult::id).toList());
        assertEquals(Similarity.cosine(new float[] {1, 2}, new float[] {1, 1}), hits.get(0).score(), 1e-7);
        assertEquals(Similarity.cosine(new float[] {1, 2}, new float[] {0, 1}), hits.get(1).score(), 1e-7);
    }

    @Test
    void kBeyondSizeAndZero() {
        assertEquals(4, handMade().search(new float[] {0, 1}, 100).size());
        assertEquals(List.of(), handMade().search(new float[] {0, 1}, 0));
        assertEquals(List.of(), new VectorIndex(3).search(new float[] {0, 1, 0}, 5));
    }

    @Test
    void tiesAreOrderedById() {
        VectorIndex index = new VectorIndex(2);
        for (String id : List.of("d", "b", "e", "a", "c")) {
            index.add(id, new float[] {1, 1});
        }
        index.add("z", new float[] {1, 0});
        assertEquals(List.of("a", "b", "c"), index.search(new float[] {3, 3}, 3).stream().map(SearchResult::id).toList());
        assertEquals(List.of("a", "b", "c", "d", "e", "z"),
                index.search(new float[] {1, 1}, 10).stream().map(SearchResult::id).toList());
    }

    @Test
    void duplicateIdReplaces() {
        VectorIndex index = handMade();
        assertTrue(index.add("east", new float[] {0, -1}, "now south"));
        assertEquals(4, index.size());
        assertEquals(new VectorIndex.Entry("east", new float[] {0, -1}, "now south"), index.get("east").orElseThrow());
        assertEquals(new SearchResult("east", 1.0, "now south"), index.search(new float[] {0, -7}, 1).getFirst());
        assertFalse(index.add("south", new float[] {0, -1}));
    }

    @Test
    void removeKeepsTheOthers() {
        VectorIndex index = handMade();
        assertTrue(index.remove("east"));
        assertFalse(index.remove("east"));
        assertFalse(index.contains("east"));
        assertEquals(3, index.size());
        assertEquals(List.of("north", "northeast", "west"), index.ids());
        assertEquals(new VectorIndex.Entry("west", new float[] {-1, 0}, "w"), index.get("west").orElseThrow());
        assertEquals(List.of("northeast", "north", "west"),
                index.search(new float[] {1, 0}, 3).stream().map(SearchResult::id).toList());
        assertTrue(index.remove("west")); // the last slot
        assertTrue(index.get("west").isEmpty());
        assertEquals(2, index.size());
    }

    @Test
    void getReturnsTheNormalizedVector() {
        VectorIndex.Entry e = handMade().get("north").orElseThrow();
        assertArrayEquals(new float[] {0, 1}, e.vector());
        assertEquals(null, e.metadata());
        assertTrue(handMade().get("nowhere").isEmpty());
    }

    @Test
    void theCallersArrayIsNotKept() {
        VectorIndex index = new VectorIndex(2);
        float[] v = {3, 4};
        index.add("a", v);
        v[0] = -100;
        assertArrayEquals(new float[] {0.6f, 0.8f}, index.get("a").orElseThrow().vector());
    }

    @Test
    void invalidInputIsRefused() {
        VectorIndex index = new VectorIndex(2);
        assertEquals("dimension must be positive, got 0",
                assertThrows(IllegalArgumentException.class, () -> new VectorIndex(0)).getMessage());
        assertEquals("vector has 3 components, the index has dimension 2",
                assertThrows(IllegalArgumentException.class, () -> index.add("a", new float[3])).getMessage());
        assertEquals("vector is all zeros: it has no direction to compare",
                assertThrows(IllegalArgumentException.class, () -> index.add("a", new float[2])).getMessage());
        assertEquals("component 1 is NaN: vectors must be finite",
                assertThrows(IllegalArgumentException.class, () -> index.add("a", new float[] {1, Float.NaN})).getMessage());
        assertEquals("id is not valid Unicode (it has an unpaired surrogate)",
                assertThrows(IllegalArgumentException.class, () -> index.add("a\uD800", new float[] {1, 0})).getMessage());
        assertEquals("k must not be negative, got -1",
                assertThrows(IllegalArgumentException.class, () -> index.search(new float[] {1, 0}, -1)).getMessage());
        assertEquals("query is all zeros: it has no direction to compare",
                assertThrows(IllegalArgumentException.class, () -> index.search(new float[2], 1)).getMessage());
        assertThrows(NullPointerException.class, () -> index.add(null, new float[] {1, 0}));
        assertEquals(0, index.size());
    }

    @Test
    void saveAndLoadRoundTrip() throws IOException {
        VectorIndex index = handMade();
        index.add("unicode \u00e9\u4e2d\uD83D\uDE00", new float[] {-1, -1}, "m\u00e9ta");
        Path file = dir.resolve("index.lfvi");
        index.save(file);
        VectorIndex loaded = VectorIndex.load(file);
        assertEquals(2, loaded.dimension());
        assertEquals(index.ids(), loaded.ids());
        for (String id : index.ids()) {
            assertEquals(index.get(id), loaded.get(id));
        }
        float[] q = {0.3f, -0.7f};
        assertEquals(index.search(q, 5), loaded.search(q, 5));
        assertEquals(List.of(), Files.list(dir).filter(p -> p.toString().endsWith(".tmp")).toList());
    }

    @Test
    void fileLayoutIsAsDocumented() throws IOException {
        VectorIndex index = new VectorIndex(2);
        index.add("b", new float[] {0, 1});
        index.add("a", new float[] {1, 0}, "m");
        Path file = dir.resolve("small.lfvi");
        index.save(file);
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        assertEquals(16 + (4 + 1 + 4 + 1 + 8) + (4 + 1 + 4 + 8) + 4, bytes.length);
        assertEquals("LFVI", new String(bytes, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(1, b.getInt(4));
        assertEquals(2, b.getInt(8));
        assertEquals(2, b.getInt(12));
        assertEquals(1, b.getInt(16)); // "a" comes first: entries are in id order
        assertEquals('a', bytes[20]);
        assertEquals(1, b.getInt(21));
        assertEquals('m', bytes[25]);
        assertEquals(1f, b.getFloat(26));
        assertEquals(0f, b.getFloat(30));
        assertEquals(-1, b.getInt(39)); // "b" has no metadata
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 4);
        assertEquals((int) crc.getValue(), b.getInt(bytes.length - 4));
    }

    @Test
    void emptyIndexRoundTrip() throws IOException {
        Path file = dir.resolve("empty.lfvi");
        new VectorIndex(7).save(file);
        assertEquals(20, Files.size(file));
        VectorIndex loaded = VectorIndex.load(file);
        assertEquals(7, loaded.dimension());
        assertEquals(0, loaded.size());
    }

    @Test
    void everyTruncationIsDetected() throws IOException {
        Path file = dir.resolve("full.lfvi");
        handMade().save(file);
        byte[] bytes = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.lfvi");
        for (int length = 0; length < bytes.length; length++) {
            Files.write(cut, Arrays.copyOf(bytes, length));
            CorruptIndexException e = assertThrows(CorruptIndexException.class, () -> VectorIndex.load(cut));
            assertEquals(cut, e.path());
            assertTrue(e.getMessage().startsWith(cut + ": "), e.getMessage());
        }
    }

    @Test
    void everyFlippedBitIsDetected() throws IOException {
        Path file = dir.resolve("full.lfvi");
        handMade().save(file);
        byte[] bytes = Files.readAllBytes(file);
        Path bad = dir.resolve("bad.lfvi");
        for (int i = 0; i < bytes.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] copy = bytes.clone();
                copy[i] ^= (byte) (1 << bit);
                Files.write(bad, copy);
                assertThrows(CorruptIndexException.class, () -> VectorIndex.load(bad), "byte " + i + " bit " + bit);
            }
        }
    }

    @Test
    void clearMessagesForDamagedFiles() throws IOException {
        Path file = dir.resolve("x.lfvi");
        Files.write(file, "hello, this is not an index".getBytes());
        assertEquals(file + ": not a vector index (bad magic)", loadError(file));

        Files.write(file, withExtra(header(3, 3, 1), 0));
        assertEquals(file + ": unsupported version 3 (this library reads versions 1 and 2)", loadError(file));

        Files.write(file, withExtra(header(1, 4, 0), 4));
        assertEquals(file + ": 4 unexpected bytes after the last entry", loadError(file));

        byte[] good = withExtra(header(1, 4, 0), 0);
        good[good.length - 1] ^= 1;
        Files.write(file, good);
        assertTrue(loadError(file).startsWith(file + ": checksum mismatch: stored "), loadError(file));
    }

    @Test
    void hugeCountsFailWithoutAllocating() throws IOException {
        Path file = dir.resolve("huge.lfvi");
        Files.write(file, withExtra(header(1, 1 << 20, Integer.MAX_VALUE), 64));
        assertEquals(file + ": truncated or corrupt: " + Integer.MAX_VALUE + " entries of at least 4194312 bytes"
                + " cannot fit in the 64 bytes after the header", loadError(file));

        Files.write(file, withExtra(header(1, 1, 1), 0));
        assertTrue(loadError(file).contains("truncated or corrupt: 1 entries"), loadError(file));

        ByteBuffer b = ByteBuffer.allocate(16 + 4 + 12 + 4).put(header(1, 1, 1)).putInt(Integer.MAX_VALUE);
        Files.write(file, b.array());
        assertEquals(file + ": entry 0 id length 2147483647 does not fit in the 12 bytes left", loadError(file));
    }

    @Test
    void searchEqualsBruteForceOnTenThousandRandomVectors() {
        int dimension = 48;
        Random random = new Random(42);
        VectorIndex index = new VectorIndex(dimension);
        Map<String, float[]> reference = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            String id = "v" + random.nextInt(9_000); // some ids repeat: the later vector replaces the earlier
            float[] v = randomVector(random, dimension);
            assertEquals(reference.put(id, v) != null, index.add(id, v, "meta " + id));
        }
        List<String> ids = new ArrayList<>(reference.keySet());
        Collections.sort(ids);
        for (int i = 0; i < 300; i++) { // and some go again
            String id = ids.remove(random.nextInt(ids.size()));
            reference.remove(id);
            assertTrue(index.remove(id));
        }
        assertEquals(reference.size(), index.size());
        for (int q = 0; q < 20; q++) {
            float[] query = randomVector(random, dimension);
            int k = 1 + random.nextInt(25);
            assertEquals(bruteForce(reference, query, k), index.search(query, k), "query " + q);
        }
    }

    @Test
    void concurrentAddsAndSearchesKeepTheIndexConsistent() throws Exception {
        VectorIndex index = new VectorIndex(8);
        int threads = 4, perThread = 500;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    Random random = new Random(thread);
                    for (int i = 0; i < perThread; i++) {
                        index.add(thread + "-" + i, randomVector(random, 8));
                        List<SearchResult> hits = index.search(randomVector(random, 8), 3);
                        assertTrue(hits.size() >= 1 && hits.size() <= 3, "hits " + hits.size());
                        for (int h = 1; h < hits.size(); h++) {
                            assertTrue(hits.get(h - 1).score() >= hits.get(h).score());
                        }
                        if (i % 5 == 0) {
                            assertTrue(index.remove(thread + "-" + i));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        assertEquals(threads * (perThread - perThread / 5), index.size());
        assertEquals(index.size(), index.ids().size());
    }

    private static List<SearchResult> bruteForce(Map<String, float[]> vectors, float[] query, int k) {
        float[] q = Similarity.l2Normalized(query);
        List<SearchResult> all = new ArrayList<>();
        vectors.forEach((id, v) -> all.add(new SearchResult(id,
                Math.clamp(Similarity.dot(q, Similarity.l2Normalized(v)), -1.0, 1.0), "meta " + id)));
        all.sort(Comparator.comparingDouble(SearchResult::score).reversed().thenComparing(SearchResult::id));
        return all.subList(0, k);
    }

    private static float[] randomVector(Random random, int dimension) {
        float[] v = new float[dimension];
        for (int i = 0; i < dimension; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    private static String loadError(Path file) {
        return assertThrows(CorruptIndexException.class, () -> VectorIndex.load(file)).getMessage();
    }

    private static byte[] header(int version, int dimension, int count) {
        return ByteBuffer.allocate(16).putInt(0x4C465649).putInt(version).putInt(dimension).putInt(count).array();
    }

    /** The header, {@code extra} zero bytes, and a correct CRC-32 of both. */
    private static byte[] withExtra(byte[] header, int extra) {
        byte[] body = Arrays.copyOf(header, header.length + extra);
        CRC32 crc = new CRC32();
        crc.update(body);
        return ByteBuffer.allocate(body.length + 4).put(body).putInt((int) crc.getValue()).array();
    }
}
