package io.llamaffm.hub;

import io.llamaffm.hub.DownloadException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ModelDownloader} against {@link FakeHub}, a loopback imitation of the hub and its CDN, with payloads of random
 * bytes (no model, no natives): choosing by quantization, the cache and offline mode, resume, corruption, errors, the
 * token's reach, split models, progress, and several downloaders sharing one cache.
 */
class ModelDownloaderTest {
    static final String REPO = "tester/tiny-GGUF";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final byte[] Q4 = random(3 << 20, 1);
    static final byte[] Q8 = random(100_000, 2);
    static final byte[] F16 = random(50_000, 3);
    static final byte[] PROJ = random(1000, 4);
    static final byte[] S1 = random(70_000, 5);
    static final byte[] S2 = random(80_000, 6);
    static final byte[] S3 = random(90_000, 7);
    static final List<String> GGUF_FILES = List.of("mmproj-tiny-F16.gguf", "split/tiny-Q2_K-00001-of-00003.gguf",
            "split/tiny-Q2_K-00002-of-00003.gguf", "split/tiny-Q2_K-00003-of-00003.gguf", "sub/dir/tiny-F16.gguf",
            "tiny-Q4_K_M.gguf", "tiny-Q8_0.gguf");

    @TempDir
    Path cache;

    FakeHub hub;

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        hub.addRepo(REPO, COMMIT, FakeHub.files("README.md", "# tiny\n".getBytes(StandardCharsets.UTF_8),
                "tiny-Q4_K_M.gguf", Q4, "tiny-Q8_0.gguf", Q8, "mmproj-tiny-F16.gguf", PROJ, "sub/dir/tiny-F16.gguf", F16,
                "split/tiny-Q2_K-00001-of-00003.gguf", S1, "split/tiny-Q2_K-00002-of-00003.gguf", S2,
                "split/tiny-Q2_K-00003-of-00003.gguf", S3), Set.of("README.md"), null);
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    DownloadParams params() {
        return new DownloadParams(hub.endpoint(), null, cache, false, Duration.ofSeconds(5), Duration.ofSeconds(5), 0);
    }

    ModelFiles resolve(DownloadParams p, String ref) {
        return ModelDownloader.create(p).resolve(ref);
    }

    DownloadException fails(DownloadParams p, String ref, Reason reason) {
        DownloadException e = assertThrows(DownloadException.class, () -> ModelDownloader.create(p).resolve(ref));
        assertEquals(reason, e.reason(), e::getMessage);
        assertEquals(ref, e.reference());
        return e;
    }

    Path snapshot(String file) {
        return cache.resolve("hf/tester/tiny-GGUF/snapshots/" + COMMIT + "/" + file);
    }

    /** Where a file with these bytes downloads (its blob's {@code .part}). */
    Path part(byte[] bytes) {
        return cache.resolve("hf/tester/tiny-GGUF/blobs/" + FakeHub.sha256(bytes) + ".part");
    }

    static void assertFile(byte[] expected, Path file) throws Exception {
        assertArrayEquals(expected, Files.readAllBytes(file), file::toString);
    }

    @Test
    void aQuantizationTagPicksItsFileCaseInsensitivelyAndTheCdnNeverSeesTheToken() throws Exception {
        hub.pageSize = 3; // 8 files and 3 folders: the listing comes in 4 pages
        ModelFiles files = resolve(params().withToken("hf_secret"), "hf:tester/tiny-GGUF:q4_k_m");
        assertEquals(List.of(snapshot("tiny-Q4_K_M.gguf")), files.parts());
        assertFile(Q4, files.path());
        assertEquals(Q4.length, files.downloadedBytes());
        assertEquals(COMMIT, files.commit().orElseThrow());
        assertEquals(4, hub.requests("hub", "GET").size(), "one GET per page of the tree listing");
        assertTrue(hub.requests("hub", "GET").stream().allMatch(r -> r.path().startsWith("/api/models/tester/tiny-GGUF/tree/main")));
        assertEquals(List.of("/tester/tiny-GGUF/resolve/main/tiny-Q4_K_M.gguf"),
                hub.requests("hub", "HEAD").stream().map(FakeHub.Request::path).toList());
        assertTrue(hub.requests().stream().filter(r -> r.server().equals("hub")).allMatch(r -> "Bearer hf_secret".equals(r.authorization())),
                "the hub gets the token");
        List<FakeHub.Request> cdn = hub.requests("cdn", "GET");
        assertEquals(1, cdn.size());
        assertEquals("/cdn/" + FakeHub.sha256(Q4), cdn.getFirst().path());
        assertNull(cdn.getFirst().authorization(), "the token is not forwarded to the CDN's origin");
        assertFalse(Files.exists(part(Q4)));
        assertTrue(Files.isSameFile(cache.resolve("hf/tester/tiny-GGUF/blobs/" + FakeHub.sha256(Q4)), files.path()),
                "the snapshot's file is a link to the blob");
        assertEquals(COMMIT + "\n", Files.readString(cache.resolve("hf/tester/tiny-GGUF/refs/main")));
    }

