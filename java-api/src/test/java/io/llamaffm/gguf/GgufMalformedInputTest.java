package io.llamaffm.gguf;

import io.llamaffm.TestEnv;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Malformed GGUF: every defect gives a {@link GgufFormatException} naming the byte offset of the offending field,
 * never another exception, an OutOfMemoryError or a giant allocation.
 */
class GgufMalformedInputTest {

    // ---- truncations and bit flips of stories260K --------------------------------------------------------------

    @Test
    void everyTruncationOfStoriesIsRefused() throws IOException {
        byte[] bytes = Files.readAllBytes(TestEnv.stories());
        MemorySegment whole = MemorySegment.ofArray(bytes);
        long dataOffset;
        try (GgufFile f = GgufFile.read(whole)) {
            dataOffset = f.dataOffset();
        }
        // every length up to 1 KiB, every 7th through the rest of the header, every 997th through the data,
        // and each length around the end of the header
        java.util.TreeSet<Long> lengths = new java.util.TreeSet<>();
        for (long n = 0; n < bytes.length; n += n < 1024 ? 1 : n < dataOffset ? 7 : 997) lengths.add(n);
        for (long n = dataOffset - 40; n <= dataOffset + 40; n++) lengths.add(n);
        lengths.add(bytes.length - 1L);
        for (long n : lengths) {
            GgufFormatException e = expectFormatError(() -> GgufFile.read(whole.asSlice(0, n)), "truncated at " + n);
            assertTrue(e.offset() >= 0 && e.offset() <= n, "offset " + e.offset() + " for truncation at " + n);
        }
        assertTrue(lengths.size() > 3000, lengths.size() + " truncations");
    }

    @Test
    void bitFlipsInTheHeaderGiveAFormatErrorOrAValidFile() throws IOException {
        byte[] bytes = Files.readAllBytes(TestEnv.stories());
        long dataOffset;
        try (GgufFile f = GgufFile.read(MemorySegment.ofArray(bytes))) {
            dataOffset = f.dataOffset();
        }
        int tensorInfos = (int) find(bytes, lengthPrefixed("token_embd.weight"));
        int refused = 0;
        // one bit of every third byte of the metadata (mostly token text), one bit of every byte of the tensor infos
        for (int p = 0; p < dataOffset; p += p < tensorInfos ? 3 : 1) {
            for (int bit = p % 8; bit < 8; bit += 8) {
                bytes[p] ^= (byte) (1 << bit);
                try (GgufFile ignored = GgufFile.read(MemorySegment.ofArray(bytes))) {
                    // a flip inside text or a float can leave a valid file
                } catch (GgufFormatException e) {
                    refused++;
                } catch (Throwable t) {
                    fail("flipping bit " + bit + " of byte " + p + " gave " + t, t);
                } finally {
                    bytes[p] ^= (byte) (1 << bit);
                }
            }
        }
        assertTrue(refused > 2_000, refused + " flips refused");
    }

