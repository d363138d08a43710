package io.llamaffm.internal.hub;

import io.llamaffm.hub.DownloadException;
import io.llamaffm.hub.DownloadException.Reason;
import io.llamaffm.hub.DownloadParams;
import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.Version;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The HTTP of one resolution: a client that follows no redirect by itself, so that each hop is checked (at most
 * {@value #MAX_REDIRECTS}, never from https down to http) and the token goes only to the hub's own origin (scheme, host
 * and port) — never to the CDN a download is redirected to. Every response body is read through {@link #read} with an
 * idle watchdog and a byte limit, so a silent or endless server cannot hang or exhaust the client.
 */
public final class HubHttp implements AutoCloseable {
    static final int MAX_REDIRECTS = 10;
    private static final int ERROR_BODY_BYTES = 4096;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SHA1 = Pattern.compile("[0-9a-f]{40}");
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "llama-ffm-download-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final HttpClient client;
    private final DownloadParams params;
    private final String reference;

    /** One server response; its body (empty for HEAD) must be closed. */
    record Response(int status, HttpHeaders headers, URI uri, InputStream body) implements AutoCloseable {
        Optional<String> header(String name) {
            return headers.firstValue(name).map(String::strip).filter(v -> !v.isEmpty());
        }

        long longHeader(String name) {
            return header(name).map(v -> {
                try {
                    long n = Long.parseLong(v);
                    return n >= 0 ? n : -1L;
                } catch (NumberFormatException e) {
                    return -1L;
                }
            }).orElse(-1L);
        }

        boolean isRedirect() {
            return (status == 301 || status == 302 || status == 303 || status == 307 || status == 308)
                    && header("Location").isPresent();
        }

        @Override
        public void close() {
            try {
                body.close();
            } catch (IOException ignored) {
                // the connection is dropped with it
            }
        }
    }

    /**
     * A file as the server describes it.
     *
     * @param downloadUri where to GET it (the CDN location the hub redirects to, or the URL itself)
     * @param size        its size in bytes, or -1 when not announced
     * @param checksum    what its bytes must hash to, or null when the server gave no usable hash
     * @param validator   what identifies this version of it (the linked or strong ETag, else Last-Modified), or null
     * @param commit      the repository commit ({@code X-Repo-Commit}), or null
     */
    public record RemoteFile(URI downloadUri, long size, Checksum checksum, String validator, String commit) {}

    /**
     * An expected hash: {@code SHA-256} of the bytes (the hub's LFS files), or {@code git-SHA-1} (a git blob id:
     * SHA-1 of {@code "blob SIZE\0"} and the bytes, for small files kept in git itself).
     *
     * @param algorithm {@code SHA-256} or {@code git-SHA-1}
     * @param hex       the expected value, lower-case hex
     */
    public record Checksum(String algorithm, String hex) {
        /** {@return the checksum a hub entity tag stands for: a sha256 (LFS) or a git blob id; null for anything else} */
        static Checksum fromEtag(String etag) {
            String v = unquote(etag).toLowerCase(Locale.ROOT);
            return SHA256.matcher(v).matches() ? new Checksum("SHA-256", v)
                    : SHA1.matcher(v).matches() ? new Checksum("git-SHA-1", v) : null;
        }
    }

    /**
     * A client for one resolution.
     *
     * @param params    the endpoint, token and timeouts
     * @param reference the reference, for error messages
     */
    public HubHttp(DownloadParams params, String reference) {
        this.params = params;
        this.reference = reference;
        this.client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(params.connectTimeout()).build();
    }

    /** {@return whether {@code uri} is on the hub's own origin, the only one that gets the token} */
    boolean isHubOrigin(URI uri) {
        URI hub = params.endpoint();
        return hub.getScheme().equalsIgnoreCase(uri.getScheme()) && hub.getHost().equalsIgnoreCase(uri.getHost())
                && port(hub) == port(uri);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : uri.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    /**
     * Sends one request and returns the response once its headers are in; follows no redirect. A failure to connect
     * or a server silent for the idle timeout is {@link Reason#UNREACHABLE}.
     */
    Response send(String method, URI uri, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(params.idleTimeout())
                .header("User-Agent", "llama-ffm/" + Version.PROJECT)
                .header("Accept-Encoding", "identity");
        headers.forEach(b::header);
        if (params.token() != null && isHubOrigin(uri)) {
            b.header("Authorization", "Bearer " + params.token());
        }
        try {
            HttpResponse<InputStream> r = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            return new Response(r.statusCode(), r.headers(), uri, r.body());
        } catch (java.net.ProtocolException e) {
            throw failure(Reason.BAD_RESPONSE, "the response from " + origin(uri) + " is malformed: " + describe(e), 0, e);
        } catch (HttpTimeoutException e) {
            throw failure(Reason.UNREACHABLE, "no answer from " + origin(uri) + " within " + seconds(params.idleTimeout()), 0, e);
        } catch (IOException e) {
            throw failure(Reason.UNREACHABLE, "cannot reach " + origin(uri) + ": " + describe(e), 0, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure(Reason.CANCELLED, "interrupted", 0, e);
        }
    }

    /** Sends a request and follows its redirects (each checked by {@link #location}) to the first other answer. */
    Response follow(String method, URI uri, Map<String, String> headers) {
        URI current = uri;
        for (int hop = 0; ; hop++) {
            Response r = send(method, current, headers);
            if (!r.isRedirect()) {
                return r;
            }
            r.close();
            if (hop == MAX_REDIRECTS) {
                throw failure(Reason.BAD_RESPONSE, "more than " + MAX_REDIRECTS + " redirects from " + uri, r.status(), null);
            }
            current = location(r);
        }
    }

    /** The absolute target of a redirect; refuses a step down from https to http. */
    URI location(Response r) {
        String loc = r.header("Location").orElseThrow();
        URI next;
        try {
            next = r.uri().resolve(new URI(loc));
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            throw failure(Reason.BAD_RESPONSE, "redirect to an invalid URL: " + abbreviate(loc), r.status(), e);
        }
        String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || next.getHost() == null) {
            throw failure(Reason.BAD_RESPONSE, "redirect to a URL that is not http or https: " + abbreviate(loc), r.status(), null);
        }
        if (r.uri().getScheme().equalsIgnoreCase("https") && scheme.equals("http")) {
            throw failure(Reason.BAD_RESPONSE, "refusing a redirect from https down to http (" + origin(next) + ")", r.status(), null);
        }
        return next;
    }

    /**
     * Describes a file with HEAD: the hub answers its resolve URL with the commit ({@code X-Repo-Commit}), the LFS sha256
     * ({@code X-Linked-Etag}) and size ({@code X-Linked-Size}) and a redirect to the CDN, which is not followed; other
     * redirects are (a renamed repository, a plain URL's mirror), and the final answer's ETag and Content-Length describe
     * the file (its ETag counts as a checksum only on the hub's own origin).
     *
     * @param uri  the resolve URL, or a plain URL
     * @param what the file, for error messages ("file x.gguf of owner/repo at revision main")
     * @param hub  whether 404 and 401 are to be read the hub's way (repository, revision, file)
     */
    RemoteFile describe(URI uri, String what, boolean hub) {
        String commit = null;
        String linkedEtag = null;
        long linkedSize = -1;
        URI current = uri;
        for (int hop = 0; ; hop++) {
            try (Response r = send("HEAD", current, Map.of())) {
                commit = commit != null ? commit : r.header("X-Repo-Commit").orElse(null);
                linkedEtag = linkedEtag != null ? linkedEtag : r.header("X-Linked-Etag").orElse(null);
                linkedSize = linkedSize >= 0 ? linkedSize : r.longHeader("X-Linked-Size");
                if (r.isRedirect()) {
                    if (linkedEtag != null) { // the hub's LFS redirect: everything is known, the CDN is for the GET
                        return new RemoteFile(location(r), linkedSize, Checksum.fromEtag(linkedEtag), unquote(linkedEtag), commit);
                    }
                    if (hop == MAX_REDIRECTS) {
                        throw failure(Reason.BAD_RESPONSE, "more than " + MAX_REDIRECTS + " redirects from " + uri, r.status(), null);
                    }
                    current = location(r);
                    continue;
                }
                if ((r.status() == 405 || r.status() == 501) && !hub) {
                    // a server (or a link signed for GET only) that does not do HEAD: the GET will tell the size
                    return new RemoteFile(current, -1, null, null, commit);
                }
                if (r.status() / 100 != 2) {
                    throw statusFailure(r, what, hub);
                }
                String etag = r.header("ETag").orElse(null);
                boolean strong = etag != null && !etag.startsWith("W/");
                // another server's ETag may be any hex digest: only the hub's own ones are read as checksums
                Checksum checksum = linkedEtag != null ? Checksum.fromEtag(linkedEtag)
                        : strong && isHubOrigin(current) ? Checksum.fromEtag(etag) : null;
                String validator = linkedEtag != null ? unquote(linkedEtag)
                        : strong ? unquote(etag) : r.header("Last-Modified").orElse(null);
                long size = linkedSize >= 0 ? linkedSize : r.longHeader("Content-Length");
                if (checksum != null && checksum.algorithm().equals("git-SHA-1") && size < 0) {
                    checksum = null; // a blob id hashes the size too
                }
                return new RemoteFile(current, size, checksum, validator, commit);
            }
        }
    }

    /**
     * Reads a whole (small) body: a listing. More than {@code maxBytes} is {@link Reason#BAD_RESPONSE}.
     */
    String readText(Response r, int maxBytes, String what) {
        byte[] buf = new byte[Math.min(maxBytes, 1 << 16)];
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (Response closing = r; Watchdog dog = watch(r.body())) {
            int n;
            while ((n = read(dog, buf, buf.length, what)) >= 0) {
                if (out.size() + n > maxBytes) {
                    throw failure(Reason.BAD_RESPONSE, what + " is larger than " + maxBytes + " bytes", r.status(), null);
                }
                out.write(buf, 0, n);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Reads up to {@code len} bytes of a body under its watchdog; -1 at the end. A server silent for the idle timeout,
     * or a cut connection, is {@link Reason#INTERRUPTED}; an interrupted thread {@link Reason#CANCELLED}.
     */
    int read(Watchdog dog, byte[] buf, int len, String what) {
        try {
            int n = dog.in.read(buf, 0, len);
            dog.touch();
            return n;
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw failure(Reason.CANCELLED, "interrupted while reading " + what, 0, e);
            }
            if (dog.fired) {
                throw failure(Reason.INTERRUPTED, "the server sent nothing for " + seconds(params.idleTimeout())
                        + " while sending " + what, 0, e);
            }
            throw failure(Reason.INTERRUPTED, "the connection broke while reading " + what + ": " + describe(e), 0, e);
        }
    }

    /** Starts watching {@code in}: closed (so a blocked read fails) once nothing arrives for the idle timeout. */
    Watchdog watch(InputStream in) {
        return new Watchdog(in, params.idleTimeout());
    }

    /** Closes its stream when reads stop making progress for the idle timeout. */
    static final class Watchdog implements AutoCloseable {
        final InputStream in;
        private final long idleNanos;
        private final ScheduledFuture<?> task;
        private volatile long lastNanos = System.nanoTime();
        volatile boolean fired;

        Watchdog(InputStream in, Duration idle) {
            this.in = in;
            this.idleNanos = idle.toNanos();
            long period = Math.clamp(idle.toMillis() / 4, 10, 1000);
            this.task = WATCHDOG.scheduleWithFixedDelay(this::check, period, period, TimeUnit.MILLISECONDS);
        }

        void touch() {
            lastNanos = System.nanoTime();
        }

        private void check() {
            if (!fired && System.nanoTime() - lastNanos > idleNanos) {
                fired = true;
                try {
                    in.close();
                } catch (IOException | RuntimeException ignored) {
                    // the reader sees the stream closed either way
                }
            }
        }

        @Override
        public void close() {
            task.cancel(false);
            try {
                in.close();
            } catch (IOException ignored) {
                // nothing more to read
            }
        }
    }

    /**
     * The failure an HTTP error status means, read the hub's way when {@code hub}: its {@code X-Error-Code}
     * (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) and {@code X-Error-Message}, else the JSON body's
     * {@code error}, else the status alone.
     */
    DownloadException statusFailure(Response r, String what, boolean hub) {
        String code = r.header("X-Error-Code").orElse("");
        String detail = r.header("X-Error-Message").or(() -> errorBody(r)).map(HubHttp::abbreviate).orElse("");
        String said = detail.isEmpty() ? "" : " (the server said: " + detail + ")";
        int status = r.status();
        if (hub && code.equals("RepoNotFound")) {
            return failure(Reason.NOT_FOUND, "repository not found at " + origin(r.uri()) + " (HTTP " + status + "); "
                    + "check the name, and if it is private set HF_TOKEN to a token that can read it" + said, status, null);
        }
        if (hub && code.equals("RevisionNotFound")) {
            return failure(Reason.NOT_FOUND, "revision not found: " + what + " (HTTP " + status + ")" + said, status, null);
        }
        if ((status == 401 || status == 403) && !hub && !isHubOrigin(r.uri())) {
            return failure(Reason.ACCESS_DENIED, "access denied (HTTP " + status + ") by " + origin(r.uri()) + " to " + what + said,
                    status, null);
        }
        if (status == 401 || status == 403) {
            String how = params.token() == null
                    ? "set HF_TOKEN (or -Dllamaffm.hub.token) to an access token of an account that has accepted its terms"
                    : "the token given (HF_TOKEN / llamaffm.hub.token) has no access: accept the repository's terms on the hub "
                      + "with its account, or use a token with read access";
            return failure(Reason.ACCESS_DENIED, "access denied (HTTP " + status + ") to " + what + ": the repository is gated "
                    + "or private; " + how + said, status, null);
        }
        if (status == 404 || status == 410) {
            return failure(Reason.NOT_FOUND, "not found (HTTP " + status + "): " + what + said, status, null);
        }
        return failure(Reason.HTTP_ERROR, "HTTP " + status + " for " + what + said, status, null);
    }

    private Optional<String> errorBody(Response r) {
        try (Watchdog dog = watch(r.body())) {
            byte[] buf = new byte[ERROR_BODY_BYTES];
            int total = 0;
            for (int n; total < buf.length && (n = dog.in.read(buf, total, buf.length - total)) >= 0; ) {
                total += n;
                dog.touch();
            }
            String text = new String(buf, 0, total, StandardCharsets.UTF_8).strip();
            try {
                if (JsonParser.parse(text) instanceof Map<?, ?> m && m.get("error") instanceof String s) {
                    return Optional.of(s);
                }
            } catch (IllegalArgumentException notJson) {
                // a plain-text body is shown as it is
            }
            return text.isEmpty() || text.startsWith("<") ? Optional.empty() : Optional.of(text);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** {@return whether a failure may pass on a later try: no connection, a cut transfer, 429 or 5xx} */
    static boolean retryable(DownloadException e) {
        return switch (e.reason()) {
            case UNREACHABLE, INTERRUPTED -> true;
            case HTTP_ERROR -> e.httpStatus() == 429 || e.httpStatus() >= 500;
            default -> false;
        };
    }

    DownloadException failure(Reason reason, String message, int status, Throwable cause) {
        return new DownloadException(reason, reference, message, status, List.of(), cause);
    }

    static String unquote(String etag) {
        String v = etag.strip();
        if (v.startsWith("W/")) {
            v = v.substring(2);
        }
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    static String origin(URI uri) {
        return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "");
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + abbreviate(m);
    }

    static String abbreviate(String s) {
        String one = s.replaceAll("\\p{Cntrl}", " ").strip();
        return one.length() <= 300 ? one : one.substring(0, 300) + "...";
    }

    /** Stops the client: connections close, its threads end. */
    @Override
    public void close() {
        client.shutdownNow();
    }
}
