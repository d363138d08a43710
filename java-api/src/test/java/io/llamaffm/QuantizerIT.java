package io.llamaffm;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizerIT {
    @Test
    void q8_0CopyIsSmallerAndStillWritesTheSameStory(@TempDir Path tmp) {
        Path q8 = tmp.resolve("stories-q8_0.gguf");
        Quantizer.quantize(TestEnv.stories(), q8, Quantizer.Type.Q8_0, 2);
        try (GgufFile f = GgufFile.open(q8)) {
            assertEquals(GgmlType.Q8_0, f.tensor("blk.0.attn_q.weight").orElseThrow().type());
            assertEquals(GgmlType.F32, f.tensor("blk.0.attn_norm.weight").orElseThrow().type(), "1-D tensors stay F32");
        }
        try (Model dense = Model.load(TestEnv.stories()); Model m = Model.load(q8);
             Context a = dense.newContext(ContextParams.defaults().withContextLength(128));
             Context b = m.newContext(ContextParams.defaults().withContextLength(128))) {
            assertTrue(m.config().sizeBytes() < dense.config().sizeBytes() / 2,
                    m.config().sizeBytes() + " vs " + dense.config().sizeBytes());
            assertEquals(dense.config().parameterCount(), m.config().parameterCount());
            String ref = a.generate("Once upon a time", 12, SamplerChain.greedy(), null).text();
            String q = b.generate("Once upon a time", 12, SamplerChain.greedy(), null).text();
            assertTrue(q.startsWith(", there was a little girl"), q + " (F32: " + ref + ")");
        }
    }

    @Test
    void badInputIsAnException(@TempDir Path tmp) throws Exception {
        assertThrows(ModelLoadException.class, () -> Quantizer.quantize(tmp.resolve("missing.gguf"), tmp.resolve("o.gguf"),
                Quantizer.Type.Q8_0, 1));
        Path junk = Files.write(tmp.resolve("junk.gguf"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertThrows(ModelLoadException.class, () -> Quantizer.quantize(junk, tmp.resolve("o.gguf"), Quantizer.Type.Q8_0, 1));
        assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(TestEnv.stories(), TestEnv.stories(),
                Quantizer.Type.Q8_0, 1));
    }
}
