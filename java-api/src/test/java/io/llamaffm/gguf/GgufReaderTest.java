package io.llamaffm.gguf;

import io.llamaffm.LlamaException;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading stories260K.gguf: header, metadata, typed getters, tensor infos and zero-copy tensor views. */
class GgufReaderTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void storiesHeaderAndModelFacts() {
        try (GgufFile f = GgufFile.open(TestEnv.stories())) {
            assertEquals(3, f.version());
            assertEquals(32, f.alignment());
            assertEquals(1_185_376, f.byteSize());
            assertEquals(19, f.metadata().size());
            assertEquals(List.of("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"),
                    f.metadata().keySet().stream().limit(3).toList(), "file order");
            assertEquals("llama", f.getString("general.architecture"));
            assertEquals("llama", f.getString("tokenizer.ggml.model"));
            assertEquals(5, f.getInt("llama.block_count"));
            assertEquals(64, f.getInt("llama.embedding_length"));
            assertEquals(172, f.getInt("llama.feed_forward_length"));
            assertEquals(8, f.getInt("llama.attention.head_count"));
            assertEquals(4, f.getInt("llama.attention.head_count_kv"));
            assertEquals(2048, f.getInt("llama.context_length"));
            assertEquals(8, f.getInt("llama.rope.dimension_count"));
            assertEquals(1e-5f, f.getFloat("llama.attention.layer_norm_rms_epsilon"));
            assertEquals(1, f.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(2, f.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(new GgufValue.UInt32(0), f.get("tokenizer.ggml.unknown_token_id"));

            GgufValue.Array tokens = f.getArray("tokenizer.ggml.tokens");
            assertEquals(GgufValue.Type.STRING, tokens.elementType());
            assertEquals(512, tokens.size());
            assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.strings().subList(0, 4));
            assertEquals("\u2581ha", tokens.strings().get(300));
            assertEquals(512, f.getArray("tokenizer.ggml.scores").floats().length);
            long[] types = f.getArray("tokenizer.ggml.token_type").longs();
            assertArrayEquals(new long[] {2, 3, 3, 6, 6}, java.util.Arrays.copyOf(types, 5));
        }
    }

    @Test
    void storiesTensors() {
        try (GgufFile f = GgufFile.open(TestEnv.stories())) {
            List<TensorInfo> tensors = f.tensors();
            assertEquals(48, tensors.size());
            assertTrue(tensors.stream().allMatch(t -> t.type() == GgmlType.F32), "all tensors F32");
            assertEquals(292_800, f.parameterCount(), "sum of element counts");
            assertEquals(14_176, f.dataOffset());
            assertEquals(new TensorInfo("token_embd.weight", GgmlType.F32, new long[] {64, 512}, 0, 131_072), tensors.get(0));
            assertEquals(new TensorInfo("output_norm.weight", GgmlType.F32, new long[] {64}, 131_072, 256), tensors.get(1));
            TensorInfo down = f.tensor("blk.4.ffn_down.weight").orElseThrow();
            assertArrayEquals(new long[] {172, 64}, down.dims());
            assertEquals(11_008, down.elementCount());
            assertEquals(1_097_056 - 14_176, down.offset());
            assertEquals(44_032, down.byteSize());
            assertTrue(f.tensor("blk.5.ffn_down.weight").isEmpty());
            long ffn = tensors.stream().filter(t -> t.name().contains(".ffn_") && !t.name().endsWith("norm.weight"))
                    .mapToLong(TensorInfo::elementCount).sum();
            assertEquals(5 * 3 * 64 * 172, ffn);

            MemorySegment norm = f.tensorData(tensors.get(1));
            assertEquals(256, norm.byteSize());
            assertTrue(norm.isReadOnly());
            assertEquals(Float.intBitsToFloat(0x401d54ef), norm.get(F32, 0));
            assertEquals(Float.intBitsToFloat(0x3faf046e), norm.get(F32, 4));
            assertEquals(Float.intBitsToFloat(0xbe96e950), f.tensorData(tensors.get(0)).get(F32, 0));
            assertThrows(IllegalArgumentException.class, () -> norm.set(F32, 0, 1f), "read-only");
            assertThrows(IllegalArgumentException.class, () -> f.tensorData(
                    new TensorInfo("output_norm.weight", GgmlType.F32, new long[] {64}, 0, 256)), "not this file's tensor");
        }
    }

