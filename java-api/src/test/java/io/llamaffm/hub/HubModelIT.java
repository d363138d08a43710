package io.llamaffm.hub;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import io.llamaffm.gguf.SplitFixture;
import io.llamaffm.hub.DownloadException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real model by name, end to end against {@link FakeHub}: stories260K served as {@code tester/stories260K-GGUF}, and a
 * three-part split of it; a download cut mid-file resumes, and the model it makes generates exactly the greedy tokens of
 * the original file; the split model loads from its three verified parts; {@link Model#load(String)} goes through the
 * configured cache, offline.
 */
class HubModelIT {
    static final String COMMIT = "fedcba9876543210fedcba9876543210fedcba98";
    static final String STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    static final String PROMPT = "Once upon a time";

    static byte[] original;
    static int[] expected;

    @TempDir
    Path cache;

    @TempDir
    Path work;

    FakeHub hub;

    @BeforeAll
    static void reference() throws Exception {
        Path stories = TestEnv.stories();
        original = Files.readAllBytes(stories);
        assertEquals(STORIES_SHA256, FakeHub.sha256(original));
        try (Model m = Model.load(stories)) {
            expected = greedy(m);
        }
        assertEquals(16, expected.length);
    }

    static int[] greedy(Model m) {
        try (Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(1))) {
            return ctx.generate(PROMPT, 16, SamplerChain.greedy(), null).tokens();
        }
    }

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("stories260K-F32.gguf", original);
        List<Path> parts = SplitFixture.write(TestEnv.stories(), work, "stories260K-Q2_K", 3);
        for (Path p : parts) {
            files.put("split/" + p.getFileName(), Files.readAllBytes(p));
        }
        hub.addRepo("tester/stories260K-GGUF", COMMIT, files, Set.of(), null);
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    DownloadParams params() {
        return new DownloadParams(hub.endpoint(), null, cache, false, Duration.ofSeconds(5), Duration.ofSeconds(10), 0);
    }

    @Test
    void aDownloadCutMidFileResumesAndTheModelGeneratesTheOriginalsTokens() throws Exception {
        hub.cutAfter(STORIES_SHA256, 600_000);
        ModelDownloader downloader = ModelDownloader.create(params());
        DownloadException cut = assertThrows(DownloadException.class, () -> downloader.resolve("hf:tester/stories260K-GGUF:f32"));
        assertEquals(Reason.INTERRUPTED, cut.reason(), cut::getMessage);
        Path part = cache.resolve("hf/tester/stories260K-GGUF/blobs/" + STORIES_SHA256 + ".part");
        long kept = Files.size(part);
        assertTrue(kept > 0 && kept <= 600_000, "kept " + kept);

        ModelFiles files = downloader.resolve("hf:tester/stories260K-GGUF:f32");
        assertEquals(original.length - kept, files.downloadedBytes());
        assertEquals("bytes=" + kept + "-", hub.requests("cdn", "GET").getLast().range());
        assertEquals(STORIES_SHA256, FakeHub.sha256(Files.readAllBytes(files.path())));
        try (Model m = files.load(ModelParams.defaults(), null)) {
            assertArrayEquals(expected, greedy(m));
        }
    }

    @Test
    void aSplitModelDownloadsItsThreePartsAndLoadsThemAsOne() throws Exception {
        ModelFiles files = ModelDownloader.create(params()).resolve("hf:tester/stories260K-GGUF:Q2_K");
        assertEquals(List.of("stories260K-Q2_K-00001-of-00003.gguf", "stories260K-Q2_K-00002-of-00003.gguf",
                "stories260K-Q2_K-00003-of-00003.gguf"), files.parts().stream().map(p -> p.getFileName().toString()).toList());
        for (Path p : files.parts()) {
            assertArrayEquals(Files.readAllBytes(work.resolve(p.getFileName())), Files.readAllBytes(p));
        }
        try (Model m = files.load(ModelParams.defaults(), null)) {
            assertArrayEquals(expected, greedy(m));
        }
    }

    @Test
    void modelLoadByNameUsesTheConfiguredCacheAndWorksOffline() throws Exception {
        Map<String, String> saved = new LinkedHashMap<>();
        for (String key : List.of("llamaffm.hub.endpoint", "llamaffm.models.dir", "llamaffm.hub.offline", "llamaffm.hub.token")) {
            saved.put(key, System.getProperty(key));
        }
        try {
            System.setProperty("llamaffm.hub.endpoint", hub.endpoint().toString());
            System.setProperty("llamaffm.models.dir", cache.toString());
            System.setProperty("llamaffm.hub.offline", "0");
            System.setProperty("llamaffm.hub.token", "hf_from_property");
            try (Model m = Model.load("hf:tester/stories260K-GGUF/stories260K-F32.gguf")) {
                assertEquals(cache.resolve("hf/tester/stories260K-GGUF/snapshots/" + COMMIT + "/stories260K-F32.gguf"), m.path());
                assertArrayEquals(expected, greedy(m));
            }
            assertEquals("Bearer hf_from_property", hub.requests("hub", "HEAD").getFirst().authorization());

            hub.clearRequests();
            System.setProperty("llamaffm.hub.offline", "true");
            try (Model m = Model.load("hf:tester/stories260K-GGUF:F32", ModelParams.defaults(), null)) {
                assertArrayEquals(expected, greedy(m));
            }
            DownloadException miss = assertThrows(DownloadException.class, () -> Model.load("hf:tester/stories260K-GGUF:Q2_K"));
            assertEquals(Reason.NOT_CACHED, miss.reason());
            assertEquals(List.of(), hub.requests(), "offline: no request");
        } finally {
            saved.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }
}
