package io.llamaffm.server;

import io.llamaffm.ContextParams;

import java.time.Duration;
import java.util.Objects;

/**
 * How an {@link OpenAiServer} runs. Start from {@link #defaults()}.
 *
 * @param host            the address to bind; the loopback address by default, so only this machine can connect
 * @param port            the TCP port; 0 picks a free one ({@link OpenAiServer#address()} tells which)
 * @param parallel        slots: how many sequences generate at once, all in one batch of the one generation context
 * @param context         the generation context: its length is shared by the slots (each slot holds up to
 *                        {@code contextLength / parallel} tokens of its own; a prefix shared between slots is held once)
 * @param queueSize       how many requests may wait for a free slot; one more gets 503 {@code server_busy}
 * @param queueTimeout    how long a request waits for a free slot before it gets 503 {@code server_busy}
 * @param maxRequestBytes the largest request body accepted; a larger one gets 413
 * @param apiKey          when not null, every request but {@code /health} must send {@code Authorization: Bearer <key>}
 * @param shutdownTimeout how long running requests may go on once {@link OpenAiServer#close()} is called; streams still
 *                        running then are ended with an error event
 * @param requestReadTimeout how long a client may take to send a request body once its headers arrived; a slower one
 *                        gets 408 {@code request_timeout} and its connection is closed
 * @param promptCacheBytes host memory for the prompt cache (0: none): the KV states of prompts that lost their slot,
 *                        restored for a later prompt that starts with them (see {@code BatchScheduler.start})
 */
public record ServerConfig(String host, int port, int parallel, ContextParams context, int queueSize, Duration queueTimeout,
                           long maxRequestBytes, String apiKey, Duration shutdownTimeout,
                           Duration requestReadTimeout, long promptCacheBytes) {
    /** Validates the fields. */
    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(queueTimeout, "queueTimeout");
        Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
        Objects.requireNonNull(requestReadTimeout, "requestReadTimeout");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        if (parallel < 1) {
            throw new IllegalArgumentException("parallel must be >= 1, got " + parallel);
        }
        if (queueSize < 0) {
            throw new IllegalArgumentException("queueSize must be >= 0, got " + queueSize);
        }
        if (queueTimeout.isNegative() || shutdownTimeout.isNegative()) {
            throw new IllegalArgumentException("timeouts must not be negative");
        }
        if (requestReadTimeout.isNegative() || requestReadTimeout.isZero()) {
            throw new IllegalArgumentException("requestReadTimeout must be positive, got " + requestReadTimeout);
        }
        if (promptCacheBytes < 0) {
            throw new IllegalArgumentException("promptCacheBytes must be >= 0, got " + promptCacheBytes);
        }
        if (maxRequestBytes < 1) {
            throw new IllegalArgumentException("maxRequestBytes must be >= 1, got " + maxRequestBytes);
        }
        if (apiKey != null && apiKey.isBlank()) {
            throw new IllegalArgumentException("apiKey must not be blank (null: no key)");
        }
    }

    /** The default {@link #promptCacheBytes()}: 1 GiB. */
    public static final long DEFAULT_PROMPT_CACHE_BYTES = 1L << 30;

    /**
     * 127.0.0.1:8080, one slot in a context of 4096 tokens, 64 queued requests waiting up to 60 s, bodies up to 16 MiB
     * arriving within 30 s, no key, 10 s for running requests on close, a prompt cache of 1 GiB.
     */
    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, 1, ContextParams.defaults().withContextLength(4096), 64,
                Duration.ofSeconds(60), 16L << 20, null, Duration.ofSeconds(10), Duration.ofSeconds(30), DEFAULT_PROMPT_CACHE_BYTES);
    }

    /** This configuration listening on {@code h} (a host name or address). */
    public ServerConfig withHost(String h) {
        return new ServerConfig(h, port, parallel, context, queueSize, queueTimeout, maxRequestBytes, apiKey, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration on port {@code p} (0: any free port). */
    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, parallel, context, queueSize, queueTimeout, maxRequestBytes, apiKey, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration with {@code n} slots. */
    public ServerConfig withParallel(int n) {
        return new ServerConfig(host, port, n, context, queueSize, queueTimeout, maxRequestBytes, apiKey, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration with the generation context made with {@code c}. */
    public ServerConfig withContext(ContextParams c) {
        return new ServerConfig(host, port, parallel, c, queueSize, queueTimeout, maxRequestBytes, apiKey, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration letting up to {@code n} requests wait for a slot. */
    public ServerConfig withQueueSize(int n) {
        return new ServerConfig(host, port, parallel, context, n, queueTimeout, maxRequestBytes, apiKey, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration letting requests wait up to {@code d} for a slot. */
    public ServerConfig withQueueTimeout(Duration d) {
        return new ServerConfig(host, port, parallel, context, queueSize, d, maxRequestBytes, apiKey, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration accepting request bodies of up to {@code n} bytes. */
    public ServerConfig withMaxRequestBytes(long n) {
        return new ServerConfig(host, port, parallel, context, queueSize, queueTimeout, n, apiKey, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration requiring {@code key} as a Bearer token (null: no key). */
    public ServerConfig withApiKey(String key) {
        return new ServerConfig(host, port, parallel, context, queueSize, queueTimeout, maxRequestBytes, key, shutdownTimeout, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration giving running requests {@code d} to finish on close. */
    public ServerConfig withShutdownTimeout(Duration d) {
        return new ServerConfig(host, port, parallel, context, queueSize, queueTimeout, maxRequestBytes, apiKey, d, requestReadTimeout, promptCacheBytes);
    }

    /** This configuration giving clients {@code d} to send a request body. */
    public ServerConfig withRequestReadTimeout(Duration d) {
        return new ServerConfig(host, port, parallel, context, queueSize, queueTimeout, maxRequestBytes, apiKey, shutdownTimeout, d, promptCacheBytes);
    }

    /** The fields, with the API key hidden. */
    @Override
    public String toString() {
        return "ServerConfig[host=" + host + ", port=" + port + ", parallel=" + parallel + ", context=" + context
                + ", queueSize=" + queueSize + ", queueTimeout=" + queueTimeout + ", maxRequestBytes=" + maxRequestBytes
                + ", apiKey=" + (apiKey == null ? "none" : "(set)") + ", shutdownTimeout=" + shutdownTimeout
                + ", requestReadTimeout=" + requestReadTimeout + ", promptCacheBytes=" + promptCacheBytes + "]";
    }

    /** This configuration with a prompt cache of up to {@code n} bytes (0: none). */
    public ServerConfig withPromptCacheBytes(long n) {
        return new ServerConfig(host, port, parallel, context, queueSize, queueTimeout, maxRequestBytes, apiKey, shutdownTimeout,
                requestReadTimeout, n);
    }
}
