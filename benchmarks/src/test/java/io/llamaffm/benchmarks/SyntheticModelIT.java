package io.llamaffm.benchmarks;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.ModelConfig;
import io.llamaffm.SamplerChain;
import io.llamaffm.TextScore;
import io.llamaffm.benchmarks.SyntheticModel.Spec;
import io.llamaffm.benchmarks.SyntheticModel.Type;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A small spec through the same generator as the 1B model: written, cached, quantized, loaded and run. */
class SyntheticModelIT {
    static final Spec TINY = new Spec("tiny-test", 2, 128, 4, 2, 256, 500_000f, 1e-5f, 512, 7, 0.02f);

    @TempDir
    static Path cache;
    static Path tokenizer;

    @BeforeAll
    static void tokenizer() {
        tokenizer = SyntheticModel.defaultTokenizerSource();
        assumeTrue(Files.isRegularFile(tokenizer), tokenizer + " is absent (clone with ../shared beside the project)");
    }

    @Test
    void theF16FileHasTheSpecsShapeTheTokenizerAndNormalWeights() {
        Path f16 = SyntheticModel.ensure(cache, Type.F16, TINY, tokenizer);
        try (GgufFile f = GgufFile.open(f16); GgufFile tok = GgufFile.open(tokenizer)) {
            assertEquals(TINY.parameterCount(512), f.parameterCount());
            assertEquals(2 + 9 * 2, f.tensors().size()); // token_embd (tied output), output_norm, 9 per layer
            assertEquals(GgmlType.F16, f.tensor("blk.1.ffn_down.weight").orElseThrow().type());
            assertArrayEquals(new long[] {256, 128}, f.tensor("blk.1.ffn_down.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {128, 64}, f.tensor("blk.0.attn_k.weight").orElseThrow().dims());
            assertFalse(f.tensor("output.weight").isPresent());
            assertEquals(tok.getArray("tokenizer.ggml.tokens"), f.getArray("tokenizer.ggml.tokens"));
            assertEquals(tok.getArray("tokenizer.ggml.scores"), f.getArray("tokenizer.ggml.scores"));
            assertEquals(500_000f, f.getFloat("llama.rope.freq_base"));
        }
        try (Model m = Model.load(f16)) {
            ModelConfig c = m.config();
            assertEquals("llama", c.architecture());
            assertEquals(2, c.layerCount());
            assertEquals(128, c.embeddingLength());
            assertEquals(4, c.attention().headCount());
            assertEquals(2, c.attention().kvHeadCount());
            assertEquals(ModelConfig.AttentionKind.GQA, c.attention().kind());
            assertEquals(500_000f, c.rope().frequencyBase());
            assertEquals(ModelConfig.VocabularyType.SPM, c.vocabulary().type());
            assertEquals(512, c.vocabulary().size());
            assertEquals(TINY.parameterCount(512), c.parameterCount());
        }
    }

    @Test
    void generationIsDeterministicAndACachedFileIsNotWrittenAgain(@TempDir Path other) throws IOException {
        Path a = SyntheticModel.ensure(cache, Type.F16, TINY, tokenizer);
        FileTime written = Files.getLastModifiedTime(a);
        assertEquals(a, SyntheticModel.ensure(cache, Type.F16, TINY, tokenizer));
        assertEquals(written, Files.getLastModifiedTime(a));
        Path b = SyntheticModel.ensure(other, Type.F16, TINY, tokenizer);
        assertEquals(a.getFileName(), b.getFileName());
        assertEquals(-1L, Files.mismatch(a, b)); // the same bytes from a fresh run
    }

    @Test
    void quantizedModelsGenerateWithFiniteLogits() {
        for (Type type : new Type[] {Type.Q8_0, Type.Q4_0}) {
            Path p = SyntheticModel.ensure(cache, type, TINY, tokenizer);
            try (GgufFile f = GgufFile.open(p)) {
                assertEquals(type == Type.Q8_0 ? GgmlType.Q8_0 : GgmlType.Q4_0,
                        f.tensor("blk.0.ffn_up.weight").orElseThrow().type(), type.toString());
            }
            try (Model m = Model.load(p);
                 Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(2))) {
                Completion c = ctx.generate("Once upon a time", GenerationParams.defaults().withMaxTokens(24).withIgnoreEos(true),
                        SamplerChain.greedy(), null);
                assertEquals(24, c.tokens().length, type.toString());
                ctx.clear();
                TextScore s = ctx.score(c.tokens());
                for (float lp : s.logprobs()) {
                    assertTrue(Float.isFinite(lp) && lp <= 0, type + ": log-probability " + lp);
                }
            }
        }
    }

    @Test
    void theJniBindingLoadsAndRunsTheSyntheticModel() {
        JniBaseline.Result r = JniBaseline.run(SyntheticModel.ensure(cache, Type.Q8_0, TINY, tokenizer), 2, 16, 8, 1,
                Duration.ofMinutes(3));
        assertTrue(r.medianPromptTokensPerSecond() > 0 && r.medianTokensPerSecond() > 0, r.toString());
    }
}
