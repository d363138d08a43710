package io.llamaffm.benchmarks;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The load generator against our server's runnable jar (a child process, over HTTP only) on stories260K. */
class ServerLoadIT {
    private static final int MAX_TOKENS = 16;
    static Path stories;
    static Path jar;

    @BeforeAll
    static void paths() {
        stories = SyntheticModel.defaultTokenizerSource();
        assumeTrue(Files.isRegularFile(stories), stories + " is absent (clone with ../shared beside the project)");
        jar = Path.of(System.getProperty("llamaffm.server.jar", "../server/target/llama-ffm-server.jar"));
        assumeTrue(Files.isRegularFile(jar), jar + " is absent: package the server module first (mvn -pl server -am package)");
    }

    @Test
    void twoClientsGetEveryTokenTheyAskFor(@TempDir Path tmp) throws Exception {
        int port = ServerProcess.freePort();
        URI base = URI.create("http://127.0.0.1:" + port);
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-jar", jar.toString(), "--model", stories.toString(),
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--parallel", "2", "--ctx", "1024", "--threads", "2");
        try (ServerProcess server = ServerProcess.start("llama-ffm", command, base, tmp.resolve("server.log"), Duration.ofMinutes(2))) {
            ServerLoad load = ServerLoad.connect(base, MAX_TOKENS, Duration.ofMinutes(2));
            assertEquals("stories260K", load.model());
            StreamedCompletion warm = load.request(ServerLoad.PROMPTS.getFirst());
            assertEquals(MAX_TOKENS, warm.tokens());

            LoadLevel level = load.level(2, 2);
            assertEquals(2, level.clients());
            assertEquals(4, level.requests().size());
            for (StreamedCompletion r : level.requests()) {
                assertTrue(r.tokensFromUsage(), r.toString());
                assertEquals(MAX_TOKENS, r.tokens(), r.toString()); // ignore_eos: exactly max_tokens, never fewer
                assertTrue(r.contentChunks() >= 1 && r.contentChunks() <= MAX_TOKENS, r.toString());
                assertEquals(r.contentChunks() - 1, r.itlMillis().length);
                assertTrue(r.ttftMillis() > 0, r.toString());
                assertTrue(r.promptTokens() > 0, r.toString());
            }
            assertEquals(4L * MAX_TOKENS, level.tokens());
            assertTrue(level.wallSeconds() > 0 && level.tokensPerSecond() > 0, level.summary());
        }
    }
}
