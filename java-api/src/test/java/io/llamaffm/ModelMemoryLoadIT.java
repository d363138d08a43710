package io.llamaffm;

import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufFormatException;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.MoeFixture;
import io.llamaffm.gguf.TensorInfo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models loaded from a MemorySegment, an InputStream and class-path resources (a directory and a jar) are the models
 * loaded from the file: the same configuration and exactly the same greedy tokens.
 */
class ModelMemoryLoadIT {
    private static final String PROMPT = "Once upon a time";
    private static final String RESOURCE = "models/stories260K.gguf";

    private static ModelConfig fileConfig;
    private static int[] fileTokens;

    @BeforeAll
    static void loadFromTheFile() {
        try (Model m = Model.load(TestEnv.stories())) {
            fileConfig = m.config();
            fileTokens = greedy(m);
        }
        assertEquals(32, fileTokens.length);
    }

    @Test
    void mappedSegmentGivesTheFileModelAndMayBeFreedAfterTheLoad() throws IOException {
        Model m;
        try (Arena mapping = Arena.ofConfined(); FileChannel ch = FileChannel.open(TestEnv.stories(), StandardOpenOption.READ)) {
            MemorySegment gguf = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), mapping);
            m = Model.load(gguf, ModelParams.defaults());
        }
        // the mapping is gone: the model has its own copy of the weights
        try (m) {
            assertEquals(Model.IN_MEMORY, m.path());
            assertEquals(fileConfig, m.config());
            assertArrayEquals(fileTokens, greedy(m));
        }
    }

    @Test
    void heapSegmentGivesTheFileModel() throws IOException {
        MemorySegment heap = MemorySegment.ofArray(Files.readAllBytes(TestEnv.stories()));
        try (Model m = Model.load(heap, ModelParams.defaults())) {
            assertEquals(fileConfig, m.config());
            assertArrayEquals(fileTokens, greedy(m));
        }
    }

    @Test
    void inputStreamGivesTheFileModel() throws IOException {
        try (InputStream in = Files.newInputStream(TestEnv.stories()); Model m = Model.load(in, ModelParams.defaults())) {
            assertEquals(Model.IN_MEMORY, m.path());
            assertEquals(fileConfig, m.config());
            assertArrayEquals(fileTokens, greedy(m));
        }
    }

    @Test
    void streamOverTheLimitIsRefusedClearly() throws IOException {
        long size = Files.size(TestEnv.stories());
        try (InputStream in = Files.newInputStream(TestEnv.stories())) {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> Model.load(in, ModelParams.defaults(), size - 1));
            assertTrue(e.getMessage().contains("more than " + (size - 1) + " bytes"), e.getMessage());
            assertTrue(e.getMessage().contains("llamaffm.load.max.bytes"), e.getMessage());
        }
        try (InputStream in = Files.newInputStream(TestEnv.stories()); Model m = Model.load(in, ModelParams.defaults(), size)) {
            assertEquals(fileConfig, m.config(), "exactly the limit is fine");
        }
        String old = System.getProperty("llamaffm.load.max.bytes");
        try {
            System.setProperty("llamaffm.load.max.bytes", "1K");
            assertEquals(1024, Configuration.maxStreamBytes());
            try (InputStream in = Files.newInputStream(TestEnv.stories())) {
                assertThrows(ModelLoadException.class, () -> Model.load(in, ModelParams.defaults()));
            }
            System.setProperty("llamaffm.load.max.bytes", "lots");
            assertThrows(LlamaException.class, Configuration::maxStreamBytes);
        } finally {
            if (old == null) {
                System.clearProperty("llamaffm.load.max.bytes");
            } else {
                System.setProperty("llamaffm.load.max.bytes", old);
            }
        }
        assertEquals(64L << 30, Configuration.maxStreamBytes());
    }

    @Test
    void resourceInADirectoryGivesTheFileModel(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("classes");
        Files.createDirectories(dir.resolve("models"));
        Files.copy(TestEnv.stories(), dir.resolve(RESOURCE));
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
            try (Model m = Model.loadResource(loader, RESOURCE, ModelParams.defaults())) {
                assertEquals(Path.of(RESOURCE), m.path());
                assertEquals(fileConfig, m.config());
                assertArrayEquals(fileTokens, greedy(m));
            }
            // the context class loader, and a leading slash as Class.getResource takes it
            ClassLoader previous = Thread.currentThread().getContextClassLoader();
            Thread.currentThread().setContextClassLoader(loader);
            try (Model m = Model.loadResource("/" + RESOURCE, ModelParams.defaults().withVocabOnly(true));
                 Model file = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true))) {
                assertEquals(file.config(), m.config());
                assertArrayEquals(file.tokenizer().encode(PROMPT), m.tokenizer().encode(PROMPT));
            } finally {
                Thread.currentThread().setContextClassLoader(previous);
            }
        }
    }

    @Test
    void resourceInAJarGivesTheFileModel(@TempDir Path tmp) throws IOException {
        byte[] model = Files.readAllBytes(TestEnv.stories());
        for (boolean compressed : new boolean[] {false, true}) {
            Path jar = tmp.resolve(compressed ? "deflated.jar" : "stored.jar");
            writeJar(jar, RESOURCE, model, compressed);
            try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null);
                 Model m = Model.loadResource(loader, RESOURCE, ModelParams.defaults())) {
                assertEquals(fileConfig, m.config(), jar.toString());
                assertArrayEquals(fileTokens, greedy(m), jar.toString());
            }
        }
    }

    @Test
    void missingResourceGivesModelLoadException(@TempDir Path tmp) throws IOException {
        try (URLClassLoader loader = new URLClassLoader(new URL[] {tmp.toUri().toURL()}, null)) {
            ModelLoadException e = assertThrows(ModelLoadException.class,
                    () -> Model.loadResource(loader, "models/absent.gguf", ModelParams.defaults()));
            assertEquals(Path.of("models/absent.gguf"), e.path());
            assertTrue(e.getMessage().contains("no such resource"), e.getMessage());
        }
        assertThrows(ModelLoadException.class, () -> Model.loadResource("io/llamaffm/absent.gguf", ModelParams.defaults()));
    }

    @Test
    void truncatedOrCorruptedBytesNeverReachLlamaCpp() throws IOException {
        byte[] real = Files.readAllBytes(TestEnv.stories());
        Random random = new Random(7);
        for (int cut : new int[] {0, 3, 24, 1000, real.length / 2, real.length - 1}) {
            assertNotAModel(java.util.Arrays.copyOf(real, cut), "cut at " + cut);
        }
        byte[] garbage = new byte[4096];
        random.nextBytes(garbage);
        assertNotAModel(garbage, "random bytes");
        byte[] badMagic = real.clone();
        badMagic[0] = 'X';
        assertNotAModel(badMagic, "magic");
        byte[] badCount = real.clone();
        badCount[8] = (byte) 0xFF; // tensor count: far more tensor infos than the file holds
        badCount[15] = (byte) 0x7F;
        assertNotAModel(badCount, "tensor count");
        // the loader is unharmed
        try (Model m = Model.load(MemorySegment.ofArray(real), ModelParams.defaults().withVocabOnly(true))) {
            assertEquals(512, m.tokenizer().vocabularySize());
        }
    }

    private static void assertNotAModel(byte[] bytes, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment direct = arena.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, direct, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
            ModelLoadException e = assertThrows(ModelLoadException.class,
                    () -> Model.load(direct.asSlice(0, bytes.length), ModelParams.defaults()), what);
            assertInstanceOf(GgufFormatException.class, e.getCause(), what);
            assertEquals(List.of(), e.nativeLog(), what + ": llama.cpp was not called");
            ModelLoadException fromStream = assertThrows(ModelLoadException.class,
                    () -> Model.load(new ByteArrayInputStream(bytes), ModelParams.defaults()), what);
            assertInstanceOf(GgufFormatException.class, fromStream.getCause(), what);
        }
    }

    @Test
    void wellFormedGgufThatIsNotTheModelFailsTheLoadCleanly(@TempDir Path tmp) {
        // a tensor with its shape transposed: same byte size, but not what the model's layers are
        Path transposed = tmp.resolve("transposed.gguf");
        rewrite(TestEnv.stories(), transposed, (in, w) -> {
            for (TensorInfo t : in.tensors()) {
                long[] dims = t.dims();
                if (t.name().equals("blk.1.ffn_down.weight")) {
                    dims = new long[] {dims[1], dims[0]};
                }
                w.addTensorBytes(t.name(), t.type(), dims, in.tensorData(t));
            }
        });
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> loadMapped(transposed, ModelParams.defaults()));
        assertTrue(e.getMessage().contains("blk.1.ffn_down.weight"), e.getMessage());
        assertThrows(ModelLoadException.class, () -> Model.load(transposed), "the file load refuses it too");

        // a tensor the model needs is missing
        Path missing = tmp.resolve("missing.gguf");
        rewrite(TestEnv.stories(), missing, (in, w) -> {
            for (TensorInfo t : in.tensors()) {
                if (!t.name().equals("output_norm.weight")) {
                    w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t));
                }
            }
        });
        // llama.cpp makes the missing tensor itself when it builds a model from memory, then counts one too many
        ModelLoadException m = assertThrows(ModelLoadException.class, () -> loadMapped(missing, ModelParams.defaults()));
        assertTrue(m.nativeLog().stream().anyMatch(l -> l.contains("expected 47, got 48")), m.getMessage());

        // no architecture at all: llama.cpp itself refuses, with its log lines
        Path noArch = tmp.resolve("no-arch.gguf");
        rewrite(TestEnv.stories(), noArch, (in, w) -> in.tensors().forEach(t -> w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t))),
                "general.architecture");
        ModelLoadException n = assertThrows(ModelLoadException.class, () -> loadMapped(noArch, ModelParams.defaults()));
        assertTrue(!n.nativeLog().isEmpty(), n.getMessage());

        try (Model ok = loadMapped(TestEnv.stories(), ModelParams.defaults())) {
            assertArrayEquals(fileTokens, greedy(ok), "the loader is unharmed");
        }
    }

    @Test
    void whatLlamaCppsGgufApiCannotTakeIsRefusedInJava(@TempDir Path tmp) {
        Path nul = tmp.resolve("nul.gguf");
        rewrite(TestEnv.stories(), nul, (in, w) -> {
            w.putString("test.nul", "a\0b");
            in.tensors().forEach(t -> w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t)));
        });
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> loadMapped(nul, ModelParams.defaults()));
        assertTrue(e.getMessage().contains("'test.nul'") && e.getMessage().contains("NUL"), e.getMessage());
        assertEquals(List.of(), e.nativeLog());

        // a tensor name of 64 bytes: ggml would cut it (the GGUF writer refuses it, so the bytes are made by hand)
        String longName = "t".repeat(64);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(256).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put("GGUF".getBytes()).putInt(3).putLong(1).putLong(1);
        b.putLong(20).put("general.architecture".getBytes()).putInt(8).putLong(5).put("llama".getBytes());
        b.putLong(longName.length()).put(longName.getBytes()).putInt(1).putLong(8).putInt(0).putLong(0);
        b.position((b.position() + 31) / 32 * 32).put(new byte[32]);
        MemorySegment bytes = MemorySegment.ofArray(java.util.Arrays.copyOf(b.array(), b.position()));
        try (GgufFile f = GgufFile.read(bytes)) {
            assertEquals(longName, f.tensors().getFirst().name(), "well-formed GGUF");
        }
        ModelLoadException n = assertThrows(ModelLoadException.class, () -> Model.load(bytes, ModelParams.defaults()));
        assertTrue(n.getMessage().contains(longName), n.getMessage());
        assertEquals(List.of(), n.nativeLog());
    }

    @Test
    void everyMetadataTypeReachesLlamaCppAsFromAFile(@TempDir Path tmp) {
        Path all = tmp.resolve("all-types.gguf");
        rewrite(TestEnv.stories(), all, (in, w) -> {
            w.putUInt8("test.u8", 250).putInt8("test.i8", (byte) -7).putUInt16("test.u16", 65000)
                    .putInt16("test.i16", (short) -30000).putUInt32("test.u32", 4_000_000_000L).putInt32("test.i32", -2_000_000_000)
                    .putUInt64("test.u64", -2L).putInt64("test.i64", Long.MIN_VALUE).putFloat32("test.f32", 1.5f)
                    .putFloat64("test.f64", -2.25).putBool("test.bool", true).putString("test.str", "héllo 🦙");
            for (GgufValue.Type type : GgufValue.Type.values()) {
                if (type != GgufValue.Type.ARRAY && type != GgufValue.Type.STRING) {
                    w.putArray("test.arr." + type.name().toLowerCase(java.util.Locale.ROOT), new GgufValue.Array(type,
                            List.of(sample(type, 0), sample(type, 1), sample(type, 2))));
                }
            }
            w.putArray("test.arr.string", GgufValue.Array.ofStrings(List.of("a", "", "ünï")));
            w.putArray("test.arr.empty", GgufValue.Array.ofInt32());
            in.tensors().forEach(t -> w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t)));
        });
        try (Model file = Model.load(all); Model memory = loadMapped(all, ModelParams.defaults())) {
            Map<String, String> meta = memory.config().metadata();
            assertEquals(file.config().metadata(), meta);
            assertEquals("18446744073709551614", meta.get("test.u64"));
            assertEquals("héllo 🦙", meta.get("test.str"));
            assertEquals(file.config(), memory.config());
        }
    }

    @Test
    void metadataOverridesAndVocabOnlyApply() throws IOException {
        MemorySegment heap = MemorySegment.ofArray(Files.readAllBytes(TestEnv.stories()));
        try (Model m = Model.load(heap, ModelParams.defaults().withMetadataOverrides(Map.of("llama.context_length", 4096L)))) {
            assertEquals(4096, m.config().trainedContextLength());
        }
        try (Model file = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true));
             Model m = Model.load(heap, ModelParams.defaults().withVocabOnly(true))) {
            assertEquals(file.config(), m.config());
            assertArrayEquals(file.tokenizer().encode(PROMPT), m.tokenizer().encode(PROMPT));
            assertThrows(IllegalStateException.class, () -> m.newContext(ContextParams.defaults()));
        }
    }

    @Test
    void guessedFileTypeMatchesTheFileLoad(@TempDir Path tmp) {
        // quantized, then general.file_type removed: llama.cpp guesses the type from the tensors
        Path q8 = tmp.resolve("q8.gguf");
        Quantizer.quantize(TestEnv.stories(), q8, Quantizer.Type.Q8_0, 2);
        Path unstated = tmp.resolve("q8-no-file-type.gguf");
        rewrite(q8, unstated, (in, w) -> in.tensors().forEach(t -> w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t))),
                "general.file_type");
        for (Path p : List.of(q8, unstated)) {
            try (Model file = Model.load(p); Model memory = loadMapped(p, ModelParams.defaults())) {
                assertEquals(file.config(), memory.config(), p.toString());
                assertArrayEquals(greedy(file), greedy(memory), p.toString());
            }
        }
        try (Model stated = Model.load(q8); Model guessed = Model.load(unstated)) {
            assertTrue(stated.config().description().endsWith(" Q8_0"), stated.config().description());
            assertTrue(guessed.config().description().endsWith(" (guessed) Q8_0"), guessed.config().description());
        }
    }

    @Test
    void moeFixtureFromMemoryMatchesItsFileLoad(@TempDir Path tmp) {
        Path moe = tmp.resolve("stories260K-moe-4x2.gguf");
        MoeFixture.write(TestEnv.stories(), moe, 4, 2);
        try (Model file = Model.load(moe); Model memory = loadMapped(moe, ModelParams.defaults())) {
            assertEquals(file.config(), memory.config());
            assertEquals(4, memory.config().moe().orElseThrow().expertCount());
            assertArrayEquals(greedy(file), greedy(memory));
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static int[] greedy(Model m) {
        try (Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(2))) {
            Completion c = ctx.generate(PROMPT, 32, SamplerChain.greedy(), null);
            return c.tokens();
        }
    }

    private static Model loadMapped(Path file, ModelParams params) {
        try (Arena mapping = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return Model.load(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), mapping), params);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private interface Rewrite {
        void apply(GgufFile in, GgufWriter out);
    }

    /** Copies {@code in}'s metadata (less {@code dropKeys}) and lets {@code body} add keys and the tensors. */
    private static void rewrite(Path in, Path out, Rewrite body, String... dropKeys) {
        try (GgufFile f = GgufFile.open(in)) {
            GgufWriter w = new GgufWriter();
            List<String> drop = List.of(dropKeys);
            f.metadata().forEach((k, v) -> {
                if (!drop.contains(k)) {
                    w.put(k, v);
                }
            });
            body.apply(f, w);
            w.write(out);
        }
    }

    private static GgufValue sample(GgufValue.Type type, int i) {
        return switch (type) {
            case UINT8 -> new GgufValue.UInt8(255 - i);
            case INT8 -> new GgufValue.Int8((byte) (-128 + i));
            case UINT16 -> new GgufValue.UInt16(65535 - i);
            case INT16 -> new GgufValue.Int16((short) (-32768 + i));
            case UINT32 -> new GgufValue.UInt32(4_294_967_295L - i);
            case INT32 -> new GgufValue.Int32(Integer.MIN_VALUE + i);
            case UINT64 -> new GgufValue.UInt64(-1L - i);
            case INT64 -> new GgufValue.Int64(Long.MIN_VALUE + i);
            case FLOAT32 -> new GgufValue.Float32(0.25f * (i + 1));
            case FLOAT64 -> new GgufValue.Float64(-0.5 * (i + 1));
            case BOOL -> new GgufValue.Bool(i % 2 == 0);
            case STRING, ARRAY -> throw new IllegalArgumentException(type.name());
        };
    }

    private static void writeJar(Path jar, String name, byte[] data, boolean compressed) throws IOException {
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file)) {
            JarEntry e = new JarEntry(name);
            if (!compressed) {
                CRC32 crc = new CRC32();
                crc.update(data);
                e.setMethod(ZipEntry.STORED);
                e.setSize(data.length);
                e.setCompressedSize(data.length);
                e.setCrc(crc.getValue());
            }
            out.putNextEntry(e);
            out.write(data);
            out.closeEntry();
        }
    }
}
