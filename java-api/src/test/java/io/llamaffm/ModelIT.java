package io.llamaffm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Model loading, the tokenizer on stories260K, bad input and the close rules. */
class ModelIT {

    @Test
    void missingAndCorruptFilesGiveModelLoadException(@TempDir Path tmp) throws IOException {
        ModelLoadException missing = assertThrows(ModelLoadException.class, () -> Model.load(tmp.resolve("nope.gguf")));
        assertTrue(missing.getMessage().contains("no such file"), missing.getMessage());

        Path garbage = tmp.resolve("garbage.gguf");
        byte[] bytes = new byte[4096];
        new Random(1).nextBytes(bytes);
        Files.write(garbage, bytes);
        ModelLoadException corrupt = assertThrows(ModelLoadException.class, () -> Model.load(garbage));
        assertEquals(garbage.toAbsolutePath(), corrupt.path());
        // rejected by our GGUF reader before llama.cpp sees it
        assertTrue(corrupt.getMessage().contains("not a valid GGUF file"), corrupt.getMessage());
        assertTrue(corrupt.getCause() instanceof io.llamaffm.gguf.GgufFormatException, String.valueOf(corrupt.getCause()));
        assertTrue(corrupt.nativeLog().isEmpty(), "llama.cpp was not called");

        Path truncated = tmp.resolve("truncated.gguf");
        byte[] real = Files.readAllBytes(TestEnv.stories());
        Files.write(truncated, java.util.Arrays.copyOf(real, real.length / 2));
        ModelLoadException cut = assertThrows(ModelLoadException.class, () -> Model.load(truncated));
        assertTrue(cut.getCause() instanceof io.llamaffm.gguf.GgufFormatException, cut.getMessage());

        // a count rewritten to 2^40 would make a native parser allocate or read far past the file
        byte[] huge = real.clone();
        java.nio.ByteBuffer.wrap(huge).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(8, 1L << 40); // tensor count
        Path hugeCount = Files.write(tmp.resolve("huge.gguf"), huge);
        assertThrows(ModelLoadException.class, () -> Model.load(hugeCount));

        // a structurally valid GGUF that is no model still gets llama.cpp's own reason
        Path noArch = tmp.resolve("no-arch.gguf");
        new io.llamaffm.gguf.GgufWriter().putString("general.name", "nothing").write(noArch);
        ModelLoadException notAModel = assertThrows(ModelLoadException.class, () -> Model.load(noArch));
        assertFalse(notAModel.nativeLog().isEmpty(), "llama.cpp's reason is attached");

        assertThrows(ModelLoadException.class, () -> Model.load(tmp), "a directory is not a model");
    }

    @Test
    void progressIsReportedAndCanCancelTheLoad() {
        java.util.List<Float> seen = new java.util.ArrayList<>();
        try (Model m = Model.load(TestEnv.stories(), ModelParams.defaults(), f -> seen.add(f))) {
            assertFalse(seen.isEmpty());
            assertEquals(1.0f, seen.getLast());
            for (int i = 1; i < seen.size(); i++) {
                assertTrue(seen.get(i) >= seen.get(i - 1), "monotonic: " + seen);
            }
        }
        ModelLoadException cancelled = assertThrows(ModelLoadException.class,
                () -> Model.load(TestEnv.stories(), ModelParams.defaults(), f -> false));
        assertTrue(cancelled.getMessage().contains("cancelled"), cancelled.getMessage());
        ModelLoadException failed = assertThrows(ModelLoadException.class,
                () -> Model.load(TestEnv.stories(), ModelParams.defaults(), f -> { throw new IllegalStateException("listener bug"); }));
        assertTrue(failed.getCause() instanceof IllegalStateException, String.valueOf(failed.getCause()));
        // the loader is unharmed
        try (Model again = Model.load(TestEnv.stories())) {
            assertEquals(5, again.config().layerCount());
        }
    }

