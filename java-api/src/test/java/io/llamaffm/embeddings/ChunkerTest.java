package io.llamaffm.embeddings;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ChunkerTest {
    /** Token i is the number 100 + i; the "text" of a slice lists its tokens. */
    private static final Function<int[], String> LIST = Arrays::toString;

    private static int[] tokens(int n) {
        return IntStream.range(100, 100 + n).toArray();
    }

    private static List<String> spans(Chunker chunker, int n) {
        return chunker.chunk(tokens(n), LIST).stream().map(c -> c.startToken() + ".." + c.endToken()).toList();
    }

    @Test
    void exactBoundariesWithOverlap() {
        assertEquals(List.of("0..4", "2..6", "4..8", "6..10"), spans(new Chunker(4, 2), 10));
        assertEquals(List.of("0..4", "2..6", "4..8", "6..10", "8..11"), spans(new Chunker(4, 2), 11));
        assertEquals(List.of("0..5", "4..9", "8..11"), spans(new Chunker(5, 1), 11));
        assertEquals(List.of("0..3", "1..4", "2..5"), spans(new Chunker(3, 2), 5));
    }

    @Test
    void exactBoundariesWithoutOverlap() {
        assertEquals(List.of("0..3", "3..6", "6..7"), spans(new Chunker(3, 0), 7));
        assertEquals(List.of("0..3", "3..6"), spans(new Chunker(3, 0), 6));
        assertEquals(List.of("0..1", "1..2", "2..3"), spans(new Chunker(1, 0), 3));
    }

    @Test
    void defaultSizesOverSixHundredTokens() {
        assertEquals(new Chunker(256, 64), Chunker.defaults());
        assertEquals(List.of("0..256", "192..448", "384..600"), spans(Chunker.defaults(), 600));
        assertEquals(List.of("0..256", "192..448"), spans(Chunker.defaults(), 448));
    }

    @Test
    void shortTextGivesOneChunk() {
        assertEquals(List.of(new Chunk(0, "[100, 101, 102]", 0, 3)), new Chunker(8, 4).chunk(tokens(3), LIST));
        assertEquals(List.of("0..8"), spans(new Chunker(8, 4), 8));
    }

    @Test
    void emptyTextGivesNoChunks() {
        assertEquals(List.of(), new Chunker(8, 4).chunk(new int[0], LIST));
    }

    @Test
    void chunkTextIsTheDecodedSliceAndIndexesCount() {
        List<Chunk> chunks = new Chunker(3, 1).chunk(tokens(6), LIST);
        assertEquals(List.of(
                new Chunk(0, "[100, 101, 102]", 0, 3),
                new Chunk(1, "[102, 103, 104]", 2, 5),
                new Chunk(2, "[104, 105]", 4, 6)), chunks);
        assertEquals(2, chunks.get(2).tokenCount());
    }

    @Test
    void coverageAndOverlapHoldForManySizes() {
        for (int size = 1; size <= 12; size++) {
            for (int overlap = 0; overlap < size; overlap++) {
                for (int n = 0; n <= 40; n++) {
                    List<Chunk> chunks = new Chunker(size, overlap).chunk(tokens(n), LIST);
                    String where = "size " + size + ", overlap " + overlap + ", n " + n;
                    List<Integer> covered = new ArrayList<>();
                    for (Chunk c : chunks) {
                        assertEquals(c.index() == 0 ? 0 : chunks.get(c.index() - 1).endToken() - overlap, c.startToken(), where);
                        assertEquals(c.index() == chunks.size() - 1 ? n : c.startToken() + size, c.endToken(), where);
                        IntStream.range(c.startToken(), c.endToken()).forEach(covered::add);
                    }
                    assertEquals(IntStream.range(0, n).boxed().toList(), covered.stream().distinct().toList(), where);
                    int expected = n == 0 ? 0 : n <= size ? 1 : 1 + Math.ceilDiv(n - size, size - overlap);
                    assertEquals(expected, chunks.size(), where);
                }
            }
        }
    }

    @Test
    void sizesAreValidated() {
        assertEquals("need chunkTokens > overlapTokens >= 0, got chunkTokens 4, overlapTokens 4",
                assertThrows(IllegalArgumentException.class, () -> new Chunker(4, 4)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Chunker(4, -1));
        assertThrows(IllegalArgumentException.class, () -> new Chunker(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Chunker(3, 5));
    }

    @Test
    void chunksAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new Chunk(0, "", 3, 3));
        assertThrows(IllegalArgumentException.class, () -> new Chunk(-1, "", 0, 1));
        assertThrows(NullPointerException.class, () -> new Chunk(0, null, 0, 1));
    }
}
