package io.llamaffm.server;

import io.llamaffm.Model;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.llamaffm.server.OpenAiServerIT.HTTP;
import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Requests run on virtual threads, but a virtual thread inside a native call keeps its carrier: with more decoding
 * requests than carriers (one per core), {@code /health} and {@code /metrics} must still answer at once, so decoding
 * runs on platform threads.
 */
class HttpThreadsIT {
    @Test
    void healthAndMetricsAnswerAtOnceWhileMoreRequestsDecodeThanThereAreCores() throws Exception {
        Path file = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        assumeTrue(Files.isRegularFile(file), "../shared/models/stories260K.gguf is absent");
        int decoding = Runtime.getRuntime().availableProcessors() + 1;
        assumeTrue(decoding <= 17, "a machine this large needs too many contexts for this test");
        try (Model model = Model.load(file);
             OpenAiServer s = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withParallel(decoding)
                     .withContext(ONE_THREAD.withContextLength(16384)).withShutdownTimeout(Duration.ZERO))) {
            List<CompletableFuture<HttpResponse<String>>> endless = new ArrayList<>();
            for (int i = 0; i < decoding; i++) { // each fills its context: far longer than this test
                endless.add(HTTP.sendAsync(HttpRequest.newBuilder(s.baseUri().resolve("/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\","
                                + "\"max_tokens\":100000,\"ignore_eos\":true}")).build(), HttpResponse.BodyHandlers.ofString()));
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (s.scheduler().stats().busySlots() < decoding) {
                assertTrue(System.nanoTime() < until, "only " + s.scheduler().stats().busySlots() + " requests decode");
                Thread.sleep(10);
            }
            for (String path : List.of("/health", "/metrics", "/v1/models")) {
                long t0 = System.nanoTime();
                OpenAiServerIT.Reply r = send(HttpRequest.newBuilder(s.baseUri().resolve(path)));
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(200, r.status(), path);
                assertTrue(ms < 1000, path + " took " + ms + " ms while " + decoding + " requests decode");
            }
            assertTrue(endless.stream().noneMatch(CompletableFuture::isDone), "all still decoding");
        }
    }
}