    @Test
    void aModelSplitIntoPartsLoadsFromItsFirstPartOrTheList(@TempDir Path tmp) throws IOException {
        List<Path> parts = io.llamaffm.gguf.SplitFixture.write(TestEnv.stories(), tmp, "stories", 3);
        int[] reference;
        try (Model whole = Model.load(TestEnv.stories());
             Context ctx = whole.newContext(ContextParams.defaults().withContextLength(128))) {
            reference = ctx.generate("Once upon a time", 16, SamplerChain.greedy(), null).tokens();
        }
        try (Model first = Model.load(parts.getFirst());
             Context ctx = first.newContext(ContextParams.defaults().withContextLength(128))) {
            assertEquals(292_800, first.config().parameterCount());
            assertArrayEquals(reference, ctx.generate("Once upon a time", 16, SamplerChain.greedy(), null).tokens());
        }
        List<Path> renamed = new java.util.ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            renamed.add(Files.move(parts.get(i), tmp.resolve("part" + i + ".bin")));
        }
        try (Model listed = Model.loadSplits(renamed, ModelParams.defaults(), null);
             Context ctx = listed.newContext(ContextParams.defaults().withContextLength(128))) {
            assertArrayEquals(reference, ctx.generate("Once upon a time", 16, SamplerChain.greedy(), null).tokens());
        }
        ModelLoadException missingPart = assertThrows(ModelLoadException.class,
                () -> Model.loadSplits(renamed.subList(0, 2), ModelParams.defaults(), null));
        assertTrue(missingPart.getMessage().contains("split"), missingPart.getMessage());
        assertThrows(ModelLoadException.class, () -> Model.load(renamed.get(1)), "a later part alone is not a model");
    }

    @Test
    void metadataOverridesReachLlamaCpp() {
        try (Model m = Model.load(TestEnv.stories(), ModelParams.defaults()
                .withMetadataOverrides(java.util.Map.of("llama.context_length", 4096L)))) {
            assertEquals(4096, m.config().trainedContextLength());
        }
        assertThrows(IllegalArgumentException.class,
                () -> ModelParams.defaults().withMetadataOverrides(java.util.Map.of("k", new Object())));
        assertThrows(IllegalArgumentException.class,
                () -> ModelParams.defaults().withMetadataOverrides(java.util.Map.of("x".repeat(200), 1L)));
    }

    @Test
    void tokenizerOnStories() {
        try (Model m = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true))) {
            Tokenizer t = m.tokenizer();
            assertEquals(512, t.vocabularySize());
            assertEquals(1, t.bos());
            assertEquals(2, t.eos());
            assertTrue(t.isEndOfGeneration(2));
            assertFalse(t.isEndOfGeneration(1));
            int[] ids = t.encode("Once upon a time");
            assertEquals(1, ids[0], "BOS first");
            assertArrayEquals(ids, new int[] {1, 403, 407, 261, 378}, java.util.Arrays.toString(ids));
            int[] noBos = t.encode("Once upon a time", false, false);
            assertArrayEquals(java.util.Arrays.copyOfRange(ids, 1, ids.length), noBos);
            assertEquals("Once upon a time", t.decode(noBos));
            // llama.cpp keeps SentencePiece's leading space when the text starts with BOS
            assertEquals(" Once upon a time", t.decode(ids));
            assertEquals(" Once upon a time", t.decode(ids, true, false));
            assertEquals("<s> Once upon a time", t.decode(ids, false, true));
            assertEquals("", t.decode(new int[0]));
            assertArrayEquals(new int[0], t.encode("", false, false));

            assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {5, 512}));
            assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {-1}));
            assertThrows(IllegalArgumentException.class, () -> t.pieceBytes(100000, true));
            IllegalArgumentException badUtf8 = assertThrows(IllegalArgumentException.class,
                    () -> t.encode(new byte[] {'a', (byte) 0xC3}, false, false));
            assertTrue(badUtf8.getMessage().contains("UTF-8"), badUtf8.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.encode("a\uD800b"), "unpaired surrogate");
            // multi-byte text survives the round trip through byte-fallback tokens
            String text = "Lily saw a 🦙 and said \"héllo\".";
            assertEquals(text, t.decode(t.encode(text, false, false)));
            assertEquals(text, new String(t.decodeBytes(t.encode(text, false, false), false, false), StandardCharsets.UTF_8));
            // token kinds, end-of-generation set, raw vocabulary text
            assertEquals(-1, t.eot());
            assertEquals(java.util.Set.of(2), t.endOfGenerationTokens());
            assertTrue(t.attributes(1).contains(TokenAttribute.CONTROL));
            assertTrue(t.isControl(1));
            assertEquals(java.util.Set.of(TokenAttribute.NORMAL), t.attributes(403));
            assertEquals(java.util.Set.of(TokenAttribute.BYTE), t.attributes(100));
            assertEquals("\u2581Once", t.vocabularyText(403));
            // a character split over byte tokens comes out whole, never half
            int[] llama = t.encode("🦙", false, false);
            assertTrue(llama.length >= 4, java.util.Arrays.toString(llama));
            StreamingDecoder sd = t.streamingDecoder();
            StringBuilder pieces = new StringBuilder();
            java.util.List<String> emitted = new java.util.ArrayList<>();
            for (int id : llama) {
                String s = sd.push(id);
                emitted.add(s);
                pieces.append(s);
            }
            pieces.append(sd.finish());
            assertEquals(" 🦙", pieces.toString());
            StringBuilder into = new StringBuilder("x");
            int[] appended = new int[llama.length];
            for (int i = 0; i < llama.length; i++) {
                appended[i] = sd.push(llama[i], into);
            }
            assertEquals("x 🦙", into.toString(), "appended into the caller's buffer, whole characters only");
            int[] expected = new int[llama.length]; // the space, nothing for the emoji's first bytes, then its surrogate pair
            expected[0] = 1;
            expected[llama.length - 1] = 2;
            assertArrayEquals(expected, appended);
            assertThrows(IllegalArgumentException.class, () -> sd.push(512, into));
            assertTrue(emitted.stream().allMatch(s -> s.isEmpty() || s.codePoints().noneMatch(c -> c == 0xFFFD)), emitted.toString());
            IllegalStateException noWeights = assertThrows(IllegalStateException.class, () -> m.newContext(ContextParams.defaults()));
            assertTrue(noWeights.getMessage().contains("vocabulary-only"));
        }
    }

    @Test
    void closeRulesModelAndContext() {
        Model m = Model.load(TestEnv.stories());
        Tokenizer t = m.tokenizer();
        Context ctx = m.newContext(ContextParams.defaults().withContextLength(64));
        StreamingDecoder decoder = t.streamingDecoder();
        IllegalStateException refused = assertThrows(IllegalStateException.class, m::close);
        assertTrue(refused.getMessage().contains("1 open context"), refused.getMessage());
        assertFalse(m.isClosed());
        ctx.close();
        ctx.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> ctx.generate("x", 1, SamplerChain.greedy(), null));
        assertThrows(IllegalStateException.class, ctx::contextLength);
        m.close();
        m.close(); // idempotent
        assertTrue(m.isClosed());
        assertThrows(IllegalStateException.class, m::tokenizer);
        assertThrows(IllegalStateException.class, () -> t.encode("x"));
        assertThrows(IllegalStateException.class, () -> t.decode(new int[] {5}));
        assertThrows(IllegalStateException.class, () -> decoder.push(5, new StringBuilder()));
        assertThrows(IllegalStateException.class, () -> m.newContext(ContextParams.defaults()));
    }

    @Test
    void aContextRefusesASecondThreadAndSurvivesACloseFromAnother() throws Exception {
        try (Model m = Model.load(TestEnv.stories())) {
            Context ctx = m.newContext(ContextParams.defaults().withContextLength(2048));
            java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicReference<Throwable> workerError = new java.util.concurrent.atomic.AtomicReference<>();
            Thread worker = Thread.ofPlatform().start(() -> {
                try {
                    ctx.generate("Once upon a time", 2000, SamplerChain.greedy(), s -> {
                        inside.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                } catch (Throwable t) {
                    workerError.set(t);
                }
            });
            assertTrue(inside.await(30, java.util.concurrent.TimeUnit.SECONDS));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> ctx.generate("Once", 1, SamplerChain.greedy(), null));
            assertTrue(e.getMessage().contains("close it first") || e.getMessage().contains("another thread"), e.getMessage());
            ctx.close(); // between two native calls of the worker: allowed, and the worker must fail cleanly
            release.countDown();
            worker.join(60_000);
            assertFalse(worker.isAlive());
            assertTrue(workerError.get() instanceof IllegalStateException, String.valueOf(workerError.get()));
            assertTrue(workerError.get().getMessage().contains("closed") || workerError.get().getMessage().contains("another thread"),
                    workerError.get().getMessage());
        }
    }
}
