package io.llamaffm.internal.hub;

import io.llamaffm.Configuration;
import io.llamaffm.hub.DownloadException;
import io.llamaffm.hub.DownloadException.Reason;
import io.llamaffm.hub.DownloadListener;
import io.llamaffm.hub.DownloadParams;
import io.llamaffm.hub.ModelFiles;
import io.llamaffm.hub.ModelRef;
import io.llamaffm.ModelHeader;
import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.hub.HubHttp.RemoteFile;
import io.llamaffm.internal.hub.HubHttp.Response;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a {@link ModelRef} into verified local files: from the cache in offline mode (or when the hub cannot be
 * reached and the cache has them), else from the hub (or the URL's server).
 *
 * <p>Hub API used (the shapes {@code huggingface_hub} and llama.cpp read):
 * <ul>
 *   <li>{@code GET {endpoint}/api/models/{owner}/{name}/tree/{revision}?recursive=true}: a JSON array of
 *       {@code {"type": "file", "path": "sub/x.gguf", "size": ..., "lfs": {"oid": sha256, ...}}} (folders have type
 *       {@code directory}), further pages named by a {@code Link: <...>; rel="next"} header; only to choose a file by
 *       quantization;</li>
 *   <li>{@code HEAD {endpoint}/{owner}/{name}/resolve/{revision}/{path}}: {@code X-Repo-Commit}, {@code X-Linked-Etag}
 *       (the LFS sha256), {@code X-Linked-Size}, and a redirect to the CDN (or 200 with {@code ETag}, the git blob id, and
 *       {@code Content-Length} for a file kept in git itself); errors carry {@code X-Error-Code} (RepoNotFound,
 *       RevisionNotFound, EntryNotFound, GatedRepo);</li>
 *   <li>{@code GET} of the CDN location, with {@code Range} to resume.</li>
 * </ul>
 * The first file's commit pins the others, so every part of a split model comes from one commit. A file is kept once
 * per hash (see {@link ModelCache}), so a branch that moves on without changing it costs one HEAD, no download.
 */
public final class Resolver {
    private static final System.Logger LOG = System.getLogger("io.llamaffm.hub");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern NEXT_LINK = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");
    private static final int LISTING_MAX_BYTES = 16 << 20;
    private static final int LISTING_MAX_PAGES = 100;
    private static final int FILES_SHOWN = 40;

    private final DownloadParams params;
    private final ModelCache cache;
    private final String reference;
    private final DownloadListener listener;

    private Resolver(DownloadParams params, ModelRef ref, DownloadListener listener) {
        this.params = params;
        this.cache = new ModelCache(params.cacheDir());
        this.reference = ref.toString();
        this.listener = listener;
    }

    /**
     * Resolves a reference.
     *
     * @param params   where the cache and the hub are, the token, offline mode
     * @param ref      the reference
     * @param listener told of download progress, or null
     * @return the verified files
     * @throws DownloadException naming why it failed
     */
    public static ModelFiles resolve(DownloadParams params, ModelRef ref, DownloadListener listener) {
        Resolver r = new Resolver(params, ref, listener);
        return switch (ref) {
            case ModelRef.Hub hub -> r.resolve(hub, () -> r.cachedHub(hub), http -> r.fromHub(http, hub));
            case ModelRef.Url url -> r.resolve(url, () -> r.cachedUrl(url), http -> r.fromUrl(http, url));
        };
    }

    private ModelFiles resolve(ModelRef ref, Supplier<Optional<ModelFiles>> cached,
                               java.util.function.Function<HubHttp, ModelFiles> online) {
        if (params.offline()) {
            return cached.get().orElseThrow(() -> notCached(ref));
        }
        if (ref instanceof ModelRef.Hub hub && COMMIT.matcher(hub.revision()).matches()) {
            Optional<ModelFiles> pinned = cached.get(); // a commit never changes: no need to ask
            if (pinned.isPresent()) {
                return pinned.get();
            }
        }
        try (HubHttp http = new HubHttp(params, reference)) {
            return online.apply(http);
        } catch (DownloadException e) {
            if (e.reason() == Reason.UNREACHABLE) {
                Optional<ModelFiles> c = cached.get();
                if (c.isPresent()) {
                    LOG.log(System.Logger.Level.WARNING, "{0}; using the cached files in {1}", e.getMessage(),
                            c.get().path().getParent());
                    return c.get();
                }
            }
            throw e;
        }
    }

    // ---- headers only --------------------------------------------------------------------------------------------

    /** The first request for a header asks for this many bytes; each next one for {@value #HEADER_GROWTH} times more. */
    public static final int HEADER_FIRST_BYTES = 256 << 10;
    private static final int HEADER_GROWTH = 4;
    /** Headers larger than this are refused (the largest real vocabularies make headers of tens of MiB). */
    private static final long HEADER_MAX_BYTES = 1L << 30;

    /**
     * Reads the header of a reference's GGUF file (each part's, for a split model) without downloading it: a cached
     * file is read from disk; otherwise the file's first bytes are fetched with HTTP range requests, {@code firstBytes}
     * and then four times more each time, until the header parses. Offline mode and the token apply as to {@link #resolve}.
     *
     * @param params     where the cache and the hub are, the token, offline mode
     * @param ref        the reference
     * @param firstBytes the size of the first range asked for
     * @return the header
     * @throws DownloadException naming why it could not be read
     */
    public static ModelHeader header(DownloadParams params, ModelRef ref, int firstBytes) {
        Resolver r = new Resolver(params, ref, null);
        Supplier<Optional<ModelFiles>> cached = switch (ref) {
            case ModelRef.Hub hub -> () -> r.cachedHub(hub);
            case ModelRef.Url url -> () -> r.cachedUrl(url);
        };
        if (params.offline()) {
            return ModelHeader.read(cached.get().orElseThrow(() -> r.notCached(ref)).parts());
        }
        Optional<ModelFiles> pinned = ref instanceof ModelRef.Hub hub && COMMIT.matcher(hub.revision()).matches()
                ? cached.get() : Optional.empty();
        if (pinned.isPresent()) {
            return ModelHeader.read(pinned.get().parts());
        }
        try (HubHttp http = new HubHttp(params, r.reference)) {
            List<RemoteFile> remotes = new ArrayList<>();
            List<String> labels = new ArrayList<>();
            List<String> names = new ArrayList<>();
            switch (ref) {
                case ModelRef.Hub hub -> {
                    String first = hub.file().orElseGet(() -> {
                        List<String> listing = r.retrying(() -> r.list(http, hub));
                        return GgufChoice.choose(listing, hub.quantization()).orElseThrow(() -> r.noMatch(hub, listing));
                    });
                    for (String f : GgufChoice.parts(first)) {
                        labels.add(what(hub, f));
                        names.add(f.substring(f.lastIndexOf('/') + 1));
                        remotes.add(r.retrying(() -> http.describe(r.resolveUri(hub, hub.revision(), f), what(hub, f), true)));
                    }
                }
                case ModelRef.Url url -> {
                    List<String> parts = urlParts(url);
                    for (String name : parts) {
                        URI uri = parts.size() == 1 ? url.uri() : url.uri().resolve(encodeSegment(name));
                        labels.add(uri.toString());
                        names.add(name);
                        remotes.add(r.retrying(() -> http.describe(uri, uri.toString(), false)));
                    }
                }
            }
            List<io.llamaffm.gguf.GgufFile> headers = new ArrayList<>();
            try {
                for (int i = 0; i < remotes.size(); i++) {
                    int part = i;
                    headers.add(r.retrying(() -> r.headerOf(http, remotes.get(part), labels.get(part), firstBytes)));
                }
                return ModelHeader.of(headers, names.getFirst(), r.reference);
            } finally {
                headers.forEach(io.llamaffm.gguf.GgufFile::close);
            }
        } catch (DownloadException e) {
            if (e.reason() == Reason.UNREACHABLE) {
                Optional<ModelFiles> c = cached.get();
                if (c.isPresent()) {
                    LOG.log(System.Logger.Level.WARNING, "{0}; reading the cached file {1}", e.getMessage(), c.get().path());
                    return ModelHeader.read(c.get().parts());
                }
            }
            throw e;
        }
    }

    /** Fetches a growing prefix of the file (each request continuing where the last ended) until its header parses. */
    private io.llamaffm.gguf.GgufFile headerOf(HubHttp http, RemoteFile remote, String label, int firstBytes) {
        byte[] buf = new byte[0];
        int have = 0;
        long want = Math.max(firstBytes, 64);
        while (true) {
            if (remote.size() >= 0) {
                want = Math.min(want, remote.size());
            }
            if (want > HEADER_MAX_BYTES) {
                throw failure(Reason.BAD_RESPONSE, "the GGUF header of " + label + " is larger than " + HEADER_MAX_BYTES
                        + " bytes", List.of());
            }
            buf = java.util.Arrays.copyOf(buf, (int) want);
            boolean ended = false;
            HubHttp.Response resp = http.follow("GET", remote.downloadUri(), Map.of("Range", "bytes=" + have + "-" + (want - 1)));
            try (resp; HubHttp.Watchdog dog = http.watch(resp.body())) {
                if (resp.status() == 416) {
                    ended = true;
                } else if (resp.status() != 200 && resp.status() != 206) {
                    throw http.statusFailure(resp, label, false);
                } else {
                    long skip = resp.status() == 200 ? have : 0; // a server without ranges sends the file from its start
                    byte[] chunk = new byte[1 << 16];
                    while (have < want) {
                        int n = http.read(dog, chunk, (int) Math.min(chunk.length, skip > 0 ? skip : want - have), label);
                        if (n < 0) {
                            ended = true;
                            break;
                        }
                        if (skip > 0) {
                            skip -= n;
                            continue;
                        }
                        System.arraycopy(chunk, 0, buf, have, n);
                        have += n;
                    }
                }
            }
            java.lang.foreign.MemorySegment prefix = java.lang.foreign.MemorySegment.ofArray(buf).asSlice(0, have);
            try {
                return io.llamaffm.gguf.GgufFile.readHeader(prefix, label); // the heap bytes live as long as it does
            } catch (io.llamaffm.gguf.GgufFormatException e) {
                boolean more = e.truncated() && !ended && (remote.size() < 0 || have < remote.size());
                if (!more) {
                    throw failure(Reason.BAD_RESPONSE, label + " has no readable GGUF header in its first " + have
                            + " bytes: " + e.problem(), List.of());
                }
            }
            want = Math.multiplyExact(want, (long) HEADER_GROWTH);
        }
    }

    // ---- the hub ------------------------------------------------------------------------------------------------

    private ModelFiles fromHub(HubHttp http, ModelRef.Hub ref) {
        List<String> files;
        if (ref.file().isPresent()) {
            files = GgufChoice.parts(ref.file().get());
        } else {
            List<String> listing = retrying(() -> list(http, ref));
            String first = GgufChoice.choose(listing, ref.quantization()).orElseThrow(() -> noMatch(ref, listing));
            files = GgufChoice.parts(first);
            List<String> missing = files.stream().filter(f -> !listing.contains(f)).toList();
            if (!missing.isEmpty()) {
                throw failure(Reason.NOT_FOUND, "the split model " + first + " lacks " + String.join(", ", missing)
                        + " at revision " + ref.revision(), List.of());
            }
        }
        RemoteFile head = retrying(() -> http.describe(resolveUri(ref, ref.revision(), files.getFirst()),
                what(ref, files.getFirst()), true));
        String commit = head.commit() != null && COMMIT.matcher(head.commit()).matches() ? head.commit() : null;
        String pinned = commit != null ? commit : ref.revision();
        List<RemoteFile> remotes = new ArrayList<>(List.of(head));
        for (String f : files.subList(1, files.size())) {
            remotes.add(retrying(() -> http.describe(resolveUri(ref, pinned, f), what(ref, f), true)));
        }
        Path dir = cache.snapshotDir(ref, pinned);
        List<Path> paths = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < files.size(); i++) {
            Path target = ModelCache.inside(dir, files.get(i));
            bytes += fetchHubFile(http, ref, remotes.get(i), target, files.get(i), i + 1, files.size());
            paths.add(target);
        }
        try {
            cache.recordPinned(ref, pinned);
        } catch (IOException e) {
            throw failure(Reason.DISK, "cannot record the revision in " + cache.root() + ": " + e, List.of());
        }
        return new ModelFiles(ref, paths, Optional.ofNullable(commit), bytes);
    }

    private Optional<ModelFiles> cachedHub(ModelRef.Hub ref) {
        Optional<String> pinned = cache.pinned(ref).or(() -> Optional.of(ref.revision()).filter(r -> COMMIT.matcher(r).matches()));
        if (pinned.isEmpty()) {
            return Optional.empty();
        }
        Path dir = cache.snapshotDir(ref, pinned.get());
        Optional<String> first = ref.file().or(() -> GgufChoice.choose(ModelCache.ggufFilesIn(dir), ref.quantization()));
        if (first.isEmpty()) {
            return Optional.empty();
        }
        List<Path> paths = GgufChoice.parts(first.get()).stream().map(f -> ModelCache.inside(dir, f)).toList();
        if (!paths.stream().allMatch(Files::isRegularFile)) {
            return Optional.empty();
        }
        return Optional.of(new ModelFiles(ref, paths, pinned.filter(p -> COMMIT.matcher(p).matches()), 0));
    }

    /** The repository's file paths at the revision, through every page of the tree listing. */
    private List<String> list(HubHttp http, ModelRef.Hub ref) {
        List<String> paths = new ArrayList<>();
        URI page = URI.create(params.endpoint() + "/api/models/" + ref.owner() + "/" + ref.name() + "/tree/"
                + encodeSegment(ref.revision()) + "?recursive=true");
        String what = "the file listing of " + ref.repo() + " at revision " + ref.revision();
        for (int n = 0; page != null; n++) {
            if (n == LISTING_MAX_PAGES) {
                throw failure(Reason.BAD_RESPONSE, what + " has more than " + LISTING_MAX_PAGES + " pages", List.of());
            }
            Response r = http.follow("GET", page, Map.of("Accept", "application/json"));
            if (r.status() != 200) {
                try (r) {
                    throw http.statusFailure(r, "repository " + ref.repo() + " (revision " + ref.revision() + ")", true);
                }
            }
            URI next = nextPage(http, r);
            String json = http.readText(r, LISTING_MAX_BYTES, what);
            try {
                if (!(JsonParser.parse(json) instanceof List<?> entries)) {
                    throw new IllegalArgumentException("not a JSON array");
                }
                for (Object e : entries) {
                    if (e instanceof Map<?, ?> m && "file".equals(m.get("type")) && m.get("path") instanceof String p) {
                        paths.add(p);
                    }
                }
            } catch (IllegalArgumentException e) {
                throw failure(Reason.BAD_RESPONSE, what + " is not the JSON array of files expected: " + e.getMessage(), List.of());
            }
            page = next;
        }
        return paths;
    }

    /** The next page of a listing ({@code Link: <URL>; rel="next"}), only on the hub's own origin. */
    private static URI nextPage(HubHttp http, Response r) {
        for (String link : r.headers().allValues("Link")) {
            Matcher m = NEXT_LINK.matcher(link);
            if (m.find()) {
                URI next = r.uri().resolve(m.group(1));
                return http.isHubOrigin(next) ? next : null;
            }
        }
        return null;
    }

    private URI resolveUri(ModelRef.Hub ref, String revision, String file) {
        StringBuilder path = new StringBuilder();
        for (String segment : file.split("/")) {
            path.append('/').append(encodeSegment(segment));
        }
        return URI.create(params.endpoint() + "/" + ref.owner() + "/" + ref.name() + "/resolve/" + encodeSegment(revision) + path);
    }

    private static String what(ModelRef.Hub ref, String file) {
        return "file " + file + " of " + ref.repo() + " at revision " + ref.revision();
    }

    private DownloadException noMatch(ModelRef.Hub ref, List<String> listing) {
        List<String> gguf = GgufChoice.ggufFiles(listing);
        String asked = ref.quantization().map(q -> "no .gguf file for quantization " + q)
                .orElse("no model .gguf file (looked for Q4_K_M, Q8_0, then any)");
        String has = gguf.isEmpty() ? "it has no .gguf files"
                : "its .gguf files: " + String.join(", ", gguf.subList(0, Math.min(FILES_SHOWN, gguf.size())))
                  + (gguf.size() > FILES_SHOWN ? " and " + (gguf.size() - FILES_SHOWN) + " more" : "");
        return failure(Reason.NO_MATCHING_FILE, asked + " in " + ref.repo() + " at revision " + ref.revision() + "; " + has,
                gguf);
    }

    // ---- plain URLs --------------------------------------------------------------------------------------------

    private ModelFiles fromUrl(HubHttp http, ModelRef.Url ref) {
        List<String> names = urlParts(ref);
        Path dir = cache.urlDir(urlFolder(ref));
        List<Path> paths = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < names.size(); i++) {
            URI uri = names.size() == 1 ? ref.uri() : ref.uri().resolve(encodeSegment(names.get(i)));
            RemoteFile remote = retrying(() -> http.describe(uri, uri.toString(), false));
            Path target = dir.resolve(ModelCache.safeName(names.get(i)));
            bytes += fetch(http, remote, target, names.get(i), i + 1, names.size());
            paths.add(target);
        }
        return new ModelFiles(ref, paths, Optional.empty(), bytes);
    }

    private Optional<ModelFiles> cachedUrl(ModelRef.Url ref) {
        Path dir = cache.urlDir(urlFolder(ref));
        List<Path> paths = urlParts(ref).stream().map(n -> dir.resolve(ModelCache.safeName(n))).toList();
        return paths.stream().allMatch(Files::isRegularFile) ? Optional.of(new ModelFiles(ref, paths, Optional.empty(), 0))
                : Optional.empty();
    }

    /** A URL's files: the one it names, or every part of a split model named by the first ({@code -00001-of-0000N.gguf}). */
    private static List<String> urlParts(ModelRef.Url ref) {
        return ref.uri().getRawQuery() == null ? GgufChoice.parts(ref.fileName()) : List.of(ref.fileName());
    }

    /** The cache folder's key: the URL up to its last '/' (the parts of a split model share it), with a query if any. */
    private static URI urlFolder(ModelRef.Url ref) {
        URI u = ref.uri();
        return ref.uri().getRawQuery() == null ? u.resolve(".") : u;
    }

    /**
     * A hub file: fetched into the repository's blobs under its hash (unless there already), then linked into the
     * commit's snapshot; without a hash, fetched into the snapshot itself.
     */
    private long fetchHubFile(HubHttp http, ModelRef.Hub ref, RemoteFile remote, Path target, String label, int part, int parts) {
        if (FileFetch.isCurrent(target, remote)) {
            return 0;
        }
        if (remote.checksum() == null) {
            return fetch(http, remote, target, label, part, parts);
        }
        long bytes = fetch(http, remote, cache.blob(ref, remote.checksum().hex()), label, part, parts);
        try {
            ModelCache.link(cache.blob(ref, remote.checksum().hex()), target);
        } catch (IOException e) {
            throw failure(Reason.DISK, "cannot place " + label + " in " + target.getParent() + ": " + e, List.of());
        }
        return bytes;
    }

    // ---- shared -------------------------------------------------------------------------------------------------

    private long fetch(HubHttp http, RemoteFile remote, Path target, String label, int part, int parts) {
        if (FileFetch.isCurrent(target, remote)) {
            return 0;
        }
        return new FileFetch(http, remote, target, label, part, parts, listener, Configuration.maxStreamBytes()).run(params.retries());
    }

    /** Runs {@code call}, again after a pause while it fails in a way that may pass (no connection, 429, 5xx). */
    private <T> T retrying(Supplier<T> call) {
        for (int attempt = 0; ; attempt++) {
            try {
                return call.get();
            } catch (DownloadException e) {
                if (attempt >= params.retries() || !HubHttp.retryable(e)) {
                    throw e;
                }
                try {
                    Thread.sleep(Math.min(5000, 500L * (attempt + 1)));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw failure(Reason.CANCELLED, "interrupted", List.of());
                }
            }
        }
    }

    private DownloadException notCached(ModelRef ref) {
        String held = "";
        if (ref instanceof ModelRef.Hub hub) {
            List<String> files = cache.pinned(hub).map(p -> ModelCache.ggufFilesIn(cache.snapshotDir(hub, p))).orElse(List.of());
            held = files.isEmpty() ? "" : "; the cache holds " + String.join(", ", files) + " of " + hub.repo();
        }
        return failure(Reason.NOT_CACHED, "not in the download cache (" + cache.root() + ") and offline mode is on ("
                + Configuration.HUB_OFFLINE.environmentVariable() + " / " + Configuration.HUB_OFFLINE.property()
                + "): fetch it once online (llama-ffm pull " + ref + "), or turn offline mode off" + held, List.of());
    }

    private DownloadException failure(Reason reason, String message, List<String> files) {
        return new DownloadException(reason, reference, message, 0, files, null);
    }

    /** Percent-encodes a path segment (UTF-8; letters, digits and {@code -._~} stay). */
    static String encodeSegment(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }
}
