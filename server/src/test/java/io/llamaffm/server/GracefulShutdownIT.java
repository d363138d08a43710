package io.llamaffm.server;

import io.llamaffm.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.llamaffm.server.OpenAiServerIT.GREEDY_16;
import static io.llamaffm.server.OpenAiServerIT.HTTP;
import static io.llamaffm.server.OpenAiServerIT.JSON;
import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.events;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link OpenAiServer#close()}: drain within the shutdown timeout, then cancel, then close; never longer. */
class GracefulShutdownIT {
    static final String STREAM = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0,\"stream\":true}";
    /** Generates until a context of 32768 tokens is full: far longer than any shutdown timeout here. */
    static final String ENDLESS = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":100000,"
            + "\"ignore_eos\":true";
    static final String CANCELLED = "{\"error\":{\"message\":\"The server is shutting down: this generation was cancelled.\","
            + "\"type\":\"server_error\",\"param\":null,\"code\":\"shutting_down\"}}";

    static Model model;

    @BeforeAll
    static void load() {
        Path file = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(file), "../shared/models/stories260K.gguf is absent");
        model = Model.load(file);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    static CompletableFuture<Long> closeInBackground(OpenAiServer s) {
        return CompletableFuture.supplyAsync(() -> {
            long t0 = System.nanoTime();
            s.close();
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        });
    }

    static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < until, "timed out waiting: " + what);
            Thread.sleep(10);
        }
    }

    static void assertRefused(URI base) {
        assertThrows(IOException.class, () -> HTTP.send(HttpRequest.newBuilder(base.resolve("/health"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()), "the listener is closed");
    }

    @Test
    void aRequestInFlightFinishesWithinTheDeadlineWhileNewOnesGet503() throws Exception {
        OpenAiServer s = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0)
                .withContext(ONE_THREAD.withContextLength(32768)).withQueueTimeout(Duration.ofSeconds(60))
                .withShutdownTimeout(Duration.ofSeconds(20)));
        URI base = s.baseUri();
        CompletableFuture<HttpResponse<String>> stream;
        CompletableFuture<Long> closing;
        long released;
        try (InputStream held = OpenAiServerIT.holdASlot(s)) {
            // the stream waits for the only slot, so it is surely running when close() begins
            stream = HTTP.sendAsync(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(STREAM)).build(), HttpResponse.BodyHandlers.ofString());
            awaitTrue(() -> s.scheduler().stats().queued() == 1, "the stream waits for the slot");
            closing = closeInBackground(s);
            OpenAiServerIT.Reply refused = null;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (refused == null || refused.status() != 503) { // /health answers until close() has begun
                assertTrue(System.nanoTime() < until, "close() never began draining");
                refused = OpenAiServerIT.send(HttpRequest.newBuilder(base.resolve("/health")));
            }
            assertEquals("{\"error\":{\"message\":\"The server is shutting down; retry on another server or later.\","
                    + "\"type\":\"server_error\",\"param\":null,\"code\":\"shutting_down\"}}", refused.raw());
            assertEquals("close", refused.response().headers().firstValue("Connection").orElse(null));
            Thread.sleep(300);
            assertFalse(closing.isDone(), "close() waits for the running request");
            released = System.nanoTime();
        }
        HttpResponse<String> r = stream.get(60, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode(), r.body());
        List<String> data = events(r.body());
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(0, data.size() - 1)) {
            text.append(JSON.readTree(d).at("/choices/0/text").asText());
        }
        assertEquals(GREEDY_16, text.toString(), "the whole stream, then [DONE]");
        long closeMs = closing.get(30, TimeUnit.SECONDS);
        long afterRelease = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - released);
        assertTrue(afterRelease < 5_000, "close() returned soon after the last request ended, not at the 20 s deadline ("
                + closeMs + " ms in all)");
        assertRefused(base);
        assertFalse(model.isClosed());
    }

    @Test
    void requestsPastTheDeadlineAreCancelledAStreamWithAnErrorEventThenCloseReturns() throws Exception {
        long deadlineMs = 1000;
        OpenAiServer s = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withParallel(2)
                .withContext(ONE_THREAD.withContextLength(32768)).withShutdownTimeout(Duration.ofMillis(deadlineMs)));
        URI base = s.baseUri();
        HttpResponse<InputStream> stream = HTTP.send(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(ENDLESS + ",\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        CompletableFuture<HttpResponse<String>> plain = HTTP.sendAsync(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(ENDLESS + "}")).build(), HttpResponse.BodyHandlers.ofString());
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            lines.add(in.readLine()); // the stream is under way
            awaitTrue(() -> s.scheduler().stats().busySlots() == 2, "both requests generate");
            CompletableFuture<Long> closing = closeInBackground(s);
            for (String line; (line = in.readLine()) != null; ) { // to the end: no IOException, the stream ends cleanly
                lines.add(line);
            }
            long closeMs = closing.get(30, TimeUnit.SECONDS);
            assertTrue(closeMs >= deadlineMs - 50, "close() waited for the deadline: " + closeMs + " ms");
            assertTrue(closeMs < deadlineMs + 2_000, "close() returned within the deadline and a small margin: " + closeMs + " ms");
        }
        assertTrue(lines.size() > 4, lines::toString);
        assertEquals("", lines.getLast(), "the last event is complete");
        assertEquals("data: " + CANCELLED, lines.get(lines.size() - 2), "the stream's last event says why it ended");
        assertFalse(lines.contains("data: [DONE]"), lines::toString);
        for (int i = 0; i < lines.size() - 2; i += 2) {
            assertTrue(lines.get(i).startsWith("data: {\"id\":\"cmpl-"), lines.get(i));
            assertEquals("", lines.get(i + 1));
        }
        HttpResponse<String> r = plain.get(30, TimeUnit.SECONDS);
        assertEquals(503, r.statusCode(), r.body());
        assertEquals(CANCELLED, r.body());
        assertRefused(base);
    }

    @Test
    void anIdleServerClosesAtOnceAndCloseIsIdempotent() throws Exception {
        OpenAiServer s = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD)
                .withShutdownTimeout(Duration.ofSeconds(30)));
        assertEquals(200, OpenAiServerIT.send(HttpRequest.newBuilder(s.baseUri().resolve("/health"))).status()); // a kept-alive connection
        long t0 = System.nanoTime();
        s.close();
        s.close();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 2_000, "nothing to wait for: " + ms + " ms");
        assertRefused(s.baseUri());
    }
}
