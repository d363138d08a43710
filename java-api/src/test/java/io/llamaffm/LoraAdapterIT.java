package io.llamaffm;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.LoraFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA adapters written with the GGUF writer for stories260K: effect on greedy output, bad files, close rules. */
class LoraAdapterIT {
    private static final String PROMPT = "Once upon a time";
    private static final int TOKENS = 32;
    private static final int RANK = 4;

    @TempDir
    static Path tmp;
    static Path zeroAdapter;
    static Path adapter;
    static Path otherAdapter;
    static Model model;
    static int[] base;

    @BeforeAll
    static void setUp() {
        zeroAdapter = tmp.resolve("zero-b.gguf");
        adapter = tmp.resolve("lora.gguf");
        otherAdapter = tmp.resolve("lora-other.gguf");
        LoraFixture.write(TestEnv.stories(), zeroAdapter, RANK, 1, 0f);
        LoraFixture.write(TestEnv.stories(), adapter, RANK, 2, 0.5f);
        LoraFixture.write(TestEnv.stories(), otherAdapter, RANK, 3, 0.5f);
        model = Model.load(TestEnv.stories());
        try (Context ctx = newContext()) {
            base = greedy(ctx);
        }
        assertEquals(TOKENS, base.length);
    }

    @AfterAll
    static void tearDown() {
        if (model != null) {
            model.close();
        }
    }

    private static Context newContext() {
        return model.newContext(ContextParams.defaults().withContextLength(256).withThreads(1));
    }

    private static int[] greedy(Context ctx) {
        return run(ctx).tokens();
    }

    private static Completion run(Context ctx) {
        Completion c = ctx.generate(PROMPT, TOKENS, SamplerChain.greedy(), null);
        assertEquals(Completion.StopReason.MAX_TOKENS, c.stopReason(), c.text());
        return c;
    }

    @Test
    void adapterWithZeroLoraBLeavesTheGreedyOutputIdentical() {
        try (LoraAdapter zero = model.loadLoraAdapter(zeroAdapter); Context ctx = newContext()) {
            assertEquals("lora", zero.type());
            assertEquals(RANK, zero.alpha());
            assertEquals("llama", zero.metadata("general.architecture").orElseThrow());
            assertEquals("adapter", zero.metadata().get("general.type"));
            assertEquals(0, zero.invocationTokens().length);
            assertSame(model, zero.model());
            assertEquals(zeroAdapter.toAbsolutePath(), zero.path());

            ctx.setLoraAdapters(Map.of(zero, 1f));
            assertEquals(Map.of(zero, 1f), ctx.loraAdapters());
            assertArrayEquals(base, greedy(ctx));
            ctx.setLoraAdapters(Map.of(zero, 3f));
            assertArrayEquals(base, greedy(ctx), "any scale of a zero delta is no delta");
            ctx.clearLoraAdapters();
        }
    }

    @Test
    void nonZeroAdapterChangesTheOutputAndScaleZeroOrClearingRestoresIt() {
        try (LoraAdapter lora = model.loadLoraAdapter(adapter); Context ctx = newContext()) {
            assertArrayEquals(base, greedy(ctx));
            ctx.setLoraAdapters(Map.of(lora, 1f));
            assertEquals(0, ctx.cachedTokens().length, "new weights: the KV cache was cleared");
            Completion adapted = run(ctx);
            assertEquals(0, adapted.reusedTokens());
            assertFalse(Arrays.equals(base, adapted.tokens()), "the adapter changes the greedy output");

            ctx.setLoraAdapters(Map.of(lora, 1f)); // the same adapters: the cache still matches
            Completion again = run(ctx);
            assertTrue(again.reusedTokens() > 0, "prefix reused with unchanged adapters");
            assertArrayEquals(adapted.tokens(), again.tokens());

            ctx.setLoraAdapters(Map.of(lora, 0f));
            assertEquals(0, ctx.cachedTokens().length);
            assertArrayEquals(base, greedy(ctx), "scale 0 is the base model");

            ctx.setLoraAdapters(Map.of(lora, 1f));
            assertArrayEquals(adapted.tokens(), greedy(ctx));
            ctx.clearLoraAdapters();
            assertEquals(Map.of(), ctx.loraAdapters());
            assertEquals(0, ctx.cachedTokens().length);
            assertArrayEquals(base, greedy(ctx), "cleared: the base model");
        }
    }

