package io.llamaffm.chat;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TrimmedTextTest {
    @Test
    void streamedPiecesAddUpToTheStrippedText() {
        List<String> pieces = List.of(" ", " Once", " upon", " a ", "time", ".", "\n", " ", "\n");
        List<String> out = new ArrayList<>();
        TrimmedText trimmed = new TrimmedText(out::add);
        pieces.forEach(trimmed);
        assertEquals(String.join("", pieces).strip(), String.join("", out));
        assertEquals(List.of("Once", " upon", " a", " time", "."), out, "whitespace held until text follows it");
    }

    @Test
    void aReplyOfWhitespaceSendsNothing() {
        List<String> none = new ArrayList<>();
        TrimmedText blank = new TrimmedText(none::add);
        List.of(" ", "\n", "\t").forEach(blank);
        assertEquals(List.of(), none);
    }
}