    @Test
    void withoutATagQ4KMIsChosenAndAFileInAFolderAtACommitResolves() throws Exception {
        assertEquals(snapshot("tiny-Q4_K_M.gguf"), resolve(params(), "hf:tester/tiny-GGUF").path());
        ModelFiles f16 = resolve(params(), "hf:tester/tiny-GGUF/sub/dir/tiny-F16.gguf@" + COMMIT);
        assertEquals(snapshot("sub/dir/tiny-F16.gguf"), f16.path());
        assertFile(F16, f16.path());
        assertEquals("/tester/tiny-GGUF/resolve/" + COMMIT + "/sub/dir/tiny-F16.gguf", hub.requests("hub", "HEAD").getLast().path());

        hub.close(); // a commit never moves: its files resolve from the cache without asking
        hub.clearRequests();
        assertEquals(f16.parts(), resolve(params(), "hf:tester/tiny-GGUF/sub/dir/tiny-F16.gguf@" + COMMIT).parts());
        assertEquals(List.of(), hub.requests());
    }

    @Test
    void aSecondResolutionFetchesNothingAndOfflineModeNeverTouchesTheNetwork() throws Exception {
        Path q8 = resolve(params(), "hf:tester/tiny-GGUF:Q8_0").path();
        hub.clearRequests();
        ModelFiles again = resolve(params(), "hf:tester/tiny-GGUF:Q8_0");
        assertEquals(q8, again.path());
        assertEquals(0, again.downloadedBytes());
        assertEquals(List.of(), hub.requests("cdn", "GET"), "the cached file is current: nothing downloaded");

        hub.clearRequests();
        ModelFiles offline = resolve(params().withOffline(true), "hf:tester/tiny-GGUF:q8_0");
        assertEquals(q8, offline.path());
        assertEquals(COMMIT, offline.commit().orElseThrow());
        assertEquals(List.of(), hub.requests(), "offline: no request at all");

        DownloadException miss = fails(params().withOffline(true), "hf:tester/tiny-GGUF:Q4_K_M", Reason.NOT_CACHED);
        assertEquals("hf:tester/tiny-GGUF:Q4_K_M: not in the download cache (" + cache.toAbsolutePath() + ") and offline mode "
                + "is on (HF_HUB_OFFLINE / llamaffm.hub.offline): fetch it once online (llama-ffm pull "
                + "hf:tester/tiny-GGUF:Q4_K_M), or turn offline mode off; the cache holds tiny-Q8_0.gguf of tester/tiny-GGUF",
                miss.getMessage());
        fails(params().withOffline(true), "hf:tester/other:Q8_0", Reason.NOT_CACHED);
        assertEquals(List.of(), hub.requests(), "offline misses make no request either");
    }

    @Test
    void whenTheHubCannotBeReachedTheCacheAnswersAndOtherwiseTheErrorSaysSo() throws Exception {
        Path q8 = resolve(params(), "hf:tester/tiny-GGUF:Q8_0").path();
        URI endpoint = hub.endpoint();
        hub.close();
        assertEquals(q8, resolve(params(), "hf:tester/tiny-GGUF:Q8_0").path());
        DownloadException e = fails(params(), "hf:tester/tiny-GGUF:Q4_K_M", Reason.UNREACHABLE);
        assertTrue(e.getMessage().startsWith("hf:tester/tiny-GGUF:Q4_K_M: cannot reach " + endpoint + ": ConnectException"),
                e.getMessage());
    }

