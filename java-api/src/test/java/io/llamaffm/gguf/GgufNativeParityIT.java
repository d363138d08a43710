package io.llamaffm.gguf;

import io.llamaffm.internal.NativeLibraryLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pure-Java type table, fp16 and bf16 conversions and Q8_0 quantizer against ggml's own functions in the loaded
 * natives (ggml_blck_size, ggml_type_size, ggml_type_name, ggml_fp32_to_fp16_row, ggml_fp32_to_bf16_row_ref,
 * quantize_row_q8_0_ref).
 */
class GgufNativeParityIT {
    private static MethodHandle blockSize;
    private static MethodHandle typeSize;
    private static MethodHandle typeName;
    private static MethodHandle fp32ToFp16Row;
    private static MethodHandle fp32ToBf16Row;
    private static MethodHandle quantizeQ8_0;

    @BeforeAll
    static void bind() {
        NativeLibraryLoader.ensureLoaded();
        Linker linker = Linker.nativeLinker();
        SymbolLookup ggml = SymbolLookup.loaderLookup();
        blockSize = linker.downcallHandle(ggml.findOrThrow("ggml_blck_size"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        typeSize = linker.downcallHandle(ggml.findOrThrow("ggml_type_size"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        typeName = linker.downcallHandle(ggml.findOrThrow("ggml_type_name"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        fp32ToFp16Row = linker.downcallHandle(ggml.findOrThrow("ggml_fp32_to_fp16_row"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        fp32ToBf16Row = linker.downcallHandle(ggml.findOrThrow("ggml_fp32_to_bf16_row_ref"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        quantizeQ8_0 = linker.downcallHandle(ggml.findOrThrow("quantize_row_q8_0_ref"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    }

    @Test
    void typeTableMatchesGgml() throws Throwable {
        int defined = 0;
        for (int id = 0; id < 43; id++) {
            long blck = (long) blockSize.invokeExact(id);
            long size = (long) typeSize.invokeExact(id);
            var type = GgmlType.byId(id);
            if (blck == 0) {
                assertTrue(type.isEmpty(), "ggml retired type id " + id);
                continue;
            }
            defined++;
            String missing = "no GgmlType for ggml id " + id;
            GgmlType t = type.orElseThrow(() -> new AssertionError(missing));
            assertEquals(blck, t.blockSize(), t + " block size");
            assertEquals(size, t.bytesPerBlock(), t + " bytes per block");
            String name = ((MemorySegment) typeName.invokeExact(id)).reinterpret(64).getString(0);
            assertEquals(name, t.ggmlName());
        }
        assertEquals(GgmlType.values().length, defined);
    }

    @Test
    void fp16ConversionMatchesGgml() throws Throwable {
        assertConversionMatchesGgml(fp32ToFp16Row, TensorCodec::toF16, "fp16");
    }

    @Test
    void bf16ConversionMatchesGgml() throws Throwable {
        assertConversionMatchesGgml(fp32ToBf16Row, TensorCodec::toBF16, "bf16");
    }

    private interface HalfConversion {
        short convert(float f);
    }

    /** {@code row} (a ggml fp32 → 16-bit row conversion) and {@code ours} agree on 4 Mi float bit patterns. */
    private static void assertConversionMatchesGgml(MethodHandle row, HalfConversion ours, String what) throws Throwable {
        int n = 1 << 20;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(ValueLayout.JAVA_FLOAT, n);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_SHORT, n);
            // bit patterns spread over all 2^32 (stride 4093, both signs, NaNs and infinities included) ...
            for (long chunk = 0; chunk < 4; chunk++) {
                for (int i = 0; i < n; i++) {
                    long bits = (chunk * n + i) * 4093L;
                    in.setAtIndex(ValueLayout.JAVA_INT, i, (int) bits);
                }
                if (chunk == 0) { // ... and the edge cases first (fp16 overflow/subnormal/ties, bf16 ties and overflow)
                    int[] edges = {0, 0x8000_0000, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0x7f80_0001, 0x477f_f000,
                            0x477f_efff, 0x3380_0000, 0x3380_0001, 0x33c0_0000, 0x3f80_1000, 0x3f80_3000, 0x3877_fff0,
                            0x3f80_8000, 0x3f81_8000, 0x3f80_8001, 0x3f80_7fff, 0x7f7f_ffff, 0xff7f_8000, 0xffc0_0001,
                            0x7fa0_0000, 0x0000_8000, 0x8001_8000};
                    for (int i = 0; i < edges.length; i++) in.setAtIndex(ValueLayout.JAVA_INT, i, edges[i]);
                }
                row.invokeExact(in, out, (long) n);
                for (int i = 0; i < n; i++) {
                    float f = in.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    short expected = out.getAtIndex(ValueLayout.JAVA_SHORT, i);
                    if (expected != ours.convert(f)) {
                        assertEquals(Integer.toHexString(expected & 0xffff), Integer.toHexString(ours.convert(f) & 0xffff),
                                what + " of float bits " + Integer.toHexString(Float.floatToRawIntBits(f)));
                    }
                }
            }
        }
    }

    @Test
    void q8_0QuantizerMatchesGgmlByteForByte() throws Throwable {
        Random rnd = new Random(2024);
        int n = 32 * 4096;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            int block = i / 32;
            double scale = Math.pow(10, block % 12 - 7); // 1e-7 .. 1e4: subnormal and normal fp16 scales
            x[i] = switch (block % 4) {
                case 0 -> (float) (rnd.nextGaussian() * scale);
                case 1 -> (float) ((rnd.nextInt(255) - 127) * scale / 2);  // exact halves: rounding ties
                case 2 -> block % 8 == 2 ? 0f : (float) (rnd.nextDouble() * scale);
                default -> (float) ((rnd.nextInt(2001) - 1000) / 8.0);
            };
        }
        System.arraycopy(GgufWriterTest.q8Vector(), 0, x, 0, 128);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment out = arena.allocate((long) n / 32 * 34);
            quantizeQ8_0.invokeExact(in, out, (long) n);
            byte[] expected = out.toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(expected, TensorCodec.encode(x, GgmlType.Q8_0));
            byte[] fixed = new byte[4 * 34];
            System.arraycopy(expected, 0, fixed, 0, fixed.length);
            assertArrayEquals(GgufWriterTest.expectedGgmlQ8Bytes(), fixed, "the bytes GgufWriterTest pins");
        }
    }
}
