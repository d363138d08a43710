package io.llamaffm;

import io.llamaffm.bindings.LlamaH;

/** Element type of the KV cache: smaller types fit longer contexts at some cost in accuracy. */
public enum CacheType {
    F32(4, 1), F16(2, 1), BF16(2, 1), Q8_0(34, 32), Q4_0(18, 32), Q4_1(20, 32), Q5_0(22, 32), Q5_1(24, 32);

    private final int blockBytes;
    private final int blockValues;

    CacheType(int blockBytes, int blockValues) {
        this.blockBytes = blockBytes;
        this.blockValues = blockValues;
    }

    /** Average bytes per cached value (e.g. 2 for F16, 34/32 for Q8_0). */
    public double bytesPerValue() {
        return blockBytes / (double) blockValues;
    }

    /** Exact bytes for {@code values} values (a multiple of the block size for quantized types). */
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
