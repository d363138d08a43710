package io.llamaffm.server;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.decoding.BatchScheduler;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.llamaffm.server.OpenAiServerIT.HTTP;
import static io.llamaffm.server.OpenAiServerIT.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Load and faults on loopback: {@value #CLIENTS} clients × {@value #REQUESTS} requests (CI; the campaign runs more with
 * -Dllamaffm.load.clients / -Dllamaffm.load.requests) mixing streamed chat, blocking completions, embeddings and
 * clients that leave in the middle of a stream, against a server with fewer slots and a shorter queue than clients.
 * Every request is answered with the greedy text it gets alone, or refused with 503 in OpenAI's error shape; afterwards
 * no slot is busy, no cache cell is held for a request, nothing waits; the resident memory beyond the Java heap grows
 * by less than {@value #RSS_BOUND_MB} MB over another round of the same load (after a warm-up round).
 */
class ServerLoadIT {
    static final int CLIENTS = 64;
    static final int REQUESTS = 20;
    static final int MAX_TOKENS = 24;
    static final long RSS_BOUND_MB = 64;
    static final List<String> PROMPTS = List.of("Once upon a time", "The little dog", "Lily and Tom went to the park",
            "One day, a big bird");

    @TempDir
    static Path dir;

    @Test
    void everyRequestIsAnsweredOrRefusedAndNothingLeaks() throws Exception {
        Path stories = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(stories), "../shared/models/stories260K.gguf is absent");
        int clients = Integer.getInteger("llamaffm.load.clients", CLIENTS);
        int requests = Integer.getInteger("llamaffm.load.requests", REQUESTS);
        Path gguf = MiniLm.gguf(dir);
        try (Model model = Model.load(stories); Model embedder = Model.load(gguf)) {
            Map<String, String> expected = new ConcurrentHashMap<>();
            try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(256).withThreads(1))) {
                for (String p : PROMPTS) {
                    ctx.clear();
                    expected.put(p, ctx.generate(model.tokenizer().encode(p), GenerationParams.defaults().withMaxTokens(MAX_TOKENS)
                            .withIgnoreEos(true), SamplerChain.greedy(), null).text());
                }
            }
            ServerConfig config = ServerConfig.defaults().withPort(0).withParallel(8).withQueueSize(32)
                    .withQueueTimeout(Duration.ofSeconds(20)).withContext(ContextParams.defaults().withContextLength(2048).withThreads(1));
            try (OpenAiServer server = OpenAiServer.start(model, embedder, config)) {
                load(server, clients, requests, expected); // warm-up: the JIT, the heap and ggml's buffers grow to size
                Tally first = load(server, clients, requests, expected);
                long rssAfterFirst = nativeMegabytes();
                Tally second = load(server, clients, requests, expected);
                long rssAfterSecond = nativeMegabytes();
                BatchScheduler.Stats stats = awaitIdle(server.scheduler());
                System.out.printf("load: %d clients x %d requests, twice: answered %d + %d, refused (503) %d + %d, "
                                + "left mid-stream %d + %d, %.1f s + %.1f s; RSS beyond the Java heap %d MB after the first, %d MB after the second;"
                                + " decodes %d; after: busy slots %d, busy cells %d, queued %d, cells kept for reuse %d%n",
                        clients, requests, first.answered.get(), second.answered.get(), first.refused.get(), second.refused.get(),
                        first.left.get(), second.left.get(), first.seconds, second.seconds, rssAfterFirst, rssAfterSecond,
                        stats.decodes(), stats.busySlots(), stats.busyCells(), stats.queued(), stats.idleCells());
                for (Tally t : List.of(first, second)) {
                    assertEquals(clients * requests, t.answered.get() + t.refused.get() + t.left.get(), "every request ends");
                    assertTrue(t.answered.get() > clients * requests / 4, "requests served: " + t.answered.get());
                    assertTrue(t.wrong.isEmpty(), "wrong answers: " + t.wrong);
                }
                assertEquals(0, stats.busySlots());
                assertEquals(0, stats.busyCells());
                assertEquals(0, stats.queued());
                assertTrue(stats.idleCells() <= stats.contextLength());
                assertTrue(rssAfterSecond - rssAfterFirst < RSS_BOUND_MB, "RSS grew from " + rssAfterFirst + " MB to "
                        + rssAfterSecond + " MB over the second round");
                assertEquals(200, HTTP.send(HttpRequest.newBuilder(server.baseUri().resolve("/health")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
            }
        }
    }

    /** What one round of load saw. */
    static final class Tally {
        final AtomicInteger answered = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final AtomicInteger left = new AtomicInteger();
        final List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
        double seconds;
    }

    private static Tally load(OpenAiServer server, int clients, int requests, Map<String, String> expected) throws Exception {
        Tally tally = new Tally();
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> runs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                runs.add(pool.submit(() -> {
                    for (int i = 0; i < requests; i++) {
                        one(server, (client + i) % 4, PROMPTS.get((client * 7 + i) % PROMPTS.size()), expected, tally);
                    }
                    return null;
                }));
            }
            for (Future<?> f : runs) {
                f.get(10, TimeUnit.MINUTES);
            }
        }
        tally.seconds = (System.nanoTime() - start) / 1e9;
        return tally;
    }

    private static void one(OpenAiServer server, int kind, String prompt, Map<String, String> expected, Tally tally) throws Exception {
        String completion = "{\"model\":\"stories260K\",\"prompt\":" + JSON.writeValueAsString(prompt) + ",\"temperature\":0,"
                + "\"max_tokens\":" + MAX_TOKENS + ",\"ignore_eos\":true";
        switch (kind) {
            case 0, 1 -> { // blocking, streamed
                boolean stream = kind == 1;
                HttpResponse<String> r = HTTP.send(request(server, "/v1/completions", completion + ",\"stream\":" + stream + "}"),
                        HttpResponse.BodyHandlers.ofString());
                if (refused(r, tally)) {
                    return;
                }
                String text;
                if (stream) {
                    StringBuilder sb = new StringBuilder();
                    List<String> data = OpenAiServerIT.events(r.body());
                    for (String d : data.subList(0, data.size() - 1)) {
                        sb.append(JSON.readTree(d).at("/choices/0/text").asText());
                    }
                    text = sb.toString();
                } else {
                    text = JSON.readTree(r.body()).at("/choices/0/text").asText();
                }
                check(expected.get(prompt).equals(text), "completion of '" + prompt + "': " + text, tally);
            }
            case 2 -> { // embeddings
                HttpResponse<String> r = HTTP.send(request(server, "/v1/embeddings", "{\"model\":\"all-minilm-l6-v2\",\"input\":"
                        + JSON.writeValueAsString(prompt) + "}"), HttpResponse.BodyHandlers.ofString());
                if (refused(r, tally)) {
                    return;
                }
                check(JSON.readTree(r.body()).at("/data/0/embedding").size() == 384, "embedding: " + r.body(), tally);
            }
            default -> { // a client that leaves after the first event
                HttpResponse<InputStream> r = HTTP.send(request(server, "/v1/completions", completion.replace(
                        "\"max_tokens\":" + MAX_TOKENS, "\"max_tokens\":2000") + ",\"stream\":true}"), HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = r.body()) {
                    if (r.statusCode() == 503) {
                        refused(503, new String(in.readAllBytes(), StandardCharsets.UTF_8), tally);
                        return;
                    }
                    if (r.statusCode() != 200 || !new String(in.readNBytes(6), StandardCharsets.UTF_8).equals("data: ")) {
                        tally.wrong.add("stream status " + r.statusCode());
                    }
                }
                tally.left.incrementAndGet();
            }
        }
    }

    private static HttpRequest request(OpenAiServer server, String path, String body) {
        return HttpRequest.newBuilder(server.baseUri().resolve(path)).timeout(Duration.ofMinutes(2))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static boolean refused(HttpResponse<String> r, Tally tally) throws Exception {
        return refused(r.statusCode(), r.body(), tally);
    }

    /** 503 in OpenAI's shape counts as refused; any other status but 200 is wrong. */
    private static boolean refused(int status, String body, Tally tally) throws Exception {
        if (status == 200) {
            return false;
        }
        if (status == 503 && "server_busy".equals(JSON.readTree(body).at("/error/code").asText())) {
            tally.refused.incrementAndGet();
        } else {
            tally.wrong.add(status + " " + body);
            tally.answered.incrementAndGet();
        }
        return true;
    }

    private static void check(boolean ok, String what, Tally tally) {
        tally.answered.incrementAndGet();
        if (!ok) {
            tally.wrong.add(what);
        }
    }

    private static BatchScheduler.Stats awaitIdle(BatchScheduler scheduler) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            BatchScheduler.Stats s = scheduler.stats();
            if (s.busySlots() == 0 && s.queued() == 0 && s.busyCells() == 0) {
                return s;
            }
            Thread.sleep(10);
        }
        return scheduler.stats();
    }

    /** The resident memory less what the JVM has committed for its heap and its own areas: native allocations. */
    private static long nativeMegabytes() throws Exception {
        System.gc();
        java.lang.management.MemoryMXBean mx = java.lang.management.ManagementFactory.getMemoryMXBean();
        long jvm = mx.getHeapMemoryUsage().getCommitted() + mx.getNonHeapMemoryUsage().getCommitted();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return (Long.parseLong(line.replaceAll("\\D+", "")) * 1024 - jvm) / (1024 * 1024);
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

}
