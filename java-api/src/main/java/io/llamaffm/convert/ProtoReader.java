package io.llamaffm.convert;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Reads one protobuf message of the wire format from a byte range: tags, varints, fixed 32/64-bit values and
 * length-delimited fields. Every length is checked against the bytes left in the message before anything is sliced or
 * allocated, so a corrupt length is an {@link OnnxFormatException}, never a giant allocation or an out-of-bounds read.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    private final MemorySegment data;
    private final String source;
    private final long base; // offset of data[0] in the file, for messages
    private long pos;
    private int field;
    private int wireType;
    private long fieldStart;

    ProtoReader(MemorySegment data, String source, long base) {
        this.data = data;
        this.source = source;
        this.base = base;
    }

    /** Moves to the next field; false at the end of the message. */
    boolean next() {
        if (pos >= data.byteSize()) return false;
        fieldStart = pos;
        long tag = varint();
        long f = tag >>> 3;
        if (f < 1 || f > 0x1FFF_FFFFL) throw error("invalid field number " + f);
        field = (int) f;
        wireType = (int) (tag & 7);
        if (wireType != VARINT && wireType != FIXED64 && wireType != LEN && wireType != FIXED32) {
            throw error("unsupported wire type " + wireType + " (field " + field + ")");
        }
        return true;
    }

    int field() {
        return field;
    }

    int wireType() {
        return wireType;
    }

    /** The current field's value as a varint (wire type 0). */
    long varint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= data.byteSize()) throw error("truncated varint");
            byte b = data.get(ValueLayout.JAVA_BYTE, pos++);
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw error("varint longer than 10 bytes");
    }

    long fieldVarint() {
        expect(VARINT);
        return varint();
    }

    float fieldFixed32Float() {
        expect(FIXED32);
        need(4);
        float f = data.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), pos);
        pos += 4;
        return f;
    }

    /** The bytes of a length-delimited field, as a view (no copy). */
    MemorySegment fieldBytes() {
        expect(LEN);
        long len = varint();
        if (len < 0 || len > data.byteSize() - pos) {
            throw error("field " + field + " claims " + Long.toUnsignedString(len) + " bytes, but only "
                    + (data.byteSize() - pos) + " are left in the message");
        }
        MemorySegment s = data.asSlice(pos, len);
        pos += len;
        return s;
    }

    /** A nested message in the current length-delimited field. */
    ProtoReader fieldMessage() {
        MemorySegment s = fieldBytes();
        return new ProtoReader(s, source, base + pos - s.byteSize());
    }

    String fieldString() {
        MemorySegment s = fieldBytes();
        if (s.byteSize() > Integer.MAX_VALUE - 8) throw error("string too long");
        return new String(s.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /**
     * Appends the values of a repeated int64/int32 field that may be packed (one length-delimited run) or not (one
     * varint per occurrence).
     */
    void repeatedVarint(LongList into) {
        if (wireType == VARINT) {
            into.add(varint());
        } else if (wireType == LEN) {
            ProtoReader packed = fieldMessage();
            while (packed.pos < packed.data.byteSize()) {
                into.add(packed.varint());
            }
        } else {
            throw error("field " + field + " should hold varints, has wire type " + wireType);
        }
    }

    /** Skips the current field. */
    void skip() {
        switch (wireType) {
            case VARINT -> varint();
            case FIXED64 -> { need(8); pos += 8; }
            case FIXED32 -> { need(4); pos += 4; }
            case LEN -> fieldBytes();
            default -> throw error("unsupported wire type " + wireType);
        }
    }

    OnnxFormatException error(String problem) {
        return new OnnxFormatException(source + ": malformed ONNX (protobuf) at byte " + (base + fieldStart) + ": " + problem);
    }

    private void expect(int type) {
        if (wireType != type) {
            throw error("field " + field + " has wire type " + wireType + ", expected " + type);
        }
    }

    private void need(long n) {
        if (data.byteSize() - pos < n) throw error("truncated field " + field);
    }

    /** A growable list of longs (packed repeated fields). */
    static final class LongList {
        private long[] values = new long[8];
        private int size;

        void add(long v) {
            if (size == values.length) values = java.util.Arrays.copyOf(values, size * 2);
            values[size++] = v;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }
}
