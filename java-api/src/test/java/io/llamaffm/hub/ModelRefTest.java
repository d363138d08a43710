package io.llamaffm.hub;

import io.llamaffm.LlamaException;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing references, and the hub's settings read from {@link io.llamaffm.Configuration}. */
class ModelRefTest {
    static ModelRef.Hub hub(String text) {
        return (ModelRef.Hub) ModelRef.parse(text);
    }

    @Test
    void hubReferencesParseIntoRepositoryRevisionAndFileOrQuantization() {
        assertEquals(new ModelRef.Hub("owner/repo", "main", Optional.empty(), Optional.of("Q4_K_M")), hub("hf:owner/repo:Q4_K_M"));
        assertEquals(new ModelRef.Hub("owner/repo", "main", Optional.empty(), Optional.empty()), hub("hf:owner/repo"));
        assertEquals(new ModelRef.Hub("Org_1/Qwen2.5-0.5B-GGUF", "v1.0", Optional.of("sub/dir/m-Q8_0.gguf"), Optional.empty()),
                hub("hf:Org_1/Qwen2.5-0.5B-GGUF/sub/dir/m-Q8_0.gguf@v1.0"));
        assertEquals(new ModelRef.Hub("o/r", "refs/pr/1", Optional.empty(), Optional.of("iq2_xxs")), hub("hf:o/r:iq2_xxs@refs/pr/1"));
        ModelRef.Hub h = hub("hf:owner/repo/x.GGUF@0123456789abcdef0123456789abcdef01234567");
        assertEquals("owner", h.owner());
        assertEquals("repo", h.name());
        assertEquals("x.GGUF", h.file().orElseThrow());
        for (String text : List.of("hf:owner/repo:Q4_K_M", "hf:owner/repo", "hf:o/r/a/b.gguf@v2", "hf:o/r:Q8_0@refs/pr/3")) {
            assertEquals(text, ModelRef.parse(text).toString(), "round trip");
        }
    }

    @Test
    void malformedReferencesSayWhatIsWrong() {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("hf:owner", "'hf:owner' names no repository: expected hf:owner/repo[:QUANT][@REVISION] or hf:owner/repo/path/file.gguf[@REVISION]");
        cases.put("hf:owner/repo/model.bin", "'model.bin' is not a .gguf file (to choose by quantization write hf:owner/repo:Q4_K_M)");
        cases.put("hf:owner/repo/a/../../x.gguf", "'a/../../x.gguf' is not a file path in a repository (folders separated by '/', "
                + "no empty, '.' or '..' parts, none of \\ : * ? \" < > |)");
        cases.put("hf:owner/repo//x.gguf", "'/x.gguf' is not a file path in a repository (folders separated by '/', "
                + "no empty, '.' or '..' parts, none of \\ : * ? \" < > |)");
        cases.put("hf:owner/repo/m.gguf:Q4_0", "'hf:owner/repo/m.gguf:Q4_0' names both a file and a quantization: give one "
                + "(hf:owner/repo[:QUANT][@REVISION] or hf:owner/repo/path/file.gguf[@REVISION])");
        cases.put("hf:owner/repo@v1:Q4_0", "'hf:owner/repo@v1:Q4_0': the quantization goes before the revision (hf:owner/repo:Q4_K_M@v1)");
        cases.put("hf:own er/repo", "'own er/repo' is not a repository name owner/name (letters, digits, '.', '_', '-'; at most 96 each)");
        cases.put("hf:owner/..", "'owner/..' is not a repository name owner/name (letters, digits, '.', '_', '-'; at most 96 each)");
        cases.put("hf:owner/repo@../main", "'../main' is not a revision (a branch, tag or commit of letters, digits, '.', '_', '-', '/')");
        cases.put("hf:owner/repo:Q4 K", "'Q4 K' is not a quantization tag such as Q4_K_M");
        cases.put("owner/repo:Q4_K_M", "'owner/repo:Q4_K_M' is not a model reference: expected hf:owner/repo[:QUANT][@REVISION] or "
                + "hf:owner/repo/path/file.gguf[@REVISION] or an https URL");
        cases.put("https://user:pw@host/m.gguf", "'host...': user information in a URL is not sent; for the hub set HF_TOKEN instead");
        cases.put("https://host/models/", "'https://host/models/' names no file (its path must end with a file name)");
        cases.put("https:///m.gguf", "'https:///m.gguf' names no host");
        cases.forEach((text, message) -> assertEquals(message,
                assertThrows(IllegalArgumentException.class, () -> ModelRef.parse(text), text).getMessage(), text));
    }