    @Test
    void flipsOfStoriesCountsLengthsTypesAndOffsetsAreRefusedAtTheirOffset() throws IOException {
        byte[] original = Files.readAllBytes(TestEnv.stories());
        // header: magic 0, version 4, tensor count 8, kv count 16, then key 'tokenizer.ggml.tokens' at 24
        expectAt(original, 8, b -> flipBit(b, 8, 62), "tensor count 4611686018427387952 cannot fit");
        expectAt(original, 8, b -> putLong(b, 8, 1L << 40), "tensor count 1099511627776 cannot fit");
        expectAt(original, 16, b -> flipBit(b, 16, 40), "metadata key-value count 1099511627795 cannot fit");
        expectAt(original, 24, b -> flipBit(b, 24, 62), "key length 4611686018427387925 of key-value pair 0 exceeds");
        expectAt(original, 53, b -> flipBit(b, 53, 20), "unknown value type 1048585");
        expectAt(original, 57, b -> flipBit(b, 57, 4), "unknown array element type 24");
        expectAt(original, 61, b -> flipBit(b, 61, 40), "array length 1099511628288 of key 'tokenizer.ggml.tokens' cannot fit");
        expectAt(original, 69, b -> putLong(b, 69, 1L << 62), "string value length 4611686018427387904 of key 'tokenizer.ggml.tokens' exceeds");

        Fields embd = fields(original, "token_embd.weight");
        expectAt(original, embd.ndims(), b -> putInt(b, embd.ndims(), 5), "has 5 dimensions, must have 1 to 4");
        expectAt(original, embd.ndims(), b -> putInt(b, embd.ndims(), 0), "has 0 dimensions");
        expectAt(original, embd.dim(0), b -> putLong(b, embd.dim(0), 0), "dimension 0 of tensor 'token_embd.weight' is 0");
        expectAt(original, embd.dim(1), b -> flipBit(b, embd.dim(1), 63), "dimension 1 of tensor 'token_embd.weight' is -9223372036854775296");
        expectAt(original, embd.type(), b -> putInt(b, embd.type(), 4), "unknown ggml type id 4");
        expectAt(original, embd.type(), b -> flipBit(b, embd.type(), 30), "unknown ggml type id 1073741824");
        expectAt(original, embd.type(), b -> putInt(b, embd.type(), GgmlType.Q4_K.id()), "stores rows in blocks of 256, but its first dimension is 64");
        expectAt(original, embd.offset(), b -> flipBit(b, embd.offset(), 3), "data offset 8 of tensor 'token_embd.weight' is not a multiple of the alignment 32");
        expectAt(original, embd.offset(), b -> flipBit(b, embd.offset(), 50), "(131072 bytes at data offset 1125899906842624");

        Fields up = fields(original, "blk.0.ffn_up.weight");
        Fields down = fields(original, "blk.0.ffn_down.weight");
        long downOffset = ByteBuffer.wrap(original).order(ByteOrder.LITTLE_ENDIAN).getLong(down.offset());
        expectAt(original, up.offset(), b -> putLong(b, up.offset(), downOffset),
                "data of tensor 'blk.0.ffn_up.weight' (data offset 355840) overlaps tensor 'blk.0.ffn_down.weight'");
        expectAt(original, up.offset(), b -> putLong(b, up.offset(), downOffset + 44_032 - 32),
                "data of tensor 'blk.0.ffn_up.weight' (data offset 399840) overlaps tensor 'blk.0.ffn_down.weight'");
        Fields last = fields(original, "blk.4.ffn_norm.weight");
        expectAt(original, last.offset(), b -> flipBit(b, last.offset(), 5), "runs past the end of the file at byte 1185376");
        expectAt(original, 24 + 8 + 21 - 1, b -> b[24 + 8 + 21 - 1] = (byte) 0xff, "key of key-value pair 0 is not valid UTF-8");
    }

    // ---- crafted defects in a small file -----------------------------------------------------------------------

    @Test
    void magicAndVersion() {
        byte[] ok = small(32);
        expectAt(ok, 0, b -> b[0] = 'X', "magic is 58 47 55 46, expected \"GGUF\" (47 47 55 46): not a GGUF file");
        expectAt(ok, 4, b -> putInt(b, 4, 1), "version 1 is not supported; versions 2 and 3 are");
        expectAt(ok, 4, b -> putInt(b, 4, 4), "version 4 is not supported");
        expectAt(ok, 4, b -> putInt(b, 4, 0x0300_0000), "(a big-endian file? only little-endian GGUF is read)");
        byte[] v2 = ok.clone();
        putInt(v2, 4, 2);
        try (GgufFile f = GgufFile.read(MemorySegment.ofArray(v2))) {
            assertEquals(2, f.version(), "version 2 has the same layout");
        }
    }

    @Test
    void hugeCountsAndLengthsAreRefusedBeforeAllocating() {
        byte[] ok = small(32);
        expectAt(ok, 8, b -> putLong(b, 8, 1L << 40), "tensor count 1099511627776 cannot fit in the " + (ok.length - 16)
                + " bytes left (each takes at least 32)");
        expectAt(ok, 16, b -> putLong(b, 16, -1), "metadata key-value count 18446744073709551615 cannot fit");
        int name = valueAt(ok, "name");
        expectAt(ok, name + 4, b -> putLong(b, name + 4, 1L << 62), "string value length 4611686018427387904 of key 'name' exceeds");
        expectAt(ok, name + 4, b -> putLong(b, name + 4, Long.MIN_VALUE), "string value length 9223372036854775808 of key 'name' exceeds");
        int list = valueAt(ok, "list");
        expectAt(ok, list + 8, b -> putLong(b, list + 8, 1L << 62), "array length 4611686018427387904 of key 'list' cannot fit");
        expectAt(ok, list + 8, b -> putLong(b, list + 8, Integer.MAX_VALUE), "array length 2147483647 of key 'list' cannot fit");
        expectAt(ok, 24, b -> putLong(b, 24, 1L << 62), "key length 4611686018427387904");
    }

