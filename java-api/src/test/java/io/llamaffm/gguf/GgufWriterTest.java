package io.llamaffm.gguf;

import io.llamaffm.TestEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writing GGUF: exact bytes, every metadata type, F32/F16/BF16/Q8_0 tensors as ggml encodes them, alignment, refusals. */
class GgufWriterTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * 128 values (4 blocks) and the Q8_0 bytes ggml's quantize_row_q8_0_ref produced for them (pinned build,
     * printed by a C program calling it): block 0 has amax 127 so d = 1 and the halves show roundf's
     * away-from-zero ties; block 2 is all zero; block 3's scale is an fp16 subnormal.
     */
    static float[] q8Vector() {
        float[] x = new float[128];
        float[] head = {127f, -2.5f, 2.5f, 0.5f, -0.5f, 1.5f, -1.5f, 126.5f, -126.5f, 0f, 3.49f, -3.51f, 100.25f,
                -0.49999997f, 0.49999997f, 64.5f};
        System.arraycopy(head, 0, x, 0, head.length);
        for (int j = 16; j < 32; j++) x[j] = (j - 24) * 7.75f;
        for (int j = 0; j < 32; j++) x[32 + j] = (j - 13) * 0.0123f;
        for (int j = 0; j < 32; j++) x[96 + j] = (j - 16) * 1e-6f;
        return x;
    }

    static final int[][] Q8_GGML_BYTES = {
            {0, 60, 127, -3, 3, 1, -1, 2, -2, 127, -127, 0, 3, -4, 100, 0, 0, 65, -62, -54, -47, -39, -31, -23, -16, -8, 0, 8, 16, 23, 31, 39, 47, 54},
            {36, 23, -92, -85, -78, -71, -64, -56, -49, -42, -35, -28, -21, -14, -7, 0, 7, 14, 21, 28, 35, 42, 49, 56, 64, 71, 78, 85, 92, 99, 106, 113, 120, 127},
            {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
            {2, 0, -127, -119, -111, -103, -95, -87, -79, -71, -63, -56, -48, -40, -32, -24, -16, -8, 0, 8, 16, 24, 32, 40, 48, 56, 63, 71, 79, 87, 95, 103, 111, 119}};

    @Test
    void tinyFileHasExactlyTheGgufV3Layout() {
        byte[] actual = bytes(new GgufWriter()
                .putString("a", "b")
                .addTensor("t", GgmlType.F32, new long[] {2}, new float[] {1f, -2f}));
        ByteBuffer e = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);
        e.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(1).putLong(1);   // header
        e.putLong(1).put((byte) 'a').putInt(8).putLong(1).put((byte) 'b');                   // "a" = STRING "b"
        e.putLong(1).put((byte) 't').putInt(1).putLong(2).putInt(0).putLong(0);              // t: 1 dim [2], F32, offset 0
        e.position(96);                                                                       // padding to 32
        e.putFloat(1f).putFloat(-2f);                                                         // data, then padding to 128
        assertArrayEquals(e.array(), actual);
    }

    @Test
    void copyingStoriesThroughReaderAndWriterGivesTheSameBytes(@TempDir Path tmp) throws IOException {
        Path copy = tmp.resolve("copy.gguf");
        try (GgufFile f = GgufFile.open(TestEnv.stories())) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach(w::put);
            f.tensors().forEach(t -> w.addTensorBytes(t.name(), t.type(), t.dims(), f.tensorData(t)));
            w.write(copy);
        }
        assertEquals(-1, Files.mismatch(TestEnv.stories(), copy));
    }

    @Test
    void everyMetadataTypeRoundTripsExactlyAndInOrder(@TempDir Path tmp) throws IOException {
        var bools = new GgufValue.Array(GgufValue.Type.BOOL, List.of(new GgufValue.Bool(true), new GgufValue.Bool(false)));
        var bytes = new GgufValue.Array(GgufValue.Type.UINT8, List.of(new GgufValue.UInt8(0), new GgufValue.UInt8(200)));
        var i16s = new GgufValue.Array(GgufValue.Type.INT16, List.of(new GgufValue.Int16((short) -3)));
        var f64s = new GgufValue.Array(GgufValue.Type.FLOAT64, List.of(new GgufValue.Float64(1e300), new GgufValue.Float64(-0.0)));
        var u64s = new GgufValue.Array(GgufValue.Type.UINT64, List.of(new GgufValue.UInt64(Long.MIN_VALUE)));
        GgufWriter w = new GgufWriter()
                .putUInt8("u8", 255)
                .putInt8("i8", Byte.MIN_VALUE)
                .putUInt16("u16", 65_535)
                .putInt16("i16", Short.MIN_VALUE)
                .putUInt32("u32", 0xFFFF_FFFFL)
                .putInt32("i32", Integer.MIN_VALUE)
                .putUInt64("u64", -1L)
                .putInt64("i64", Long.MIN_VALUE)
                .putFloat32("f32", -0f)
                .putFloat32("f32.nan", Float.NaN)
                .putFloat64("f64", Math.PI)
                .putBool("yes", true)
                .putBool("no", false)
                .putString("text", "h\u00e9llo \u2713 \ud83d\ude00")
                .putString("empty", "")
                .putArray("strings", GgufValue.Array.ofStrings(List.of("<s>", "", "\u2581the")))
                .putArray("ints", GgufValue.Array.ofInt32(1, -2, Integer.MAX_VALUE))
                .putArray("floats", GgufValue.Array.ofFloat32(0.5f, Float.MIN_VALUE, Float.NEGATIVE_INFINITY))
                .putArray("none", new GgufValue.Array(GgufValue.Type.UINT64, List.of()))
                .putArray("bools", bools)
                .putArray("bytes", bytes)
                .putArray("i16s", i16s)
                .putArray("f64s", f64s)
                .putArray("u64s", u64s)
                .putInt32("replaced", 1)
                .putInt32("after", 2)
                .putString("replaced", "keeps its position");
        Path file = tmp.resolve("meta.gguf");
        w.write(file);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(3, f.version());
            assertEquals(List.of("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f32.nan", "f64", "yes", "no",
                    "text", "empty", "strings", "ints", "floats", "none", "bools", "bytes", "i16s", "f64s", "u64s",
                    "replaced", "after"), List.copyOf(f.metadata().keySet()));
            assertEquals(new GgufValue.UInt8(255), f.get("u8"));
            assertEquals(new GgufValue.Int8((byte) -128), f.get("i8"));
            assertEquals(new GgufValue.UInt16(65_535), f.get("u16"));
            assertEquals(new GgufValue.Int16((short) -32_768), f.get("i16"));
            assertEquals(new GgufValue.UInt32(4_294_967_295L), f.get("u32"));
            assertEquals(new GgufValue.Int32(Integer.MIN_VALUE), f.get("i32"));
            assertEquals(new GgufValue.UInt64(-1L), f.get("u64"));
            assertEquals("UInt64[value=18446744073709551615]", f.get("u64").toString());
            assertEquals(new GgufValue.Int64(Long.MIN_VALUE), f.get("i64"));
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(f.getFloat("f32")));
            assertTrue(Float.isNaN(f.getFloat("f32.nan")));
            assertEquals(Math.PI, f.getDouble("f64"));
            assertTrue(f.getBool("yes"));
            assertEquals(false, f.getBool("no"));
            assertEquals("h\u00e9llo \u2713 \ud83d\ude00", f.getString("text"));
            assertEquals("", f.getString("empty"));
            assertEquals(List.of("<s>", "", "\u2581the"), f.getArray("strings").strings());
            assertArrayEquals(new long[] {1, -2, Integer.MAX_VALUE}, f.getArray("ints").longs());
            assertArrayEquals(new float[] {0.5f, Float.MIN_VALUE, Float.NEGATIVE_INFINITY}, f.getArray("floats").floats());
            assertEquals(new GgufValue.Array(GgufValue.Type.UINT64, List.of()), f.get("none"));
            assertEquals("keeps its position", f.getString("replaced"));
            assertEquals(2, f.getInt("after"));
            assertEquals(bools, f.get("bools"));
            assertEquals(bytes, f.get("bytes"));
            assertEquals(i16s, f.get("i16s"));
            assertEquals(f64s, f.get("f64s"));
            assertEquals(u64s, f.get("u64s"));
            assertArrayEquals(new long[] {Long.MIN_VALUE}, f.getArray("u64s").longs());
            assertThrows(IllegalStateException.class, () -> f.getArray("bools").longs());
            assertThrows(IllegalStateException.class, () -> f.getArray("ints").strings());
            GgufFormatException tooBig = assertThrows(GgufFormatException.class, () -> f.getLong("u64"));
            assertEquals("value 18446744073709551615 of key 'u64' does not fit a long", tooBig.problem());
            assertEquals(-1L, f.getLong("i8") + 127);
            assertEquals(0, f.tensors().size());
            assertEquals(Files.size(file), f.dataOffset(), "no tensors: no padding after the header");
        }
    }

    @Test
    void f32F16AndQ8_0TensorsRoundTrip(@TempDir Path tmp) {
        Random rnd = new Random(42);
        float[] f32 = new float[3 * 64];
        for (int i = 0; i < f32.length; i++) f32[i] = (float) rnd.nextGaussian();
        f32[5] = Float.NaN;
        f32[6] = -0f;
        float[] f16 = {1f, 65_504f, 65_520f, -1e-8f, 1f + 0x1p-11f, 0x1p-25f, 3 * 0x1p-25f, Float.NaN, Float.intBitsToFloat(0xffc0_0000), 0.1f,
                Float.NEGATIVE_INFINITY, 2.5e-5f};
        float[] q8 = q8Vector();
        Path file = tmp.resolve("tensors.gguf");
        new GgufWriter()
                .addTensor("f32", GgmlType.F32, new long[] {64, 3}, f32)
                .addTensor("f16", GgmlType.F16, new long[] {4, 3}, f16)
                .addTensor("q8", GgmlType.Q8_0, new long[] {64, 2}, q8)
                .addTensorBytes("raw", GgmlType.I8, new long[] {3}, new byte[] {1, -2, 3})
                .write(file);
        try (GgufFile f = GgufFile.open(file)) {
            TensorInfo t32 = f.tensor("f32").orElseThrow();
            assertEquals(new TensorInfo("f32", GgmlType.F32, new long[] {64, 3}, 0, 768), t32);
            MemorySegment d32 = f.tensorData(t32);
            for (int i = 0; i < f32.length; i++) {
                assertEquals(Float.floatToRawIntBits(f32[i]), Float.floatToRawIntBits(d32.getAtIndex(F32, i)), "f32[" + i + "]");
            }

            TensorInfo t16 = f.tensor("f16").orElseThrow();
            assertEquals(new TensorInfo("f16", GgmlType.F16, new long[] {4, 3}, 768, 24), t16);
            short[] half = f.tensorData(t16).toArray(I16);
            assertArrayEquals(new short[] {0x3c00, 0x7bff, 0x7c00, (short) 0x8000, 0x3c00, 0x0000, 0x0002, 0x7e00,
                    (short) 0xfe00, 0x2e66, (short) 0xfc00, 0x01a3}, half, "ties to even; NaN as ggml writes it");

            TensorInfo tq = f.tensor("q8").orElseThrow();
            assertEquals(new TensorInfo("q8", GgmlType.Q8_0, new long[] {64, 2}, 800, 136), tq);
            byte[] q = f.tensorData(tq).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(expectedGgmlQ8Bytes(), q, "the bytes ggml's quantize_row_q8_0_ref writes");
            assertArrayEquals(referenceQ8_0(q8), q, "and those of a straightforward implementation");

            assertArrayEquals(new byte[] {1, -2, 3}, f.tensorData(f.tensor("raw").orElseThrow()).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(960, f.tensor("raw").orElseThrow().offset());
        }
    }

    @Test
    void q8_0MatchesAStraightforwardImplementationAndStaysWithinItsError() {
        Random rnd = new Random(7);
        for (float scale : new float[] {1e-3f, 0.02f, 1f, 37f, 3000f}) {
            float[] x = new float[32 * 64];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * scale;
            byte[] q = TensorCodec.encode(x, GgmlType.Q8_0);
            assertArrayEquals(referenceQ8_0(x), q, "scale " + scale);
            float[] back = dequantizeQ8_0(q);
            for (int b = 0; b < x.length / 32; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
                // half a step of d = amax/127, plus |q| <= 127 times the fp16 rounding error of d: at most 2^-11 d,
                // or half the fp16 subnormal spacing (2^-25) when d is below fp16's smallest normal 2^-14
                double d = amax / 127.0;
                double bound = (0.5 * d + 127 * Math.max(d * 0x1p-11, 0x1p-25)) * (1 + 1e-6);
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    assertTrue(Math.abs(x[i] - back[i]) <= bound, "x[" + i + "]=" + x[i] + " back " + back[i] + " bound " + bound);
                }
            }
        }
    }

    @Test
    void f16RoundsToNearestEvenLikeGgml() {
        // every 4099th bit pattern of the finite floats, both signs
        for (long bits = 0; bits <= 0xFFFF_FFFFL; bits += 4099) {
            float f = Float.intBitsToFloat((int) bits);
            if (Float.isNaN(f)) {
                assertEquals((short) ((bits >>> 16 & 0x8000) | 0x7e00), TensorCodec.toF16(f));
                continue;
            }
            short h = TensorCodec.toF16(f);
            double v = Float.float16ToFloat(h);
            double a = Math.abs((double) f);
            if (a >= 65_520) {
                assertTrue(Float.isInfinite(Float.float16ToFloat(h)), f + " overflows to infinity");
                continue;
            }
            assertEquals(f < 0 || Float.floatToRawIntBits(f) == 0x8000_0000, h < 0, "sign of " + f);
            int mag = h & 0x7fff;
            double here = Math.abs(Math.abs(v) - a);
            double below = mag == 0 ? Double.MAX_VALUE : Math.abs(Float.float16ToFloat((short) (mag - 1)) - a);
            double above = Math.abs(Float.float16ToFloat((short) (mag + 1)) - a);
            assertTrue(here <= below && here <= above, f + " -> " + Integer.toHexString(mag) + " is not the nearest");
            if (here == below || here == above) {
                assertEquals(0, mag & 1, f + " is a tie and must round to even");
            }
        }
    }

    @Test
    void bf16TensorsRoundTripWithGgmlsRounding(@TempDir Path tmp) {
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: to even (1); 1 + 3*2^-8 ties up to 1 + 2^-6 (even); just above a tie
        // rounds up; the largest float rounds to infinity (0x7fff added carries into the exponent); NaNs keep their
        // sign and upper payload and become quiet
        float[] values = {1f, 1f + 0x1p-8f, 1f + 3 * 0x1p-8f, Float.intBitsToFloat(0x3f80_8001), -2.5f, Float.MAX_VALUE,
                Float.intBitsToFloat(0x7f80_0001), Float.intBitsToFloat(0xffa0_0000), Float.NEGATIVE_INFINITY, -0f, 1e-40f, 0.1f};
        Path file = tmp.resolve("bf16.gguf");
        new GgufWriter().addTensor("b", GgmlType.BF16, new long[] {4, 3}, values).write(file);
        try (GgufFile f = GgufFile.open(file)) {
            TensorInfo t = f.tensor("b").orElseThrow();
            assertEquals(new TensorInfo("b", GgmlType.BF16, new long[] {4, 3}, 0, 24), t);
            assertArrayEquals(new short[] {0x3f80, 0x3f80, 0x3f82, 0x3f81, (short) 0xc020, 0x7f80, 0x7fc0, (short) 0xffe0,
                    (short) 0xff80, (short) 0x8000, 0x0001, 0x3dcd}, f.tensorData(t).toArray(I16));
        }
    }

    @Test
    void bf16IsTheNearestBfloat16TiesToEven() {
        for (long bits = 0; bits <= 0xFFFF_FFFFL; bits += 4099) {
            float f = Float.intBitsToFloat((int) bits);
            short h = TensorCodec.toBF16(f);
            float back = Float.intBitsToFloat(h << 16);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(back) && (h & 0x40) != 0, "quiet NaN for " + Long.toHexString(bits));
                continue;
            }
            assertEquals(bits >>> 31, (h >>> 15) & 1, "sign of " + f);
            double a = Math.abs((double) f);
            if (Float.isInfinite(back)) {
                assertTrue(a >= 0x1.fep127, f + " only overflows from halfway above the largest bfloat16");
                continue;
            }
            int mag = h & 0x7fff;
            double here = Math.abs(Math.abs((double) back) - a);
            double below = mag == 0 ? Double.MAX_VALUE : Math.abs(Float.intBitsToFloat((mag - 1) << 16) - a);
            double above = Math.abs(Float.intBitsToFloat((mag + 1) << 16) - a);
            assertTrue(here <= below && here <= above, f + " -> " + Integer.toHexString(mag) + " is not the nearest");
            if (here == below || here == above) {
                assertEquals(0, mag & 1, f + " is a tie and must round to even");
            }
        }
    }

    @Test
    void alignmentIsHonoured(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("aligned.gguf");
        new GgufWriter()
                .alignment(64)
                .putString("general.architecture", "test")
                .addTensor("a", GgmlType.F16, new long[] {3}, new float[] {1, 2, 3})
                .addTensor("b", GgmlType.Q8_0, new long[] {32}, new float[32])
                .addTensor("c", GgmlType.F32, new long[] {1}, new float[] {5})
                .write(file);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(64, f.alignment());
            assertEquals(64, f.getInt("general.alignment"));
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(List.of(0L, 64L, 128L), f.tensors().stream().map(TensorInfo::offset).toList());
            assertEquals(List.of(6L, 34L, 4L), f.tensors().stream().map(TensorInfo::byteSize).toList());
            assertEquals(f.dataOffset() + 192, Files.size(file), "the last tensor is padded too");
            assertEquals(5f, f.tensorData(f.tensors().get(2)).get(F32, 0));
        }
    }

    @Test
    void pathAndStreamGiveTheSameBytes(@TempDir Path tmp) throws IOException {
        GgufWriter w = new GgufWriter().putString("k", "v")
                .addTensor("big", GgmlType.F32, new long[] {40_000}, new float[40_000]); // more than the 64 KiB buffer
        Path file = tmp.resolve("a.gguf");
        w.write(file);
        assertArrayEquals(Files.readAllBytes(file), bytes(w));
        w.write(file); // replaces
        assertEquals(bytes(w).length, Files.size(file));
    }

    @Test
    void invalidTensorsAndMetadataAreRefused() {
        GgufWriter w = new GgufWriter().addTensor("a", GgmlType.F32, new long[] {2}, new float[2]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.F32, new long[] {2}, new float[2]), "duplicate");
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("x".repeat(64), GgmlType.F32, new long[] {1}, new float[1]), "too long");
        w.addTensor("x".repeat(63), GgmlType.F32, new long[] {1}, new float[1]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("", GgmlType.F32, new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("d0", GgmlType.F32, new long[] {}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("d5", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("zero", GgmlType.F32, new long[] {2, 0}, new float[0]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("count", GgmlType.F32, new long[] {2, 2}, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("row", GgmlType.Q8_0, new long[] {16, 2}, new float[32]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("q4", GgmlType.Q4_0, new long[] {32}, new float[32]));
        float[] nan = new float[32];
        nan[3] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.addTensor("nan", GgmlType.Q8_0, new long[] {32}, nan));
        assertEquals("Q8_0 cannot hold NaN (value 3)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> w.addTensorBytes("raw", GgmlType.Q8_0, new long[] {32}, new byte[33]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensorBytes("huge", GgmlType.F32, new long[] {1L << 32, 1L << 32}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensorBytes("huge", GgmlType.F64, new long[] {1L << 31, 1L << 31}, new byte[0]));

        assertThrows(IllegalArgumentException.class, () -> w.alignment(48));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(0));
        assertThrows(IllegalArgumentException.class, () -> w.putInt32("general.alignment", 32), "must be UINT32");
        assertThrows(IllegalArgumentException.class, () -> w.putString("", "x"));
        assertThrows(IllegalArgumentException.class, () -> w.putString("bad", "\ud800"), "unpaired surrogate");
        assertThrows(IllegalArgumentException.class, () -> w.putString("\udfff", "x"));
        assertThrows(IllegalArgumentException.class, () -> w.putArray("bad", GgufValue.Array.ofStrings(List.of("ok", "\ud800"))));
        assertThrows(IllegalArgumentException.class, () -> w.putUInt8("u8", 256));
        assertThrows(IllegalArgumentException.class, () -> w.putUInt32("u32", -1));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue.Array(GgufValue.Type.INT32, List.of(new GgufValue.Bool(true))));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue.Array(GgufValue.Type.ARRAY, List.of()));
    }

    @Test
    void ggmlTypeSizes() {
        assertEquals(43, GgmlType.values().length + 8, "43 ids, 8 of them retired");
        assertEquals(GgmlType.Q8_0, GgmlType.byId(8).orElseThrow());
        assertTrue(GgmlType.byId(4).isEmpty());
        assertTrue(GgmlType.byId(31).isEmpty());
        assertTrue(GgmlType.byId(43).isEmpty());
        assertTrue(GgmlType.byId(-1).isEmpty());
        assertEquals(4 * 6L, GgmlType.F32.byteSize(6));
        assertEquals(34 * 3L, GgmlType.Q8_0.byteSize(96));
        assertEquals(210L, GgmlType.Q6_K.byteSize(256));
        assertEquals(36L, GgmlType.NVFP4.byteSize(64));
        assertEquals(0L, GgmlType.Q4_K.byteSize(0));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q8_0.byteSize(33));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.F32.byteSize(-1));
        assertThrows(ArithmeticException.class, () -> GgmlType.F64.byteSize(Long.MAX_VALUE));
        assertEquals(Long.MAX_VALUE / 4 * 4, GgmlType.F32.byteSize(Long.MAX_VALUE / 4), "no overflow just below");
        assertThrows(ArithmeticException.class, () -> GgmlType.Q8_0.byteSize(Long.MAX_VALUE / 32 * 32));
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    static byte[] bytes(GgufWriter w) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        w.write(out);
        return out.toByteArray();
    }

    static byte[] expectedGgmlQ8Bytes() {
        byte[] out = new byte[Q8_GGML_BYTES.length * 34];
        for (int b = 0; b < Q8_GGML_BYTES.length; b++) {
            for (int i = 0; i < 34; i++) out[b * 34 + i] = (byte) Q8_GGML_BYTES[b][i];
        }
        return out;
    }

    /** Q8_0 written the plain way: BigDecimal HALF_UP rounding (ties away from zero, like C's roundf). */
    static byte[] referenceQ8_0(float[] x) {
        List<Byte> out = new ArrayList<>();
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            float d = amax / 127;
            float id = d == 0 ? 0 : 1 / d;
            short h = Float.floatToFloat16(d);
            out.add((byte) h);
            out.add((byte) (h >> 8));
            for (int j = 0; j < 32; j++) {
                float v = x[b * 32 + j] * id;
                out.add((byte) new BigDecimal(v).setScale(0, RoundingMode.HALF_UP).intValueExact());
            }
        }
        byte[] a = new byte[out.size()];
        for (int i = 0; i < a.length; i++) a[i] = out.get(i);
        return a;
    }

    static float[] dequantizeQ8_0(byte[] q) {
        float[] out = new float[q.length / 34 * 32];
        for (int b = 0; b < q.length / 34; b++) {
            float d = Float.float16ToFloat((short) ((q[b * 34] & 0xff) | (q[b * 34 + 1] << 8)));
            for (int j = 0; j < 32; j++) out[b * 32 + j] = q[b * 34 + 2 + j] * d;
        }
        return out;
    }
}
