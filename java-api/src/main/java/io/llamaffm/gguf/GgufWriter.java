package io.llamaffm.gguf;

import io.llamaffm.LlamaException;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;

/**
 * Writes GGUF version 3 files: metadata of every GGUF type and tensors, either float data converted to F32, F16 or
 * Q8_0 exactly as ggml converts it, or bytes already in a ggml type.
 *
 * <pre>{@code
 * new GgufWriter()
 *         .putString("general.architecture", "llama")
 *         .putUInt32("llama.block_count", 5)
 *         .addTensor("output_norm.weight", GgmlType.F32, new long[] {64}, weights)
 *         .write(path);
 * }</pre>
 *
 * <p>Metadata is written in the order the keys were first put; putting a key again replaces its value in place.
 * Tensors are written in the order they were added, each at an offset aligned to {@code general.alignment}
 * (32 unless set with {@link #alignment(int)}), with the data section and every tensor padded to that alignment as
 * llama.cpp's own writer does. Not thread-safe: build and write from one thread.
 */
public final class GgufWriter {
    /** ggml's GGML_MAX_NAME: tensor names must be shorter (in UTF-8 bytes, leaving room for the terminator). */
    static final int MAX_TENSOR_NAME_BYTES = 63;

    private record Tensor(String name, GgmlType type, long[] dims, MemorySegment data) {}

    private final SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    /** An empty writer: no metadata, no tensors, alignment 32. */
    public GgufWriter() {}

    // ---- metadata ---------------------------------------------------------------------------------------------

    /**
     * Puts a metadata value (replacing an earlier value of the same key, which keeps its position).
     *
     * @param key   the metadata key, e.g. {@code general.architecture}
     * @param value the value, of any GGUF type
     * @return this writer
     * @throws IllegalArgumentException if the key is empty, a string is not encodable as UTF-8 (an unpaired
     *                                  surrogate), or {@code general.alignment} is not a UINT32 power of two
     */
    public GgufWriter put(String key, GgufValue value) {
        if (key == null || value == null) throw new NullPointerException("key and value are required");
        if (key.isEmpty()) throw new IllegalArgumentException("metadata keys must not be empty");
        utf8(key);
        checkStrings(key, value);
        if (key.equals(GgufParser.ALIGNMENT_KEY)) {
            checkAlignment(value);
        }
        metadata.put(key, value);
        return this;
    }

    /**
     * Puts a {@code uint8} (0 to 255).
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putUInt8(String key, int value) {
        return put(key, new GgufValue.UInt8(value));
    }

    /**
     * Puts an {@code int8}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putInt8(String key, byte value) {
        return put(key, new GgufValue.Int8(value));
    }

    /**
     * Puts a {@code uint16} (0 to 65535).
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putUInt16(String key, int value) {
        return put(key, new GgufValue.UInt16(value));
    }

    /**
     * Puts an {@code int16}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putInt16(String key, short value) {
        return put(key, new GgufValue.Int16(value));
    }

    /**
     * Puts a {@code uint32} (0 to 2^32-1).
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putUInt32(String key, long value) {
        return put(key, new GgufValue.UInt32(value));
    }

    /**
     * Puts an {@code int32}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putInt32(String key, int value) {
        return put(key, new GgufValue.Int32(value));
    }

    /**
     * Puts a {@code uint64}; {@code value} holds the 64 bits (negative values stand for 2^63 and above).
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putUInt64(String key, long value) {
        return put(key, new GgufValue.UInt64(value));
    }

    /**
     * Puts an {@code int64}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putInt64(String key, long value) {
        return put(key, new GgufValue.Int64(value));
    }

    /**
     * Puts a {@code float32}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putFloat32(String key, float value) {
        return put(key, new GgufValue.Float32(value));
    }

    /**
     * Puts a {@code float64}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putFloat64(String key, double value) {
        return put(key, new GgufValue.Float64(value));
    }

    /**
     * Puts a {@code bool}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putBool(String key, boolean value) {
        return put(key, new GgufValue.Bool(value));
    }

    /**
     * Puts a {@code string}.
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putString(String key, String value) {
        return put(key, new GgufValue.Str(value));
    }

    /**
     * Puts an {@code array} (see the factories of {@link GgufValue.Array}).
     *
     * @param key   the metadata key
     * @param value the value
     * @return this writer
     */
    public GgufWriter putArray(String key, GgufValue.Array value) {
        return put(key, value);
    }