    @Test
    void aBranchThatMovesOnWithoutChangingTheFileCostsAHeadNotADownload() throws Exception {
        Path before = resolve(params(), "hf:tester/tiny-GGUF:Q8_0").path();
        String next = "89abcdef0123456789abcdef0123456789abcdef";
        hub.addRepo(REPO, next, FakeHub.files("tiny-Q8_0.gguf", Q8, "README.md", "# tiny, edited\n".getBytes(StandardCharsets.UTF_8)));
        hub.clearRequests();
        ModelFiles after = resolve(params(), "hf:tester/tiny-GGUF:Q8_0");
        assertEquals(cache.resolve("hf/tester/tiny-GGUF/snapshots/" + next + "/tiny-Q8_0.gguf"), after.path());
        assertEquals(next, after.commit().orElseThrow());
        assertEquals(0, after.downloadedBytes());
        assertEquals(List.of(), hub.requests("cdn", "GET"));
        assertTrue(Files.isSameFile(before, after.path()), "both snapshots link the one blob");
        assertEquals(next + "\n", Files.readString(cache.resolve("hf/tester/tiny-GGUF/refs/main")));
        assertFile(Q8, before);
    }

    @Test
    void aCutConnectionKeepsThePartAndTheNextCallResumesWithARange() throws Exception {
        hub.cutAfter(FakeHub.sha256(Q4), 1_000_000);
        DownloadException e = fails(params(), "hf:tester/tiny-GGUF:Q4_K_M", Reason.INTERRUPTED);
        assertTrue(e.getMessage().contains("the connection broke while reading tiny-Q4_K_M.gguf"), e.getMessage());
        // what the client received before the cut (HttpClient may drop the last buffer it held when the error came)
        Path part = part(Q4);
        int kept = (int) Files.size(part);
        assertTrue(kept > 900_000 && kept <= 1_000_000, "kept " + kept);
        assertArrayEquals(java.util.Arrays.copyOf(Q4, kept), Files.readAllBytes(part));
        assertFalse(Files.exists(snapshot("tiny-Q4_K_M.gguf")));

        ModelFiles files = resolve(params(), "hf:tester/tiny-GGUF:Q4_K_M");
        assertFile(Q4, files.path());
        assertEquals(Q4.length - kept, files.downloadedBytes());
        assertEquals("bytes=" + kept + "-", hub.requests("cdn", "GET").getLast().range());
        assertFalse(Files.exists(part));
    }

    @Test
    void retriesResumeWithinOneCall() throws Exception {
        hub.cutAfter(FakeHub.sha256(Q4), 2_000_000);
        ModelFiles files = resolve(params().withRetries(1), "hf:tester/tiny-GGUF:Q4_K_M");
        assertFile(Q4, files.path());
        assertEquals(Q4.length, files.downloadedBytes());
        List<String> ranges = hub.requests("cdn", "GET").stream().map(FakeHub.Request::range).toList();
        assertEquals(2, ranges.size(), ranges::toString);
        assertNull(ranges.getFirst());
        long resumedAt = Long.parseLong(ranges.getLast().replaceAll("bytes=(\\d+)-", "$1"));
        assertTrue(resumedAt > 1_900_000 && resumedAt <= 2_000_000, ranges::toString);
    }

    @Test
    void aServerThatIgnoresTheRangeRestartsTheFileFromItsFirstByte() throws Exception {
        Path part = part(Q8);
        Files.createDirectories(part.getParent());
        Files.write(part, random(5000, 99)); // not even the right bytes: all of it must be replaced
        hub.ignoreRange(true);
        ModelFiles files = resolve(params(), "hf:tester/tiny-GGUF:Q8_0");
        assertFile(Q8, files.path());
        assertEquals("bytes=5000-", hub.requests("cdn", "GET").getFirst().range());
        assertEquals(Q8.length, files.downloadedBytes());
    }

    @Test
    void aPartLongerThanTheFileGets416AndStartsOver() throws Exception {
        byte[] bytes = random(40_000, 8);
        hub.putUrlFile("plain.gguf", bytes);
        hub.hideSize(true); // no size announced, so only the server can say the part is too long
        String url = hub.cdnBase() + "/files/plain.gguf";
        // the cache's layout: url/ + the first 16 hex digits of the sha256 of the URL's folder
        Path dir = cache.resolve("url").resolve(FakeHub.sha256((hub.cdnBase() + "/files/").getBytes(StandardCharsets.UTF_8)).substring(0, 16));
        Files.createDirectories(dir);
        Files.write(dir.resolve("plain.gguf.part"), random(50_000, 9));
        Files.writeString(dir.resolve("plain.gguf.part.etag"), FakeHub.sha256(bytes));
        ModelFiles files = resolve(params(), url);
        assertEquals(dir.resolve("plain.gguf"), files.path());
        assertFile(bytes, files.path());
        assertEquals(java.util.Arrays.asList("bytes=50000-", null),
                hub.requests("cdn", "GET").stream().map(FakeHub.Request::range).toList());
    }

