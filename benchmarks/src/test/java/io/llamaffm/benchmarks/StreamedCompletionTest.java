package io.llamaffm.benchmarks;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamedCompletionTest {
    private static final long MS = 1_000_000;

    @Test
    void timesTheChunksWithContentAndCountsTokensByUsage() throws IOException {
        // as both servers stream: a role chunk (content "" or none), content, a finish chunk, usage, [DONE]
        StreamedCompletion c = StreamedCompletion.of(1000 * MS, List.of(
                event(1010, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"),
                event(1025, content("Once")),
                event(1030, content(" upon")),
                event(1030, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null}}]}"),
                event(1042, content(" a")),
                event(1050, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}"),
                event(1051, "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16,"
                        + "\"prompt_tokens_details\":{\"cached_tokens\":11}}}"),
                event(1052, "[DONE]"),
                event(1999, content("after the end"))));
        assertEquals(25.0, c.ttftMillis());
        assertArrayEquals(new double[] {5.0, 12.0}, c.itlMillis());
        assertEquals(4, c.tokens()); // usage counts a token whose text came out empty, chunks do not
        assertEquals(3, c.contentChunks());
        assertEquals(12, c.promptTokens());
        assertEquals(11, c.cachedTokens());
        assertTrue(c.tokensFromUsage());
    }

    @Test
    void withoutUsageTheContentChunksAreTheTokens() throws IOException {
        StreamedCompletion c = StreamedCompletion.of(0, List.of(event(3, content("a")), event(4, "[DONE]")));
        assertEquals(3.0, c.ttftMillis());
        assertArrayEquals(new double[0], c.itlMillis());
        assertEquals(1, c.tokens());
        assertEquals(-1, c.promptTokens());
        assertEquals(-1, c.cachedTokens());
        assertFalse(c.tokensFromUsage());
    }

    @Test
    void errorEventsAndStreamsWithoutContentFail() {
        IOException e = assertThrows(IOException.class, () -> StreamedCompletion.of(0, List.of(
                event(1, "{\"error\":{\"message\":\"boom\"}}"))));
        assertEquals("the server sent an error event: {\"message\":\"boom\"}", e.getMessage());
        assertThrows(IOException.class, () -> StreamedCompletion.of(0, List.of(event(1, "[DONE]"))));
        assertThrows(IOException.class, () -> StreamedCompletion.of(0, List.of(event(1, "not json"))));
    }

    private static StreamedCompletion.Event event(long millis, String data) {
        return new StreamedCompletion.Event(millis * MS, data);
    }

    private static String content(String text) {
        return "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"},\"finish_reason\":null}]}";
    }
}
