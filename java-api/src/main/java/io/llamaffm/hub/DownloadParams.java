package io.llamaffm.hub;

import io.llamaffm.Configuration;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link ModelDownloader} finds and fetches models. {@link #defaults()} reads {@link Configuration}: the cache
 * ({@code llamaffm.models.dir}), the hub's address ({@code HF_ENDPOINT}), the token ({@code HF_TOKEN}) and offline mode
 * ({@code HF_HUB_OFFLINE}).
 *
 * @param endpoint       the hub's base URL, {@value Configuration#DEFAULT_HUB_ENDPOINT} by default
 * @param token          the access token for gated or private repositories, or null; sent as
 *                       {@code Authorization: Bearer} to the endpoint's own address (scheme, host and port) only
 * @param cacheDir       the download cache
 * @param offline        resolve from the cache only, never touching the network
 * @param connectTimeout how long connecting may take
 * @param idleTimeout    how long the server may stay silent: before its response headers, and between two pieces of a
 *                       body; a download that stalls longer stops (keeping what arrived, to resume)
 * @param retries        how many more times a download cut by the network (or answered 429 or 5xx) is tried,
 *                       resuming where it stopped
 */
public record DownloadParams(URI endpoint, String token, Path cacheDir, boolean offline, Duration connectTimeout,
                             Duration idleTimeout, int retries) {
    /** Checks the values. */
    public DownloadParams {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(cacheDir, "cacheDir");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        String scheme = endpoint.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https")) || endpoint.getHost() == null) {
            throw new IllegalArgumentException("endpoint must be an http or https URL, got " + endpoint);
        }
        String text = endpoint.toString();
        if (text.endsWith("/")) {
            endpoint = URI.create(text.replaceAll("/+$", ""));
        }
        if (token != null && (token.isBlank() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e))) {
            throw new IllegalArgumentException("token must be printable ASCII without spaces");
        }
        if (connectTimeout.isNegative() || connectTimeout.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive, got connect " + connectTimeout + ", idle " + idleTimeout);
        }
        if (retries < 0) {
            throw new IllegalArgumentException("retries must be >= 0, got " + retries);
        }
    }

    /**
     * The configured defaults: {@link Configuration#hubEndpoint()}, {@link Configuration#hubToken()},
     * {@link Configuration#modelsDir()}, {@link Configuration#hubOffline()}, 10 s to connect, 60 s idle, 3 retries.
     *
     * @return the defaults
     */
    public static DownloadParams defaults() {
        return new DownloadParams(Configuration.hubEndpoint(), Configuration.hubToken().orElse(null), Configuration.modelsDir(),
                Configuration.hubOffline(), Duration.ofSeconds(10), Duration.ofSeconds(60), 3);
    }

    /**
     * Sets the hub's base URL (a mirror, or a test server).
     *
     * @param endpoint the base URL, http or https
     * @return a copy with that change
     */
    public DownloadParams withEndpoint(URI endpoint) {
        return new DownloadParams(endpoint, token, cacheDir, offline, connectTimeout, idleTimeout, retries);
    }

    /**
     * Sets the access token for gated or private repositories.
     *
     * @param token the token, or null for none
     * @return a copy with that change
     */
    public DownloadParams withToken(String token) {
        return new DownloadParams(endpoint, token, cacheDir, offline, connectTimeout, idleTimeout, retries);
    }

    /**
     * Sets the download cache folder.
     *
     * @param dir the folder
     * @return a copy with that change
     */
    public DownloadParams withCacheDir(Path dir) {
        return new DownloadParams(endpoint, token, dir, offline, connectTimeout, idleTimeout, retries);
    }

    /**
     * Sets offline mode: resolve from the cache only.
     *
     * @param offline true to never touch the network
     * @return a copy with that change
     */
    public DownloadParams withOffline(boolean offline) {
        return new DownloadParams(endpoint, token, cacheDir, offline, connectTimeout, idleTimeout, retries);
    }

    /**
     * Sets how long connecting may take.
     *
     * @param timeout a positive duration
     * @return a copy with that change
     */
    public DownloadParams withConnectTimeout(Duration timeout) {
        return new DownloadParams(endpoint, token, cacheDir, offline, timeout, idleTimeout, retries);
    }

    /**
     * Sets how long the server may stay silent before headers or between two pieces of a body.
     *
     * @param timeout a positive duration
     * @return a copy with that change
     */
    public DownloadParams withIdleTimeout(Duration timeout) {
        return new DownloadParams(endpoint, token, cacheDir, offline, connectTimeout, timeout, retries);
    }

    /**
     * Sets how many more times a download cut by the network is tried (each resumes where the last stopped).
     *
     * @param retries 0 or more
     * @return a copy with that change
     */
    public DownloadParams withRetries(int retries) {
        return new DownloadParams(endpoint, token, cacheDir, offline, connectTimeout, idleTimeout, retries);
    }

    /** {@return the values, the token masked} */
    @Override
    public String toString() {
        return "DownloadParams[endpoint=" + endpoint + ", token=" + (token == null ? "none" : "***") + ", cacheDir=" + cacheDir
                + ", offline=" + offline + ", connectTimeout=" + connectTimeout + ", idleTimeout=" + idleTimeout
                + ", retries=" + retries + "]";
    }
}