    @Test
    void aCorruptByteFailsTheChecksumAndTheFileIsRemoved() throws Exception {
        hub.corrupt(FakeHub.sha256(Q8), 12_345);
        byte[] bad = Q8.clone();
        bad[12_345] ^= 0x5a;
        DownloadException e = fails(params(), "hf:tester/tiny-GGUF:Q8_0", Reason.CHECKSUM_MISMATCH);
        assertEquals("hf:tester/tiny-GGUF:Q8_0: tiny-Q8_0.gguf is corrupt: its SHA-256 is " + FakeHub.sha256(bad)
                + " but the server announced " + FakeHub.sha256(Q8) + "; the download was removed, run again to fetch it anew",
                e.getMessage());
        assertFalse(Files.exists(part(Q8)));
        assertFalse(Files.exists(part(Q8).resolveSibling(FakeHub.sha256(Q8))));
        assertFalse(Files.exists(snapshot("tiny-Q8_0.gguf")));

        hub.repair(FakeHub.sha256(Q8));
        assertFile(Q8, resolve(params(), "hf:tester/tiny-GGUF:Q8_0").path());
    }

    @Test
    void aFileKeptInGitIsCheckedAgainstItsBlobId() throws Exception {
        byte[] small = random(3000, 10);
        hub.addRepo("tester/git-only", COMMIT, FakeHub.files("small.gguf", small), Set.of("small.gguf"), null);
        hub.corrupt(FakeHub.sha256(small), 0);
        DownloadException e = fails(params(), "hf:tester/git-only/small.gguf", Reason.CHECKSUM_MISMATCH);
        assertTrue(e.getMessage().contains("small.gguf is corrupt: its git-SHA-1 is "), e.getMessage());
        assertTrue(e.getMessage().contains(" but the server announced " + FakeHub.gitBlobId(small) + ";"), e.getMessage());
        hub.repair(FakeHub.sha256(small));
        assertFile(small, resolve(params(), "hf:tester/git-only/small.gguf").path());
        assertEquals(List.of(), hub.requests("cdn", "GET"), "served by the hub itself, no redirect");
    }

    @Test
    void missingRepositoryRevisionAndFileAreNotFound() {
        DownloadException repo = fails(params(), "hf:tester/nothing:Q4_K_M", Reason.NOT_FOUND);
        assertEquals("hf:tester/nothing:Q4_K_M: repository not found at " + hub.endpoint() + " (HTTP 404); check the name, "
                + "and if it is private set HF_TOKEN to a token that can read it (the server said: Repository not found)",
                repo.getMessage());
        assertEquals(404, repo.httpStatus());
        DownloadException rev = fails(params(), "hf:tester/tiny-GGUF/tiny-Q8_0.gguf@v9", Reason.NOT_FOUND);
        assertEquals("hf:tester/tiny-GGUF/tiny-Q8_0.gguf@v9: revision not found: file tiny-Q8_0.gguf of tester/tiny-GGUF at "
                + "revision v9 (HTTP 404) (the server said: Invalid rev id: v9)", rev.getMessage());
        DownloadException file = fails(params(), "hf:tester/tiny-GGUF/nope.gguf", Reason.NOT_FOUND);
        assertEquals("hf:tester/tiny-GGUF/nope.gguf: not found (HTTP 404): file nope.gguf of tester/tiny-GGUF at revision main "
                + "(the server said: nope.gguf does not exist on \"main\")", file.getMessage());
    }

