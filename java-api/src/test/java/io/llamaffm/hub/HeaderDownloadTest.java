package io.llamaffm.hub;

import io.llamaffm.CacheType;
import io.llamaffm.ModelConfig;
import io.llamaffm.ModelHeader;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.GgufWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ModelDownloader#readHeader}: a model's header read from a loopback {@link FakeHub} with HTTP ranges, counting
 * the bytes the CDN sends; nothing lands in the cache.
 */
class HeaderDownloadTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final int MIB = 1 << 20;

    FakeHub hub;
    @TempDir
    Path cache;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    DownloadParams params() {
        return new DownloadParams(hub.endpoint(), null, cache, false, Duration.ofSeconds(5), Duration.ofSeconds(5), 0);
    }

    /** A 1-block llama of {@code vocab} tokens (about 24 header bytes each) and 8 MiB of weights. */
    static byte[] model(int vocab) {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < vocab; i++) {
            tokens.add(String.format("token-number-%06d", i));
        }
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama").putString("general.name", "remote")
                .putUInt32("llama.context_length", 4096).putUInt32("llama.embedding_length", 64)
                .putUInt32("llama.block_count", 1).putUInt32("llama.attention.head_count", 4)
                .putString("tokenizer.ggml.model", "llama").putArray("tokenizer.ggml.tokens", GgufValue.Array.ofStrings(tokens))
                .addTensor("blk.0.ffn_up.weight", GgmlType.F32, new long[] {64, 32 * 1024}, new float[64 * 32 * 1024]);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        w.write(out);
        return out.toByteArray();
    }

    static ModelHeader local(byte[] bytes) {
        try (GgufFile f = GgufFile.read(MemorySegment.ofArray(bytes))) {
            return ModelHeader.of(f, "x", "memory");
        }
    }

    private List<String> ranges() {
        return hub.requests("cdn", "GET").stream().map(FakeHub.Request::range).toList();
    }

    private long filesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().endsWith(".lock")).count();
        }
    }

    @Test
    void aSmallHeaderTakesOneRangeOfTheFirstBytes() throws IOException {
        byte[] bytes = model(100);
        assertTrue(bytes.length > 8 * MIB);
        hub.addRepo("tester/remote-GGUF", COMMIT, FakeHub.files("remote-F32.gguf", bytes));
        ModelHeader h = ModelDownloader.create(params()).readHeader("hf:tester/remote-GGUF/remote-F32.gguf");
        ModelHeader local = local(bytes);
        assertEquals(local.config(), h.config());
        assertEquals(local.layers(), h.layers());
        assertEquals("remote", h.config().name());
        assertEquals(64L * 32 * 1024 * 4, h.config().sizeBytes());
        assertEquals(new ModelConfig.Vocabulary(ModelConfig.VocabularyType.SPM, 100, 1, 2, -1), h.config().vocabulary());
        assertEquals(List.of("bytes=0-262143"), ranges());
        assertEquals(256 * 1024, hub.cdnBytesSent(), "only the first 256 KiB of " + bytes.length);
        assertEquals(0, filesIn(cache), "nothing is cached");
        assertEquals(local.estimateMemory(4096, 2, CacheType.Q8_0, 0), h.estimateMemory(4096, 2, CacheType.Q8_0, 0));
    }

    @Test
    void aLargeHeaderTakesGrowingRangesEachContinuingTheLast() throws IOException {
        byte[] bytes = model(60_000); // a header of about 1.4 MiB
        long headerSize;
        try (GgufFile f = GgufFile.read(MemorySegment.ofArray(bytes))) {
            headerSize = f.headerSize();
        }
        assertTrue(headerSize > MIB && headerSize < 4 * MIB, "header " + headerSize);
        hub.addRepo("tester/remote-GGUF", COMMIT, FakeHub.files("remote-Q8_0.gguf", bytes, "remote-Q4_K_M.gguf", model(10)));
        ModelHeader h = ModelDownloader.create(params()).readHeader("hf:tester/remote-GGUF:Q8_0");
        assertEquals(local(bytes).config(), h.config());
        assertEquals(List.of("bytes=0-262143", "bytes=262144-1048575", "bytes=1048576-4194303"), ranges());
        assertEquals(4 * MIB, hub.cdnBytesSent(), "4 MiB of " + bytes.length);
        assertEquals(0, filesIn(cache));
    }

    @Test
    void aSplitModelsHeadersAreReadFromEachPart() {
        List<byte[]> parts = new ArrayList<>();
        for (GgufWriter w : io.llamaffm.ModelHeaderTest.llamaInTwoParts()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            w.write(out);
            parts.add(out.toByteArray());
        }
        hub.addRepo("tester/split-GGUF", COMMIT, FakeHub.files("tiny-F32-00001-of-00002.gguf", parts.get(0),
                "tiny-F32-00002-of-00002.gguf", parts.get(1)));
        ModelHeader h = ModelDownloader.create(params()).readHeader("hf:tester/split-GGUF:F32");
        assertEquals(64 * 6 + 2 * 64 * 64 + 64, h.config().parameterCount());
        assertEquals(2, h.layers().size());
        assertEquals(16_384, h.layers().get(1).weightsBytes(), "blk.1 is in the second part");
        assertEquals(2, hub.requests("cdn", "GET").size(), "one range per part");
    }

    @Test
    void aServerWithoutRangesIsReadOnlyAsFarAsNeeded() {
        byte[] bytes = model(100);
        hub.putUrlFile("plain.gguf", bytes);
        hub.ignoreRange(true);
        hub.throttle(1 << 16, 10); // so that what the server sent is what was read, not what socket buffers took
        ModelHeader h = ModelDownloader.create(params()).readHeader(hub.cdnBase() + "/files/plain.gguf");
        assertEquals(local(bytes).config(), h.config());
        assertTrue(hub.cdnBytesSent() < MIB, "the rest is not read: " + hub.cdnBytesSent() + " of " + bytes.length);
    }

    @Test
    void offlineTheCacheIsReadOrNothing() {
        byte[] bytes = model(100);
        hub.addRepo("tester/remote-GGUF", COMMIT, FakeHub.files("remote-F32.gguf", bytes));
        DownloadException e = assertThrows(DownloadException.class,
                () -> ModelDownloader.create(params().withOffline(true)).readHeader("hf:tester/remote-GGUF/remote-F32.gguf"));
        assertEquals(DownloadException.Reason.NOT_CACHED, e.reason());
        ModelFiles files = ModelDownloader.create(params()).resolve("hf:tester/remote-GGUF/remote-F32.gguf");
        hub.clearRequests();
        ModelHeader h = ModelDownloader.create(params().withOffline(true)).readHeader("hf:tester/remote-GGUF/remote-F32.gguf");
        assertEquals(local(bytes).config(), h.config());
        assertEquals(files.path().toString(), h.source());
        assertEquals(List.of(), hub.requests());
    }

    @Test
    void aFileThatIsNotGgufIsABadResponse() {
        hub.putUrlFile("page.gguf", "<html>not a model</html>".getBytes());
        DownloadException e = assertThrows(DownloadException.class,
                () -> ModelDownloader.create(params()).readHeader(hub.cdnBase() + "/files/page.gguf"));
        assertEquals(DownloadException.Reason.BAD_RESPONSE, e.reason());
        assertTrue(e.getMessage().contains("no readable GGUF header"), e.getMessage());
    }
}