    /**
     * Sets {@code general.alignment}, the alignment of tensor data in bytes (default 32).
     *
     * @param bytes the alignment, a power of two
     * @return this writer
     * @throws IllegalArgumentException if {@code bytes} is not a power of two
     */
    public GgufWriter alignment(int bytes) {
        return putUInt32(GgufParser.ALIGNMENT_KEY, bytes);
    }

    // ---- tensors ----------------------------------------------------------------------------------------------

    /**
     * Adds a tensor from float values, converted to {@code type}: {@link GgmlType#F32}, {@link GgmlType#F16}
     * (rounded to nearest even, as ggml does) or {@link GgmlType#Q8_0} (ggml's reference quantizer, bit for bit;
     * NaN and infinities are refused). The values are converted now, so later changes to the array do not matter.
     *
     * @param name   the tensor's name, unique in the file
     * @param type   the type it is stored as: F32, F16, BF16 or Q8_0
     * @param dims   shape in ggml order (fastest-varying first), 1 to 4 dimensions
     * @param values the elements, as many as the shape holds
     * @return this writer
     * @throws IllegalArgumentException if the name is taken or too long, the shape is invalid for the type, or
     *                                  {@code values} does not hold exactly the shape's element count
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, float[] values) {
        checkTensor(name, type, dims);
        long elements = elementCount(dims); // checked by checkTensor: no overflow
        if (values.length != elements) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + java.util.Arrays.toString(dims)
                    + " has " + elements + " elements, got " + values.length + " values");
        }
        return add(name, type, dims, MemorySegment.ofArray(TensorCodec.encode(values, type)));
    }

    /**
     * Adds a tensor from bytes already encoded as {@code type} (copied now).
     *
     * @param name the tensor's name, unique in the file
     * @param type the ggml type the bytes are encoded in
     * @param dims shape in ggml order (fastest-varying first), 1 to 4 dimensions
     * @param data the encoded bytes, exactly the shape's size in {@code type}
     * @return this writer
     * @throws IllegalArgumentException if the name is taken or too long, the shape is invalid for the type, or the
     *                                  byte count is not the shape's size in {@code type}
     */
    public GgufWriter addTensorBytes(String name, GgmlType type, long[] dims, byte[] data) {
        return addTensorBytes(name, type, dims, MemorySegment.ofArray(data.clone()));
    }

