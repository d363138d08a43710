package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.llamaffm.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.llamaffm.server.OpenAiServerIT.GREEDY_16;
import static io.llamaffm.server.OpenAiServerIT.JSON;
import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Malformed and hostile requests on the loopback: each gets its 4xx with OpenAI's error body (or its connection cut,
 * where no answer can be read), within stated time, and the server still answers {@code /health} after it. Loops and
 * waits are bounded.
 */
class MalformedInputIT {
    static final long READ_TIMEOUT_MS = 2000;
    static final long MAX_BODY = 1 << 20;
    static final String COMPLETION = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0}";

    static Model model;
    static OpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        Path file = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(file), "../shared/models/stories260K.gguf is absent");
        model = Model.load(file);
        server = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD)
                .withMaxRequestBytes(MAX_BODY).withRequestReadTimeout(Duration.ofMillis(READ_TIMEOUT_MS)));
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

    static OpenAiServerIT.Reply postBytes(String path, byte[] body) throws Exception {
        return send(HttpRequest.newBuilder(server.baseUri().resolve(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", "application/json"));
    }

    static void assertHealthy() throws Exception {
        OpenAiServerIT.Reply health = send(HttpRequest.newBuilder(server.baseUri().resolve("/health")));
        assertEquals(200, health.status(), "the server still answers");
        assertEquals("{\"status\":\"ok\"}", health.raw());
    }

    static void assertError(OpenAiServerIT.Reply r, int status, String code, String param, String what) {
        assertEquals(status, r.status(), what + " -> " + r.raw());
        JsonNode error = r.body().get("error");
        assertEquals(Set.of("message", "type", "param", "code"), Set.copyOf(List.of("message", "type", "param", "code").stream()
                .filter(error::has).toList()), what);
        assertEquals(code, error.get("code").asText(), what + " -> " + r.raw());
        assertEquals(param, error.get("param").isNull() ? null : error.get("param").asText(), what + " -> " + r.raw());
        assertEquals(status >= 500 ? "server_error" : "invalid_request_error", error.get("type").asText(), what);
    }

    record Case(String path, byte[] body, int status, String code, String param) {
        Case(String path, String body, int status, String code, String param) {
            this(path, body.getBytes(StandardCharsets.UTF_8), status, code, param);
        }
    }

    @Test
    void hugeNumbersDeepNestingAndInvalidUtf8Get400NamingTheField() throws Exception {
        String msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        List<Case> cases = List.of(
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"temperature\":1e400}", 400, "invalid_value", "temperature"),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"top_p\":-1e400}", 400, "invalid_value", "top_p"),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"max_tokens\":99999999999999999999}", 400, "invalid_value", "max_tokens"),
                new Case("/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"max_completion_tokens\":99999999999999999999}",
                        400, "invalid_value", "max_completion_tokens"),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"max_tokens\":1e400}", 400, "invalid_type", "max_tokens"),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"seed\":" + "9".repeat(30) + "}", 400, "invalid_value", "seed"),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"seed\":" + "9".repeat(5000) + "}", 400, "invalid_json", null),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"logit_bias\":{\"5\":1e400}}", 400, "invalid_value", "logit_bias"),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"temperature\":NaN}", 400, "invalid_json", null),
                new Case("/v1/completions", "[".repeat(100_000), 400, "invalid_json", null),
                new Case("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}",
                        400, "invalid_json", null),
                new Case("/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"chat_template_kwargs\":"
                        + "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_001), 400, "invalid_json", null),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"a\u00ffb\"}".getBytes(StandardCharsets.ISO_8859_1),
                        400, "invalid_json", null),
                new Case("/v1/completions", new byte[] {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xED, (byte) 0xA0,
                        (byte) 0x80, '"', '}'}, 400, "invalid_json", null),
                new Case("/v1/completions", new byte[] {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xC3, '"', '}'},
                        400, "invalid_json", null),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"a\u0001b\"}", 400, "invalid_json", null),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"\\udfff\"}", 400, "invalid_value", "prompt"),
                new Case("/v1/completions", new byte[] {(byte) 0xFE, (byte) 0xFF, 0, '{', 0, '}'}, 400, "invalid_json", null),
                new Case("/v1/completions", new byte[0], 400, "invalid_json", null),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":[" + "\"a\",".repeat(GenerationEndpoint.MAX_PROMPTS)
                        + "\"a\"]}", 400, "invalid_value", "prompt"),
                new Case("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\"" + ",\"stop\":\"a\"".repeat(2) + "}", 400, "invalid_json", null));
        for (Case c : cases) {
            String what = c.path() + " " + new String(c.body(), 0, Math.min(80, c.body().length), StandardCharsets.ISO_8859_1);
            assertError(postBytes(c.path(), c.body()), c.status(), c.code(), c.param(), what);
            assertHealthy();
        }
        OpenAiServerIT.Reply ok = postBytes("/v1/completions", COMPLETION.getBytes(StandardCharsets.UTF_8));
        assertEquals(GREEDY_16, ok.body().at("/choices/0/text").asText(), "and still generates");
    }

    @Test
    void aBodyOverTheLimitGets413WithOrWithoutContentLength() throws Exception {
        byte[] big = ("{\"model\":\"stories260K\",\"prompt\":\"" + "x".repeat((int) MAX_BODY) + "\"}").getBytes(StandardCharsets.UTF_8);
        assertError(postBytes("/v1/completions", big), 413, "request_too_large", null, "Content-Length over the limit");
        // chunked: no Content-Length, the server stops reading past the limit
        OpenAiServerIT.Reply chunked = send(HttpRequest.newBuilder(server.baseUri().resolve("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))));
        assertError(chunked, 413, "request_too_large", null, "a chunked body over the limit");
        assertHealthy();
    }

    /** A raw connection to the server: what a client that does not follow HTTP's timing sends. */
    static Socket connect() throws IOException {
        Socket s = new Socket(server.address().getAddress(), server.address().getPort());
        s.setSoTimeout((int) (READ_TIMEOUT_MS * 5));
        return s;
    }

    static String head(int contentLength) {
        return "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                + contentLength + "\r\n\r\n";
    }

    /** Reads the response to its end (the server closes the connection after a 408). */
    static String readToEnd(InputStream in, AtomicBoolean answered) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        for (int n; (n = in.read(buf)) != -1; ) {
            out.write(buf, 0, n);
            answered.set(true);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static void assert408(String response, long elapsedMs) throws Exception {
        assertTrue(response.startsWith("HTTP/1.1 408 "), response);
        assertTrue(response.toLowerCase().contains("\r\nconnection: close\r\n"), response);
        String body = response.substring(response.indexOf("\r\n\r\n") + 4);
        assertEquals("{\"error\":{\"message\":\"The request body did not arrive within " + READ_TIMEOUT_MS + " ms of its headers; "
                + "the connection is closed.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"request_timeout\"}}", body);
        assertTrue(elapsedMs >= READ_TIMEOUT_MS - 100 && elapsedMs < READ_TIMEOUT_MS + 2000,
                "answered at the read deadline, not before or long after: " + elapsedMs + " ms");
        assertHealthy();
    }

    @Test
    void aClientSendingOneBytePerSecondGets408AtTheReadDeadline() throws Exception {
        try (Socket s = connect()) {
            OutputStream out = s.getOutputStream();
            out.write(head(100).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long t0 = System.nanoTime();
            AtomicBoolean answered = new AtomicBoolean();
            Thread trickle = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < 20 && !answered.get(); i++) { // at most 20 s of trickling
                        out.write('{');
                        out.flush();
                        Thread.sleep(1000);
                    }
                } catch (IOException | InterruptedException closed) {
                    // the server hung up, as it should
                }
            });
            String response = readToEnd(s.getInputStream(), answered);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            trickle.interrupt();
            trickle.join(5000);
            assert408(response, ms);
        }
    }

    @Test
    void headersThenSilenceGets408AtTheReadDeadline() throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write(head(40).getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            long t0 = System.nanoTime();
            String response = readToEnd(s.getInputStream(), new AtomicBoolean());
            assert408(response, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
    }

    @Test
    void aBodyCutShortLosesItsConnectionAndNothingElse() throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write((head(100) + "{\"model\":").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.shutdownOutput(); // the client stops sending, 90 bytes short
            long t0 = System.nanoTime();
            String response = readToEnd(s.getInputStream(), new AtomicBoolean());
            assertEquals("", response, "no request, no answer: the connection is closed");
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < READ_TIMEOUT_MS + 1000);
        }
        assertHealthy();
    }

    @Test
    void unfinishedHeadersHoldOnlyTheirOwnConnection() throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Len".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            for (int i = 0; i < 3; i++) { // meanwhile every other request is served
                assertHealthy();
                OpenAiServerIT.Reply ok = postBytes("/v1/completions", COMPLETION.getBytes(StandardCharsets.UTF_8));
                assertEquals(GREEDY_16, ok.body().at("/choices/0/text").asText(), ok.raw());
            }
            s.setSoTimeout(500);
            try {
                assertEquals(-1, s.getInputStream().read(), "no answer to a request that never arrived");
            } catch (SocketTimeoutException stillOpen) {
                // the JDK's server waits for the rest of the headers (ServerMain bounds that with sun.net.httpserver.maxReqTime)
            }
        }
        assertHealthy();
    }
}