    @Test
    void aGatedRepositoryNeedsItsTokenWhichNeverReachesTheCdn() throws Exception {
        hub.addRepo("corp/gated", COMMIT, FakeHub.files("g-Q4_K_M.gguf", Q8), Set.of(), "hf_good");
        DownloadException none = fails(params(), "hf:corp/gated:Q4_K_M", Reason.ACCESS_DENIED);
        assertEquals(401, none.httpStatus());
        assertEquals("hf:corp/gated:Q4_K_M: access denied (HTTP 401) to repository corp/gated (revision main): the repository "
                + "is gated or private; set HF_TOKEN (or -Dllamaffm.hub.token) to an access token of an account that has "
                + "accepted its terms (the server said: Access to model corp/gated is restricted. You must have access to it "
                + "and be authenticated to access it. Please log in.)", none.getMessage());
        DownloadException wrong = fails(params().withToken("hf_bad"), "hf:corp/gated/g-Q4_K_M.gguf", Reason.ACCESS_DENIED);
        assertEquals(403, wrong.httpStatus());
        assertTrue(wrong.getMessage().contains("the token given (HF_TOKEN / llamaffm.hub.token) has no access"), wrong.getMessage());

        hub.clearRequests();
        ModelFiles ok = resolve(params().withToken("hf_good"), "hf:corp/gated:Q4_K_M");
        assertFile(Q8, ok.path());
        assertTrue(hub.requests("hub", "GET").stream().allMatch(r -> "Bearer hf_good".equals(r.authorization())));
        assertEquals(1, hub.requests("cdn", "GET").size());
        assertNull(hub.requests("cdn", "GET").getFirst().authorization());
    }

    @Test
    void aQuantizationWithoutAFileListsTheRepositorysGgufFiles() {
        DownloadException e = fails(params(), "hf:tester/tiny-GGUF:Q5_K_S", Reason.NO_MATCHING_FILE);
        assertEquals("hf:tester/tiny-GGUF:Q5_K_S: no .gguf file for quantization Q5_K_S in tester/tiny-GGUF at revision main; "
                + "its .gguf files: " + String.join(", ", GGUF_FILES), e.getMessage());
        assertEquals(GGUF_FILES, e.availableFiles());
        assertEquals(List.of(), hub.requests("hub", "HEAD"), "nothing was fetched");
    }

    @Test
    void aSplitModelComesWholeFromOneCommitWhicheverPartIsNamed() throws Exception {
        ModelFiles files = resolve(params(), "hf:tester/tiny-GGUF:Q2_K");
        assertEquals(List.of(snapshot("split/tiny-Q2_K-00001-of-00003.gguf"), snapshot("split/tiny-Q2_K-00002-of-00003.gguf"),
                snapshot("split/tiny-Q2_K-00003-of-00003.gguf")), files.parts());
        assertFile(S1, files.parts().get(0));
        assertFile(S2, files.parts().get(1));
        assertFile(S3, files.parts().get(2));
        assertEquals(S1.length + S2.length + S3.length, files.downloadedBytes());
        assertEquals(List.of("/tester/tiny-GGUF/resolve/main/split/tiny-Q2_K-00001-of-00003.gguf",
                        "/tester/tiny-GGUF/resolve/" + COMMIT + "/split/tiny-Q2_K-00002-of-00003.gguf",
                        "/tester/tiny-GGUF/resolve/" + COMMIT + "/split/tiny-Q2_K-00003-of-00003.gguf"),
                hub.requests("hub", "HEAD").stream().map(FakeHub.Request::path).toList(), "the first part's commit pins the others");

        assertEquals(files.parts(), resolve(params(), "hf:tester/tiny-GGUF/split/tiny-Q2_K-00002-of-00003.gguf").parts());
        assertEquals(files.parts(), resolve(params().withOffline(true), "hf:tester/tiny-GGUF:q2_k").parts());

        hub.addRepo("tester/broken", COMMIT, FakeHub.files("b-Q4_K_M-00001-of-00002.gguf", S1), Set.of(), null);
        DownloadException e = fails(params(), "hf:tester/broken:Q4_K_M", Reason.NOT_FOUND);
        assertEquals("hf:tester/broken:Q4_K_M: the split model b-Q4_K_M-00001-of-00002.gguf lacks b-Q4_K_M-00002-of-00002.gguf "
                + "at revision main", e.getMessage());
    }