    @Test
    void tensorViewsAreZeroCopySlicesOfTheCallersMemory() throws IOException {
        byte[] bytes = Files.readAllBytes(TestEnv.stories());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(bytes.length, 64);
            MemorySegment.copy(bytes, 0, mem, ValueLayout.JAVA_BYTE, 0, bytes.length);
            try (GgufFile f = GgufFile.read(mem)) {
                for (TensorInfo t : f.tensors()) {
                    MemorySegment view = f.tensorData(t);
                    assertEquals(mem.address() + f.dataOffset() + t.offset(), view.address(), t.name());
                    assertEquals(t.byteSize(), view.byteSize());
                }
                TensorInfo q = f.tensor("blk.0.attn_q.weight").orElseThrow();
                float before = f.tensorData(q).get(F32, 8);
                mem.set(F32, f.dataOffset() + q.offset() + 8, 42.5f);
                assertEquals(42.5f, f.tensorData(q).get(F32, 8), "a view, not a copy");
                assertNotEquals(42.5f, before);
            }
            assertEquals(bytes[0], mem.get(ValueLayout.JAVA_BYTE, 0), "closing the reader leaves the caller's memory alone");
        }
    }

    @Test
    void typedGettersConvertOnlyWhatFits() {
        try (GgufFile f = GgufFile.open(TestEnv.stories())) {
            // tokenizer.ggml.seperator_token_id is a UINT32 holding 0xFFFFFFFF (no separator)
            assertEquals(4_294_967_295L, f.getLong("tokenizer.ggml.seperator_token_id"));
            GgufFormatException tooBig = assertThrows(GgufFormatException.class,
                    () -> f.getInt("tokenizer.ggml.seperator_token_id"));
            assertTrue(tooBig.getMessage().contains("value 4294967295 of key 'tokenizer.ggml.seperator_token_id' does not fit an int"),
                    tooBig.getMessage());
            assertTrue(tooBig.offset() > 0, "names where the key is");

            GgufFormatException wrong = assertThrows(GgufFormatException.class, () -> f.getString("llama.block_count"));
            assertEquals("key 'llama.block_count' is UINT32, expected STRING", wrong.problem());
            assertThrows(GgufFormatException.class, () -> f.getFloat("llama.block_count"));
            assertThrows(GgufFormatException.class, () -> f.getBool("general.name"));
            assertThrows(GgufFormatException.class, () -> f.getArray("general.name"));
            assertThrows(GgufFormatException.class, () -> f.getLong("tokenizer.ggml.tokens"));
            assertEquals(1e-5f, (float) f.getDouble("llama.attention.layer_norm_rms_epsilon"));

            GgufFormatException absent = assertThrows(GgufFormatException.class, () -> f.getInt("llama.expert_count"));
            assertEquals(-1, absent.offset());
            assertEquals("no metadata key 'llama.expert_count'", absent.problem());
            assertTrue(f.findInt("llama.expert_count").isEmpty());
            assertTrue(f.findString("general.license").isEmpty());
            assertTrue(f.findBool("x").isEmpty());
            assertTrue(f.findFloat("x").isEmpty());
            assertTrue(f.findDouble("x").isEmpty());
            assertTrue(f.findLong("x").isEmpty());
            assertTrue(f.findArray("x").isEmpty());
            assertEquals(5, f.findInt("llama.block_count").orElseThrow());
            assertEquals("llama", f.findString("general.name").orElseThrow());
            assertThrows(UnsupportedOperationException.class, () -> f.metadata().put("x", new GgufValue.Bool(true)));
        }
    }

    @Test
    void closeIsIdempotentAndUnmaps() {
        GgufFile f = GgufFile.open(TestEnv.stories());
        MemorySegment view = f.tensorData(f.tensors().get(1));
        f.close();
        f.close();
        assertThrows(IllegalStateException.class, f::tensors);
        assertThrows(IllegalStateException.class, f::version);
        assertThrows(IllegalStateException.class, () -> f.getString("general.architecture"));
        assertThrows(IllegalStateException.class, () -> view.get(F32, 0), "the mapping is gone");
        assertTrue(f.toString().endsWith(", closed]"), f.toString());
    }

    @Test
    void unreadableFilesGiveLlamaExceptionAndEmptyFileAFormatError(@TempDir Path tmp) throws IOException {
        LlamaException missing = assertThrows(LlamaException.class, () -> GgufFile.open(tmp.resolve("nope.gguf")));
        assertFalse(missing instanceof GgufFormatException);
        assertInstanceOf(IOException.class, missing.getCause());
        assertThrows(LlamaException.class, () -> GgufFile.open(tmp));

        Path empty = Files.createFile(tmp.resolve("empty.gguf"));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(empty));
        assertEquals(0, e.offset());
        assertEquals(empty.toString() + ": malformed GGUF at byte 0: truncated: the magic of the header needs 4 bytes,"
                + " the file ends at byte 0", e.getMessage());
    }
}
