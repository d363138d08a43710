package io.llamaffm.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.llamaffm.ContextParams;
import io.llamaffm.ContextPool;
import io.llamaffm.ContextPoolTimeoutException;
import io.llamaffm.Model;
import io.llamaffm.decoding.BatchScheduler;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP server with OpenAI's API on local models, on the JDK's own HTTP server ({@code com.sun.net.httpserver}):
 *
 * <ul>
 *   <li>{@code GET /v1/models}, {@code GET /v1/models/{id}}: the models (ids are the file names without {@code .gguf});</li>
 *   <li>{@code POST /v1/completions}: text completion of {@code prompt} (a string or an array of strings, one choice each);</li>
 *   <li>{@code POST /v1/chat/completions}: a reply to {@code messages}, rendered with the model's chat template (or the
 *       plain {@code User:/Assistant:} format for models without one);</li>
 *   <li>{@code POST /v1/embeddings}: embeddings with the embedding model, when the server has one;</li>
 *   <li>{@code GET /health}: {@code {"status":"ok"}}.</li>
 * </ul>
 *
 * Both generation endpoints stream with {@code "stream": true} (server-sent events {@code data: {...}} ending with
 * {@code data: [DONE]}) and take {@code max_tokens} / {@code max_completion_tokens}, {@code temperature} (0 is greedy),
 * {@code top_p}, {@code stop}, {@code seed}, {@code frequency_penalty}, {@code presence_penalty}, {@code logit_bias},
 * {@code response_format} ({@code json_object}, or {@code json_schema} compiled to a grammar) and {@code n} = 1.
 * Bad requests get OpenAI's error body, {@code {"error":{"message","type","param","code"}}}, with 400 (malformed or
 * invalid), 404 (unknown route or model), 405 (wrong method), 413 (body too large) or 503 (every context busy).
 *
 * <p><b>Concurrency.</b> The models are shared by every request. Each generation request leases one of
 * {@link ServerConfig#parallel()} contexts, created at start, for its whole duration (embeddings requests likewise,
 * from as many embedding contexts); a request that finds every context leased waits up to
 * {@link ServerConfig#queueTimeout()} and then gets 503 {@code server_busy}. Requests run on their own threads, so a
 * waiting or generating request never holds up {@code /v1/models} or {@code /health}. A context keeps its KV cache
 * between requests: a prompt that starts like the previous one on that context decodes only the rest.
 *
 * <p>The server does not own the models: close it, then them. Binding to the loopback address (the default) keeps
 * other machines out; the server has no authentication.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.llamaffm.server");
    /** Most tokens per embedding input, and per embedding decode. */
    static final int EMBEDDING_BATCH = 512;

    private final HttpServer http;
    private final ExecutorService executor;
    private final BatchScheduler scheduler;
    private final ContextPool embeddingPool;
    private final ModelIds ids;
    private final long created = Instant.now().getEpochSecond();
    private final long maxRequestBytes;
    private final Map<String, Map<String, Handler>> routes;
    private volatile boolean closed;

    /** One route's work: reads the request, writes the response. */
    @FunctionalInterface
    private interface Handler {
        void handle(HttpExchange exchange, byte[] body) throws IOException, InterruptedException;
    }

    private OpenAiServer(Model model, Model embeddingModel, ServerConfig config) throws IOException {
        this.maxRequestBytes = config.maxRequestBytes();
        this.ids = new ModelIds(ModelIds.idOf(model), embeddingModel == null ? null : ModelIds.idOf(embeddingModel));
        this.scheduler = BatchScheduler.start(model, config.context().withSequences(config.parallel()), config.queueSize());
        ContextPool embeddings = null;
        try {
            embeddings = embeddingModel == null ? null : ContextPool.eager(embeddingModel, embeddingContext(config), config.parallel());
            GenerationEndpoint generation = new GenerationEndpoint(model, ids, scheduler, config.queueTimeout());
            EmbeddingsEndpoint embed = new EmbeddingsEndpoint(ids, embeddings,
                    embeddingModel == null ? 0 : embeddingModel.config().embeddingLength(), config.queueTimeout());
            this.routes = Map.of(
                    "/v1/models", Map.of("GET", (ex, body) -> sendJson(ex, 200, new Responses.ModelList("list",
                            ids.all().stream().map(this::card).toList()))),
                    "/v1/completions", Map.of("POST", (ex, body) -> generation.handle(ex, body, false)),
                    "/v1/chat/completions", Map.of("POST", (ex, body) -> generation.handle(ex, body, true)),
                    "/v1/embeddings", Map.of("POST", embed::handle),
                    "/health", Map.of("GET", (ex, body) -> sendJson(ex, 200, Map.of("status", "ok"))));
            this.embeddingPool = embeddings;
            this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
        } catch (IOException | RuntimeException | Error e) {
            scheduler.close();
            if (embeddings != null) {
                embeddings.close();
            }
            throw e;
        }
        this.executor = Executors.newCachedThreadPool(Thread.ofPlatform().name("llama-ffm-http-", 0).daemon(true).factory());
        http.setExecutor(executor);
        http.createContext("/", this::dispatch);
        http.start();
    }

    /**
     * Creates the contexts and starts serving {@code model} (and {@code embeddingModel}, when not null, on
     * {@code /v1/embeddings}).
     *
     * @throws IOException if the address cannot be bound (port in use, unknown host)
     * @throws io.llamaffm.LlamaException if a context cannot be created
     */
    public static OpenAiServer start(Model model, Model embeddingModel, ServerConfig config) throws IOException {
        return new OpenAiServer(model, embeddingModel, config);
    }

    /**
     * Creates the contexts and starts serving {@code model}, {@code embeddingModel} on {@code /v1/embeddings} and
     * {@code rerankModel} (a model with rank pooling) on {@code /v1/rerank}; either may be null.
     *
     * @throws IOException if the address cannot be bound (port in use, unknown host)
     * @throws io.llamaffm.LlamaException if a context cannot be created
     */
    public static OpenAiServer start(Model model, Model embeddingModel, Model rerankModel, ServerConfig config) throws IOException {
        if (rerankModel != null) {
            throw new UnsupportedOperationException("/v1/rerank is not built yet");
        }
        return new OpenAiServer(model, embeddingModel, config);
    }

    /** The bound address (with the real port when the configuration asked for port 0). */
    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** {@code http://host:port}, the base the {@code /v1/...} paths go under. */
    public URI baseUri() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort());
    }

    /** Tokens each slot holds (prompt and reply): the context's length divided among the slots. */
    public int contextLength() {
        return scheduler.tokensPerSlot();
    }

    /** The scheduler of the generation slots (tests read its figures). */
    BatchScheduler scheduler() {
        return scheduler;
    }

    /**
     * Stops accepting requests, gives running ones a moment, interrupts the rest (which cancels their generation) and
     * closes the contexts. Idempotent; the models stay open.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        http.stop(1);
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "requests still running after 10 s; closing the idle contexts");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        scheduler.close();
        closeUnlessLeased(embeddingPool);
    }

    /** Closes {@code pool}; a request still holding a context keeps it open (warned), as closing it would fail the request. */
    private static void closeUnlessLeased(ContextPool pool) {
        if (pool == null) {
            return;
        }
        try {
            pool.close();
        } catch (IllegalStateException stillLeased) {
            LOG.log(System.Logger.Level.WARNING, "contexts left open: " + stillLeased.getMessage());
        }
    }

    private Responses.ModelCard card(String id) {
        return new Responses.ModelCard(id, "model", created, "llama-ffm");
    }

    private static ContextParams embeddingContext(ServerConfig config) {
        return ContextParams.defaults().withContextLength(EMBEDDING_BATCH).withBatchSize(EMBEDDING_BATCH)
                .withMicroBatchSize(EMBEDDING_BATCH).withSequences(8).withEmbeddings(true)
                .withThreads(config.context().threads());
    }

    // ---- routing and errors --------------------------------------------------------------------------------

    private void dispatch(HttpExchange exchange) {
        try (exchange) {
            try {
                route(exchange);
            } catch (UncheckedIOException e) {
                LOG.log(System.Logger.Level.DEBUG, "client went away", e); // nobody left to answer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                sendError(exchange, new ApiException(503, "server_error", "The server is shutting down.", null, "shutting_down"));
            } catch (RuntimeException | Error e) {
                ApiException api = errorFor(e);
                if (api.status() >= 500 && !(e instanceof ApiException)) { // a failure, not a refusal
                    LOG.log(System.Logger.Level.ERROR, "request failed: " + exchange.getRequestMethod() + " "
                            + exchange.getRequestURI(), e);
                }
                sendError(exchange, api);
            }
        }
    }

    private void route(HttpExchange exchange) throws InterruptedException {
        String path = exchange.getRequestURI().getPath();
        String method = exchange.getRequestMethod();
        Map<String, Handler> methods = routes.get(path);
        if (methods == null && path.startsWith("/v1/models/")) {
            methods = Map.of("GET", (ex, body) -> sendJson(ex, 200, model(path.substring("/v1/models/".length()))));
        }
        if (methods == null) {
            throw new ApiException(404, "invalid_request_error", "Unknown request URL: " + method + " " + path
                    + ". This server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions, "
                    + "POST /v1/embeddings, GET /health.", null, "unknown_url");
        }
        Handler handler = methods.get(method);
        if (handler == null) {
            String allowed = String.join(", ", methods.keySet());
            exchange.getResponseHeaders().set("Allow", allowed);
            throw new ApiException(405, "invalid_request_error", "Method " + method + " is not allowed for " + path
                    + "; use " + allowed + ".", null, "method_not_allowed");
        }
        try {
            handler.handle(exchange, method.equals("POST") ? readBody(exchange) : new byte[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Responses.ModelCard model(String id) {
        if (!ids.all().contains(id)) {
            throw new ApiException(404, "invalid_request_error", "The model '" + id + "' does not exist; this server has "
                    + ids.all() + ".", "model", "model_not_found");
        }
        return card(id);
    }

    private byte[] readBody(HttpExchange exchange) throws IOException {
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null && length.chars().allMatch(Character::isDigit) && length.length() < 19
                && Long.parseLong(length) > maxRequestBytes) {
            throw tooLarge();
        }
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes((int) Math.min(maxRequestBytes + 1, Integer.MAX_VALUE - 8));
            if (body.length > maxRequestBytes) {
                throw tooLarge();
            }
            return body;
        }
    }

    private ApiException tooLarge() {
        return new ApiException(413, "invalid_request_error", "The request body is larger than this server accepts ("
                + maxRequestBytes + " bytes).", null, "request_too_large");
    }

    /** The error response for an exception thrown while handling a request. */
    static ApiException errorFor(Throwable e) {
        return switch (e) {
            case ApiException api -> api;
            case ContextPoolTimeoutException busy -> new ApiException(503, "server_error", "All " + busy.poolSize()
                    + " context(s) of this server are busy; retry later (or start the server with a larger --parallel).",
                    null, "server_busy");
            // what the library refuses up front is the request's fault
            case IllegalArgumentException iae -> ApiException.invalid(iae.getMessage(), null, "invalid_value");
            default -> new ApiException(500, "server_error", "The server had an error while processing your request: "
                    + e.getMessage(), null, "internal_error");
        };
    }

    private static void sendError(HttpExchange exchange, ApiException e) {
        if (exchange.getResponseCode() != -1) {
            return; // the response has begun; a stream reports its own errors
        }
        try {
            sendJson(exchange, e.status(), e.body());
        } catch (UncheckedIOException io) {
            LOG.log(System.Logger.Level.DEBUG, "could not send an error response", io);
        }
    }

    /** Writes {@code body} as the JSON response with {@code status}. */
    static void sendJson(HttpExchange exchange, int status, Object body) {
        byte[] bytes = ApiJson.write(body).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try {
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
