package io.llamaffm.internal.hub;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Choosing a repository's .gguf file for a quantization tag, as llama.cpp's -hf does, and naming split parts. */
class GgufChoiceTest {
    static Optional<String> choose(String tag, String... paths) {
        return GgufChoice.choose(List.of(paths), Optional.ofNullable(tag));
    }

    @Test
    void aTagMatchesCaseInsensitivelyWhenADotOrDashFollowsIt() {
        assertEquals(Optional.of("Model-Q4_K_M.gguf"), choose("q4_k_m", "Model-Q4_K_L.gguf", "Model-Q4_K_M.gguf"));
        assertEquals(Optional.of("Model.Q8_0.gguf"), choose("Q8_0", "Model.Q8_0.gguf"));
        assertEquals(Optional.empty(), choose("Q4_K", "Model-Q4_K_M.gguf", "Model-Q4_K_S.gguf"), "Q4_K is not a prefix match");
        assertEquals(Optional.of("m-Q4_0.gguf"), choose("Q4_0", "m-IQ4_0.gguf", "m-Q4_0.gguf"));
        assertEquals(Optional.empty(), choose("Q4_0", "m-IQ4_0.gguf"), "the tag starts after a non-alphanumeric character");
        assertEquals(Optional.of("UD-Q4_K_XL/m-UD-Q4_K_XL-00001-of-00002.gguf"),
                choose("UD-Q4_K_XL", "UD-Q4_K_XL/m-UD-Q4_K_XL-00002-of-00002.gguf", "UD-Q4_K_XL/m-UD-Q4_K_XL-00001-of-00002.gguf"),
                "a split model is chosen by its first part");
        assertEquals(Optional.of("m-F16.gguf"), choose("f16", "mmproj-m-F16.gguf", "m-F16.imatrix.gguf", "mtp-m-F16.gguf",
                "m-F16.gguf"), "projectors, importance matrices and draft models are never the model");
        assertEquals(Optional.empty(), choose("F16", "README.md", "m-F16.safetensors"));
    }

    @Test
    void withoutATagQ4KMThenQ8ThenTheFirstModelInPathOrder() {
        assertEquals(Optional.of("b-Q4_K_M.gguf"), choose(null, "a-Q8_0.gguf", "b-Q4_K_M.gguf", "c-F16.gguf"));
        assertEquals(Optional.of("a-Q8_0.gguf"), choose(null, "c-F16.gguf", "a-Q8_0.gguf"));
        assertEquals(Optional.of("a-F32.gguf"), choose(null, "mmproj-x.gguf", "c-F16.gguf", "a-F32.gguf"));
        assertEquals(Optional.empty(), choose(null, "mmproj-x.gguf", "README.md"));
    }

    @Test
    void splitPartsAreNamedFromAnyOfThem() {
        assertEquals(List.of("d/m-00001-of-00003.gguf", "d/m-00002-of-00003.gguf", "d/m-00003-of-00003.gguf"),
                GgufChoice.parts("d/m-00002-of-00003.gguf"));
        assertEquals(List.of("m.gguf"), GgufChoice.parts("m.gguf"));
        assertEquals(List.of("m-00001-of-00001.gguf"), GgufChoice.parts("m-00001-of-00001.gguf"), "one part is no split");
        assertEquals(Optional.of(new GgufChoice.SplitName("m", 2, 3)), GgufChoice.split("m-00002-OF-00003.GGUF"));
        assertEquals(Optional.empty(), GgufChoice.split("m-00004-of-00003.gguf"));
    }

    @Test
    void cachePathsStayInsideTheirFolder() {
        Path dir = Path.of("/cache/hf/o/r/snapshots/c");
        assertEquals(dir.resolve("a/b.gguf"), ModelCache.inside(dir, "a/b.gguf"));
        assertEquals("'a/../../x.gguf' leaves the cache folder",
                assertThrows(IllegalArgumentException.class, () -> ModelCache.inside(dir, "a/../../x.gguf")).getMessage());
        assertEquals("refs%2Fpr%2F1", ModelCache.encode("refs/pr/1"));
        assertEquals("my_model__1_.gguf", ModelCache.safeName("my model (1).gguf"));
        assertEquals("model.gguf", ModelCache.safeName(".."));
        assertEquals("a%20b%2Fc~d", Resolver.encodeSegment("a b/c~d"));
    }
}