    @Test
    void alphaScalesTheDelta(@TempDir Path dir) {
        Path doubleAlpha = dir.resolve("alpha8.gguf");
        LoraFixture.write(TestEnv.stories(), doubleAlpha, RANK, 2f * RANK, 2, 0.5f); // the values of `adapter`
        try (LoraAdapter lora = model.loadLoraAdapter(adapter); LoraAdapter twice = model.loadLoraAdapter(doubleAlpha);
             Context ctx = newContext()) {
            assertEquals(2f * RANK, twice.alpha());
            ctx.setLoraAdapters(Map.of(lora, 1f));
            int[] adapted = greedy(ctx);
            ctx.setLoraAdapters(Map.of(twice, 0.5f)); // 0.5 × 8 / 4 = 1, exactly
            assertArrayEquals(adapted, greedy(ctx));
            ctx.setLoraAdapters(Map.of(twice, 1f)); // twice the delta
            assertFalse(Arrays.equals(adapted, greedy(ctx)), "alpha doubles the delta");
            ctx.clearLoraAdapters();
        }
    }

    @Test
    void sameAdapterInFreshContextsGivesIdenticalTokens() {
        try (LoraAdapter lora = model.loadLoraAdapter(adapter); LoraAdapter other = model.loadLoraAdapter(otherAdapter)) {
            int[] first;
            try (Context ctx = newContext()) {
                ctx.setLoraAdapters(Map.of(lora, 1f));
                first = greedy(ctx);
            }
            try (Context ctx = newContext()) {
                ctx.setLoraAdapters(Map.of(lora, 1f));
                assertArrayEquals(first, greedy(ctx));
            }
            // two adapters at once: their deltas add
            Map<LoraAdapter, Float> both = new LinkedHashMap<>();
            both.put(lora, 1f);
            both.put(other, 1f);
            try (Context ctx = newContext()) {
                ctx.setLoraAdapters(both);
                assertEquals(both, ctx.loraAdapters());
                assertFalse(Arrays.equals(first, greedy(ctx)), "the second adapter adds its own delta");
                ctx.clearLoraAdapters();
            }
        }
    }

