package io.llamaffm.benchmarks;

import io.llamaffm.benchmarks.SyntheticModel.Spec;
import io.llamaffm.benchmarks.SyntheticModel.Type;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticModelTest {
    @Test
    void theOneBillionShapeHasLlama32OneBsLayersLessItsLargeVocabulary() {
        Spec s = Spec.LLAMA_3_2_1B;
        assertEquals(64, s.headDim());
        assertEquals(SyntheticModel.LLAMA_3_2_1B_PARAMETERS, s.parameterCount(512));
        // with Llama 3's 128 256-token vocabulary (tied embedding) the same count is the real model's 1 235 814 400
        assertEquals(1_235_814_400L, s.parameterCount(128_256));
    }

    @Test
    void invalidSpecsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> spec("bad name", 64, 4, 2, 7));
        assertThrows(IllegalArgumentException.class, () -> spec("x", 48, 4, 2, 7)); // not a multiple of 32
        assertThrows(IllegalArgumentException.class, () -> spec("x", 64, 4, 3, 7)); // 3 KV heads for 4 heads
        assertThrows(IllegalArgumentException.class, () -> spec("x", 96, 64, 2, 7)); // 96 not divisible by 64 heads
    }

    @Test
    void theHashCoversTheSpecAndTheTokenizerFile(@TempDir Path dir) throws IOException {
        Path tok = Files.writeString(dir.resolve("a.gguf"), "one");
        Path other = Files.writeString(dir.resolve("b.gguf"), "two");
        String h = SyntheticModel.hash(spec("x", 64, 4, 2, 7), tok);
        assertEquals(12, h.length());
        assertEquals(h, SyntheticModel.hash(spec("x", 64, 4, 2, 7), tok));
        assertNotEquals(h, SyntheticModel.hash(spec("x", 64, 4, 2, 8), tok));
        assertNotEquals(h, SyntheticModel.hash(spec("x", 64, 4, 1, 7), tok));
        assertNotEquals(h, SyntheticModel.hash(spec("x", 64, 4, 2, 7), other));
        assertEquals("x-q4_0-" + h + ".gguf", SyntheticModel.fileName(spec("x", 64, 4, 2, 7), Type.Q4_0, h));
    }

    @Test
    void aMissingTokenizerSourceIsAClearError(@TempDir Path dir) {
        var e = assertThrows(IllegalArgumentException.class,
                () -> SyntheticModel.ensure(dir, Type.F16, spec("x", 64, 4, 2, 7), dir.resolve("none.gguf")));
        assertTrue(e.getMessage().contains("none.gguf"), e.getMessage());
    }

    static Spec spec(String name, int embedding, int heads, int kvHeads, long seed) {
        return new Spec(name, 2, embedding, heads, kvHeads, 128, 10_000f, 1e-5f, 256, seed, 0.02f);
    }
}