    @Test
    void progressIsReportedAndTheListenerCanCancelKeepingThePart() throws Exception {
        hub.throttle(1 << 16, 20); // about 1 s for the file: progress comes every 100 ms
        List<DownloadProgress> seen = new CopyOnWriteArrayList<>();
        ModelDownloader d = ModelDownloader.create(params());
        DownloadException e = assertThrows(DownloadException.class, () -> d.resolve("hf:tester/tiny-GGUF:Q4_K_M", p -> {
            seen.add(p);
            return p.bytesDone() < 500_000;
        }));
        assertEquals(Reason.CANCELLED, e.reason());
        long kept = Files.size(part(Q4));
        assertTrue(kept >= 500_000 && kept < Q4.length, "kept " + kept);
        assertEquals(kept, seen.getLast().bytesDone());
        assertTrue(e.getMessage().contains("cancelled by the download listener after " + kept + " bytes of tiny-Q4_K_M.gguf"),
                e.getMessage());

        seen.clear();
        hub.throttle(0, 0);
        ModelFiles files = d.resolve("hf:tester/tiny-GGUF:Q4_K_M", p -> seen.add(p));
        assertFile(Q4, files.path());
        DownloadProgress first = seen.getFirst();
        DownloadProgress last = seen.getLast();
        assertEquals(new DownloadProgress("tiny-Q4_K_M.gguf", 1, 1, kept, Q4.length, 0.0), first, "resumes at the kept bytes");
        assertEquals(Q4.length, last.bytesDone());
        assertEquals(Q4.length, last.totalBytes());
        assertEquals(1.0, last.fraction());
        assertEquals(Duration.ZERO, last.eta().orElseThrow());
        assertTrue(last.bytesPerSecond() > 0);
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i).bytesDone() >= seen.get(i - 1).bytesDone());
        }
    }

    @Test
    void aDiskWriteFailureKeepsWhatArrivedAndSaysSo() throws Exception {
        Path devFull = Path.of("/dev/full");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(devFull), "needs /dev/full (Linux) to fail writes with ENOSPC");
        Path part = part(Q8);
        Files.createDirectories(part.getParent());
        Files.createSymbolicLink(part, devFull);
        DownloadException e = fails(params(), "hf:tester/tiny-GGUF:Q8_0", Reason.DISK);
        assertEquals("hf:tester/tiny-GGUF:Q8_0: cannot write " + part + ": No space left on device (is the disk full?); the 0 "
                + "bytes that arrived are kept, run again to resume", e.getMessage());
        assertTrue(Files.isSymbolicLink(part), "the part stays");
    }

    @Test
    void aPlainUrlDownloadsOnceThenOnlyWhenTheServersVersionChanges() throws Exception {
        byte[] v1 = random(60_000, 11);
        byte[] v2 = random(60_000, 12);
        hub.putUrlFile("model.gguf", v1);
        String url = hub.cdnBase() + "/files/model.gguf";
        DownloadParams p = params().withToken("hf_secret");
        ModelFiles first = resolve(p, url);
        assertFile(v1, first.path());
        assertEquals("model.gguf", first.path().getFileName().toString());
        assertEquals(FakeHub.sha256(v1), Files.readString(first.path().resolveSibling("model.gguf.etag")));
        assertTrue(hub.requests().stream().allMatch(r -> r.authorization() == null), "the token is for the hub only");

        hub.clearRequests();
        assertEquals(0, resolve(p, url).downloadedBytes());
        assertEquals(List.of("HEAD"), hub.requests().stream().map(FakeHub.Request::method).toList());

        hub.putUrlFile("model.gguf", v2);
        ModelFiles changed = resolve(p, url);
        assertEquals(first.path(), changed.path());
        assertFile(v2, changed.path());
        assertFile(v2, resolve(p.withOffline(true), url).path());
    }

    @Test
    void twoThreadsAndAnotherProcessSharingTheCacheDownloadTheFileOnce() throws Exception {
        hub.throttle(1 << 16, 40); // about 2 s for the file: the others arrive while it is under way and wait
        String ref = "hf:tester/tiny-GGUF:Q4_K_M";
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp,
                HubChild.class.getName(), hub.endpoint().toString(), cache.toString(), ref).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (hub.cdnBytesSent() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(hub.cdnBytesSent() > 0, "the child process began downloading");
            try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
                List<Future<ModelFiles>> threads = List.of(pool.submit(() -> resolve(params(), ref)),
                        pool.submit(() -> resolve(params(), ref)));
                for (Future<ModelFiles> f : threads) {
                    ModelFiles files = f.get(60, TimeUnit.SECONDS);
                    assertEquals(snapshot("tiny-Q4_K_M.gguf"), files.path());
                    assertEquals(0, files.downloadedBytes(), "the thread waited for the other process's download");
                    assertFile(Q4, files.path());
                }
            }
            for (String line; (line = out.readLine()) != null; ) {
                lines.add(line);
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), String.join("\n", lines));
        assertEquals(List.of("started", "path=" + snapshot("tiny-Q4_K_M.gguf"), "sha256=" + FakeHub.sha256(Q4),
                "downloaded=" + Q4.length), lines);
        assertEquals(1, hub.requests("cdn", "GET").size(), "one download for three resolutions");
        assertEquals(Q4.length, hub.cdnBytesSent());
    }
}
