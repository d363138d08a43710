package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_context_params;
import io.llamaffm.gguf.MoeFixture;
import io.llamaffm.internal.NativeLog;
import io.llamaffm.testmodels.SyntheticModels;
import io.llamaffm.testmodels.SyntheticModels.Family;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Agreement of {@link ModelHeader} (plain Java, the header alone) with llama.cpp on every model the tests have:
 * stories260K, the mixture-of-experts fixture derived from it, and every family of the architecture matrix.
 * <ul>
 *   <li>the header's {@link ModelConfig} equals the loaded model's field by field, all but the description (whose
 *       wording is llama.cpp's own);</li>
 *   <li>the KV cache estimate is llama.cpp's: for each context shape, llama.cpp reports each cache it makes
 *       ({@code llama_kv_cache: size = X MiB (C cells, L layers, ...)}); the cells and layers per cache are exactly the
 *       header's, and the size within the log's rounding (0.005 MiB per cache); with at least 4 096 cells a one-value
 *       error in a layer's row width would be 8 KiB, beyond that rounding. Sliding-window models are also checked
 *       with window-sized caches ({@code swa_full} off, set through the bindings, as contexts use it on);
 *       encoders make no cache and are estimated at 0.</li>
 * </ul>
 */
class HeaderInspectionIT {
    private static final Pattern KV_LINE = Pattern.compile(
            "llama_kv_cache: size = +([0-9.]+) MiB \\( *(\\d+) cells, +(\\d+) layers, +(\\d+)/(\\d+) seqs\\)");

    /** A context shape: length, sequences, cache type, unified cache. */
    record Shape(int contextLength, int sequences, CacheType cacheType, boolean unified) {
        ContextParams params() {
            return ContextParams.defaults().withContextLength(contextLength).withSequences(sequences)
                    .withCacheType(cacheType).withUnifiedCache(unified).withThreads(2);
        }
    }

    static final List<Shape> SHAPES = List.of(
            new Shape(8192, 1, CacheType.F16, false),
            new Shape(9000, 2, CacheType.F32, false), // 9 000 / 2 rounds up per sequence: 2 x 4 608 cells
            new Shape(4096, 3, CacheType.F16, true),
            new Shape(8192, 2, CacheType.Q8_0, false));

    /** Models for which llama.cpp made no quantized-cache context. */
    static final java.util.Set<String> QUANTIZED_SKIPPED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @TestFactory
    Stream<DynamicNode> headerAgreesWithTheLoadedModel() {
        List<DynamicNode> tests = new ArrayList<>();
        tests.add(model("stories260K", TestEnv::stories));
        tests.add(model("stories260K MoE 4x2", HeaderInspectionIT::moeFixture));
        Arrays.stream(Family.values()).forEach(f -> tests.add(model(f.name(), () -> SyntheticModels.path(f))));
        return tests.stream();
    }

    private static Path moeFixture() {
        try {
            Path dir = Files.createTempDirectory("header-it");
            Path moe = dir.resolve("stories260K-moe-4x2.gguf");
            MoeFixture.write(TestEnv.stories(), moe, 4, 2);
            moe.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return moe;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static DynamicTest model(String label, Supplier<Path> file) {
        return DynamicTest.dynamicTest(label, () -> {
            Path path = file.get();
            ModelHeader header = ModelHeader.read(path);
            // the same from a copy cut after the header
            Path cut = Files.createTempFile("header-only", ".gguf");
            try {
                long headerSize = header.headerBytes();
                try (var in = Files.newInputStream(path)) {
                    Files.write(cut, in.readNBytes((int) headerSize));
                }
                ModelHeader fromCut = ModelHeader.read(cut);
                assertEquals(named(header.config()), named(fromCut.config()), label + ": cut copy");
                assertEquals(header.layers(), fromCut.layers(), label + ": cut copy");
            } finally {
                Files.deleteIfExists(cut);
            }
            try (Model model = Model.load(path)) {
                ModelConfig loaded = model.config();
                ModelConfig read = header.config();
                System.out.printf("%s: description llama.cpp \"%s\", header \"%s\"%n", label, loaded.description(),
                        read.description());
                assertAll(label,
                        () -> assertEquals(loaded.architecture(), read.architecture(), "architecture"),
                        () -> assertEquals(loaded.name(), read.name(), "name"),
                        () -> assertEquals(loaded.parameterCount(), read.parameterCount(), "parameter count"),
                        () -> assertEquals(loaded.sizeBytes(), read.sizeBytes(), "size"),
                        () -> assertEquals(loaded.trainedContextLength(), read.trainedContextLength(), "trained context"),
                        () -> assertEquals(loaded.embeddingLength(), read.embeddingLength(), "embedding length"),
                        () -> assertEquals(loaded.layerCount(), read.layerCount(), "layers"),
                        () -> assertEquals(loaded.attention(), read.attention(), "attention"),
                        () -> assertEquals(loaded.moe(), read.moe(), "experts"),
                        () -> assertEquals(loaded.rope(), read.rope(), "rope"),
                        () -> assertEquals(loaded.vocabulary(), read.vocabulary(), "vocabulary"),
                        () -> assertEquals(loaded.chatTemplate(), read.chatTemplate(), "chat template"),
                        () -> assertEquals(loaded.metadata(), read.metadata(), "metadata"));
                // a quantized cache needs rows of whole blocks (32 values), which llama.cpp asserts, not checks
                boolean wholeBlocks = header.layers().stream().filter(ModelHeader.Layer::cached)
                        .allMatch(l -> l.keyWidth() % 32 == 0 && l.valueWidth() % 32 == 0);
                boolean encoder = header.cacheKind() == ModelHeader.CacheKind.NONE;
                // mean pooling needs sequences that divide the micro-batch (512)
                List<Shape> shapes = SHAPES.stream().filter(s -> s.cacheType() != CacheType.Q8_0 || wholeBlocks)
                        .filter(s -> !encoder || 512 % s.sequences() == 0).toList();
                for (Shape shape : shapes) {
                    checkCache(label, model, header, shape, true);
                }
                if (List.of("GEMMA2", "GEMMA3", "MISTRAL3").contains(label)) {
                    assertTrue(!QUANTIZED_SKIPPED.contains(label), label + ": head size 32 runs a Q8_0 cache");
                }
                if (header.layers().stream().anyMatch(ModelHeader.Layer::slidingWindow)) {
                    for (Shape shape : shapes) {
                        checkCache(label, model, header, shape, false);
                    }
                }
            }
        });
    }

    /** The configuration with the name a file without {@code general.name} takes from its file name blanked. */
    private static ModelConfig named(ModelConfig c) {
        return new ModelConfig(c.architecture(), c.metadata().containsKey("general.name") ? c.name() : "", c.description(),
                c.parameterCount(), c.sizeBytes(), c.trainedContextLength(), c.embeddingLength(), c.layerCount(),
                c.attention(), c.moe(), c.rope(), c.vocabulary(), c.chatTemplate(), c.metadata());
    }

    /** Makes a context of the shape and compares llama.cpp's report of its caches with the header's estimate. */
    private static void checkCache(String label, Model model, ModelHeader header, Shape shape, boolean swaFull) {
        ContextParams params = shape.params();
        boolean encoder = header.cacheKind() == ModelHeader.CacheKind.NONE;
        if (encoder) {
            params = params.withEmbeddings(true);
        }
        List<String> lines;
        NativeLog.beginCapture(System.Logger.Level.INFO);
        try {
            if (swaFull) {
                try {
                    model.newContext(params).close();
                } catch (LlamaException e) {
                    if (shape.cacheType() == CacheType.Q8_0) {
                        // a quantized cache needs flash attention, which the CPU backend may not run for the head size
                        System.out.printf("%s %s: llama.cpp makes no such context (%s)%n", label, shape, e.getMessage());
                        QUANTIZED_SKIPPED.add(label);
                        return;
                    }
                    throw e;
                }
            } else if (QUANTIZED_SKIPPED.contains(label) && shape.cacheType() == CacheType.Q8_0) {
                return;
            } else {
                rawContextWithWindowCaches(model, params);
            }
        } finally {
            lines = NativeLog.endCapture();
        }
        String what = label + " " + shape + (swaFull ? "" : " window-sized");
        List<Matcher> caches = lines.stream().map(KV_LINE::matcher).filter(Matcher::find).toList();
        MemoryEstimate estimate = header.estimateMemory(params, 0, swaFull);
        if (encoder) {
            assertTrue(caches.isEmpty(), what + ": llama.cpp made a cache: " + lines);
            assertEquals(0, estimate.kvCacheBytes(), what);
            return;
        }
        ModelHeader.Cells cells = header.cells(params, swaFull);
        long streams = params.unifiedCache() ? 1 : params.sequences();
        List<ModelHeader.Layer> cached = header.layers().stream().filter(ModelHeader.Layer::cached).toList();
        long full = cached.stream().filter(l -> !l.slidingWindow()).count();
        long sliding = cached.size() - full;
        List<String> expected = new ArrayList<>();
        if (full > 0) expected.add(cells.full() / streams + " cells, " + full + " layers");
        if (sliding > 0) expected.add(cells.slidingWindow() / streams + " cells, " + sliding + " layers");
        List<String> actual = caches.stream().map(m -> m.group(2) + " cells, " + m.group(3) + " layers").toList();
        assertEquals(expected, actual, what + ": the caches llama.cpp made");
        double reportedMiB = caches.stream().mapToDouble(m -> Double.parseDouble(m.group(1))).sum();
        double estimatedMiB = estimate.kvCacheBytes() / (1024.0 * 1024.0);
        System.out.printf("%s: KV llama.cpp %.2f MiB, header %.4f MiB (%d bytes)%n", what, reportedMiB, estimatedMiB,
                estimate.kvCacheBytes());
        assertEquals(reportedMiB, estimatedMiB, 0.005 * caches.size() + 1e-9, what + ": KV cache MiB");
    }

    /** A context like {@link Model#newContext}'s but with window-sized sliding-window caches ({@code swa_full} off). */
    private static void rawContextWithWindowCaches(Model model, ContextParams params) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cp = LlamaH.llama_context_default_params(a);
            llama_context_params.n_ctx(cp, params.contextLength());
            llama_context_params.n_batch(cp, params.batchSize());
            llama_context_params.n_ubatch(cp, params.microBatchSize());
            llama_context_params.n_seq_max(cp, params.sequences());
            llama_context_params.n_threads(cp, 2);
            llama_context_params.n_threads_batch(cp, 2);
            llama_context_params.type_k(cp, params.cacheType().ggmlType());
            llama_context_params.type_v(cp, params.cacheType().ggmlType());
            llama_context_params.kv_unified(cp, params.unifiedCache());
            llama_context_params.swa_full(cp, false);
            MemorySegment ctx = LlamaH.llama_init_from_model(model.handle(), cp);
            assertTrue(!ctx.equals(MemorySegment.NULL), "llama.cpp made no context");
            LlamaH.llama_free(ctx);
        }
    }
}