    @Test
    void metadataDefects() {
        byte[] ok = small(32);
        int name = valueAt(ok, "name");
        int abc = name + 4 + 8;
        expectAt(ok, abc + 1, b -> b[abc + 1] = (byte) 0xff, "string value of key 'name' is not valid UTF-8 (string at byte " + (name + 4) + ")");
        expectAt(ok, abc, b -> { b[abc] = (byte) 0xc0; b[abc + 1] = (byte) 0x80; }, "is not valid UTF-8"); // overlong NUL
        expectAt(ok, abc + 2, b -> b[abc + 2] = (byte) 0xe2, "is not valid UTF-8"); // cut-off 3-byte sequence
        expectAt(ok, abc, b -> { b[abc] = (byte) 0xed; b[abc + 1] = (byte) 0xa0; b[abc + 2] = (byte) 0x80; }, "is not valid UTF-8"); // surrogate
        expectAt(ok, name, b -> putInt(b, name, 13), "unknown value type 13 in key 'name' (GGUF defines 0 to 12)");
        int flag = valueAt(ok, "flag");
        expectAt(ok, flag + 4, b -> b[flag + 4] = 2, "bool value of key 'flag' is 2, must be 0 or 1");
        int list = valueAt(ok, "list");
        expectAt(ok, list + 20, b -> { putInt(b, list + 4, GgufValue.Type.BOOL.id()); putLong(b, list + 8, 5); b[list + 17] = 1; },
                "bool element 4 of key 'list' is 2, must be 0 or 1"); // elements 1 0 0 0 2 of the first two int32s
        expectAt(ok, list + 4, b -> putInt(b, list + 4, 9), "arrays of arrays are not supported");
        expectAt(ok, list + 4, b -> putInt(b, list + 4, 99), "unknown array element type 99");
        int k2 = keyAt(ok, "k2");
        expectAt(ok, k2, b -> b[k2 + 9] = '1', "duplicate key 'k1' (first at byte " + keyAt(ok, "k1") + ")");
        expectAt(ok, 24, b -> putLong(b, 24, 0), "key of key-value pair 0 is empty");
    }

    @Test
    void alignmentDefects() {
        byte[] ok = small(64);
        try (GgufFile f = GgufFile.read(MemorySegment.ofArray(ok))) {
            assertEquals(64, f.alignment());
        }
        int at = keyAt(ok, "general.alignment");
        int value = valueAt(ok, "general.alignment");
        expectAt(ok, at, b -> putInt(b, value + 4, 48), "'general.alignment' is 48, must be a power of two");
        expectAt(ok, at, b -> putInt(b, value + 4, 0), "'general.alignment' is 0, must be a power of two");
        expectAt(ok, at, b -> putInt(b, value, GgufValue.Type.INT32.id()), "'general.alignment' is INT32, must be UINT32");
    }

