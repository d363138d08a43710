package io.llamaffm.hub;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback imitation of the Hugging Face hub, for tests: two servers on 127.0.0.1 with ephemeral ports, the hub and
 * its "CDN" (a second origin, so the token must not reach it).
 *
 * <ul>
 *   <li>{@code GET /api/models/OWNER/NAME/tree/REV?recursive=true}: the JSON listing (folders and files, LFS files with
 *       {@code lfs.oid} = sha256), {@link #pageSize} entries a page with a {@code Link: <...>; rel="next"} header;</li>
 *   <li>{@code HEAD|GET /OWNER/NAME/resolve/REV/PATH}: for an LFS file, 302 to {@code CDN/cdn/SHA256} with
 *       {@code X-Repo-Commit}, {@code X-Linked-Etag: "sha256"}, {@code X-Linked-Size}; for a file kept in git, 200 with
 *       {@code ETag: "git blob id"} and the bytes;</li>
 *   <li>errors as the hub sends them: 404 + {@code X-Error-Code: RepoNotFound | RevisionNotFound | EntryNotFound},
 *       401 + {@code GatedRepo} for a gated repository without its token, 403 with a wrong one, JSON {@code error} body;</li>
 *   <li>CDN {@code GET /cdn/SHA256}: the bytes, with {@code Range: bytes=N-} or {@code bytes=N-M} (206 + Content-Range,
 *       416 past the end).</li>
 * </ul>
 * Faults for the next transfers: {@link #cutAfter} (the connection closes after N bytes of the file), {@link #corrupt}
 * (one byte flipped, the hash announced unchanged), {@link #ignoreRange}, {@link #throttle}. Every request is recorded.
 */
public final class FakeHub implements AutoCloseable {
    /** The first, and only, revision of every repository unless given: a branch. */
    public static final String MAIN = "main";

    /** A request as a server saw it. */
    public record Request(String server, String method, String path, String authorization, String range) {}

    private record File(byte[] bytes, String sha256, boolean lfs) {}

    private record Repo(String commit, Map<String, File> files, String token) {}

    private final HttpServer hub;
    private final HttpServer cdn;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, File> blobs = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Long> cuts = new ConcurrentHashMap<>();
    private final Map<String, Long> corruptions = new ConcurrentHashMap<>();
    private volatile boolean ignoreRange;
    private volatile boolean hideSize;
    private final Map<String, File> urlFiles = new ConcurrentHashMap<>();
    private volatile int throttleChunk;
    private volatile long throttleMillis;
    /** Entries per page of the tree listing. */
    public volatile int pageSize = 1000;
    private final AtomicLong cdnBytesSent = new AtomicLong();

    /** Starts both servers. */
    public FakeHub() throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        hub = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        hub.createContext("/", this::hub);
        cdn.createContext("/cdn/", this::cdn);
        cdn.createContext("/files/", this::urlFile);
        hub.setExecutor(Executors.newCachedThreadPool());
        cdn.setExecutor(Executors.newCachedThreadPool());
        hub.start();
        cdn.start();
    }

    /** {@return the hub's base URL, http://127.0.0.1:PORT} */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    /** {@return the CDN's base URL} */
    public URI cdnBase() {
        return URI.create("http://127.0.0.1:" + cdn.getAddress().getPort());
    }

    /** Adds a public repository at {@code commit} whose files are all in LFS. */
    public void addRepo(String repo, String commit, Map<String, byte[]> files) {
        addRepo(repo, commit, files, Set.of(), null);
    }

    /**
     * Adds a repository.
     *
     * @param inGit the paths kept in git itself (not LFS)
     * @param token the token a gated repository needs, or null for a public one
     */
    public void addRepo(String repo, String commit, Map<String, byte[]> files, Set<String> inGit, String token) {
        Map<String, File> f = new TreeMap<>();
        files.forEach((path, bytes) -> {
            File file = new File(bytes.clone(), sha256(bytes), !inGit.contains(path));
            f.put(path, file);
            blobs.put(file.sha256(), file);
        });
        repos.put(repo, new Repo(commit, f, token));
    }

    /** The next transfer of the blob {@code sha256} closes the connection once the file's first {@code offset} bytes are sent. */
    public void cutAfter(String sha256, long offset) {
        cuts.put(sha256, offset);
    }

    /** Every transfer of the blob flips the byte at {@code offset} (the announced sha256 stays the true one). */
    public void corrupt(String sha256, long offset) {
        corruptions.put(sha256, offset);
    }

    /** Stops corrupting. */
    public void repair(String sha256) {
        corruptions.remove(sha256);
    }

    /** Whether the CDN answers a Range request with the whole file (200), as a server without range support does. */
    public void ignoreRange(boolean ignore) {
        this.ignoreRange = ignore;
    }

    /** Whether the CDN's {@code /files/} hides sizes: no Content-Length on HEAD, a chunked GET. */
    public void hideSize(boolean hide) {
        this.hideSize = hide;
    }

    /** Serves {@code bytes} at {@code CDN/files/NAME} (a plain URL, not the hub), with the sha256 as a strong ETag. */
    public void putUrlFile(String name, byte[] bytes) {
        File f = new File(bytes.clone(), sha256(bytes), true);
        urlFiles.put(name, f);
        blobs.put(f.sha256(), f);
    }

    /** The CDN sends {@code chunk} bytes, then sleeps {@code millis}, until the file is sent. */
    public void throttle(int chunk, long millis) {
        this.throttleChunk = chunk;
        this.throttleMillis = millis;
    }

    /** {@return every request so far, oldest first} */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** {@return the requests to {@code server} ("hub" or "cdn") with {@code method}} */
    public List<Request> requests(String server, String method) {
        return requests.stream().filter(r -> r.server().equals(server) && r.method().equals(method)).toList();
    }

    /** Forgets the recorded requests. */
    public void clearRequests() {
        requests.clear();
    }

    /** {@return how many file bytes the CDN has sent} */
    public long cdnBytesSent() {
        return cdnBytesSent.get();
    }

    /** {@return the lower-case hex sha256 of {@code bytes}} */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@return the git blob id of {@code bytes}: sha1 of "blob SIZE\0" and the bytes} */
    public static String gitBlobId(byte[] bytes) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + bytes.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(md.digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- the hub ------------------------------------------------------------------------------------------------

    private void hub(HttpExchange x) throws IOException {
        try (x) {
            record(x, "hub");
            String path = x.getRequestURI().getRawPath();
            String[] p = path.substring(1).split("/", -1);
            if (p.length >= 6 && p[0].equals("api") && p[1].equals("models") && p[4].equals("tree")) {
                tree(x, p[2] + "/" + p[3], decode(String.join("/", List.of(p).subList(5, p.length))));
            } else if (p.length >= 5 && p[2].equals("resolve")) {
                resolve(x, p[0] + "/" + p[1], decode(p[3]), decode(String.join("/", List.of(p).subList(4, p.length))));
            } else {
                error(x, 404, null, "Not found");
            }
        }
    }

    /** The repository if it exists and the request may see it; otherwise the error is sent and null returned. */
    private Repo access(HttpExchange x, String name, String revision) throws IOException {
        Repo repo = repos.get(name);
        if (repo == null) {
            error(x, 404, "RepoNotFound", "Repository not found");
            return null;
        }
        if (repo.token() != null) {
            String auth = x.getRequestHeaders().getFirst("Authorization");
            if (auth == null) {
                error(x, 401, "GatedRepo", "Access to model " + name + " is restricted. You must have access to it and be authenticated to access it. Please log in.");
                return null;
            }
            if (!auth.equals("Bearer " + repo.token())) {
                error(x, 403, "GatedRepo", "Access to model " + name + " is restricted and you are not in the authorized list.");
                return null;
            }
        }
        if (!revision.equals(MAIN) && !revision.equals(repo.commit())) {
            error(x, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return null;
        }
        return repo;
    }

    private void tree(HttpExchange x, String name, String revision) throws IOException {
        Repo repo = access(x, name, revision);
        if (repo == null) {
            return;
        }
        List<String> entries = new ArrayList<>();
        Set<String> dirs = new java.util.TreeSet<>();
        repo.files().keySet().forEach(path -> {
            for (int i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
                dirs.add(path.substring(0, i));
            }
        });
        dirs.forEach(d -> entries.add("{\"type\":\"directory\",\"oid\":\"" + "0".repeat(40) + "\",\"size\":0,\"path\":\"" + d + "\"}"));
        repo.files().forEach((path, f) -> entries.add("{\"type\":\"file\",\"oid\":\"" + gitBlobId(f.bytes()) + "\",\"size\":"
                + f.bytes().length + ",\"path\":\"" + path + "\"" + (f.lfs() ? ",\"lfs\":{\"oid\":\"" + f.sha256()
                + "\",\"size\":" + f.bytes().length + ",\"pointerSize\":134}" : "") + "}"));
        String query = x.getRequestURI().getRawQuery();
        int cursor = 0;
        if (query != null && query.contains("cursor=")) {
            cursor = Integer.parseInt(query.substring(query.indexOf("cursor=") + 7).split("&")[0]);
        }
        int end = Math.min(entries.size(), cursor + pageSize);
        if (end < entries.size()) {
            x.getResponseHeaders().add("Link", "<" + endpoint() + x.getRequestURI().getRawPath() + "?recursive=true&cursor=" + end
                    + ">; rel=\"next\"");
        }
        byte[] body = ("[" + String.join(",", entries.subList(cursor, end)) + "]").getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/json");
        x.sendResponseHeaders(200, body.length);
        x.getResponseBody().write(body);
    }

    private void resolve(HttpExchange x, String name, String revision, String path) throws IOException {
        Repo repo = access(x, name, revision);
        if (repo == null) {
            return;
        }
        File f = repo.files().get(path);
        if (f == null) {
            error(x, 404, "EntryNotFound", path + " does not exist on \"" + revision + "\"");
            return;
        }
        Headers h = x.getResponseHeaders();
        h.add("X-Repo-Commit", repo.commit());
        if (f.lfs()) {
            h.add("X-Linked-Etag", "\"" + f.sha256() + "\"");
            h.add("X-Linked-Size", Long.toString(f.bytes().length));
            h.add("ETag", "\"" + f.sha256() + "\"");
            h.add("Location", cdnBase() + "/cdn/" + f.sha256() + "?expires=1");
            x.sendResponseHeaders(302, -1);
            return;
        }
        h.add("ETag", "\"" + gitBlobId(f.bytes()) + "\"");
        send(x, f, false);
    }

    // ---- the CDN ------------------------------------------------------------------------------------------------

    private void cdn(HttpExchange x) throws IOException {
        try (x) {
            record(x, "cdn");
            String sha = x.getRequestURI().getPath().substring("/cdn/".length());
            File f = blobs.get(sha);
            if (f == null) {
                error(x, 404, null, "no such blob");
                return;
            }
            x.getResponseHeaders().add("ETag", "\"cdn-" + sha.substring(0, 8) + "\"");
            send(x, f, true);
        }
    }

    private void urlFile(HttpExchange x) throws IOException {
        try (x) {
            record(x, "cdn");
            File f = urlFiles.get(x.getRequestURI().getPath().substring("/files/".length()));
            if (f == null) {
                error(x, 404, null, "no such file");
                return;
            }
            x.getResponseHeaders().add("ETag", "\"" + f.sha256() + "\"");
            send(x, f, true);
        }
    }

    /** Sends a file's bytes, honouring {@code Range: bytes=N-} and {@code bytes=N-M} and the faults set. */
    private void send(HttpExchange x, File f, boolean countCdn) throws IOException {
        byte[] bytes = f.bytes();
        long from = 0;
        String range = x.getRequestHeaders().getFirst("Range");
        Headers h = x.getResponseHeaders();
        h.add("Accept-Ranges", "bytes");
        long last = bytes.length - 1;
        if (range != null && !ignoreRange) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("bytes=(\\d+)-(\\d*)").matcher(range);
            if (!m.matches()) {
                error(x, 400, null, "unsupported range " + range);
                return;
            }
            from = Long.parseLong(m.group(1));
            if (!m.group(2).isEmpty()) {
                last = Math.min(last, Long.parseLong(m.group(2)));
            }
            if (from >= bytes.length || last < from) {
                h.add("Content-Range", "bytes */" + bytes.length);
                x.sendResponseHeaders(416, -1);
                return;
            }
            h.add("Content-Range", "bytes " + from + "-" + last + "/" + bytes.length);
        }
        boolean partial = from > 0 || last < bytes.length - 1;
        boolean sized = !(hideSize && countCdn);
        if (x.getRequestMethod().equals("HEAD")) {
            if (sized) {
                h.add("Content-Length", Long.toString(last + 1 - from));
            }
            x.sendResponseHeaders(partial ? 206 : 200, -1);
            return;
        }
        Long cut = cuts.remove(f.sha256());
        Long flip = corruptions.get(f.sha256());
        x.sendResponseHeaders(partial ? 206 : 200, sized ? last + 1 - from : 0);
        OutputStream out = x.getResponseBody();
        long end = cut != null ? Math.max(from, Math.min(cut, last + 1)) : last + 1;
        int chunk = throttleChunk > 0 ? throttleChunk : 1 << 16;
        for (long pos = from; pos < end; ) {
            int n = (int) Math.min(chunk, end - pos);
            byte[] piece = java.util.Arrays.copyOfRange(bytes, (int) pos, (int) pos + n);
            if (flip != null && flip >= pos && flip < pos + n) {
                piece[(int) (flip - pos)] ^= 0x5a;
            }
            out.write(piece);
            out.flush();
            if (countCdn) {
                cdnBytesSent.addAndGet(n);
            }
            pos += n;
            if (throttleChunk > 0) {
                try {
                    Thread.sleep(throttleMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        if (cut != null) {
            // the connection drops mid-file: the stream is closed short of its Content-Length
            throw new IOException("cut by the test after " + end + " bytes");
        }
    }

    private static void error(HttpExchange x, int status, String code, String message) throws IOException {
        if (code != null) {
            x.getResponseHeaders().add("X-Error-Code", code);
        }
        x.getResponseHeaders().add("X-Error-Message", message);
        byte[] body = ("{\"error\":\"" + message.replace("\"", "\\\"") + "\"}").getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/json");
        if (x.getRequestMethod().equals("HEAD")) {
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
    }

    private void record(HttpExchange x, String server) {
        Headers h = x.getRequestHeaders();
        requests.add(new Request(server, x.getRequestMethod(), x.getRequestURI().getPath(), h.getFirst("Authorization"),
                h.getFirst("Range")));
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** Files by path, in the order given. */
    public static Map<String, byte[]> files(Object... pathThenBytes) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < pathThenBytes.length; i += 2) {
            m.put((String) pathThenBytes[i], (byte[]) pathThenBytes[i + 1]);
        }
        return m;
    }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
        ((java.util.concurrent.ExecutorService) hub.getExecutor()).shutdownNow();
        ((java.util.concurrent.ExecutorService) cdn.getExecutor()).shutdownNow();
    }
}