    /**
     * Adds a tensor from bytes already encoded as {@code type}, without copying them: {@code data} must stay
     * valid and unchanged until {@link #write} has returned (a view from {@link GgufFile#tensorData} of an open file
     * qualifies).
     *
     * @param name the tensor's name, unique in the file
     * @param type the ggml type the bytes are encoded in
     * @param dims shape in ggml order (fastest-varying first), 1 to 4 dimensions
     * @param data the encoded bytes, exactly the shape's size in {@code type}
     * @return this writer
     * @throws IllegalArgumentException if the name is taken or too long, the shape is invalid for the type, or the
     *                                  byte count is not the shape's size in {@code type}
     */
    public GgufWriter addTensorBytes(String name, GgmlType type, long[] dims, MemorySegment data) {
        long bytes = checkTensor(name, type, dims);
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + java.util.Arrays.toString(dims)
                    + " takes " + bytes + " bytes as " + type + ", got " + data.byteSize());
        }
        return add(name, type, dims, data);
    }

    private GgufWriter add(String name, GgmlType type, long[] dims, MemorySegment data) {
        tensors.add(new Tensor(name, type, dims.clone(), data));
        tensorNames.add(name);
        return this;
    }

    /** Validates name and shape; returns the tensor's size in bytes. */
    private long checkTensor(String name, GgmlType type, long[] dims) {
        if (name == null || type == null || dims == null) throw new NullPointerException("name, type and dims are required");
        if (name.isEmpty()) throw new IllegalArgumentException("tensor names must not be empty");
        if (utf8(name).length > MAX_TENSOR_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' is longer than ggml's limit of "
                    + MAX_TENSOR_NAME_BYTES + " UTF-8 bytes");
        }
        if (tensorNames.contains(name)) throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        if (dims.length < 1 || dims.length > GgufParser.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' needs 1 to 4 dimensions, got " + dims.length);
        }
        for (long d : dims) {
            if (d <= 0) throw new IllegalArgumentException("tensor '" + name + "' has a dimension " + d + " (must be > 0)");
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': " + type + " stores rows in blocks of "
                    + type.blockSize() + ", but the first dimension is " + dims[0]);
        }
        try {
            return type.byteSize(elementCount(dims));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + java.util.Arrays.toString(dims)
                    + " is larger than 2^63 bytes");
        }
    }

    private static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    // ---- writing ----------------------------------------------------------------------------------------------

    /**
     * Writes the file, replacing {@code path} if it exists.
     *
     * @param path the file written
     * @throws LlamaException if the file cannot be written
     */
    public void write(Path path) {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16)) {
            writeTo(out);
        } catch (IOException e) {
            throw new LlamaException("cannot write GGUF file " + path + ": " + e, e);
        }
    }

    /**
     * Writes the file to a stream (which is flushed, not closed).
     *
     * @param out the stream written to
     * @throws LlamaException if the stream fails
     */
    public void write(OutputStream out) {
        try {
            writeTo(out);
            out.flush();
        } catch (IOException e) {
            throw new LlamaException("cannot write GGUF: " + e, e);
        }
    }

    private void writeTo(OutputStream stream) throws IOException {
        long alignment = metadata.get(GgufParser.ALIGNMENT_KEY) instanceof GgufValue.UInt32(long a)
                ? a : GgufParser.DEFAULT_ALIGNMENT;
        LittleEndianOutput out = new LittleEndianOutput(stream);
        out.u32(GgufParser.MAGIC);
        out.u32(3);
        out.i64(tensors.size());
        out.i64(metadata.size());
        for (var e : metadata.entrySet()) {
            out.string(utf8(e.getKey()));
            out.u32(e.getValue().type().id());
            writeValue(out, e.getValue());
        }
        long offset = 0;
        for (Tensor t : tensors) {
            out.string(utf8(t.name()));
            out.u32(t.dims().length);
            for (long d : t.dims()) {
                out.i64(d);
            }
            out.u32(t.type().id());
            out.i64(offset);
            offset = align(offset + t.data().byteSize(), alignment);
        }
        if (!tensors.isEmpty()) {
            out.pad(alignment);
        }
        for (Tensor t : tensors) {
            out.segment(t.data());
            out.pad(alignment);
        }
        out.flush();
    }

    private static void writeValue(LittleEndianOutput out, GgufValue value) throws IOException {
        switch (value) {
            case GgufValue.UInt8 v -> out.u8(v.value());
            case GgufValue.Int8 v -> out.u8(v.value());
            case GgufValue.UInt16 v -> out.u16(v.value());
            case GgufValue.Int16 v -> out.u16(v.value());
            case GgufValue.UInt32 v -> out.u32((int) v.value());
            case GgufValue.Int32 v -> out.u32(v.value());
            case GgufValue.UInt64 v -> out.i64(v.value());
            case GgufValue.Int64 v -> out.i64(v.value());
            case GgufValue.Float32 v -> out.u32(Float.floatToRawIntBits(v.value()));
            case GgufValue.Float64 v -> out.i64(Double.doubleToRawLongBits(v.value()));
            case GgufValue.Bool v -> out.u8(v.value() ? 1 : 0);
            case GgufValue.Str v -> out.string(utf8(v.value()));
            case GgufValue.Array a -> {
                out.u32(a.elementType().id());
                out.i64(a.size());
                for (GgufValue e : a.elements()) {
                    writeValue(out, e);
                }
            }
        }
    }

    private static long align(long n, long alignment) {
        return Math.addExact(n, alignment - 1) / alignment * alignment;
    }

    private static void checkStrings(String key, GgufValue value) {
        switch (value) {
            case GgufValue.Str s -> utf8(s.value());
            case GgufValue.Array a when a.elementType() == GgufValue.Type.STRING -> a.elements().forEach(e -> checkStrings(key, e));
            default -> { }
        }
    }

    private static void checkAlignment(GgufValue value) {
        if (!(value instanceof GgufValue.UInt32(long a)) || a == 0 || (a & (a - 1)) != 0) {
            throw new IllegalArgumentException("'" + GgufParser.ALIGNMENT_KEY + "' must be a UINT32 power of two, got "
                    + value);
        }
    }

    /** Strict UTF-8 (an unpaired surrogate is refused, not replaced with '?'). */
    private static byte[] utf8(String s) {
        try {
            ByteBuffer b = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(s));
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("string is not valid Unicode (unpaired surrogate?): "
                    + s.substring(0, Math.min(s.length(), 40)), e);
        }
    }
}
