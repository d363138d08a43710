package io.llamaffm.testmodels;

import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import io.llamaffm.TestEnv;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.TensorInfo;
import io.llamaffm.testmodels.SyntheticModels.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generator of {@link SyntheticModels}: what it writes, that it is deterministic, and its cache. */
class SyntheticModelsIT {
    private static final List<String> TEXTS = List.of("The quick brown fox jumps over the lazy dog.",
            "What's the weather in Paris? 23°C, «sunny» 😀 — 你好，世界！ 12345 tokens",
            "def f(x):\n    return {\"a\": [1, 2.5e-3]}\n\n\n\t  ", "  leading spaces and UPPER case");

    private static Path vocab(Family f) {
        return TestEnv.sourceDir().resolve(f.spec().vocabularyFile());
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void theFileHoldsTheSpecsKeysTheVocabularysTokenizerAndSmallTensors(Family family) throws IOException {
        SyntheticModels.Spec s = family.spec();
        Path path = SyntheticModels.path(family);
        assertTrue(Files.size(path) < 80_000_000L, "size " + Files.size(path));
        String a = s.architecture() + ".";
        try (GgufFile f = GgufFile.open(path); GgufFile v = GgufFile.open(vocab(family))) {
            assertEquals(s.architecture(), f.getString("general.architecture"));
            assertEquals(s.layers(), f.getInt(a + "block_count"));
            assertEquals(s.embedding(), f.getInt(a + "embedding_length"));
            assertEquals(s.heads(), f.getInt(a + "attention.head_count"));
            assertEquals(s.kvHeads(), f.getInt(a + "attention.head_count_kv"));
            assertEquals(s.contextLength(), f.getInt(a + "context_length"));
            assertEquals(s.experts() > 0, f.find(a + "expert_count").isPresent());
            assertEquals(s.slidingWindow() > 0, f.find(a + "attention.sliding_window").isPresent());
            // every tokenizer key of the vocabulary file, unchanged (QWEN2 is SyntheticQwen's, with Qwen2.5's changes)
            if (family != Family.QWEN2) {
                for (Map.Entry<String, GgufValue> e : v.metadata().entrySet()) {
                    if (e.getKey().startsWith("tokenizer.")) {
                        assertEquals(e.getValue(), f.get(e.getKey()), e.getKey());
                    }
                }
            }
            long vocabulary = v.getArray("tokenizer.ggml.tokens").size();
            assertArrayEquals(new long[] {s.embedding(), vocabulary}, f.tensor("token_embd.weight").orElseThrow().dims());
            GgmlType matrices = s.encoder() ? GgmlType.F32 : GgmlType.F16;
            for (TensorInfo t : f.tensors()) {
                boolean vector = t.dims().length == 1 || t.name().endsWith(".bias");
                GgmlType expected = t.name().equals("token_embd.weight") ? GgmlType.F16 : vector ? GgmlType.F32 : matrices;
                assertEquals(expected, t.type(), t.name());
                if (t.name().endsWith("norm.weight")) {
                    MemorySegment data = f.tensorData(t);
                    for (long i = 0; i < data.byteSize() / 4; i++) {
                        assertEquals(1f, data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i),
                                t.name() + " is a norm of ones");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void textTokenizesAsWithTheVocabularyFile(Family family) throws IOException {
        List<String> texts = new ArrayList<>(TEXTS);
        Path inputs = Path.of(vocab(family) + ".inp"); // llama.cpp's own test inputs for the vocabulary, when it has them
        if (Files.isRegularFile(inputs)) {
            texts.addAll(List.of(Files.readString(inputs, StandardCharsets.UTF_8).split("\n__ggml_vocab_test__\n", -1)));
        }
        ModelParams vocabOnly = ModelParams.defaults().withVocabOnly(true);
        try (Model synthetic = Model.load(SyntheticModels.path(family), vocabOnly);
             Model real = Model.load(vocab(family), vocabOnly)) {
            assertEquals(real.tokenizer().vocabularySize(), synthetic.tokenizer().vocabularySize());
            for (String text : texts) {
                int[] expected = real.tokenizer().encode(text, true, false);
                assertArrayEquals(expected, synthetic.tokenizer().encode(text, true, false), "'" + text + "'");
                assertEquals(real.tokenizer().decode(expected), synthetic.tokenizer().decode(expected));
            }
        }
    }

    @Test
    void llama3RopeFactorsFollowTheConverter() {
        // head size 16, base 500 000: wavelengths 2π·500000^(i/8); below 8192/4 no scaling, above 8192 the factor 8,
        // between (i = 4: 4442.9) 1 / ((1 - s) / 8 + s) with s = (8192 / 4442.9 - 1) / 3 = 0.28129
        float[] f = SyntheticModels.llama3RopeFactors(500_000f, 16, 8f, 1f, 4f, 8192);
        assertArrayEquals(new float[] {1, 1, 1, 1, 2.6945f, 8, 8, 8}, f, 1e-4f);
    }

    @Test
    void filesAreWrittenOnceAtomicallyAndNamedByTheirInputs(@TempDir Path dir) throws Exception {
        Family family = Family.PHI3; // a small vocabulary
        Path vocab = vocab(family);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<Path>> results = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                results.add(pool.submit(() -> SyntheticModels.ensure(dir, vocab, family)));
            }
            Path p = results.getFirst().get(120, TimeUnit.SECONDS);
            for (Future<Path> r : results) {
                assertEquals(p, r.get(120, TimeUnit.SECONDS));
            }
            assertEquals(SyntheticModels.path(family).getFileName(), p.getFileName(), "the name depends on the inputs only");
            assertTrue(p.getFileName().toString().matches("phi3-synthetic-[0-9a-f]{16}\\.gguf"), p.toString());
            assertEquals(-1L, Files.mismatch(SyntheticModels.path(family), p), "the generator is deterministic");
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(p.getFileName().toString()), files.map(f -> f.getFileName().toString())
                        .filter(name -> !name.startsWith(".")).toList(), "no temporary file is left behind");
            }
            long written = Files.getLastModifiedTime(p).toMillis();
            assertEquals(p, SyntheticModels.ensure(dir, vocab, family));
            assertEquals(written, Files.getLastModifiedTime(p).toMillis(), "not written again");
        } finally {
            pool.shutdownNow();
        }
        // another vocabulary file (even with the same name) is another input
        Path otherDir = Files.createDirectories(dir.resolve("other/models"));
        Path other = Files.copy(TestEnv.sourceDir().resolve(Family.MISTRAL3.spec().vocabularyFile()),
                otherDir.resolve(vocab.getFileName()));
        Path fromOther = SyntheticModels.ensure(dir, other, family);
        assertNotEquals(SyntheticModels.path(family).getFileName(), fromOther.getFileName());
        assertFalse(Files.mismatch(fromOther, SyntheticModels.path(family)) == -1L);
    }
}
