package io.llamaffm.gguf;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A Mixture-of-Experts model derived from stories260K with the writer: llama.cpp runs it like the dense model. */
class GgufMoeFixtureIT {
    private static final String PROMPT = "Once upon a time";

    @Test
    void fourIdenticalExpertsTwoUsedGenerateExactlyTheDenseTokens(@TempDir Path tmp) {
        Path dense = TestEnv.stories();
        Path moe = tmp.resolve("stories260K-moe-4x2.gguf");
        MoeFixture.write(dense, moe, 4, 2);

        try (GgufFile d = GgufFile.open(dense); GgufFile f = GgufFile.open(moe)) {
            assertEquals(4, f.getInt("llama.expert_count"));
            assertEquals(2, f.getInt("llama.expert_used_count"));
            assertEquals(d.metadata().size() + 2, f.metadata().size());
            assertEquals(53, f.tensors().size(), "48 - 15 dense feed-forward + 15 expert + 5 router tensors");
            assertEquals(292_800 + 5 * 3 * 11_008 * 3 + 5 * 64 * 4, f.parameterCount());
            assertTrue(f.tensor("blk.0.ffn_gate.weight").isEmpty());
            assertArrayEquals(new long[] {64, 4}, f.tensor("blk.0.ffn_gate_inp.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {64, 172, 4}, f.tensor("blk.0.ffn_gate_exps.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {64, 172, 4}, f.tensor("blk.0.ffn_up_exps.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {172, 64, 4}, f.tensor("blk.4.ffn_down_exps.weight").orElseThrow().dims());
            MemorySegment denseDown = d.tensorData(d.tensor("blk.3.ffn_down.weight").orElseThrow());
            MemorySegment experts = f.tensorData(f.tensor("blk.3.ffn_down_exps.weight").orElseThrow());
            for (int e = 0; e < 4; e++) {
                assertEquals(-1, denseDown.mismatch(experts.asSlice(e * denseDown.byteSize(), denseDown.byteSize())),
                        "expert " + e + " is the dense layer");
            }
            MemorySegment same = d.tensorData(d.tensor("blk.2.attn_q.weight").orElseThrow());
            assertEquals(-1, same.mismatch(f.tensorData(f.tensor("blk.2.attn_q.weight").orElseThrow())));
        }

        try (Model m = Model.load(moe)) {
            io.llamaffm.ModelConfig.MixtureOfExperts e = m.config().moe().orElseThrow();
            assertEquals(4, e.expertCount());
            assertEquals(2, e.expertsUsed());
            assertEquals(789_440, m.config().parameterCount());
            // per token: everything but the 2 unused experts' gate/up/down (3 × 64 × 172 each, 5 layers)
            assertEquals(789_440 - 2L * 3 * 64 * 172 * 5, e.activeParameters().orElseThrow());
            assertEquals(io.llamaffm.ModelConfig.AttentionKind.GQA, m.config().attention().kind());
        }

        int[] denseTokens = greedy(dense);
        int[] moeTokens = greedy(moe);
        assertEquals(48, denseTokens.length);
        assertArrayEquals(denseTokens, moeTokens);
    }

    @Test
    void fixtureRefusesBadCounts(@TempDir Path tmp) {
        Path out = tmp.resolve("x.gguf");
        assertThrows(IllegalArgumentException.class, () -> MoeFixture.write(TestEnv.stories(), out, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> MoeFixture.write(TestEnv.stories(), out, 0, 0));
        MoeFixture.write(TestEnv.stories(), out, 2, 1);
        assertThrows(IllegalArgumentException.class, () -> MoeFixture.write(out, tmp.resolve("y.gguf"), 2, 1),
                "already MoE");
    }

    private static int[] greedy(Path model) {
        try (Model m = Model.load(model);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(2))) {
            Completion c = ctx.generate(PROMPT, 48, SamplerChain.greedy(), null);
            assertEquals(Completion.StopReason.MAX_TOKENS, c.stopReason(), model + ": " + c.text());
            return c.tokens();
        }
    }
}
