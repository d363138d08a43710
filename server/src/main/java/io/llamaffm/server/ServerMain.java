package io.llamaffm.server;

import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar llama-ffm-server.jar --model FILE [options]}: serves a model until the process is stopped (Ctrl-C
 * or SIGTERM end running requests within the shutdown deadline, then close the contexts and the models). The same
 * server runs as {@code llama-ffm serve} in the CLI.
 *
 * <p>As it owns the JVM, it also bounds how long the JDK's HTTP server waits for a request's headers and body (the
 * system property {@code sun.net.httpserver.maxReqTime}, in seconds, unless already set): the read timeout plus
 * {@value #HEADER_GRACE_SECONDS} s, so a client that never finishes its headers loses its connection, while a slow
 * body still gets the server's own 408 first.
 */
public final class ServerMain {
    private static final String USAGE = """
            usage: java -jar llama-ffm-server.jar --model FILE [options]
              -m, --model FILE            the GGUF model that generates (required); also hf:OWNER/REPO[:QUANT],
                                          hf:OWNER/REPO/PATH.gguf or an https URL, downloaded into the cache once
                  --embedding-model FILE  a GGUF embedding model for /v1/embeddings
                  --rerank-model FILE     a GGUF ranking model (rank pooling) for /v1/rerank
                  --host ADDRESS          the address to listen on (default 127.0.0.1: this machine only)
                  --port PORT             the TCP port (default 8080; 0 picks a free one)
              -np, --parallel N           slots: requests generating at once in the one batch (default 4)
              -c, --ctx TOKENS            the context, shared by the slots: each holds ctx/parallel (default 4096)
              -t, --threads N             CPU threads (default: the cores)
              -b, --batch-size TOKENS     the most tokens decoded in one step (default 512)
                  --poll LEVEL            how long CPU workers busy-wait for the next step, 0-100 (default 1;
                                          llama-server uses 50; see ContextParams.withPolling)
                  --cache-ram MIB         host memory for the prompt cache: KV states of prompts that lost their
                                          slot, restored for a prompt that starts with them (default 1024; 0: none)
                  --queue-size N          requests waiting for a slot before 503 (default 64)
                  --queue-timeout SECONDS how long a request waits for a slot before 503 (default 60)
                  --api-key KEY           require 'Authorization: Bearer KEY' (also: LLAMAFFM_API_KEY)
                  --shutdown-timeout SECONDS  how long running requests may finish on stop (default 10)
                  --read-timeout SECONDS  how long a client may take to send a request body (default 30; then 408)
            """;
    /** Seconds the JDK's HTTP server gives a request beyond the read timeout before it drops the connection. */
    static final int HEADER_GRACE_SECONDS = 5;

    private ServerMain() {}

    /** Runs the server until the process is stopped; exits 2 on bad arguments, 1 when the server cannot start. */
    public static void main(String[] args) throws InterruptedException {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws InterruptedException {
        Map<String, String> options;
        ServerConfig config;
        String model;
        try {
            options = parse(args);
            if (options.containsKey("help")) {
                out.print(USAGE);
                return 0;
            }
            model = required(options, "model");
            config = config(options);
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime",
                    Long.toString(config.requestReadTimeout().toSeconds() + HEADER_GRACE_SECONDS));
        }
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop.countDown();
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "llama-ffm-server-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (Model m = Model.load(model, ModelParams.defaults(), null);
             Model e = optionalModel(options.get("embedding-model"));
             Model r = optionalModel(options.get("rerank-model"));
             OpenAiServer server = OpenAiServer.start(m, e, r, config)) {
            out.println("listening on " + server.baseUri() + " (" + config.parallel() + " slots; Ctrl-C stops)");
            out.flush();
            stop.await();
        } catch (IOException | RuntimeException e) {
            err.println("error: " + e.getMessage());
            return 1;
        } finally {
            stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it ends once stopped is counted down
            }
        }
        return 0;
    }

    private static Model optionalModel(String path) {
        return path == null ? null : Model.load(path, ModelParams.defaults(), null);
    }

    private static final Map<String, String> ALIASES = Map.of("-m", "model", "-np", "parallel", "-c", "ctx", "-t", "threads",
            "-b", "batch-size", "-h", "help");
    private static final List<String> NAMES = List.of("model", "embedding-model", "rerank-model", "host", "port", "parallel",
            "ctx", "threads", "batch-size", "poll", "cache-ram", "queue-size", "queue-timeout", "api-key", "shutdown-timeout", "read-timeout", "help");

    static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            String name = a.startsWith("--") ? a.substring(2) : ALIASES.get(a);
            if (name == null || !NAMES.contains(name)) {
                throw new IllegalArgumentException("unknown option '" + args[i] + "'");
            }
            if (name.equals("help")) {
                options.put(name, "");
                continue;
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("option '" + a + "' needs a value");
                }
                value = args[++i];
            }
            options.put(name, value);
        }
        return options;
    }

    static ServerConfig config(Map<String, String> o) {
        int parallel = integer(o, "parallel", 4, 1);
        ContextParams context = ContextParams.defaults()
                .withContextLength(integer(o, "ctx", 4096, 16))
                .withBatchSize(integer(o, "batch-size", 512, 1))
                .withPolling(integer(o, "poll", ContextParams.DEFAULT_POLLING, 0));
        if (o.containsKey("threads")) {
            context = context.withThreads(integer(o, "threads", 0, 1));
        }
        String apiKey = o.containsKey("api-key") ? o.get("api-key") : System.getenv("LLAMAFFM_API_KEY");
        return ServerConfig.defaults().withHost(o.getOrDefault("host", "127.0.0.1"))
                .withPort(integer(o, "port", 8080, 0)).withParallel(parallel).withContext(context)
                .withQueueSize(integer(o, "queue-size", 64, 0))
                .withQueueTimeout(Duration.ofSeconds(integer(o, "queue-timeout", 60, 0)))
                .withShutdownTimeout(Duration.ofSeconds(integer(o, "shutdown-timeout", 10, 0)))
                .withRequestReadTimeout(Duration.ofSeconds(integer(o, "read-timeout", 30, 1)))
                .withPromptCacheBytes((long) integer(o, "cache-ram", (int) (ServerConfig.DEFAULT_PROMPT_CACHE_BYTES >> 20), 0) << 20)
                .withApiKey(apiKey == null || apiKey.isEmpty() ? null : apiKey);
    }

    private static String required(Map<String, String> o, String name) {
        String v = o.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    private static int integer(Map<String, String> o, String name, int fallback, int min) {
        String v = o.get(name);
        if (v == null) {
            return fallback;
        }
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + v + "'");
        }
        if (n < min) {
            throw new IllegalArgumentException("--" + name + " must be at least " + min + ", got " + n);
        }
        return n;
    }
}
