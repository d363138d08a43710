package io.llamaffm.examples.server;

import io.llamaffm.ContextParams;

import java.time.Duration;
import java.util.Objects;

/**
 * How an {@link OpenAiServer} runs. Start from {@link #defaults()}.
 *
 * @param host            the address to bind; the loopback address by default, so only this machine can connect
 * @param port            the TCP port; 0 picks a free one ({@link OpenAiServer#address()} tells which)
 * @param parallel        how many requests generate at once: one context each, all created at start
 * @param context         the parameters of each generation context (length, threads, KV-cache type)
 * @param queueTimeout    how long a request waits for a free context before it gets 503 {@code server_busy}
 * @param maxRequestBytes the largest request body accepted; a larger one gets 413
 */
public record ServerConfig(String host, int port, int parallel, ContextParams context, Duration queueTimeout,
                           long maxRequestBytes) {
    /** Validates the fields. */
    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(queueTimeout, "queueTimeout");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        if (parallel < 1) {
            throw new IllegalArgumentException("parallel must be >= 1, got " + parallel);
        }
        if (queueTimeout.isNegative()) {
            throw new IllegalArgumentException("queueTimeout must not be negative, got " + queueTimeout);
        }
        if (maxRequestBytes < 1) {
            throw new IllegalArgumentException("maxRequestBytes must be >= 1, got " + maxRequestBytes);
        }
    }

    /** 127.0.0.1:8080, one context of 4096 tokens, 60 s queue timeout, requests up to 16 MiB. */
    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, 1, ContextParams.defaults().withContextLength(4096),
                Duration.ofSeconds(60), 16L << 20);
    }

    /** This configuration listening on {@code h} (a host name or address). */
    public ServerConfig withHost(String h) {
        return new ServerConfig(h, port, parallel, context, queueTimeout, maxRequestBytes);
    }

    /** This configuration on port {@code p} (0: any free port). */
    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, parallel, context, queueTimeout, maxRequestBytes);
    }

    /** This configuration with {@code n} generation contexts. */
    public ServerConfig withParallel(int n) {
        return new ServerConfig(host, port, n, context, queueTimeout, maxRequestBytes);
    }

    /** This configuration with generation contexts made with {@code c}. */
    public ServerConfig withContext(ContextParams c) {
        return new ServerConfig(host, port, parallel, c, queueTimeout, maxRequestBytes);
    }

    /** This configuration letting requests wait up to {@code d} for a context. */
    public ServerConfig withQueueTimeout(Duration d) {
        return new ServerConfig(host, port, parallel, context, d, maxRequestBytes);
    }

    /** This configuration accepting request bodies of up to {@code n} bytes. */
    public ServerConfig withMaxRequestBytes(long n) {
        return new ServerConfig(host, port, parallel, context, queueTimeout, n);
    }
}