    @Test
    void tensorDefects() {
        byte[] ok = small(32);
        Fields a = fields(ok, "a");
        Fields b = fields(ok, "b");
        Fields mat = fields(ok, "mat");
        expectAt(ok, b.name(), x -> x[b.name() + 8] = 'a', "duplicate tensor name 'a' (first at byte " + a.name() + ")");
        expectAt(ok, b.offset(), x -> putLong(x, b.offset(), 0), "data of tensor 'b' (data offset 0) overlaps tensor 'a' (data offset 0, 32 bytes)");
        expectAt(ok, b.offset(), x -> putLong(x, b.offset(), 16), "data offset 16 of tensor 'b' is not a multiple of the alignment 32");
        expectAt(ok, b.offset(), x -> putLong(x, b.offset(), -32), "data offset 18446744073709551584 of tensor 'b' is not a multiple");
        expectAt(ok, b.offset(), x -> putLong(x, b.offset(), 1L << 20), "runs past the end of the file");
        expectAt(ok, a.type(), x -> putInt(x, a.type(), GgmlType.Q8_0.id()), "tensor 'a' is Q8_0, which stores rows in blocks of 32, but its first dimension is 8");
        expectAt(ok, a.type(), x -> putInt(x, a.type(), 43), "unknown ggml type id 43 for tensor 'a'");
        expectAt(ok, a.type(), x -> putInt(x, a.type(), -1), "unknown ggml type id 4294967295 for tensor 'a'");
        expectAt(ok, a.dim(0), x -> putLong(x, a.dim(0), -8), "dimension 0 of tensor 'a' is -8, must be > 0");
        expectAt(ok, mat.name(), x -> { putLong(x, mat.dim(0), 1L << 32); putLong(x, mat.dim(1), 1L << 31); },
                "tensor 'mat' has more than 2^63 elements: [4294967296, 2147483648]");
        expectAt(ok, mat.type(), x -> { putLong(x, mat.dim(0), 1L << 31); putLong(x, mat.dim(1), 1L << 31); },
                "tensor 'mat' of 4611686018427387904 F32 elements is larger than 2^63 bytes");
        expectAt(ok, mat.name(), x -> putLong(x, mat.name(), 1000), "tensor name length 1000 of tensor info 2 exceeds");
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** A valid file: alignment, a string, a bool, an int array, two int keys and three small F32 tensors. */
    static byte[] small(int alignment) {
        GgufWriter w = new GgufWriter()
                .alignment(alignment)
                .putString("name", "abc")
                .putBool("flag", true)
                .putArray("list", GgufValue.Array.ofInt32(1, 2, 3))
                .putInt32("k1", 7)
                .putInt32("k2", 8)
                .addTensor("a", GgmlType.F32, new long[] {8}, new float[8])
                .addTensor("b", GgmlType.F32, new long[] {8}, new float[8])
                .addTensor("mat", GgmlType.F32, new long[] {32, 1}, new float[32]);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        w.write(out);
        byte[] bytes = out.toByteArray();
        try (GgufFile f = GgufFile.read(MemorySegment.ofArray(bytes))) {
            assertEquals(3, f.tensors().size(), "the unpatched file is valid");
        }
        return bytes;
    }

    private static void expectAt(byte[] original, long offset, Consumer<byte[]> patch, String problemPart) {
        byte[] bytes = original.clone();
        patch.accept(bytes);
        GgufFormatException e = expectFormatError(() -> GgufFile.read(MemorySegment.ofArray(bytes)), problemPart);
        assertTrue(e.problem().contains(problemPart), "expected '" + problemPart + "' in: " + e.getMessage());
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.getMessage().contains("malformed GGUF at byte " + offset + ": "), e.getMessage());
    }

    private static GgufFormatException expectFormatError(Runnable r, String what) {
        try {
            r.run();
        } catch (GgufFormatException e) {
            return e;
        } catch (Throwable t) {
            fail(what + ": expected GgufFormatException, got " + t, t);
        }
        return fail(what + ": no exception");
    }

    /** Offsets of one tensor info's fields. */
    record Fields(int name, int ndims, int dimCount, int type, int offset) {
        int dim(int i) {
            return ndims + 4 + 8 * i;
        }
    }

    static Fields fields(byte[] b, String tensor) {
        int name = (int) find(b, lengthPrefixed(tensor));
        int ndims = name + 8 + tensor.getBytes(StandardCharsets.UTF_8).length;
        int n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(ndims);
        int type = ndims + 4 + 8 * n;
        return new Fields(name, ndims, n, type, type + 4);
    }

    /** Offset of the key-value pair whose key is {@code key}. */
    static int keyAt(byte[] b, String key) {
        return (int) find(b, lengthPrefixed(key));
    }

    /** Offset of the value type field of {@code key} (the value follows it). */
    static int valueAt(byte[] b, String key) {
        return keyAt(b, key) + 8 + key.getBytes(StandardCharsets.UTF_8).length;
    }

    static byte[] lengthPrefixed(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + utf8.length).order(ByteOrder.LITTLE_ENDIAN).putLong(utf8.length).put(utf8).array();
    }

    static long find(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        throw new AssertionError("not found: " + Arrays.toString(needle));
    }

    static void putLong(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }

    static void putInt(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
    }

    static void flipBit(byte[] b, int at, int bit) {
        b[at + bit / 8] ^= (byte) (1 << (bit % 8));
    }
}