    @Test
    void malformedAdapterFilesGiveModelLoadException(@TempDir Path dir) throws IOException {
        ModelLoadException missing = assertThrows(ModelLoadException.class, () -> model.loadLoraAdapter(dir.resolve("nope.gguf")));
        assertTrue(missing.getMessage().contains("no such file"), missing.getMessage());
        assertThrows(ModelLoadException.class, () -> model.loadLoraAdapter(dir), "a directory");

        Path random = dir.resolve("random.gguf");
        byte[] bytes = new byte[4096];
        new Random(7).nextBytes(bytes);
        Files.write(random, bytes);
        ModelLoadException garbage = assertThrows(ModelLoadException.class, () -> model.loadLoraAdapter(random));
        assertEquals(random.toAbsolutePath(), garbage.path());

        Path truncated = dir.resolve("truncated.gguf");
        byte[] real = Files.readAllBytes(adapter);
        Files.write(truncated, Arrays.copyOf(real, real.length - 1000));
        assertThrows(ModelLoadException.class, () -> model.loadLoraAdapter(truncated));

        // the base model itself is not an adapter
        assertNativeReason(assertThrows(ModelLoadException.class, () -> model.loadLoraAdapter(TestEnv.stories())), "general.type");

        // wrong input size of lora_a (32 instead of the weight's 64)
        assertNativeReason(failing(dir, "wrong-in.gguf", w -> pair(w, "blk.0.attn_q.weight", 32, RANK, RANK, 64)),
                "incorrect shape");
        // wrong output size of lora_b
        assertNativeReason(failing(dir, "wrong-out.gguf", w -> pair(w, "blk.0.attn_q.weight", 64, RANK, RANK, 65)),
                "incorrect shape");
        // ranks of A and B disagree
        assertNativeReason(failing(dir, "rank.gguf", w -> pair(w, "blk.1.attn_v.weight", 64, RANK, RANK + 1, 32)),
                "transposed");
        // a weight the model does not have
        assertNativeReason(failing(dir, "no-weight.gguf", w -> pair(w, "blk.9.attn_q.weight", 64, RANK, RANK, 64)),
                "does not exist");
        // half a pair
        assertNativeReason(failing(dir, "half.gguf", w -> w.addTensor("blk.0.attn_q.weight.lora_a", GgmlType.F32,
                new long[] {64, RANK}, new float[64 * RANK])), "missing one component");
        // another architecture
        Path gpt2 = dir.resolve("gpt2.gguf");
        GgufWriter g = LoraFixture.header("gpt2", RANK);
        pair(g, "blk.0.attn_q.weight", 64, RANK, RANK, 64);
        g.write(gpt2);
        assertNativeReason(assertThrows(ModelLoadException.class, () -> model.loadLoraAdapter(gpt2)), "arch");

        // caught in Java before llama.cpp would abort while building the graph
        ModelLoadException threeD = failing(dir, "3d.gguf", w -> {
            w.addTensor("blk.0.attn_q.weight.lora_a", GgmlType.F32, new long[] {64, RANK, 2}, new float[64 * RANK * 2]);
            w.addTensor("blk.0.attn_q.weight.lora_b", GgmlType.F32, new long[] {RANK, 64}, new float[64 * RANK]);
        });
        assertTrue(threeD.getMessage().contains("2-D"), threeD.getMessage());
        ModelLoadException ints = failing(dir, "i32.gguf", w -> {
            w.addTensorBytes("blk.0.attn_q.weight.lora_a", GgmlType.I32, new long[] {64, RANK}, new byte[64 * RANK * 4]);
            w.addTensor("blk.0.attn_q.weight.lora_b", GgmlType.F32, new long[] {RANK, 64}, new float[64 * RANK]);
        });
        assertTrue(ints.getMessage().contains("type i32"), ints.getMessage());
        ModelLoadException embd = failing(dir, "embd.gguf", w -> {
            w.addTensor("token_embd.weight.lora_a", GgmlType.F32, new long[] {RANK, 512}, new float[512 * RANK]);
            w.addTensor("token_embd.weight.lora_b", GgmlType.F32, new long[] {RANK + 1, 64}, new float[64 * (RANK + 1)]);
        });
        assertTrue(embd.getMessage().contains("rank"), embd.getMessage());
        ModelLoadException experts = failing(dir, "exps.gguf", w -> {
            w.addTensor("blk.0.ffn_up_exps.weight.lora_a", GgmlType.F32, new long[] {64, RANK, 4}, new float[64 * RANK * 4]);
            w.addTensor("blk.0.ffn_up_exps.weight.lora_b", GgmlType.F32, new long[] {RANK, 172, 4}, new float[172 * RANK * 4]);
        });
        assertTrue(experts.getMessage().contains("expert"), experts.getMessage());

        // nothing was half-loaded: the model runs as before
        try (Context ctx = newContext()) {
            assertArrayEquals(base, greedy(ctx));
        }
    }

