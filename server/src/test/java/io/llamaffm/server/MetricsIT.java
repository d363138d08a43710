package io.llamaffm.server;

import io.llamaffm.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.llamaffm.server.OpenAiServerIT.GREEDY_16;
import static io.llamaffm.server.OpenAiServerIT.HTTP;
import static io.llamaffm.server.OpenAiServerIT.JSON;
import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.post;
import static io.llamaffm.server.OpenAiServerIT.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code GET /metrics} after a known sequence of requests, each server fresh. */
class MetricsIT {
    static final String COMPLETION = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0}";
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

    static OpenAiServerIT.Reply get(OpenAiServer s, String path) throws Exception {
        return send(HttpRequest.newBuilder(s.baseUri().resolve(path)).GET());
    }

    /** The page without its HELP and TYPE lines. */
    static String samples(OpenAiServerIT.Reply page) {
        assertEquals(200, page.status(), page.raw());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", page.response().headers().firstValue("Content-Type").orElseThrow());
        StringBuilder out = new StringBuilder();
        for (String line : page.raw().split("\n")) {
            if (!line.startsWith("#")) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    @Test
    void countersAfterAKnownSequenceOfRequests() throws Exception {
        try (OpenAiServer s = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withParallel(2)
                .withContext(ONE_THREAD.withContextLength(1024)))) { // two slots of 512
            assertEquals(200, get(s, "/health").status());
            OpenAiServerIT.Reply plain = post(s, "/v1/completions", COMPLETION); // 5 prompt tokens, 16 generated
            assertEquals(GREEDY_16, plain.body().at("/choices/0/text").asText(), plain.raw());
            OpenAiServerIT.Reply streamed = post(s, "/v1/completions", COMPLETION.replace("}", ",\"stream\":true}"));
            assertTrue(streamed.raw().endsWith("data: [DONE]\n\n"), streamed.raw());
            assertEquals(400, post(s, "/v1/completions", "{bad").status());
            assertEquals(200, get(s, "/v1/models/stories260K").status());
            assertEquals(404, get(s, "/v1/models/gpt-4").status());
            assertEquals(404, get(s, "/v1/engines").status());
            assertEquals(404, get(s, "/a/b/c").status());
            assertEquals(405, send(HttpRequest.newBuilder(s.baseUri().resolve("/v1/models")).DELETE()).status());
            assertEquals(400, post(s, "/v1/embeddings", "{\"model\":\"stories260K\",\"input\":\"x\"}").status());
            OpenAiServerIT.Reply page = get(s, "/metrics");
            assertEquals("""
                    llamaffm_requests_total{endpoint="/health",status="200"} 1
                    llamaffm_requests_total{endpoint="/v1/completions",status="200"} 2
                    llamaffm_requests_total{endpoint="/v1/completions",status="400"} 1
                    llamaffm_requests_total{endpoint="/v1/embeddings",status="400"} 1
                    llamaffm_requests_total{endpoint="/v1/models",status="405"} 1
                    llamaffm_requests_total{endpoint="/v1/models/{id}",status="200"} 1
                    llamaffm_requests_total{endpoint="/v1/models/{id}",status="404"} 1
                    llamaffm_requests_total{endpoint="other",status="404"} 2
                    llamaffm_prompt_tokens_total 10
                    llamaffm_completion_tokens_total 32
                    llamaffm_embedding_inputs_total 0
                    llamaffm_rerank_documents_total 0
                    llamaffm_generated_tokens_per_second 3.2
                    llamaffm_requests_waiting 0
                    llamaffm_slots_busy 0
                    llamaffm_slots 2
                    llamaffm_kv_cells_used 0
                    llamaffm_kv_cells_cached 21
                    llamaffm_kv_cells 1024
                    llamaffm_decodes_total 34
                    """, samples(page), "32 tokens in the last 10 s; the second request reuses the first's slot (its 5 "
                    + "prompt tokens and 16 more stay cached); a prompt decode and 16 token decodes each");
            assertTrue(page.raw().contains("# TYPE llamaffm_requests_total counter\n"), page.raw());
            assertTrue(page.raw().contains("# TYPE llamaffm_slots_busy gauge\n"), page.raw());
            String again = samples(get(s, "/metrics"));
            assertTrue(again.startsWith("llamaffm_requests_total{endpoint=\"/health\",status=\"200\"} 1\n"
                    + "llamaffm_requests_total{endpoint=\"/metrics\",status=\"200\"} 1\n"), "a scrape counts once answered: " + again);
        }
    }

    @Test
    void gaugesFollowTheSlotsAndTheQueue() throws Exception {
        try (OpenAiServer s = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0)
                .withContext(ONE_THREAD.withContextLength(32768)).withQueueTimeout(Duration.ofSeconds(60)))) {
            CompletableFuture<HttpResponse<String>> waiting;
            try (java.io.InputStream held = OpenAiServerIT.holdASlot(s)) {
                waiting = HTTP.sendAsync(HttpRequest.newBuilder(s.baseUri().resolve("/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(COMPLETION)).build(), HttpResponse.BodyHandlers.ofString());
                String page = "";
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!page.contains("llamaffm_requests_waiting 1\n") && System.nanoTime() < until) {
                    Thread.sleep(20);
                    page = samples(get(s, "/metrics"));
                }
                assertTrue(page.contains("llamaffm_requests_waiting 1\nllamaffm_slots_busy 1\nllamaffm_slots 1\n"), page);
            }
            HttpResponse<String> r = waiting.get(60, TimeUnit.SECONDS);
            assertEquals(GREEDY_16, JSON.readTree(r.body()).at("/choices/0/text").asText());
            String page = samples(get(s, "/metrics"));
            assertTrue(page.contains("llamaffm_requests_waiting 0\nllamaffm_slots_busy 0\nllamaffm_slots 1\n"), page);
            assertTrue(page.contains("llamaffm_completion_tokens_total 16\n"), page);
            assertTrue(List.of(page.split("\n")).contains("llamaffm_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 2"),
                    "the stream that held the slot and the request that waited: " + page);
        }
    }
}
