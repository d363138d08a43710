package io.llamaffm.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ServerSentEventsTest {
    @Test
    void eachBlankLineEndsAnEventOfTheDataLinesBeforeIt() {
        assertEquals(List.of("{\"a\":1}", "[DONE]"), events(
                "data: {\"a\":1}", "",
                "data: [DONE]", ""));
    }

    @Test
    void dataLinesJoinWithNewlinesAndOnlyOneSpaceIsDropped() {
        assertEquals(List.of("first\nsecond", " indented", "no space", ""), events(
                "data: first", "data: second", "",
                "data:  indented", "",
                "data:no space", "",
                "data", ""));
    }

    @Test
    void commentsOtherFieldsAndEmptyEventsAreSkipped() {
        assertEquals(List.of("x"), events(
                ": keep-alive", "",
                "",
                "event: message", "id: 7", "retry: 1000", "data: x", "",
                "event: nothing", ""));
    }

    @Test
    void anEventWithoutItsBlankLineComesAtTheEnd() {
        ServerSentEvents d = new ServerSentEvents();
        assertNull(d.line("data: [DONE]"));
        assertEquals("[DONE]", d.end());
        assertNull(d.end());
    }

    private static List<String> events(String... lines) {
        ServerSentEvents d = new ServerSentEvents();
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            String e = d.line(line);
            if (e != null) {
                out.add(e);
            }
        }
        assertNull(d.end());
        return out;
    }
}
