package io.llamaffm.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * A load generator for OpenAI-compatible servers, over HTTP only: {@code C} clients, started at once, each sending
 * {@code R} streaming {@code POST /v1/chat/completions} requests back to back (short fixed user messages taken in
 * turn, {@code max_tokens} fixed, {@code temperature: 0}, {@code ignore_eos: true}, usage asked for), measured by
 * {@link StreamedCompletion} and summed up by {@link LoadLevel}. While a level runs the clients only read lines and
 * note when each event arrived; the events are parsed after the level's clock has stopped, so that the load
 * generator takes as little CPU as it can from the server it measures.
 *
 * <p>As a command: {@code ServerLoad --url http://127.0.0.1:8080 --levels 1,2,4 --requests 4} prints one line per level.
 */
@Command(name = "server-load", mixinStandardHelpOptions = true,
        description = "concurrent streaming chat completions against an OpenAI-compatible server; one line per level")
public final class ServerLoad implements Callable<Integer> {
    /** The user messages, taken in turn: client c's request j sends {@code PROMPTS[(c + j) % size]}. */
    static final List<String> PROMPTS = List.of(
            "Tell me a story about a little cat.",
            "Once upon a time there was a girl named Lily. What did she find in the garden?",
            "Write a short story about a big red ball.",
            "Why did the dog run to the park?");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String model;
    /** Tokens every request bans ({@code logit_bias} -100). */
    private List<Integer> banned = List.of();
    private final int maxTokens;
    private final Duration timeout;

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", description = "the server's base URL (default ${DEFAULT-VALUE})")
    URI url;
    @Option(names = "--levels", split = ",", defaultValue = "1,2,4,8,16", description = "concurrent clients, one level each (default ${DEFAULT-VALUE})")
    int[] levels;
    @Option(names = "--requests", defaultValue = "4", description = "requests per client (default ${DEFAULT-VALUE})")
    int requests;
    @Option(names = "--max-tokens", defaultValue = "64", description = "max_tokens of every request (default ${DEFAULT-VALUE})")
    int maxTokensOption;
    @Option(names = "--warmup", defaultValue = "1", description = "unmeasured requests first (default ${DEFAULT-VALUE})")
    int warmup;

    /** For picocli only. */
    ServerLoad() {
        this(null, null, 0, null);
    }

    private ServerLoad(URI base, String model, int maxTokens, Duration timeout) {
        this.base = base;
        this.model = model;
        this.maxTokens = maxTokens;
        this.timeout = timeout;
    }

    /**
     * A load generator for the server at {@code base}, whose first model in {@code GET /v1/models} it names in its
     * requests (llama-server ignores the field; ours checks it).
     *
     * @param timeout the longest a level may take (its clients are then interrupted)
     */
    static ServerLoad connect(URI base, int maxTokens, Duration timeout) throws IOException, InterruptedException {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be at least 1: " + maxTokens);
        }
        HttpResponse<String> models;
        try (HttpClient http = newClient()) {
            models = http.send(HttpRequest.newBuilder(base.resolve("/v1/models")).timeout(Duration.ofSeconds(30)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        }
        if (models.statusCode() != 200) {
            throw new IOException("GET /v1/models answered " + models.statusCode() + ": " + models.body());
        }
        String id = JSON.readTree(models.body()).path("data").path(0).path("id").asText(null);
        if (id == null) {
            throw new IOException("GET /v1/models lists no model: " + models.body());
        }
        return new ServerLoad(base, id, maxTokens, timeout);
    }

    /**
     * Adds {@code logit_bias: -100} for {@code tokens} to every request: for a synthetic model, whose random weights
     * would otherwise write bytes that are not UTF-8, which llama-server's chat parser rejects at the end of the stream
     * (a 500 error event: "The model produced output that does not match the expected ... format").
     *
     * @param tokens the token ids to ban
     * @return this load generator
     */
    ServerLoad banned(java.util.Collection<Integer> tokens) {
        this.banned = List.copyOf(tokens);
        return this;
    }

    /**
     * A client of this load generator: HTTP/1.1 (neither server speaks HTTP/2, and a plain-text upgrade attempt is only
     * noise). Each request gets a client, and so a connection, of its own, closed when its response has been read:
     * llama-server closes the connection after each streamed response (while its headers promise keep-alive), and a
     * pooled connection reused before the client had seen that close failed with "header parser received no bytes".
     * One connection per request, the same for both servers, has no such race.
     */
    static HttpClient newClient() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** The model id the requests name. */
    String model() {
        return model;
    }

    /** One request, measured (a warm-up, or a check). */
    StreamedCompletion request(String prompt) throws IOException, InterruptedException {
        try (HttpClient http = newClient()) {
            long start = System.nanoTime();
            return StreamedCompletion.of(start, send(http, prompt));
        }
    }

    /** {@code clients} clients sending {@code requestsPerClient} requests each, back to back, all started at once. */
    LoadLevel level(int clients, int requestsPerClient) throws IOException, InterruptedException {
        if (clients < 1 || requestsPerClient < 1) {
            throw new IllegalArgumentException("clients and requests must be at least 1: " + clients + ", " + requestsPerClient);
        }
        record Sent(long startNanos, List<StreamedCompletion.Event> events) {}
        CountDownLatch go = new CountDownLatch(1);
        List<Future<List<Sent>>> futures = new ArrayList<>();
        long start;
        long end = 0;
        List<List<Sent>> sent = new ArrayList<>();
        // daemon threads, shut down without waiting: a client stuck in a read past the deadline keeps nothing alive
        ExecutorService pool = Executors.newFixedThreadPool(clients, r -> Thread.ofPlatform().daemon().unstarted(r));
        try {
            for (int c = 0; c < clients; c++) {
                int client = c;
                futures.add(pool.submit(() -> {
                    go.await();
                    List<Sent> mine = new ArrayList<>();
                    for (int j = 0; j < requestsPerClient; j++) {
                        // made before the clock starts; closed, and with it the connection, once the response is read
                        try (HttpClient http = newClient()) {
                            long t0 = System.nanoTime();
                            mine.add(new Sent(t0, send(http, PROMPTS.get((client + j) % PROMPTS.size()))));
                        }
                    }
                    return mine;
                }));
            }
            start = System.nanoTime();
            go.countDown();
            long deadline = start + timeout.toNanos();
            for (Future<List<Sent>> f : futures) {
                List<Sent> mine = f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                end = Math.max(end, mine.getLast().events().getLast().nanos());
                sent.add(mine);
            }
        } catch (TimeoutException e) {
            throw new IOException("the level of " + clients + " clients ran past " + timeout);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException("a client failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
        List<StreamedCompletion> measured = new ArrayList<>();
        for (List<Sent> mine : sent) {
            for (Sent s : mine) {
                measured.add(StreamedCompletion.of(s.startNanos(), s.events()));
            }
        }
        return new LoadLevel(clients, (end - start) / 1e9, measured);
    }

    /** Sends one streaming request and returns its events with their arrival times; fails on a status other than 200. */
    private List<StreamedCompletion.Event> send(HttpClient http, String prompt) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .timeout(timeout)
                .POST(HttpRequest.BodyPublishers.ofString(body(model, prompt, maxTokens, banned)))
                .build();
        HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
        try (Stream<String> lines = response.body()) {
            return events(response.statusCode(), lines);
        }
    }

    /** The events of a response with their arrival times; fails on a status other than 200. */
    private static List<StreamedCompletion.Event> events(int status, Stream<String> lines) throws IOException {
        if (status != 200) {
            throw new IOException("POST /v1/chat/completions answered " + status + ": " + String.join("\n", lines.toList()));
        }
        List<StreamedCompletion.Event> events = new ArrayList<>();
        ServerSentEvents decoder = new ServerSentEvents();
        for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
            String data = decoder.line(it.next());
            if (data != null) {
                events.add(new StreamedCompletion.Event(System.nanoTime(), data));
            }
        }
        String last = decoder.end();
        if (last != null) {
            events.add(new StreamedCompletion.Event(System.nanoTime(), last));
        }
        if (events.isEmpty()) {
            throw new IOException("the response had no events");
        }
        return events;
    }

    /** The JSON body of one request. */
    /** The JSON body of one request, banning {@code banned} tokens when there are any. */
    static String body(String model, String prompt, int maxTokens, List<Integer> banned) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.putArray("messages").addObject().put("role", "user").put("content", prompt);
        if (!banned.isEmpty()) {
            ObjectNode bias = body.putObject("logit_bias");
            banned.forEach(t -> bias.put(Integer.toString(t), -100));
        }
        body.put("max_tokens", maxTokens);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        return body.toString();
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new ServerLoad()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ServerLoad load = connect(url, maxTokensOption, Duration.ofMinutes(30));
        for (int i = 0; i < warmup; i++) {
            load.request(PROMPTS.get(i % PROMPTS.size()));
        }
        for (int clients : levels) {
            System.out.println(load.level(clients, requests).summary());
        }
        return 0;
    }
}
