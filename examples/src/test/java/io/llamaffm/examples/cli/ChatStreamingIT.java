package io.llamaffm.examples.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The chat example streams: each reply reaches stdout piece by piece, flushed as the model writes it. */
class ChatStreamingIT {
    /** Records what each flush delivers. */
    static final class FlushRecorder extends Writer {
        final StringBuilder pending = new StringBuilder();
        final List<String> flushes = new ArrayList<>();

        @Override
        public void write(char[] buf, int off, int len) {
            pending.append(buf, off, len);
        }

        @Override
        public void flush() {
            if (!pending.isEmpty()) {
                flushes.add(pending.toString());
                pending.setLength(0);
            }
        }

        @Override
        public void close() {
            flush();
        }
    }

    @Test
    void eachReplyIsWrittenAsItIsGenerated() {
        Path model = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(model), "../shared/models/stories260K.gguf is absent");
        FlushRecorder out = new FlushRecorder();
        StringWriter err = new StringWriter();
        int code = LlamaCli.run(new String[] {"chat", model.toString(), "--temperature", "0", "-n", "24", "-t", "1"},
                new ByteArrayInputStream("Tell me a story\n".getBytes(StandardCharsets.UTF_8)), new PrintWriter(out, false),
                new PrintWriter(err), false);
        assertEquals(0, code, err::toString);
        String reply = String.join("", out.flushes);
        assertTrue(reply.endsWith("\n") && reply.indexOf('\n') == reply.length() - 1, reply);
        List<String> pieces = out.flushes.subList(0, out.flushes.size() - 1); // the last flush ends the line
        assertEquals(reply.strip(), String.join("", pieces).strip());
        // 24 tokens of a character-level vocabulary: many small writes, not one at the end
        assertTrue(pieces.size() >= 12, "flushed pieces: " + out.flushes);
        assertTrue(pieces.stream().allMatch(p -> p.length() <= 16), "every flush is about one token: " + out.flushes);
        assertTrue(err.toString().contains("generated: 24 tokens"), err::toString);
    }
}