    @Test
    void closeRules() {
        LoraAdapter lora = model.loadLoraAdapter(adapter);
        try (Context ctx = newContext(); Context second = newContext()) {
            ctx.setLoraAdapters(Map.of(lora, 1f));
            second.setLoraAdapters(Map.of(lora, 0f)); // held even with scale 0
            IllegalStateException inUse = assertThrows(IllegalStateException.class, lora::close);
            assertTrue(inUse.getMessage().contains("2 open context"), inUse.getMessage());
            assertFalse(lora.isClosed());
            second.close();
            assertThrows(IllegalStateException.class, lora::close, "still set on ctx");
            ctx.setLoraAdapters(Map.of()); // replaced by nothing
            assertTrue(greedy(ctx).length > 0);
            lora.close();
            assertTrue(lora.isClosed());
            lora.close(); // idempotent

            assertThrows(IllegalStateException.class, lora::alpha);
            assertThrows(IllegalStateException.class, lora::type);
            assertThrows(IllegalStateException.class, lora::metadata);
            assertThrows(IllegalStateException.class, () -> lora.metadata("adapter.type"));
            assertThrows(IllegalStateException.class, lora::invocationTokens);
            assertThrows(IllegalStateException.class, lora::model);
            assertEquals(adapter.toAbsolutePath(), lora.path());
            assertTrue(lora.toString().contains("closed"));
            assertThrows(IllegalStateException.class, () -> ctx.setLoraAdapters(Map.of(lora, 1f)), "closed adapter");
            assertArrayEquals(base, greedy(ctx), "the context is unharmed");
        }

        // closing the context releases the adapter
        try (LoraAdapter held = model.loadLoraAdapter(adapter)) {
            Context ctx = newContext();
            ctx.setLoraAdapters(Map.of(held, 1f));
            ctx.close();
            assertThrows(IllegalStateException.class, () -> ctx.setLoraAdapters(Map.of(held, 1f)), "closed context");
            assertThrows(IllegalStateException.class, ctx::clearLoraAdapters);
            assertThrows(IllegalStateException.class, ctx::loraAdapters);
        }

        // refused while a generation is open; bad scales; another model's adapter
        try (LoraAdapter a = model.loadLoraAdapter(adapter); Context ctx = newContext();
             Model twin = Model.load(TestEnv.stories()); LoraAdapter foreign = twin.loadLoraAdapter(adapter)) {
            try (Generation g = ctx.start(PROMPT, GenerationParams.defaults().withMaxTokens(4), SamplerChain.greedy())) {
                g.nextToken();
                assertThrows(IllegalStateException.class, () -> ctx.setLoraAdapters(Map.of(a, 1f)));
            }
            assertThrows(IllegalArgumentException.class, () -> ctx.setLoraAdapters(Map.of(a, Float.NaN)));
            assertThrows(IllegalArgumentException.class, () -> ctx.setLoraAdapters(Map.of(a, Float.POSITIVE_INFINITY)));
            IllegalArgumentException other = assertThrows(IllegalArgumentException.class, () -> ctx.setLoraAdapters(Map.of(foreign, 1f)));
            assertTrue(other.getMessage().contains("another") || other.getMessage().contains("not for"), other.getMessage());
            assertThrows(NullPointerException.class, () -> ctx.setLoraAdapters(null));
            assertEquals(Map.of(), ctx.loraAdapters(), "nothing was set by the refused calls");
            a.close(); // not held: every refused call released what it took
        }
    }

    @Test
    void closingTheModelClosesItsAdapters() {
        Model m = Model.load(TestEnv.stories());
        LoraAdapter a = m.loadLoraAdapter(adapter);
        LoraAdapter b = m.loadLoraAdapter(zeroAdapter);
        b.close();
        Context ctx = m.newContext(ContextParams.defaults().withContextLength(128).withThreads(1));
        ctx.setLoraAdapters(Map.of(a, 1f));
        assertThrows(IllegalStateException.class, m::close, "a context is open");
        assertFalse(a.isClosed());
        ctx.close();
        m.close();
        assertTrue(a.isClosed(), "the model closed the adapter it still had");
        a.close(); // idempotent, and frees nothing twice
        assertThrows(IllegalStateException.class, a::alpha);
        assertThrows(IllegalStateException.class, () -> m.loadLoraAdapter(adapter));

        try (Model vocab = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true))) {
            assertThrows(IllegalStateException.class, () -> vocab.loadLoraAdapter(adapter));
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static void pair(GgufWriter w, String weight, long aIn, long aRank, long bRank, long bOut) {
        w.addTensor(weight + ".lora_a", GgmlType.F32, new long[] {aIn, aRank}, new float[Math.toIntExact(aIn * aRank)]);
        w.addTensor(weight + ".lora_b", GgmlType.F32, new long[] {bRank, bOut}, new float[Math.toIntExact(bRank * bOut)]);
    }

    /** Writes a llama adapter with the given tensors and expects its load to fail. */
    private static ModelLoadException failing(Path dir, String name, Consumer<GgufWriter> tensors) {
        Path file = dir.resolve(name);
        GgufWriter w = LoraFixture.header("llama", RANK);
        tensors.accept(w);
        w.write(file);
        return assertThrows(ModelLoadException.class, () -> model.loadLoraAdapter(file), name);
    }

    private static void assertNativeReason(ModelLoadException e, String fragment) {
        assertFalse(e.nativeLog().isEmpty(), "llama.cpp's log lines are attached: " + e.getMessage());
        assertTrue(e.nativeLog().stream().anyMatch(l -> l.contains(fragment)), fragment + " in " + e.nativeLog());
    }
}
