package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.llamaffm.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static io.llamaffm.server.OpenAiServerIT.GREEDY_16;
import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --api-key}: every route but {@code GET /health} wants {@code Authorization: Bearer <key>}. */
class ApiKeyIT {
    static final String KEY = "sk-llamaffm-test-9f8e7d6c5b4a";
    static final String COMPLETION = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0}";

    static Model model;
    static OpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        Path file = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(file), "../shared/models/stories260K.gguf is absent");
        model = Model.load(file);
        server = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD).withApiKey(KEY));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (model != null) {
            model.close();
        }
    }

    static HttpRequest.Builder request(String method, String path, String body, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.baseUri().resolve(path)).method(method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return authorization == null ? b : b.header("Authorization", authorization);
    }

    static void assertRefused(OpenAiServerIT.Reply r, String why) {
        assertEquals(401, r.status(), r.raw());
        assertEquals("Bearer", r.response().headers().firstValue("WWW-Authenticate").orElse(null), r.raw());
        assertEquals("application/json", r.response().headers().firstValue("Content-Type").orElse(null));
        assertEquals("{\"error\":{\"message\":\"Incorrect API key provided. Send this server's key as 'Authorization: Bearer "
                + "<key>' (" + why + ").\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}", r.raw());
    }

    @Test
    void aMissingOrWrongKeyGets401AndTheRightKeyIsServed() throws Exception {
        assertRefused(send(request("POST", "/v1/completions", COMPLETION, null)), "no Authorization header was sent");
        assertRefused(send(request("POST", "/v1/completions", COMPLETION, "Bearer sk-wrong")), "the key sent is not this server's");
        assertRefused(send(request("POST", "/v1/completions", COMPLETION, "Bearer " + KEY + "x")), "the key sent is not this server's");
        assertRefused(send(request("POST", "/v1/completions", COMPLETION, "Bearer " + KEY.substring(1))), "the key sent is not this server's");
        assertRefused(send(request("POST", "/v1/completions", COMPLETION, "Basic " + KEY)), "the Authorization header is not 'Bearer <key>'");
        assertRefused(send(request("POST", "/v1/completions", COMPLETION, "Bearer")), "the Authorization header is not 'Bearer <key>'");
        assertRefused(send(request("GET", "/v1/models", null, null)), "no Authorization header was sent");
        assertRefused(send(request("GET", "/metrics", null, null)), "no Authorization header was sent");
        assertRefused(send(request("GET", "/v1/nothing-here", null, null)), "no Authorization header was sent");
        assertRefused(send(request("POST", "/health", "{}", null)), "no Authorization header was sent");

        OpenAiServerIT.Reply ok = send(request("POST", "/v1/completions", COMPLETION, "Bearer " + KEY));
        assertEquals(200, ok.status(), ok.raw());
        assertEquals(GREEDY_16, ok.body().at("/choices/0/text").asText());
        OpenAiServerIT.Reply lowerCase = send(request("GET", "/v1/models", null, "bearer " + KEY));
        assertEquals(200, lowerCase.status(), "the scheme is case-insensitive: " + lowerCase.raw());
        assertEquals("stories260K", lowerCase.body().at("/data/0/id").asText());
        assertEquals(200, send(request("GET", "/metrics", null, "Bearer " + KEY)).status());
        OpenAiServerIT.Reply unknown = send(request("GET", "/v1/nothing-here", null, "Bearer " + KEY));
        assertEquals(404, unknown.status(), "routing comes after the key");
    }

    @Test
    void healthNeedsNoKey() throws Exception {
        OpenAiServerIT.Reply health = send(request("GET", "/health", null, null));
        assertEquals(200, health.status());
        assertEquals("{\"status\":\"ok\"}", health.raw());
        assertEquals(200, send(request("GET", "/health", null, "Bearer wrong")).status(), "a wrong key does not matter there");
    }

    @Test
    void theKeyNeverAppearsInLogsOrStrings() throws Exception {
        List<String> logged = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                StringBuilder s = new StringBuilder(String.valueOf(r.getMessage()));
                if (r.getParameters() != null) {
                    for (Object p : r.getParameters()) {
                        s.append(' ').append(p);
                    }
                }
                for (Throwable t = r.getThrown(); t != null; t = t.getCause()) {
                    s.append(' ').append(t);
                }
                synchronized (logged) {
                    logged.add(s.toString());
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger root = Logger.getLogger("");
        Logger ours = Logger.getLogger("io.llamaffm.server");
        Logger jdk = Logger.getLogger("com.sun.net.httpserver");
        Level ourLevel = ours.getLevel();
        Level jdkLevel = jdk.getLevel();
        root.addHandler(capture);
        Level handlerLevel = capture.getLevel();
        capture.setLevel(Level.ALL);
        ours.setLevel(Level.ALL);
        jdk.setLevel(Level.ALL);
        try {
            send(request("POST", "/v1/completions", COMPLETION, "Bearer " + KEY));
            send(request("POST", "/v1/completions", "{bad json", "Bearer " + KEY));
            send(request("POST", "/v1/completions", COMPLETION, "Bearer " + KEY + "-wrong"));
            send(request("GET", "/v1/models", null, "Bearer " + KEY));
        } finally {
            root.removeHandler(capture);
            capture.setLevel(handlerLevel);
            ours.setLevel(ourLevel);
            jdk.setLevel(jdkLevel);
        }
        synchronized (logged) {
            assertFalse(logged.isEmpty(), "the JDK's server logs each request at the finest levels");
            for (String line : logged) {
                assertFalse(line.contains(KEY), line);
            }
        }
        ServerConfig config = ServerConfig.defaults().withApiKey(KEY);
        assertFalse(config.toString().contains(KEY), config::toString);
        assertFalse(server.toString().contains(KEY));
        JsonNode refused = send(request("GET", "/v1/models", null, "Bearer " + KEY + "-wrong")).body();
        assertFalse(refused.toString().contains(KEY), "the 401 does not echo the key sent");
        assertTrue(refused.at("/error/message").asText().startsWith("Incorrect API key provided."));
    }
}
