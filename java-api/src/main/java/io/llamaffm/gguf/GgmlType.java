package io.llamaffm.gguf;

import java.util.Optional;

/**
 * The tensor element types of ggml (the {@code ggml_type} enum of the pinned {@code ggml.h}), each with its numeric
 * id as stored in GGUF files, the number of elements in one block and the bytes one block takes.
 *
 * <p>Plain types ({@link #F32}, {@link #F16}, {@link #I8}, ...) have blocks of one element. Quantized types store
 * blocks of 32 to 256 elements. Ids that ggml retired (4, 5, 31 to 33, 36 to 38) have no constant here: a file that
 * uses them is refused.
 */
public enum GgmlType {
    /** 32-bit IEEE float. */
    F32(0, "f32", 1, 4),
    /** 16-bit IEEE float (half precision). */
    F16(1, "f16", 1, 2),
    /** 4-bit, 32 per block, one fp16 scale. */
    Q4_0(2, "q4_0", 32, 18),
    /** 4-bit, 32 per block, fp16 scale and minimum. */
    Q4_1(3, "q4_1", 32, 20),
    /** 5-bit, 32 per block, one fp16 scale. */
    Q5_0(6, "q5_0", 32, 22),
    /** 5-bit, 32 per block, fp16 scale and minimum. */
    Q5_1(7, "q5_1", 32, 24),
    /** 8-bit, 32 per block, one fp16 scale. */
    Q8_0(8, "q8_0", 32, 34),
    /** 8-bit, 32 per block, fp16 scale and sum (used for intermediate results). */
    Q8_1(9, "q8_1", 32, 36),
    /** 2-bit k-quant, super-blocks of 256. */
    Q2_K(10, "q2_K", 256, 84),
    /** 3-bit k-quant, super-blocks of 256. */
    Q3_K(11, "q3_K", 256, 110),
    /** 4-bit k-quant, super-blocks of 256. */
    Q4_K(12, "q4_K", 256, 144),
    /** 5-bit k-quant, super-blocks of 256. */
    Q5_K(13, "q5_K", 256, 176),
    /** 6-bit k-quant, super-blocks of 256. */
    Q6_K(14, "q6_K", 256, 210),
    /** 8-bit k-quant, super-blocks of 256 (used for intermediate results). */
    Q8_K(15, "q8_K", 256, 292),
    /** i-quant, about 2.06 bits per weight. */
    IQ2_XXS(16, "iq2_xxs", 256, 66),
    /** i-quant, about 2.31 bits per weight. */
    IQ2_XS(17, "iq2_xs", 256, 74),
    /** i-quant, about 3.06 bits per weight. */
    IQ3_XXS(18, "iq3_xxs", 256, 98),
    /** i-quant, about 1.56 bits per weight. */
    IQ1_S(19, "iq1_s", 256, 50),
    /** i-quant, 4-bit non-linear, 32 per block. */
    IQ4_NL(20, "iq4_nl", 32, 18),
    /** i-quant, about 3.44 bits per weight. */
    IQ3_S(21, "iq3_s", 256, 110),
    /** i-quant, about 2.56 bits per weight. */
    IQ2_S(22, "iq2_s", 256, 82),
    /** i-quant, 4-bit non-linear, super-blocks of 256. */
    IQ4_XS(23, "iq4_xs", 256, 136),
    /** 8-bit signed integer. */
    I8(24, "i8", 1, 1),
    /** 16-bit signed integer. */
    I16(25, "i16", 1, 2),
    /** 32-bit signed integer. */
    I32(26, "i32", 1, 4),
    /** 64-bit signed integer. */
    I64(27, "i64", 1, 8),
    /** 64-bit IEEE float. */
    F64(28, "f64", 1, 8),
    /** i-quant, about 1.75 bits per weight. */
    IQ1_M(29, "iq1_m", 256, 56),
    /** bfloat16. */
    BF16(30, "bf16", 1, 2),
    /** ternary, about 1.69 bits per weight. */
    TQ1_0(34, "tq1_0", 256, 54),
    /** ternary, 2 bits per weight. */
    TQ2_0(35, "tq2_0", 256, 66),
    /** microscaling FP4, 32 per block, shared E8M0 scale. */
    MXFP4(39, "mxfp4", 32, 17),
    /** NVIDIA FP4, 64 per block (4 sub-blocks with E4M3 scales). */
    NVFP4(40, "nvfp4", 64, 36),
    /** 1-bit, 128 per block. */
    Q1_0(41, "q1_0", 128, 18),
    /** 2-bit, 64 per block. */
    Q2_0(42, "q2_0", 64, 18);

    private static final GgmlType[] BY_ID = new GgmlType[43];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final String ggmlName;
    private final int blockSize;
    private final int bytesPerBlock;

    GgmlType(int id, String ggmlName, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.ggmlName = ggmlName;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** {@return the numeric id stored in GGUF tensor infos ({@code enum ggml_type})} */
    public int id() {
        return id;
    }

    /** {@return the name ggml prints for this type ({@code ggml_type_name}), e.g. {@code "q8_0"}} */
    public String ggmlName() {
        return ggmlName;
    }

    /** {@return the elements per block ({@code ggml_blck_size}); 1 for plain types} */
    public int blockSize() {
        return blockSize;
    }

    /** {@return the bytes per block ({@code ggml_type_size})} */
    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    /** {@return whether elements are stored in blocks of more than one (a quantized type)} */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * Bytes that {@code elements} elements of this type take.
     *
     * @param elements the element count
     * @return their size in bytes
     * @throws IllegalArgumentException if {@code elements} is negative or not a multiple of {@link #blockSize()}
     * @throws ArithmeticException      if the size does not fit a {@code long}
     */
    public long byteSize(long elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("element count must be >= 0, got " + elements);
        }
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(this + " stores blocks of " + blockSize + " elements; "
                    + elements + " is not a multiple of " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) bytesPerBlock);
    }

    /**
     * The type with a numeric id.
     *
     * @param id the id stored in a GGUF tensor info
     * @return the type, or empty for an id ggml does not define (or retired)
     */
    public static Optional<GgmlType> byId(int id) {
        return id >= 0 && id < BY_ID.length ? Optional.ofNullable(BY_ID[id]) : Optional.empty();
    }
}