    @Test
    void urlsAndTellingReferencesFromPaths() {
        ModelRef.Url url = (ModelRef.Url) ModelRef.parse("https://host:8443/files/my%20model-Q4_0.gguf?download=1");
        assertEquals(URI.create("https://host:8443/files/my%20model-Q4_0.gguf?download=1"), url.uri());
        assertEquals("my model-Q4_0.gguf", url.fileName());
        assertTrue(ModelRef.isReference("hf:o/r"));
        assertTrue(ModelRef.isReference("HTTPS://host/m.gguf"));
        assertTrue(ModelRef.isReference("http://host/m.gguf"));
        assertFalse(ModelRef.isReference("/models/m.gguf"));
        assertFalse(ModelRef.isReference("C:\\models\\m.gguf"));
        assertFalse(ModelRef.isReference("hf.gguf"));
    }

    @Test
    void theHubsSettingsComeFromTheConfiguration() {
        Map<String, String> saved = new LinkedHashMap<>();
        List<String> keys = List.of("llamaffm.hub.endpoint", "llamaffm.models.dir", "llamaffm.hub.offline", "llamaffm.hub.token",
                "llamaffm.cache.dir");
        keys.forEach(k -> saved.put(k, System.getProperty(k)));
        try {
            System.setProperty("llamaffm.hub.endpoint", "http://127.0.0.1:9/hf//");
            System.setProperty("llamaffm.cache.dir", "/tmp/llama-ffm-cache");
            System.clearProperty("llamaffm.models.dir");
            System.setProperty("llamaffm.hub.token", "hf_abc");
            System.setProperty("llamaffm.hub.offline", "YES");
            DownloadParams d = DownloadParams.defaults();
            assertEquals(new DownloadParams(URI.create("http://127.0.0.1:9/hf"), "hf_abc", Path.of("/tmp/llama-ffm-cache/models"),
                    true, Duration.ofSeconds(10), Duration.ofSeconds(60), 3), d);
            assertEquals("DownloadParams[endpoint=http://127.0.0.1:9/hf, token=***, cacheDir=/tmp/llama-ffm-cache/models, "
                    + "offline=true, connectTimeout=PT10S, idleTimeout=PT1M, retries=3]", d.toString(), "the token is masked");
            System.setProperty("llamaffm.models.dir", "/tmp/models-here");
            System.setProperty("llamaffm.hub.offline", "off");
            assertEquals(Path.of("/tmp/models-here"), DownloadParams.defaults().cacheDir());
            assertFalse(DownloadParams.defaults().offline());

            System.setProperty("llamaffm.hub.offline", "maybe");
            assertEquals("llamaffm.hub.offline (or HF_HUB_OFFLINE)='maybe' is not one of 1, true, yes, on, 0, false, no, off",
                    assertThrows(LlamaException.class, DownloadParams::defaults).getMessage());
            System.setProperty("llamaffm.hub.offline", "0");
            System.setProperty("llamaffm.hub.endpoint", "ftp://127.0.0.1/x");
            assertEquals("llamaffm.hub.endpoint (or HF_ENDPOINT)='ftp://127.0.0.1/x' is not an http or https base URL such as "
                    + io.llamaffm.Configuration.DEFAULT_HUB_ENDPOINT, assertThrows(LlamaException.class, DownloadParams::defaults).getMessage());
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

    @Test
    void paramsRefuseNonsense() {
        DownloadParams p = new DownloadParams(URI.create("http://127.0.0.1:1"), null, Path.of("c"), false, Duration.ofSeconds(1),
                Duration.ofSeconds(1), 0);
        assertEquals("token must be printable ASCII without spaces",
                assertThrows(IllegalArgumentException.class, () -> p.withToken("hf bad")).getMessage());
        assertEquals("retries must be >= 0, got -1", assertThrows(IllegalArgumentException.class, () -> p.withRetries(-1)).getMessage());
        assertEquals("timeouts must be positive, got connect PT1S, idle PT0S",
                assertThrows(IllegalArgumentException.class, () -> p.withIdleTimeout(Duration.ZERO)).getMessage());
        assertEquals("endpoint must be an http or https URL, got file:/x",
                assertThrows(IllegalArgumentException.class, () -> p.withEndpoint(URI.create("file:/x"))).getMessage());
    }
}
