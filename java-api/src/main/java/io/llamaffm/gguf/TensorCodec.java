package io.llamaffm.gguf;

/**
 * Converts float data to the element types the writer produces, bit for bit as ggml does: F32 as is, F16 with
 * ggml's {@code GGML_FP32_TO_FP16} (round to nearest, ties to even; NaN becomes the quiet NaN 0x7e00 with its sign),
 * BF16 with ggml's {@code ggml_fp32_to_bf16_row_ref} (the upper 16 bits rounded to nearest, ties to even; NaN keeps
 * its sign and upper payload and is made quiet) and Q8_0 with ggml's {@code quantize_row_q8_0_ref}.
 */
final class TensorCodec {
    static final int Q8_0_BLOCK = 32;
    static final int Q8_0_BYTES = 34;

    private TensorCodec() {}

    /** The bytes of {@code values} as {@code type} (F32, F16, BF16 or Q8_0), little-endian. */
    static byte[] encode(float[] values, GgmlType type) {
        return switch (type) {
            case F32 -> f32(values);
            case F16 -> f16(values);
            case BF16 -> bf16(values);
            case Q8_0 -> q8_0(values);
            default -> throw new IllegalArgumentException("float data converts to F32, F16, BF16 or Q8_0, not " + type
                    + " (add already-encoded bytes with addTensorBytes)");
        };
    }

    /** One float as IEEE half precision, rounded as ggml rounds. */
    static short toF16(float f) {
        if (Float.isNaN(f)) {
            return (short) ((Float.floatToRawIntBits(f) >>> 16 & 0x8000) | 0x7e00);
        }
        return Float.floatToFloat16(f); // IEEE round to nearest, ties to even, like ggml
    }

    /**
     * One float as bfloat16 (its upper 16 bits), rounded as ggml rounds: to nearest, ties to even, by adding 0x7fff
     * plus the lowest kept bit before truncating (so values near the top of the range round to infinity); a NaN keeps
     * its sign and upper payload bits with the quiet bit (0x40) set.
     */
    static short toBF16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fff_ffff) > 0x7f80_0000) {
            return (short) ((u >>> 16) | 0x40);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /**
     * C's {@code roundf}: to the nearest integer, halfway cases away from zero ({@link Math#round} rounds them up).
     * Computed in double, where {@code |v| + 0.5} is exact for every float below 2^29 and floats above 2^23 are
     * already integers.
     */
    static float roundHalfAwayFromZero(float v) {
        return (float) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    private static byte[] f32(float[] values) {
        byte[] out = new byte[Math.multiplyExact(values.length, 4)];
        for (int i = 0; i < values.length; i++) {
            putInt(out, i * 4, Float.floatToRawIntBits(values[i]));
        }
        return out;
    }

    private static byte[] f16(float[] values) {
        byte[] out = new byte[Math.multiplyExact(values.length, 2)];
        for (int i = 0; i < values.length; i++) {
            putShort(out, i * 2, toF16(values[i]));
        }
        return out;
    }

    private static byte[] bf16(float[] values) {
        byte[] out = new byte[Math.multiplyExact(values.length, 2)];
        for (int i = 0; i < values.length; i++) {
            putShort(out, i * 2, toBF16(values[i]));
        }
        return out;
    }

    /**
     * ggml's quantize_row_q8_0_ref: per block of 32, d = amax / 127 (stored as fp16), q = roundf(x * (1 / d)).
     * Refuses NaN and infinities, which would spoil their whole block (ggml leaves the result undefined).
     */
    private static byte[] q8_0(float[] values) {
        if (values.length % Q8_0_BLOCK != 0) {
            throw new IllegalArgumentException("Q8_0 needs a multiple of 32 values, got " + values.length);
        }
        int blocks = values.length / Q8_0_BLOCK;
        byte[] out = new byte[Math.multiplyExact(blocks, Q8_0_BYTES)];
        for (int b = 0; b < blocks; b++) {
            int first = b * Q8_0_BLOCK;
            float amax = 0f;
            for (int j = 0; j < Q8_0_BLOCK; j++) {
                if (!Float.isFinite(values[first + j])) {
                    throw new IllegalArgumentException("Q8_0 cannot hold " + values[first + j] + " (value " + (first + j) + ")");
                }
                float a = Math.abs(values[first + j]);
                amax = amax > a ? amax : a; // ggml's MAX macro, same operand order
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            int at = b * Q8_0_BYTES;
            putShort(out, at, toF16(d));
            for (int j = 0; j < Q8_0_BLOCK; j++) {
                out[at + 2 + j] = (byte) (int) roundHalfAwayFromZero(values[first + j] * id);
            }
        }
        return out;
    }

    private static void putShort(byte[] b, int at, short v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >> 8);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >> 8);
        b[at + 2] = (byte) (v >> 16);
        b[at + 3] = (byte) (v >> 24);
    }
}
