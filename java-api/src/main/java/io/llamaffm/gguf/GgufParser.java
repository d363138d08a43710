package io.llamaffm.gguf;

import io.llamaffm.gguf.GgufValue.Type;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Reads and validates the header, metadata and tensor infos of a GGUF file held in a {@link MemorySegment}. Every
 * count and length is checked against the bytes that remain before anything is allocated for it, so a malformed file
 * gives a {@link GgufFormatException}, never a giant allocation. One parser reads one file, on one thread.
 */
final class GgufParser {
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian int
    static final long DEFAULT_ALIGNMENT = 32;
    static final String ALIGNMENT_KEY = "general.alignment";
    static final int MAX_DIMS = 4;

    /** Fewest bytes a key-value pair takes: key length, one key byte, value type, one value byte. */
    private static final int MIN_KV_BYTES = 8 + 1 + 4 + 1;
    /** Fewest bytes a tensor info takes: name length, dimension count, one dimension, type, offset. */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;
    /** Longest string and array a Java String / List can hold. */
    private static final long MAX_JAVA_LENGTH = Integer.MAX_VALUE - 8;

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What was read. {@code keyOffsets} holds the byte offset at which each key-value pair starts. */
    record Parsed(int version, long alignment, SequencedMap<String, GgufValue> metadata, Map<String, Long> keyOffsets,
                  List<TensorInfo> tensors, long dataOffset, long headerEnd) {}

    private final MemorySegment file;
    private final String source;
    private final long size;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private long pos;
    private String context = "the header"; // what is being read, for messages

    private final boolean headerOnly;

    private GgufParser(MemorySegment file, String source, boolean headerOnly) {
        this.file = file;
        this.source = source;
        this.size = file.byteSize();
        this.headerOnly = headerOnly;
    }

    /** Parses and validates everything but the tensor data itself. */
    static Parsed parse(MemorySegment file, String source) {
        return new GgufParser(file, source, false).parse();
    }

    /**
     * Parses the header (metadata and tensor infos) of a file of which {@code prefix} may hold only the first bytes:
     * the tensor data need not be there, so their extent is not checked against the bytes (their overlap still is).
     * Bytes that end inside the header give a {@link GgufFormatException#truncated() truncated} failure.
     */
    static Parsed parseHeader(MemorySegment prefix, String source) {
        return new GgufParser(prefix, source, true).parse();
    }

