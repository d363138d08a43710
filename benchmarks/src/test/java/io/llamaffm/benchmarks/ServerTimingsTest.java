package io.llamaffm.benchmarks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading the JNI binding's server timings back from its log. */
class ServerTimingsTest {
    private static String block(int task, String promptMs, int promptTokens, String evalMs, int evalTokens) {
        return "slot      release: id  0 | task " + task + " | stop processing: n_past = " + promptTokens + ", truncated = 0\n"
                + "slot print_timing: id  0 | task " + task + " | \n"
                + String.format("prompt eval time = %10s ms / %5d tokens (    0.06 ms per token, 18079.10 tokens per second)%n", promptMs, promptTokens)
                + String.format("       eval time = %10s ms / %5d tokens (    0.23 ms per token,  4329.00 tokens per second)%n", evalMs, evalTokens)
                + String.format("      total time = %10s ms / %5d tokens%n", "7.31", promptTokens + evalTokens)
                + "srv  update_slots: all slots are idle\n";
    }

    private static List<ServerTimings> timings(Path log) throws IOException {
        return ServerTimings.parse(Files.readAllLines(log));
    }

    @Test
    void parsesEveryBlockInOrder() {
        String log = "load_backend: something\n" + block(0, "8.00", 128, "0.23", 1) + block(1, "2.50", 5, "40.00", 17);
        assertEquals(List.of(new ServerTimings(8.0, 128, 0.23, 1), new ServerTimings(2.5, 5, 40.0, 17)),
                ServerTimings.parse(log.lines().toList()));
        assertEquals(16_000.0, ServerTimings.parse(log.lines().toList()).get(0).promptTokensPerSecond(), 1e-9);
    }

    @Test
    void aPromptLineWithoutItsEvalLineIsNoBlock() {
        assertEquals(List.of(), ServerTimings.parse(List.of("prompt eval time =  1.00 ms /  4 tokens (", "other")));
    }

    @Test
    void theMeasuredPromptsAreTheOneTokenRequestsAfterTheWarmUp(@TempDir Path dir) throws IOException {
        Path log = Files.writeString(dir.resolve("child.log"), block(0, "10.00", 64, "0.2", 1) + block(1, "1.0", 5, "9.0", 9)
                + block(2, "8.00", 64, "0.2", 1) + block(3, "1.0", 5, "9.0", 9)
                + block(4, "4.00", 64, "0.2", 1) + block(5, "1.0", 5, "9.0", 9));
        assertEquals(List.of(8_000.0, 16_000.0), JniBaseline.serverPromptSpeeds(timings(log), 64, 2));
    }

    @Test
    void theMeasuredGenerationsAreTheRequestsOfGenTokensPlusOne(@TempDir Path dir) throws IOException {
        // warm-up generation of 9 tokens, prompt requests of 1, measured generations of 17
        Path log = Files.writeString(dir.resolve("child.log"), block(0, "10.00", 64, "0.2", 1) + block(1, "1.0", 5, "9.0", 9)
                + block(2, "8.00", 64, "0.2", 1) + block(3, "1.0", 5, "34.0", 17)
                + block(4, "4.00", 64, "0.2", 1) + block(5, "1.0", 5, "68.0", 17));
        List<Double> speeds = JniBaseline.serverGenerationSpeeds(timings(log), 16, 2);
        assertEquals(2, speeds.size());
        assertEquals(500.0, speeds.get(0), 1e-9);
        assertEquals(250.0, speeds.get(1), 1e-9);
        var e = assertThrows(IllegalStateException.class, () -> JniBaseline.serverGenerationSpeeds(timings(log), 16, 3));
        assertTrue(e.getMessage().contains("timed 2 generations of 17 tokens, not 3"), e.getMessage());
    }

    @Test
    void aPromptDecodedOnlyInPartIsAnError(@TempDir Path dir) throws IOException {
        // a reused cached prefix: the server decodes only the prompt's new tokens
        Path log = Files.writeString(dir.resolve("child.log"), block(0, "10.00", 64, "0.2", 1) + block(2, "0.10", 1, "0.2", 1));
        var e = assertThrows(IllegalStateException.class, () -> JniBaseline.serverPromptSpeeds(timings(log), 64, 1));
        assertTrue(e.getMessage().contains("did not decode 2 prompts of 64 tokens each"), e.getMessage());
        // a repetition whose timing is missing
        assertThrows(IllegalStateException.class, () -> JniBaseline.serverPromptSpeeds(timings(log), 64, 2));
    }
}
