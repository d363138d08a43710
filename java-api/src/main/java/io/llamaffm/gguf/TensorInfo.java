package io.llamaffm.gguf;

import java.util.Arrays;

/**
 * Where one tensor lies in a GGUF file and what it holds.
 *
 * @param name     the tensor's name, e.g. {@code blk.0.attn_q.weight}
 * @param type     its element type
 * @param dims     its shape in ggml order (fastest-varying dimension first), 1 to 4 dimensions, each &gt; 0
 * @param offset   where its data starts, in bytes from the start of the data section
 *                 ({@link GgufFile#dataOffset()}); a multiple of the file's alignment
 * @param byteSize bytes its data takes
 */
public record TensorInfo(String name, GgmlType type, long[] dims, long offset, long byteSize) {
    /** Copies {@code dims}; checks what a record of any source must satisfy. */
    public TensorInfo {
        if (name == null || type == null || dims == null) throw new NullPointerException("name, type and dims are required");
        dims = dims.clone();
        if (offset < 0 || byteSize < 0) {
            throw new IllegalArgumentException("offset and byteSize must be >= 0, got " + offset + " and " + byteSize);
        }
    }

    /** {@return a copy of the shape} */
    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** {@return the number of elements: the product of the dimensions} */
    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + type.hashCode()) * 31 + Arrays.hashCode(dims) + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return "TensorInfo[" + name + ", " + type + ", " + Arrays.toString(dims) + ", offset=" + offset
                + ", byteSize=" + byteSize + "]";
    }
}