    private Parsed parse() {
        int version = readHeader();
        long tensorCount = readCount("tensor count", MIN_TENSOR_INFO_BYTES);
        long kvCount = readCount("metadata key-value count", MIN_KV_BYTES);
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        Map<String, Long> keyOffsets = new HashMap<>();
        for (long i = 0; i < kvCount; i++) {
            readKeyValue(i, metadata, keyOffsets);
        }
        long alignment = alignment(metadata, keyOffsets);
        List<TensorInfo> tensors = new ArrayList<>();
        List<Long> offsetFields = new ArrayList<>();
        Map<String, Long> names = new HashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            tensors.add(readTensorInfo(i, alignment, names, offsetFields));
        }
        long headerEnd = pos;
        long dataOffset = dataOffset(tensorCount, alignment);
        checkTensorData(tensors, offsetFields, dataOffset);
        return new Parsed(version, alignment, Collections.unmodifiableSequencedMap(metadata),
                Map.copyOf(keyOffsets), List.copyOf(tensors), dataOffset, headerEnd);
    }

    // ---- header -----------------------------------------------------------------------------------------------

    private int readHeader() {
        need(4, "the magic");
        int magic = file.get(I32, 0);
        if (magic != MAGIC) {
            throw fail(0, "magic is " + describeMagic() + ", expected \"GGUF\" (47 47 55 46): not a GGUF file");
        }
        pos = 4;
        long at = pos;
        long version = u32("the version");
        if (version != 2 && version != 3) {
            String hint = version != 0 && (version & 0xFFFF) == 0 ? " (a big-endian file? only little-endian GGUF is read)" : "";
            throw fail(at, "version " + version + " is not supported; versions 2 and 3 are" + hint);
        }
        return (int) version;
    }

    private String describeMagic() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            sb.append(i == 0 ? "" : " ").append(String.format("%02x", file.get(ValueLayout.JAVA_BYTE, i)));
        }
        return sb.toString();
    }

    private long readCount(String what, int minBytesEach) {
        long at = pos;
        long n = i64(what);
        long left = size - pos;
        if (n < 0 || n > left / minBytesEach) {
            throw fail(at, what + " " + Long.toUnsignedString(n) + " cannot fit in the " + left
                    + " bytes left (each takes at least " + minBytesEach + ")", n >= 0);
        }
        return n;
    }

    // ---- metadata ---------------------------------------------------------------------------------------------

    private void readKeyValue(long index, Map<String, GgufValue> metadata, Map<String, Long> keyOffsets) {
        long at = pos;
        context = "key-value pair " + index;
        String key = string("key");
        if (key.isEmpty()) {
            throw fail(at, "key of key-value pair " + index + " is empty");
        }
        if (metadata.containsKey(key)) {
            throw fail(at, "duplicate key '" + key + "' (first at byte " + keyOffsets.get(key) + ")");
        }
        context = "key '" + key + "'";
        Type type = valueType("value type");
        GgufValue value = type == Type.ARRAY ? array() : scalar(type);
        metadata.put(key, value);
        keyOffsets.put(key, at);
    }

    private GgufValue array() {
        long typeAt = pos;
        Type elementType = valueType("array element type");
        if (elementType == Type.ARRAY) {
            throw fail(typeAt, "arrays of arrays are not supported (llama.cpp cannot read them either) in " + context);
        }
        long countAt = pos;
        long n = i64("array length");
        long left = size - pos;
        if (n < 0 || n > left / elementType.minBytes()) {
            throw fail(countAt, "array length " + Long.toUnsignedString(n) + " of " + context + " cannot fit in the "
                    + left + " bytes left (each " + elementType + " takes at least " + elementType.minBytes() + ")", n >= 0);
        }
        long most = elementType.isFixedSize() ? MAX_JAVA_LENGTH / elementType.minBytes() : MAX_JAVA_LENGTH;
        if (n > most) {
            throw fail(countAt, "array length " + n + " of " + context + " is more than this reader holds (" + most
                    + " elements of " + elementType + ")");
        }
        if (elementType.isFixedSize()) {
            return new GgufValue.Array(elementType, packed(elementType, (int) n));
        }
        List<GgufValue> values = new ArrayList<>(); // grows with the strings really read, never pre-sized from n
        for (long i = 0; i < n; i++) {
            values.add(scalar(elementType));
        }
        return new GgufValue.Array(elementType, values);
    }

    /** {@code n} fixed-size values kept as their bytes (which are all there: n was checked against the bytes left). */
    private PackedElements packed(Type type, int n) {
        int bytes = n * type.minBytes();
        byte[] raw = file.asSlice(pos, bytes).toArray(ValueLayout.JAVA_BYTE);
        if (type == Type.BOOL) {
            for (int i = 0; i < n; i++) {
                if (raw[i] != 0 && raw[i] != 1) {
                    throw fail(pos + i, "bool element " + i + " of " + context + " is " + Byte.toUnsignedInt(raw[i])
                            + ", must be 0 or 1");
                }
            }
        }
        pos += bytes;
        return new PackedElements(type, raw);
    }

    private GgufValue scalar(Type type) {
        return switch (type) {
            case UINT8 -> new GgufValue.UInt8(Byte.toUnsignedInt(i8("uint8 value")));
            case INT8 -> new GgufValue.Int8(i8("int8 value"));
            case UINT16 -> new GgufValue.UInt16(Short.toUnsignedInt(i16("uint16 value")));
            case INT16 -> new GgufValue.Int16(i16("int16 value"));
            case UINT32 -> new GgufValue.UInt32(u32("uint32 value"));
            case INT32 -> new GgufValue.Int32(i32("int32 value"));
            case UINT64 -> new GgufValue.UInt64(i64("uint64 value"));
            case INT64 -> new GgufValue.Int64(i64("int64 value"));
            case FLOAT32 -> new GgufValue.Float32(f32());
            case FLOAT64 -> new GgufValue.Float64(f64());
            case BOOL -> new GgufValue.Bool(bool());
            case STRING -> new GgufValue.Str(string("string value"));
            case ARRAY -> throw new IllegalStateException("arrays are read by array()");
        };
    }

    private boolean bool() {
        long at = pos;
        byte b = i8("bool value");
        if (b != 0 && b != 1) {
            throw fail(at, "bool value of " + context + " is " + Byte.toUnsignedInt(b) + ", must be 0 or 1");
        }
        return b == 1;
    }

    private Type valueType(String what) {
        long at = pos;
        int id = i32(what);
        return Type.byId(id).orElseThrow(() -> fail(at, "unknown " + what + " " + Integer.toUnsignedString(id)
                + " in " + context + " (GGUF defines 0 to 12)"));
    }

    private long alignment(Map<String, GgufValue> metadata, Map<String, Long> keyOffsets) {
        GgufValue v = metadata.get(ALIGNMENT_KEY);
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        long at = keyOffsets.get(ALIGNMENT_KEY);
        if (!(v instanceof GgufValue.UInt32(long a))) {
            throw fail(at, "'" + ALIGNMENT_KEY + "' is " + v.type() + ", must be UINT32");
        }
        if (a == 0 || (a & (a - 1)) != 0) {
            throw fail(at, "'" + ALIGNMENT_KEY + "' is " + a + ", must be a power of two");
        }
        return a;
    }

    // ---- tensor infos -----------------------------------------------------------------------------------------

    private TensorInfo readTensorInfo(long index, long alignment, Map<String, Long> names, List<Long> offsetFields) {
        long at = pos;
        context = "tensor info " + index;
        String name = string("tensor name");
        Long first = names.putIfAbsent(name, at);
        if (first != null) {
            throw fail(at, "duplicate tensor name '" + name + "' (first at byte " + first + ")");
        }
        context = "tensor '" + name + "'";
        long[] dims = dims();
        long elements = elementCount(at, dims);
        long typeAt = pos;
        int typeId = i32("tensor type");
        GgmlType type = GgmlType.byId(typeId).orElseThrow(() -> fail(typeAt, "unknown ggml type id "
                + Integer.toUnsignedString(typeId) + " for " + context));
        if (dims[0] % type.blockSize() != 0) {
            throw fail(typeAt, context + " is " + type + ", which stores rows in blocks of " + type.blockSize()
                    + ", but its first dimension is " + dims[0]);
        }
        long byteSize;
        try {
            byteSize = type.byteSize(elements);
        } catch (ArithmeticException e) {
            throw fail(typeAt, context + " of " + elements + " " + type + " elements is larger than 2^63 bytes");
        }
        long offsetAt = pos;
        long offset = i64("tensor data offset");
        if (offset < 0 || offset % alignment != 0) {
            throw fail(offsetAt, "data offset " + Long.toUnsignedString(offset) + " of " + context
                    + " is not a multiple of the alignment " + alignment);
        }
        offsetFields.add(offsetAt);
        return new TensorInfo(name, type, dims, offset, byteSize);
    }

    private long[] dims() {
        long at = pos;
        long n = u32("dimension count");
        if (n < 1 || n > MAX_DIMS) {
            throw fail(at, context + " has " + n + " dimensions, must have 1 to " + MAX_DIMS);
        }
        long[] dims = new long[(int) n];
        for (int i = 0; i < dims.length; i++) {
            long dimAt = pos;
            dims[i] = i64("dimension " + i);
            if (dims[i] <= 0) {
                throw fail(dimAt, "dimension " + i + " of " + context + " is " + dims[i] + ", must be > 0");
            }
        }
        return dims;
    }

    private long elementCount(long at, long[] dims) {
        long n = 1;
        for (long d : dims) {
            if (n > Long.MAX_VALUE / d) {
                throw fail(at, context + " has more than 2^63 elements: " + java.util.Arrays.toString(dims));
            }
            n *= d;
        }
        return n;
    }

    private long dataOffset(long tensorCount, long alignment) {
        if (tensorCount == 0) {
            return pos; // like llama.cpp: no padding when there is no tensor data
        }
        long aligned = (pos + alignment - 1) / alignment * alignment;
        if (aligned > size && !headerOnly) {
            throw fail(pos, "the data section (padded to the alignment " + alignment + ") would start at byte "
                    + aligned + ", past the end of the file at byte " + size);
        }
        return aligned;
    }

    private void checkTensorData(List<TensorInfo> tensors, List<Long> offsetFields, long dataOffset) {
        long dataBytes = headerOnly ? Long.MAX_VALUE : size - dataOffset;
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            if (t.offset() > dataBytes || t.byteSize() > dataBytes - t.offset()) {
                throw fail(offsetFields.get(i), "data of tensor '" + t.name() + "' (" + t.byteSize()
                        + " bytes at data offset " + t.offset() + ", byte " + (dataOffset + t.offset())
                        + " of the file) runs past the end of the file at byte " + size);
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < tensors.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingLong(i -> tensors.get(i).offset()));
        for (int k = 1; k < order.size(); k++) {
            TensorInfo a = tensors.get(order.get(k - 1));
            TensorInfo b = tensors.get(order.get(k));
            if (a.offset() + a.byteSize() > b.offset()) {
                throw fail(offsetFields.get(order.get(k)), "data of tensor '" + b.name() + "' (data offset "
                        + b.offset() + ") overlaps tensor '" + a.name() + "' (data offset " + a.offset() + ", "
                        + a.byteSize() + " bytes)");
            }
        }
    }

    // ---- primitive reads --------------------------------------------------------------------------------------

    private void need(long n, String what) {
        if (n > size - pos) {
            throw fail(pos, "truncated: " + what + " of " + context + " needs " + n + " bytes, the file ends at byte "
                    + size, true);
        }
    }

    private byte i8(String what) {
        need(1, what);
        return file.get(ValueLayout.JAVA_BYTE, pos++);
    }

    private short i16(String what) {
        need(2, what);
        short v = file.get(I16, pos);
        pos += 2;
        return v;
    }

    private int i32(String what) {
        need(4, what);
        int v = file.get(I32, pos);
        pos += 4;
        return v;
    }

    private long u32(String what) {
        return Integer.toUnsignedLong(i32(what));
    }

    private long i64(String what) {
        need(8, what);
        long v = file.get(I64, pos);
        pos += 8;
        return v;
    }

    private float f32() {
        need(4, "float32 value");
        float v = file.get(F32, pos);
        pos += 4;
        return v;
    }

    private double f64() {
        need(8, "float64 value");
        double v = file.get(F64, pos);
        pos += 8;
        return v;
    }

    private String string(String what) {
        long at = pos;
        long n = i64(what + " length");
        long left = size - pos;
        if (n < 0 || n > left) {
            throw fail(at, what + " length " + Long.toUnsignedString(n) + " of " + context + " exceeds the " + left
                    + " bytes left", n >= 0);
        }
        if (n > MAX_JAVA_LENGTH) {
            throw fail(at, what + " length " + n + " of " + context + " is more than a Java string holds");
        }
        byte[] bytes = file.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        if (isAscii(bytes)) {
            pos += n;
            return new String(bytes, StandardCharsets.US_ASCII);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = utf8.reset().decode(in, out, true);
        if (!r.isError()) {
            r = utf8.flush(out);
        }
        if (r.isError()) {
            throw fail(pos + in.position(), what + " of " + context + " is not valid UTF-8 (string at byte " + at + ")");
        }
        pos += n;
        return out.flip().toString();
    }

    private static boolean isAscii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }

    private GgufFormatException fail(long offset, String problem) {
        return new GgufFormatException(source, offset, problem);
    }

    /** A failure that is a truncation when {@code truncated}: the bytes end before what is read does. */
    private GgufFormatException fail(long offset, String problem, boolean truncated) {
        return new GgufFormatException(source, offset, problem, truncated);
    }
}
