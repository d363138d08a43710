package io.llamaffm.examples.cli;

import io.llamaffm.hub.FakeHub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code pull} and a reference as MODEL, as a user runs them: the executable jar in a child process, pointed at a
 * loopback {@link FakeHub} serving stories260K through {@code HF_ENDPOINT}, the cache in {@code LLAMAFFM_MODELS_DIR}.
 */
class PullIT {
    static final String COMMIT = "00112233445566778899aabbccddeeff00112233";
    static final String REF = "hf:tester/stories260K-GGUF:F32";
    static byte[] stories;

    @TempDir
    Path cache;

    FakeHub hub;

    @BeforeAll
    static void findModel() throws Exception {
        CliIT.findModel();
        stories = Files.readAllBytes(CliIT.model);
    }

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        hub.addRepo("tester/stories260K-GGUF", COMMIT, FakeHub.files("stories260K-F32.gguf", stories));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    CliIT.Result cli(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", Path.of("target", "llama-ffm-examples.jar").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().keySet().removeIf(k -> k.startsWith("HF_") || k.startsWith("LLAMAFFM_MODELS"));
        pb.environment().put("HF_ENDPOINT", hub.endpoint().toString());
        pb.environment().put("LLAMAFFM_MODELS_DIR", cache.toString());
        pb.environment().putAll(env);
        Path err = Files.createTempFile("pull-stderr", ".txt");
        try {
            Process p = pb.redirectError(err.toFile()).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the CLI did not finish: " + command);
            return new CliIT.Result(p.exitValue(), out, Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(err);
        }
    }

    @Test
    void pullDownloadsWithABarThenGenerateTakesTheReferenceOffline() throws Exception {
        Path file = cache.resolve("hf/tester/stories260K-GGUF/snapshots/" + COMMIT + "/stories260K-F32.gguf");
        CliIT.Result pulled = cli(Map.of("HF_TOKEN", "hf_cli"), "pull", REF, "--progress", "always");
        assertEquals(0, pulled.code(), pulled::toString);
        assertEquals(file + System.lineSeparator(), pulled.out());
        assertTrue(pulled.err().contains("\rpulling stories260K-F32.gguf ["), pulled::toString);
        assertTrue(pulled.err().contains("1.1 MiB / 1.1 MiB"), pulled::toString);
        assertTrue(pulled.err().contains("pulled stories260K-F32.gguf (1.1 MiB) in "), pulled::toString);
        assertTrue(pulled.err().endsWith(REF + ": 1 file, 1.1 MiB downloaded (commit 001122334455)" + System.lineSeparator()),
                pulled::toString);
        assertEquals(FakeHub.sha256(stories), FakeHub.sha256(Files.readAllBytes(file)));
        assertEquals("Bearer hf_cli", hub.requests("hub", "HEAD").getFirst().authorization());

        hub.clearRequests();
        CliIT.Result gen = cli(Map.of("HF_HUB_OFFLINE", "1"), "generate", REF, "-p", "Once upon a time", "--temperature", "0",
                "-n", "16", "-t", "1");
        assertEquals(0, gen.code(), gen::toString);
        assertTrue(CliIT.GREEDY.startsWith(gen.out().strip()) && gen.out().strip().length() > 40, gen::toString);
        assertEquals(List.of(), hub.requests(), "offline: the hub is not asked");

        CliIT.Result again = cli(Map.of(), "pull", REF);
        assertEquals(0, again.code(), again::toString);
        assertEquals(REF + ": 1 file, in the cache (commit 001122334455)" + System.lineSeparator(), again.err());
    }

    @Test
    void aMissingQuantizationIsOneLineListingTheFiles() throws Exception {
        CliIT.Result r = cli(Map.of(), "inspect", "hf:tester/stories260K-GGUF:Q9_9");
        assertEquals(1, r.code(), r::toString);
        assertEquals("error: hf:tester/stories260K-GGUF:Q9_9: no .gguf file for quantization Q9_9 in tester/stories260K-GGUF "
                + "at revision main; its .gguf files: stories260K-F32.gguf" + System.lineSeparator(), r.err());
        CliIT.Result offline = cli(Map.of(), "pull", "--offline", REF);
        assertEquals(1, offline.code(), offline::toString);
        assertTrue(offline.err().startsWith("error: " + REF + ": not in the download cache (" + cache + ") and offline mode is on"),
                offline::toString);
        CliIT.Result notRef = cli(Map.of(), "pull", "model.gguf");
        assertEquals(2, notRef.code(), notRef::toString);
    }

    @Test
    void inspectFetchesOnlyTheHeaderOfAReference() throws Exception {
        CliIT.Result r = cli(Map.of(), "inspect", REF, "--json", "--ctx", "2048");
        assertEquals(0, r.code(), r::toString);
        Object doc = MiniJson.parse(r.out());
        assertEquals(REF, MiniJson.get(doc, "file"));
        assertEquals("header", MiniJson.get(doc, "read"));
        assertEquals("llama", MiniJson.get(doc, "architecture"));
        assertEquals(292_800L, MiniJson.get(doc, "parameters"));
        assertTrue((Long) MiniJson.get(doc, "headerBytes") < 256 * 1024, r::toString);
        assertEquals(5L * 2048 * 64 * 2, MiniJson.get(doc, "memory", "kvCacheBytes"));
        assertTrue(stories.length > 4 * 256 * 1024, "stories260K: " + stories.length);
        assertEquals(256 * 1024, hub.cdnBytesSent(), "one range of 256 KiB of " + stories.length + " bytes");
        assertEquals(List.of("bytes=0-262143"),
                hub.requests("cdn", "GET").stream().map(FakeHub.Request::range).toList());
        try (java.util.stream.Stream<Path> files = Files.walk(cache)) {
            assertEquals(List.of(), files.filter(p -> p.toString().endsWith(".gguf")).toList(), "nothing downloaded");
        }
    }
}
