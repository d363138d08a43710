package io.llamaffm.convert;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One ONNX tensor (an initializer or a Constant node's value): name, shape (ONNX order, slowest-varying first),
 * element type and data, either the raw little-endian bytes (a view into the mapped file) or typed values.
 */
record OnnxTensor(String name, long[] dims, int dataType, MemorySegment raw, float[] floatData, long[] longData) {
    static final int FLOAT = 1;
    static final int INT32 = 6;
    static final int INT64 = 7;
    static final int FLOAT16 = 10;
    static final int DOUBLE = 11;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Number of elements (product of the dimensions; 1 for a scalar). */
    long elementCount() {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    /** The values as floats (FLOAT, FLOAT16, DOUBLE, INT32 and INT64 tensors). */
    float[] toFloats() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) throw new OnnxFormatException("tensor '" + name + "' is too large: " + n + " elements");
        int count = (int) n;
        if (floatData != null) return floatData.clone();
        if (longData != null) {
            float[] out = new float[count];
            for (int i = 0; i < count; i++) out[i] = longData[i];
            return out;
        }
        if (raw == null) throw new OnnxFormatException("tensor '" + name + "' has no data the converter can read");
        float[] out = new float[count];
        switch (dataType) {
            case FLOAT -> MemorySegment.copy(raw, F32, 0, out, 0, count);
            case FLOAT16 -> { for (int i = 0; i < count; i++) out[i] = Float.float16ToFloat(raw.getAtIndex(I16, i)); }
            case DOUBLE -> { for (int i = 0; i < count; i++) out[i] = (float) raw.getAtIndex(F64, i); }
            case INT32 -> { for (int i = 0; i < count; i++) out[i] = raw.getAtIndex(I32, i); }
            case INT64 -> { for (int i = 0; i < count; i++) out[i] = raw.getAtIndex(I64, i); }
            default -> throw new OnnxFormatException("tensor '" + name + "' has element type " + dataType
                    + ", which does not convert to float");
        }
        return out;
    }

    /** The values as longs (INT64 and INT32 tensors: shapes, axes). */
    long[] toLongs() {
        if (longData != null) return longData.clone();
        if (raw == null) throw new OnnxFormatException("tensor '" + name + "' has no data the converter can read");
        int count = Math.toIntExact(elementCount());
        long[] out = new long[count];
        switch (dataType) {
            case INT64 -> MemorySegment.copy(raw, I64, 0, out, 0, count);
            case INT32 -> { for (int i = 0; i < count; i++) out[i] = raw.getAtIndex(I32, i); }
            default -> throw new OnnxFormatException("tensor '" + name + "' has element type " + dataType
                    + ", not an integer type");
        }
        return out;
    }

    /** Bytes one element of an ONNX data type takes, or -1 for types the converter does not read. */
    static int elementBytes(int dataType) {
        return switch (dataType) {
            case FLOAT, INT32 -> 4;
            case INT64, DOUBLE -> 8;
            case FLOAT16, 4, 5, 16 -> 2; // FLOAT16, UINT16, INT16, BFLOAT16
            case 2, 3, 9 -> 1; // UINT8, INT8, BOOL
            case 12 -> 4; // UINT32
            case 13 -> 8; // UINT64
            default -> -1;
        };
    }

    @Override
    public String toString() {
        return name + Arrays.toString(dims) + " type " + dataType;
    }
}
