package io.llamaffm;

import io.llamaffm.bindings.LlamaH;

/** Element type of the KV cache: smaller types fit longer contexts at some cost in accuracy. */
public enum CacheType {
    /** 32-bit floats: 4 bytes per value. */
    F32(4, 1),
    /** 16-bit floats (llama.cpp's default): 2 bytes per value. */
    F16(2, 1),
    /** bfloat16: 2 bytes per value. */
    BF16(2, 1),
    /** 8-bit blocks of 32 with a scale: 34 bytes per 32 values; needs flash attention. */
    Q8_0(34, 32),
    /** 4-bit blocks of 32 with a scale: 18 bytes per 32 values; needs flash attention. */
    Q4_0(18, 32),
    /** 4-bit blocks of 32 with a scale and a minimum: 20 bytes per 32 values; needs flash attention. */
    Q4_1(20, 32),
    /** 5-bit blocks of 32 with a scale: 22 bytes per 32 values; needs flash attention. */
    Q5_0(22, 32),
    /** 5-bit blocks of 32 with a scale and a minimum: 24 bytes per 32 values; needs flash attention. */
    Q5_1(24, 32);

    private final int blockBytes;
    private final int blockValues;

    CacheType(int blockBytes, int blockValues) {
        this.blockBytes = blockBytes;
        this.blockValues = blockValues;
    }

    /** {@return the average bytes per cached value (e.g. 2 for F16, 34/32 for Q8_0)} */
    public double bytesPerValue() {
        return blockBytes / (double) blockValues;
    }

    /**
     * The exact bytes for a number of values.
     *
     * @param values how many values (a multiple of the block size for quantized types)
     * @return their size in bytes
     */
    public long bytes(long values) {
        return Math.multiplyExact(Math.ceilDiv(values, blockValues), (long) blockBytes);
    }

    int ggmlType() {
        return switch (this) {
            case F32 -> LlamaH.GGML_TYPE_F32();
            case F16 -> LlamaH.GGML_TYPE_F16();
            case BF16 -> LlamaH.GGML_TYPE_BF16();
            case Q8_0 -> LlamaH.GGML_TYPE_Q8_0();
            case Q4_0 -> LlamaH.GGML_TYPE_Q4_0();
            case Q4_1 -> LlamaH.GGML_TYPE_Q4_1();
            case Q5_0 -> LlamaH.GGML_TYPE_Q5_0();
            case Q5_1 -> LlamaH.GGML_TYPE_Q5_1();
        };
    }
}
