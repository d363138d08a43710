package io.llamaffm.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.llamaffm.ContextParams;
import io.llamaffm.ContextPool;
import io.llamaffm.ContextPoolTimeoutException;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.decoding.BatchScheduler;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An HTTP server with OpenAI's API on local models, on the JDK's own HTTP server ({@code com.sun.net.httpserver}):
 *
 * <ul>
 *   <li>{@code GET /v1/models}, {@code GET /v1/models/{id}}: the models (ids are the file names without {@code .gguf});</li>
 *   <li>{@code POST /v1/completions}: text completion of {@code prompt} (a string or an array of strings, one choice each);</li>
 *   <li>{@code POST /v1/chat/completions}: a reply to {@code messages}, rendered with the model's chat template (or the
 *       plain {@code User:/Assistant:} format for models without one);</li>
 *   <li>{@code POST /v1/embeddings}: embeddings with the embedding model, when the server has one;</li>
 *   <li>{@code POST /v1/rerank} (also {@code /rerank}, {@code /v1/reranking}, {@code /reranking}): documents ranked
 *       against a query by the rerank model, when the server has one;</li>
 *   <li>{@code GET /metrics}: counters and gauges in Prometheus' text format;</li>
 *   <li>{@code GET /health}: {@code {"status":"ok"}}.</li>
 * </ul>
 *
 * Both generation endpoints stream with {@code "stream": true} (server-sent events {@code data: {...}} ending with
 * {@code data: [DONE]}) and take {@code max_tokens} / {@code max_completion_tokens}, {@code temperature} (0 is greedy),
 * {@code top_p}, {@code stop}, {@code seed}, {@code frequency_penalty}, {@code presence_penalty}, {@code logit_bias},
 * {@code response_format} ({@code json_object}, or {@code json_schema} compiled to a grammar) and {@code n} = 1.
 * Bad requests get OpenAI's error body, {@code {"error":{"message","type","param","code"}}}, with 400 (malformed or
 * invalid), 401 (API key), 404 (unknown route or model), 405 (wrong method), 408 (body too slow), 413 (body too
 * large) or 503 (every context busy, or the server shutting down).
 *
 * <p><b>Concurrency.</b> The models are shared by every request. Requests are read and answered on virtual threads,
 * so idle connections, slow clients and waiting requests cost little, and a waiting or generating request never holds
 * up {@code /v1/models}, {@code /metrics} or {@code /health}. Decoding runs on platform threads: a virtual thread
 * inside a native call keeps its carrier, and a few long decodes would otherwise leave no carrier for the rest. Each
 * generation request leases one of {@link ServerConfig#parallel()} contexts, created at start, for its whole duration;
 * a request that finds every context leased waits up to {@link ServerConfig#queueTimeout()} and then gets 503
 * {@code server_busy}. A context keeps its KV cache between requests: a prompt that starts like the previous one on
 * that context decodes only the rest.
 *
 * <p><b>Embeddings in batches.</b> One thread owns the embedding context; the inputs of every embeddings request
 * waiting when it comes round are embedded in one call (each text its own sequence, so a vector does not depend on
 * its neighbours) and handed back to their requests. At most {@link ServerConfig#queueSize()} requests wait, each up
 * to the queue timeout, then 503 {@code server_busy}. Inputs are refused (400, naming {@code input[i]}), never
 * truncated, when longer than one micro-batch ({@value #EMBEDDING_BATCH} tokens).
 *
 * <p><b>Reranking.</b> With a rerank model (rank pooling), {@code {"query", "documents": [string | {"text"}],
 * "top_n"?, "return_documents"?, "model"?}} gets {@code {"model", "object": "list", "usage", "results": [{"index",
 * "relevance_score", "document"?: {"text"}}]}}, best score first, cut to {@code top_n}; scores are the classification
 * head's raw output, as {@link io.llamaffm.Context#rank} gives them. Without a rerank model the routes answer 404
 * {@code rerank_not_enabled}.
 *
 * <p><b>API key.</b> With {@link ServerConfig#apiKey()} set, every request but {@code GET /health} must send
 * {@code Authorization: Bearer <key>}; a missing or wrong key gets 401 {@code invalid_api_key} with
 * {@code WWW-Authenticate: Bearer}, before the body is read. Keys are compared as SHA-256 digests in constant time;
 * the key is never logged or printed.
 *
 * <p><b>Metrics.</b> {@code GET /metrics} ({@code text/plain; version=0.0.4}) has the counters
 * {@code llamaffm_requests_total{endpoint,status}}, {@code llamaffm_prompt_tokens_total},
 * {@code llamaffm_completion_tokens_total}, {@code llamaffm_embedding_inputs_total},
 * {@code llamaffm_rerank_documents_total}, and the gauges {@code llamaffm_generated_tokens_per_second} (last 10 s),
 * {@code llamaffm_requests_waiting}, {@code llamaffm_slots_busy}, {@code llamaffm_slots}, {@code llamaffm_kv_cells_used}
 * (0: the context pool cannot tell) and {@code llamaffm_kv_cells}. Unknown paths count as endpoint {@code other}.
 *
 * <p><b>Slow or broken clients.</b> A request body must arrive within {@link ServerConfig#requestReadTimeout()} of its
 * headers, or the client gets 408 {@code request_timeout} and its connection is closed; a body over
 * {@link ServerConfig#maxRequestBytes()} gets 413 (at once when {@code Content-Length} says so). Malformed JSON,
 * nesting deeper than the JSON reader allows, invalid UTF-8 and numbers out of range get 400. (Headers that never end
 * are the JDK server's to time out: {@link ServerMain} sets {@code sun.net.httpserver.maxReqTime} for that.)
 *
 * <p><b>Closing.</b> {@link #close()} answers new requests 503 {@code shutting_down} (with {@code Connection: close}),
 * lets running ones finish for up to {@link ServerConfig#shutdownTimeout()}, then cancels the rest: a generation stops
 * (a stream gets an error event with code {@code shutting_down} and ends; a plain request gets 503), a waiting request
 * gets 503. It then closes the listener, the connections and the contexts; it returns within the shutdown timeout
 * plus a few seconds.
 *
 * <p>The server does not own the models: close it, then them. Binding to the loopback address (the default) keeps
 * other machines out.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.llamaffm.server");
    /** Most tokens per embedding input (or query-document pair), and per embedding decode. */
    static final int EMBEDDING_BATCH = 512;
    /** How long cancelled requests get to send their last words before the connections close. */
    private static final Duration CANCEL_GRACE = Duration.ofSeconds(3);

    private final HttpServer http;
    private final ExecutorService executor;
    private final ExecutorService decoders;
    private final BatchScheduler scheduler;
    private final EmbeddingBatcher embeddings;
    private final ContextPool rerankPool;
    private final GenerationGauges gauges;
    private final Metrics metrics = new Metrics();
    private final ModelIds ids;
    private final long created = Instant.now().getEpochSecond();
    private final long maxRequestBytes;
    private final Duration requestReadTimeout;
    private final Duration shutdownTimeout;
    private final byte[] apiKeyDigest; // null: no key
    private final Map<String, Map<String, Handler>> routes;
    private final Set<RunningRequest> running = ConcurrentHashMap.newKeySet();
    private final Object requestEnded = new Object();
    private volatile boolean draining;
    private boolean closed; // guarded by this

    /** One route's work: reads the request, writes the response. */
    @FunctionalInterface
    private interface Handler {
        void handle(HttpExchange exchange, byte[] body) throws IOException, InterruptedException;
    }

    private OpenAiServer(Model model, Model embeddingModel, Model rerankModel, ServerConfig config) throws IOException {
        this.maxRequestBytes = config.maxRequestBytes();
        this.requestReadTimeout = config.requestReadTimeout();
        this.shutdownTimeout = config.shutdownTimeout();
        this.apiKeyDigest = config.apiKey() == null ? null : sha256(config.apiKey());
        this.ids = new ModelIds(ModelIds.idOf(model), embeddingModel == null ? null : ModelIds.idOf(embeddingModel),
                rerankModel == null ? null : ModelIds.idOf(rerankModel));
        this.scheduler = BatchScheduler.start(model, config.context().withSequences(config.parallel()), config.queueSize(),
                config.promptCacheBytes());
        EmbeddingBatcher batcher = null;
        ContextPool ranks = null;
        try {
            batcher = embeddingModel == null ? null : new EmbeddingBatcher(embeddingModel, embeddingContext(config),
                    config.queueSize(), config.queueTimeout());
            ranks = rerankModel == null ? null : rerankPool(rerankModel, config);
            GenerationEndpoint generation = new GenerationEndpoint(model, ids, scheduler, config.queueTimeout(), metrics);
            this.gauges = GenerationGauges.of(scheduler);
            EmbeddingsEndpoint embed = new EmbeddingsEndpoint(ids, batcher, embeddingModel == null ? null : embeddingModel.tokenizer(),
                    embeddingModel == null ? 0 : embeddingModel.config().embeddingLength(), metrics);
            RerankEndpoint rerank = new RerankEndpoint(ids, ranks, rerankModel == null ? null : rerankModel.tokenizer(),
                    EMBEDDING_BATCH, config.queueTimeout(), metrics);
            Map<String, Handler> rerankRoute = Map.of("POST", onDecodingThread(rerank::handle));
            this.routes = Map.of(
                    "/v1/models", Map.of("GET", (ex, body) -> sendJson(ex, 200, new Responses.ModelList("list",
                            ids.all().stream().map(this::card).toList()))),
                    // the scheduler's thread decodes: the request's virtual thread only waits for its steps and writes them
                    "/v1/completions", Map.of("POST", (ex, body) -> generation.handle(ex, body, false)),
                    "/v1/chat/completions", Map.of("POST", (ex, body) -> generation.handle(ex, body, true)),
                    "/v1/embeddings", Map.of("POST", embed::handle),
                    "/v1/rerank", rerankRoute,
                    "/v1/reranking", rerankRoute,
                    "/rerank", rerankRoute,
                    "/reranking", rerankRoute,
                    "/metrics", Map.of("GET", (ex, body) -> sendText(ex, 200, Metrics.CONTENT_TYPE, metrics.render(gauges))),
                    "/health", Map.of("GET", (ex, body) -> sendJson(ex, 200, Map.of("status", "ok"))));
            this.embeddings = batcher;
            this.rerankPool = ranks;
            this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
        } catch (IOException | RuntimeException | Error e) {
            scheduler.close();
            if (batcher != null) {
                batcher.close();
            }
            if (ranks != null) {
                ranks.close();
            }
            throw e;
        }
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        this.decoders = Executors.newCachedThreadPool(Thread.ofPlatform().name("llama-ffm-decode-", 0).daemon(true).factory());
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
        return new OpenAiServer(model, embeddingModel, null, config);
    }

    /**
     * Creates the contexts and starts serving {@code model}, {@code embeddingModel} on {@code /v1/embeddings} and
     * {@code rerankModel} (a model with rank pooling) on {@code /v1/rerank}; either may be null.
     *
     * @throws IOException if the address cannot be bound (port in use, unknown host)
     * @throws IllegalArgumentException if {@code rerankModel} cannot rank (its pooling is not rank)
     * @throws io.llamaffm.LlamaException if a context cannot be created
     */
    public static OpenAiServer start(Model model, Model embeddingModel, Model rerankModel, ServerConfig config) throws IOException {
        return new OpenAiServer(model, embeddingModel, rerankModel, config);
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

    /** The embedding batcher, or null without an embedding model (tests count its calls). */
    EmbeddingBatcher embeddingBatcher() {
        return embeddings;
    }

    /** Requests being handled now (tests wait for one to be in flight). */
    int runningRequests() {
        return running.size();
    }

    /**
     * Shuts the server down gracefully: new requests get 503 {@code shutting_down}; running ones may finish for up to
     * {@link ServerConfig#shutdownTimeout()}; those still running are then cancelled (a stream gets an error event and
     * ends) and get a few seconds for their last words; then the listener, the connections and the contexts close.
     * Idempotent; the models stay open.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        draining = true;
        awaitRequests(shutdownTimeout);
        List<RunningRequest> left = List.copyOf(running);
        if (!left.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, left.size() + " request(s) still running after the shutdown timeout ("
                    + shutdownTimeout.toMillis() + " ms); cancelling them");
            try (ExecutorService cancels = Executors.newVirtualThreadPerTaskExecutor()) {
                left.forEach(r -> cancels.execute(r::cancel)); // each may wait a moment for a write in progress
            }
            awaitRequests(CANCEL_GRACE);
        }
        http.stop(0); // the listener, then every connection
        executor.shutdownNow();
        decoders.shutdownNow();
        try {
            if (!executor.awaitTermination(1, TimeUnit.SECONDS) | !decoders.awaitTermination(1, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "request threads still running after close; closing the idle contexts");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (embeddings != null) {
            embeddings.close();
        }
        scheduler.close();
        closeUnlessLeased(rerankPool);
    }

    /** Waits up to {@code timeout} for the running requests to end. */
    private void awaitRequests(Duration timeout) {
        long deadline = System.nanoTime() + Math.min(millis(timeout), TimeUnit.DAYS.toMillis(365)) * 1_000_000L;
        synchronized (requestEnded) {
            long left;
            while (!running.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(requestEnded, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** {@code d} in milliseconds, saturated at {@code Long.MAX_VALUE}. */
    private static long millis(Duration d) {
        return d.compareTo(Duration.ofMillis(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toMillis();
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

    /** {@code parallel} contexts of the rerank model, checked to rank (a model without rank pooling is refused). */
    private static ContextPool rerankPool(Model rerankModel, ServerConfig config) {
        ContextPool pool = ContextPool.eager(rerankModel, embeddingContext(config), config.parallel());
        try (ContextPool.Lease lease = pool.acquire(Duration.ZERO)) {
            lease.context().rank("query", List.of("document"), EmbeddingParams.defaults());
        } catch (IllegalStateException notRank) {
            pool.close();
            throw new IllegalArgumentException("the rerank model " + ModelIds.idOf(rerankModel) + " cannot rank documents ("
                    + notRank.getMessage() + "): give a model with rank pooling, such as a converted bge-reranker", notRank);
        } catch (InterruptedException | RuntimeException e) {
            pool.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while checking the rerank model", e);
            }
            throw (RuntimeException) e;
        }
        return pool;
    }

    /**
     * {@code handler} run on a platform thread, the request's thread waiting for it: a native call pins a virtual thread
     * to its carrier, so decoding on virtual threads would leave no carrier for the other requests. Cancelling the
     * request interrupts that thread; the request's own thread waits for it to finish either way.
     */
    private Handler onDecodingThread(Handler handler) {
        return (exchange, body) -> {
            RunningRequest request = RunningRequest.current();
            Future<Void> done = decoders.submit(() -> ScopedValue.where(RunningRequest.CURRENT, request).call(() -> {
                request.worker(Thread.currentThread());
                try {
                    handler.handle(exchange, body);
                } finally {
                    request.worker(null);
                    Thread.interrupted(); // a cancel meant for this request ends with it
                }
                return null;
            }));
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        done.get();
                        return;
                    } catch (InterruptedException e) {
                        interrupted = true; // the cancel reached the decoding thread too: it answers
                    } catch (ExecutionException e) {
                        switch (e.getCause()) {
                            case IOException io -> throw io;
                            case InterruptedException ie -> throw ie;
                            case RuntimeException re -> throw re;
                            case Error err -> throw err;
                            default -> throw new IllegalStateException(e.getCause());
                        }
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    // ---- routing and errors --------------------------------------------------------------------------------

    private void dispatch(HttpExchange exchange) {
        RunningRequest request = new RunningRequest(Thread.currentThread(), metrics, endpoint(exchange.getRequestURI().getPath()));
        running.add(request);
        try {
            ScopedValue.where(RunningRequest.CURRENT, request).run(() -> {
                try {
                    answer(exchange);
                } finally {
                    request.count(Math.max(exchange.getResponseCode(), 0)); // counted here when nothing could be sent
                    try {
                        RunningRequest.writeToClient(exchange::close); // ends a stream cleanly, even once cancelled
                    } catch (IOException | RuntimeException e) {
                        LOG.log(System.Logger.Level.DEBUG, "could not close the exchange", e);
                    }
                }
            });
        } finally {
            running.remove(request);
            synchronized (requestEnded) {
                requestEnded.notifyAll();
            }
        }
    }

    /** The route's name for {@code /metrics}: its path, {@code /v1/models/{id}}, or {@code other}. */
    private String endpoint(String path) {
        if (path == null) {
            return "other";
        }
        if (routes.containsKey(path)) {
            return path;
        }
        return path.startsWith("/v1/models/") ? "/v1/models/{id}" : "other";
    }

    private void answer(HttpExchange exchange) {
        try {
            if (draining) {
                exchange.getResponseHeaders().set("Connection", "close");
                throw shuttingDown();
            }
            authorize(exchange);
            route(exchange);
        } catch (UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, "client went away", e); // nobody left to answer
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sendError(exchange, shuttingDown());
        } catch (RuntimeException | Error e) {
            ApiException api = errorFor(e);
            if (api.status() >= 500 && !(e instanceof ApiException || e instanceof ContextPoolTimeoutException)) { // a failure, not a refusal
                LOG.log(System.Logger.Level.ERROR, "request failed: " + exchange.getRequestMethod() + " "
                        + exchange.getRequestURI(), e);
            }
            sendError(exchange, api);
        }
    }

    private static ApiException shuttingDown() {
        return new ApiException(503, "server_error", "The server is shutting down; retry on another server or later.",
                null, "shutting_down");
    }

    /** Refuses a request without the server's key (when it has one); {@code GET /health} needs none. */
    private void authorize(HttpExchange exchange) {
        if (apiKeyDigest == null || ("GET".equals(exchange.getRequestMethod())
                && "/health".equals(exchange.getRequestURI().getPath()))) {
            return;
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        String why;
        if (header == null) {
            why = "no Authorization header was sent";
        } else if (header.length() < 7 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            why = "the Authorization header is not 'Bearer <key>'";
        } else if (MessageDigest.isEqual(sha256(header.substring(7).strip()), apiKeyDigest)) {
            return;
        } else {
            why = "the key sent is not this server's";
        }
        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
        throw new ApiException(401, "invalid_request_error", "Incorrect API key provided. Send this server's key as "
                + "'Authorization: Bearer <key>' (" + why + ").", null, "invalid_api_key");
    }

    /** The SHA-256 digest of {@code key}'s UTF-8 bytes: digests of equal length compare in constant time. */
    private static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
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
                    + "POST /v1/embeddings, POST /v1/rerank, GET /metrics, GET /health.", null, "unknown_url");
        }
        Handler handler = methods.get(method);
        if (handler == null) {
            String allowed = String.join(", ", methods.keySet());
            exchange.getResponseHeaders().set("Allow", allowed);
            throw new ApiException(405, "invalid_request_error", "Method " + method + " is not allowed for " + path
                    + "; use " + allowed + ".", null, "method_not_allowed");
        }
        try {
            byte[] body = method.equals("POST") ? readBody(exchange) : new byte[0];
            if (body != null) {
                handler.handle(exchange, body);
            }
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

    /**
     * The request body, read by a helper thread so that a client too slow to send it within the read timeout can be
     * answered: 408, and the connection closed. Returns null once it has answered so.
     *
     * @throws ApiException 413 for a body over the limit
     */
    private byte[] readBody(HttpExchange exchange) throws IOException, InterruptedException {
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null && length.chars().allMatch(Character::isDigit) && (length.length() >= 19
                || Long.parseLong(length) > maxRequestBytes)) {
            throw tooLarge(exchange);
        }
        int limit = (int) Math.min(maxRequestBytes + 1, Integer.MAX_VALUE - 8);
        CompletableFuture<byte[]> read = new CompletableFuture<>();
        Thread reader = Thread.ofVirtual().name("llama-ffm-body-reader").start(() -> {
            try {
                InputStream in = exchange.getRequestBody();
                byte[] bytes = in.readNBytes(limit);
                if (bytes.length > maxRequestBytes) {
                    // over the limit without a Content-Length (chunked): read on past it, up to a bound, so that the
                    // client has sent its body when the 413 goes out; closing a socket with unread bytes resets the
                    // connection, and the client may lose the answer
                    long left = OVERSIZE_DRAIN_BYTES;
                    byte[] sink = new byte[8192];
                    for (int n; left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0; ) {
                        left -= n;
                    }
                }
                read.complete(bytes);
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        });
        byte[] body;
        try {
            body = read.get(millis(requestReadTimeout), TimeUnit.MILLISECONDS);
        } catch (TimeoutException slow) {
            answerTooSlow(exchange, reader);
            return null;
        } catch (InterruptedException e) {
            reader.interrupt();
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException("could not read the request body", e.getCause());
        }
        if (body.length > maxRequestBytes) {
            throw tooLarge(exchange);
        }
        return body;
    }

    /**
     * 408 to a client whose body did not arrive in time, then the connection closed: interrupting the reader (blocked
     * on the socket) closes it, which also spares the server from reading the rest of the body.
     */
    private void answerTooSlow(HttpExchange exchange, Thread reader) {
        ApiException e = new ApiException(408, "invalid_request_error", "The request body did not arrive within "
                + millis(requestReadTimeout) + " ms of its headers; the connection is closed.", null, "request_timeout");
        byte[] bytes = ApiJson.write(e.body()).getBytes(StandardCharsets.UTF_8);
        try {
            RunningRequest.writeToClient(() -> {
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.getResponseHeaders().set("Connection", "close");
                RunningRequest.answered(408);
                exchange.sendResponseHeaders(408, bytes.length);
                OutputStream out = exchange.getResponseBody();
                out.write(bytes);
                out.flush();
            });
        } catch (IOException io) {
            LOG.log(System.Logger.Level.DEBUG, "could not send 408", io);
        } finally {
            reader.interrupt();
            try {
                reader.join(Duration.ofSeconds(5));
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** How much of a chunked body over the limit is read and dropped before the 413 (past that, the connection closes). */
    private static final long OVERSIZE_DRAIN_BYTES = 16L << 20;

    /**
     * 413, with {@code Connection: close}: the rest of the body stays unread, so the connection cannot carry another
     * request (a client that reused it would find it reset).
     */
    private ApiException tooLarge(HttpExchange exchange) {
        exchange.getResponseHeaders().set("Connection", "close");
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
        sendText(exchange, status, "application/json", ApiJson.write(body));
    }

    /** Writes {@code text} (UTF-8) as the response with {@code status} and {@code contentType}. */
    static void sendText(HttpExchange exchange, int status, String contentType, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        try {
            RunningRequest.writeToClient(() -> {
                exchange.getResponseHeaders().set("Content-Type", contentType);
                RunningRequest.answered(status);
                exchange.sendResponseHeaders(status, bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
