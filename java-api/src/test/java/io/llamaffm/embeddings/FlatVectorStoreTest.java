package io.llamaffm.embeddings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static io.llamaffm.embeddings.MetadataFilter.and;
import static io.llamaffm.embeddings.MetadataFilter.eq;
import static io.llamaffm.embeddings.MetadataFilter.ge;
import static io.llamaffm.embeddings.MetadataFilter.in;
import static io.llamaffm.embeddings.MetadataFilter.ne;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link VectorIndex} as a {@link VectorStore}: attributes, filters, removal by filter, the file's version 2. */
class FlatVectorStoreTest {
    @TempDir
    Path dir;

    private static VectorStore compass() {
        VectorIndex index = new VectorIndex(2);
        index.add("east", new float[] {2, 0}, "e", Map.of("side", "right", "deg", 0));
        index.add("north", new float[] {0, 5}, null, Map.of("side", "up", "deg", 90L));
        index.add("northeast", new float[] {1, 1}, "ne", Map.of("side", "right", "deg", 45.0));
        index.add("west", new float[] {-3, 0}, "w", Map.of());
        return index;
    }

    @Test
    void filteredSearchKeepsOnlyMatchingEntries() {
        VectorStore store = compass();
        float[] q = {1, 0.1f};
        assertEquals(List.of("east", "northeast", "north", "west"), ids(store.search(q, 10)));
        assertEquals(List.of("east", "northeast"), ids(store.search(q, 10, eq("side", "right"))));
        assertEquals(List.of("northeast", "north"), ids(store.search(q, 10, ge("deg", 45))));
        assertEquals(List.of("northeast"), ids(store.search(q, 1, ge("deg", 45))));
        assertEquals(List.of("east", "north", "west"), ids(store.search(q, 10, ne("deg", 45.0f))));
        assertEquals(List.of(), ids(store.search(q, 10, and(eq("side", "up"), in("deg", 0, 45)))));
        SearchResult best = store.search(q, 1, eq("side", "up")).getFirst();
        assertEquals(new SearchResult("north", best.score(), null, Map.of("side", "up", "deg", 90L)), best);
        assertEquals(0.1 / Math.sqrt(1.01), best.score(), 1e-6);
    }

    @Test
    void addReplacesRemoveAndRemoveAll() {
        VectorStore store = compass();
        store.add("east", new float[] {0, -1}, "south now", Map.of("side", "down"));
        assertEquals(Optional.of(new VectorRecord("east", new float[] {0, -1}, "south now", Map.of("side", "down"))),
                store.find("east"));
        assertEquals(4, store.size());
        assertEquals(1, store.removeAll(eq("side", "right")));
        assertEquals(List.of("east", "north", "west"), ids(store.search(new float[] {1, 0}, 10)).stream().sorted().toList());
        assertTrue(store.remove("north"));
        assertFalse(store.remove("north"));
        assertEquals(0, store.removeAll(eq("side", "nowhere")));
        assertEquals(Optional.empty(), store.find("north"));
        assertEquals(2, store.size());
    }

    @Test
    void attributesRoundTripThroughTheFileAndVersionOneStays() throws IOException {
        Path file = dir.resolve("attrs.lfvi");
        VectorIndex index = (VectorIndex) compass();
        index.add("odd", new float[] {1, 2}, "x", Map.of("f", 1.5f, "l", Long.MIN_VALUE, "s", "\uD83D\uDE00"));
        index.save(file);
        assertEquals(2, ByteBuffer.wrap(Files.readAllBytes(file)).getInt(4));
        VectorIndex loaded = VectorIndex.load(file);
        for (String id : index.ids()) {
            assertEquals(index.find(id), loaded.find(id));
        }
        assertEquals(Map.of("f", 1.5f, "l", Long.MIN_VALUE, "s", "\uD83D\uDE00"), loaded.find("odd").orElseThrow().attributes());
        assertEquals(Float.class, loaded.find("odd").orElseThrow().attributes().get("f").getClass());

        index.removeAll(ne("side", "nothing")); // every entry with no attribute "side" = nothing... all of them
        index.add("plain", new float[] {1, 0}, "p");
        index.save(file);
        assertEquals(1, ByteBuffer.wrap(Files.readAllBytes(file)).getInt(4), "no attributes: the old format");
    }

    @Test
    void everyDamageToAVersionTwoFileIsDetected() throws IOException {
        Path file = dir.resolve("v2.lfvi");
        VectorIndex index = new VectorIndex(2);
        index.add("a", new float[] {1, 0}, null, Map.of("k", "v", "n", 3, "d", 2.5));
        index.save(file);
        byte[] bytes = Files.readAllBytes(file);
        Path bad = dir.resolve("bad.lfvi");
        for (int length = 0; length < bytes.length; length++) {
            Files.write(bad, Arrays.copyOf(bytes, length));
            assertThrows(CorruptIndexException.class, () -> VectorIndex.load(bad), "length " + length);
        }
        for (int i = 0; i < bytes.length; i++) {
            byte[] copy = bytes.clone();
            copy[i] ^= 0x40;
            Files.write(bad, copy);
            assertThrows(CorruptIndexException.class, () -> VectorIndex.load(bad), "byte " + i);
        }
    }

    @Test
    void commitWritesBackAndCloseRefusesLaterCalls() throws IOException {
        Path file = dir.resolve("bound.lfvi");
        VectorIndex index = VectorIndex.openOrCreate(file, 2);
        index.add("a", new float[] {1, 0}, "t", Map.of("k", 1));
        index.commit();
        assertEquals(index.find("a"), VectorIndex.load(file).find("a"));
        index.add("b", new float[] {0, 1}, null, Map.of());
        index.close();
        index.close();
        assertEquals(2, VectorIndex.load(file).size());
        assertEquals("the vector index is closed",
                assertThrows(IllegalStateException.class, () -> index.search(new float[] {1, 0}, 1)).getMessage());
        assertThrows(IllegalStateException.class, () -> index.add("c", new float[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> VectorIndex.openOrCreate(file, 3));
    }

    @Test
    void filteredSearchEqualsBruteForce() {
        Random random = new Random(7);
        VectorIndex index = new VectorIndex(8);
        float[][] vectors = new float[2000][8];
        for (int i = 0; i < vectors.length; i++) {
            for (int j = 0; j < 8; j++) {
                vectors[i][j] = (float) random.nextGaussian();
            }
            index.add("v" + i, vectors[i], null, Map.of("mod", i % 7, "half", i < 1000 ? "low" : "high"));
        }
        float[] q = vectors[17];
        MetadataFilter filter = and(in("mod", 2, 3), eq("half", "high"));
        List<String> expected = java.util.stream.IntStream.range(0, vectors.length)
                .filter(i -> (i % 7 == 2 || i % 7 == 3) && i >= 1000).boxed()
                .sorted((a, b) -> Double.compare(Similarity.cosine(q, vectors[b]), Similarity.cosine(q, vectors[a])))
                .limit(10).map(i -> "v" + i).toList();
        assertEquals(expected, ids(index.search(q, 10, filter)));
    }

    private static List<String> ids(List<SearchResult> results) {
        return results.stream().map(SearchResult::id).toList();
    }
}
