package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.llamaffm.Context;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.post;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /v1/embeddings} with a real sentence-embedding model: all-MiniLM-L6-v2 from LangChain4j's artifact (on the
 * test class path), converted to GGUF by our converter, served beside stories260K.
 */
class EmbeddingsEndpointIT {
    @TempDir
    static Path dir;

    static Model generator;
    static Model embedder;
    static OpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        Path stories = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(stories), "../shared/models/stories260K.gguf is absent");
        Path gguf = MiniLm.gguf(dir);
        generator = Model.load(stories);
        embedder = Model.load(gguf);
        server = OpenAiServer.start(generator, embedder, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD));
    }


    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        for (Model m : new Model[] {embedder, generator}) {
            if (m != null) {
                m.close();
            }
        }
    }

    /** What the library gives for the same texts with the same context settings. */
    static List<Embedding> viaApi(List<String> texts) {
        try (Context ctx = embedder.newContext(ONE_THREAD.withContextLength(512).withBatchSize(512).withMicroBatchSize(512)
                .withSequences(8).withEmbeddings(true))) {
            return ctx.embed(texts, EmbeddingParams.defaults());
        }
    }

    static float[] floats(JsonNode array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).floatValue();
        }
        return v;
    }

    @Test
    void embeddingsAreTheLibrarysVectorsWithTokenUsage() throws Exception {
        List<String> texts = List.of("The cat sleeps on the sofa.", "Stock markets fell sharply today.");
        OpenAiServerIT.Reply r = post(server, "/v1/embeddings", "{\"model\":\"all-minilm-l6-v2\",\"input\":"
                + "[\"The cat sleeps on the sofa.\",\"Stock markets fell sharply today.\"]}");
        assertEquals(200, r.status(), r.raw());
        List<Embedding> api = viaApi(texts);
        JsonNode b = r.body();
        assertEquals("list", b.get("object").asText());
        assertEquals("all-minilm-l6-v2", b.get("model").asText());
        assertEquals(2, b.get("data").size());
        int tokens = 0;
        for (int i = 0; i < 2; i++) {
            JsonNode item = b.get("data").get(i);
            assertEquals("embedding", item.get("object").asText());
            assertEquals(i, item.get("index").asInt());
            float[] v = floats(item.get("embedding"));
            assertEquals(384, v.length);
            assertArrayEquals(api.get(i).vector(), v, 1e-6f);
            tokens += api.get(i).tokens();
        }
        assertEquals(tokens, b.at("/usage/prompt_tokens").asInt());
        assertEquals(tokens, b.at("/usage/total_tokens").asInt());
        // the model understands: a sentence about a cat is closer to one about a kitten than to one about stocks
        OpenAiServerIT.Reply kitten = post(server, "/v1/embeddings", "{\"model\":\"all-minilm-l6-v2\",\"input\":\"A kitten naps on the couch.\"}");
        float[] k = floats(kitten.body().at("/data/0/embedding"));
        assertTrue(dot(k, api.get(0).vector()) > dot(k, api.get(1).vector()) + 0.3, kitten.raw());
        assertEquals(1, kitten.body().get("data").size(), "one string is one input");
    }

    @Test
    void base64IsLittleEndianFloat32() throws Exception {
        OpenAiServerIT.Reply f = post(server, "/v1/embeddings", "{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello world\"}");
        OpenAiServerIT.Reply b = post(server, "/v1/embeddings", "{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello world\","
                + "\"encoding_format\":\"base64\",\"dimensions\":384}");
        assertEquals(200, b.status(), b.raw());
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(b.body().at("/data/0/embedding").asText()))
                .order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(decoded);
        assertArrayEquals(floats(f.body().at("/data/0/embedding")), decoded, 0f);
    }

    @Test
    void badEmbeddingRequestsGetErrorBodies() throws Exception {
        String[][] cases = {
                {"{\"model\":\"all-minilm-l6-v2\"}", "400", "missing_required_parameter", "input"},
                {"{\"model\":\"all-minilm-l6-v2\",\"input\":[]}", "400", "missing_required_parameter", "input"},
                {"{\"model\":\"all-minilm-l6-v2\",\"input\":\"\"}", "400", "invalid_value", "input"},
                {"{\"model\":\"all-minilm-l6-v2\",\"input\":[\"a\",\"\"]}", "400", "invalid_value", "input[1]"},
                {"{\"model\":\"all-minilm-l6-v2\",\"input\":[1,2]}", "400", "invalid_type", "input[0]"},
                {"{\"model\":\"all-minilm-l6-v2\",\"input\":\"x\",\"encoding_format\":\"hex\"}", "400", "invalid_value", "encoding_format"},
                {"{\"model\":\"all-minilm-l6-v2\",\"input\":\"x\",\"dimensions\":128}", "400", "invalid_value", "dimensions"},
                {"{\"model\":\"all-minilm-l6-v2\",\"input\":\"" + "word ".repeat(600) + "\"}", "400", "invalid_value", "input"},
                {"{\"model\":\"stories260K\",\"input\":\"x\"}", "400", "model_not_supported", "model"},
                {"{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}", "404", "model_not_found", "model"}};
        for (String[] c : cases) {
            OpenAiServerIT.Reply r = post(server, "/v1/embeddings", c[0]);
            String what = c[0].substring(0, Math.min(120, c[0].length())) + " -> " + r.raw();
            assertEquals(Integer.parseInt(c[1]), r.status(), what);
            assertEquals(c[2], r.body().at("/error/code").asText(), what);
            assertEquals(c[3], r.body().at("/error/param").asText(), what);
        }
        OpenAiServerIT.Reply chat = post(server, "/v1/chat/completions",
                "{\"model\":\"all-minilm-l6-v2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals("model_not_supported", chat.body().at("/error/code").asText(), chat.raw());
        JsonNode models = OpenAiServerIT.JSON.readTree(OpenAiServerIT.HTTP.send(java.net.http.HttpRequest.newBuilder(
                server.baseUri().resolve("/v1/models")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body());
        assertEquals("stories260K", models.at("/data/0/id").asText());
        assertEquals("all-minilm-l6-v2", models.at("/data/1/id").asText());
    }

    @Test
    void concurrentRequestsShareOneEmbedCallAndGetTheVectorsOfSerialRequests() throws Exception {
        List<String> bodies = List.of(
                "{\"model\":\"all-minilm-l6-v2\",\"input\":\"The cat sleeps on the sofa.\"}",
                "{\"model\":\"all-minilm-l6-v2\",\"input\":[\"Stock markets fell sharply today.\",\"A kitten naps on the couch.\"]}",
                "{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello world\"}",
                "{\"model\":\"all-minilm-l6-v2\",\"input\":[\"one\",\"two\",\"three\"]}",
                "{\"model\":\"all-minilm-l6-v2\",\"input\":\"Berlin is the capital of Germany and its largest city.\"}",
                "{\"model\":\"all-minilm-l6-v2\",\"input\":\"I like turtles.\",\"encoding_format\":\"base64\"}");
        EmbeddingBatcher batcher = server.embeddingBatcher();
        long before = batcher.embedCalls();
        List<JsonNode> serial = new java.util.ArrayList<>();
        for (String b : bodies) {
            OpenAiServerIT.Reply r = post(server, "/v1/embeddings", b);
            assertEquals(200, r.status(), r.raw());
            serial.add(r.body());
        }
        assertEquals(bodies.size(), batcher.embedCalls() - before, "one call per request made one at a time");
        long beforeConcurrent = batcher.embedCalls();
        List<java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>>> replies = new java.util.ArrayList<>();
        try (AutoCloseable held = batcher.hold()) { // the worker takes nothing until all six wait
            for (String b : bodies) {
                replies.add(OpenAiServerIT.HTTP.sendAsync(java.net.http.HttpRequest.newBuilder(server.baseUri().resolve("/v1/embeddings"))
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(b)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()));
            }
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (batcher.waiting() < bodies.size()) {
                assertTrue(System.nanoTime() < until, "only " + batcher.waiting() + " requests arrived");
                Thread.sleep(10);
            }
        }
        for (int i = 0; i < bodies.size(); i++) {
            java.net.http.HttpResponse<String> r = replies.get(i).get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode b = OpenAiServerIT.JSON.readTree(r.body());
            JsonNode expected = serial.get(i);
            assertEquals(expected.get("usage"), b.get("usage"), bodies.get(i));
            assertEquals(expected.get("data").size(), b.get("data").size(), bodies.get(i));
            for (int j = 0; j < b.get("data").size(); j++) {
                JsonNode got = b.get("data").get(j).get("embedding");
                JsonNode want = expected.get("data").get(j).get("embedding");
                assertEquals(j, b.get("data").get(j).get("index").asInt());
                if (want.isTextual()) {
                    assertArrayEquals(decode(want.asText()), decode(got.asText()), 1e-6f, bodies.get(i));
                } else {
                    assertArrayEquals(floats(want), floats(got), 1e-6f, bodies.get(i));
                }
            }
        }
        assertEquals(1, batcher.embedCalls() - beforeConcurrent, "the six waiting requests were embedded in one call");
    }

    @Test
    void aFullQueueAndAQueueTimeoutGet503ServerBusy() throws Exception {
        try (OpenAiServer small = OpenAiServer.start(generator, embedder, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD)
                .withQueueSize(1).withQueueTimeout(java.time.Duration.ofMillis(500)))) {
            String body = "{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello world\"}";
            EmbeddingBatcher batcher = small.embeddingBatcher();
            java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> first;
            try (AutoCloseable held = batcher.hold()) {
                first = OpenAiServerIT.HTTP.sendAsync(java.net.http.HttpRequest.newBuilder(small.baseUri().resolve("/v1/embeddings"))
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
                while (batcher.waiting() < 1) {
                    assertTrue(System.nanoTime() < until, "the first request never arrived");
                    Thread.sleep(5);
                }
                OpenAiServerIT.Reply full = post(small, "/v1/embeddings", body);
                assertEquals(503, full.status(), full.raw());
                assertEquals("{\"error\":{\"message\":\"The embedding model is busy (1 request(s) already waiting, the most this server queues); "
                        + "retry later.\",\"type\":\"server_error\",\"param\":null,\"code\":\"server_busy\"}}", full.raw());
                java.net.http.HttpResponse<String> timedOut = first.get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(503, timedOut.statusCode(), timedOut.body());
                assertEquals("{\"error\":{\"message\":\"The embedding model is busy (this request waited 500 ms for the "
                        + "embedding model); retry later.\",\"type\":\"server_error\",\"param\":null,\"code\":\"server_busy\"}}",
                        timedOut.body());
                assertEquals(0, batcher.waiting(), "the timed-out request left the queue");
            }
            OpenAiServerIT.Reply ok = post(small, "/v1/embeddings", body);
            assertEquals(200, ok.status(), ok.raw());
            assertArrayEquals(viaApi(List.of("hello world")).getFirst().vector(), floats(ok.body().at("/data/0/embedding")), 1e-6f);
        }
    }

    private static float[] decode(String base64) {
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(v);
        return v;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
