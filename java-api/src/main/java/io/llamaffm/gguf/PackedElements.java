package io.llamaffm.gguf;

import io.llamaffm.gguf.GgufValue.Type;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * The elements of a GGUF array of a fixed-size type, kept as the file's little-endian bytes and decoded on access:
 * a vocabulary's scores or token types take their file size in memory, not a record per element. Immutable.
 */
final class PackedElements extends AbstractList<GgufValue> implements RandomAccess {
    private final Type type;
    private final ByteBuffer raw;
    private final int size;

    /** {@code raw} holds exactly {@code size} values of {@code type}, bools already checked to be 0 or 1. */
    PackedElements(Type type, byte[] raw) {
        this.type = type;
        this.raw = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        this.size = raw.length / type.minBytes();
    }

    Type type() {
        return type;
    }

    @Override
    public GgufValue get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + " of " + size);
        }
        int at = index * type.minBytes();
        return switch (type) {
            case UINT8 -> new GgufValue.UInt8(Byte.toUnsignedInt(raw.get(at)));
            case INT8 -> new GgufValue.Int8(raw.get(at));
            case UINT16 -> new GgufValue.UInt16(Short.toUnsignedInt(raw.getShort(at)));
            case INT16 -> new GgufValue.Int16(raw.getShort(at));
            case UINT32 -> new GgufValue.UInt32(Integer.toUnsignedLong(raw.getInt(at)));
            case INT32 -> new GgufValue.Int32(raw.getInt(at));
            case UINT64 -> new GgufValue.UInt64(raw.getLong(at));
            case INT64 -> new GgufValue.Int64(raw.getLong(at));
            case FLOAT32 -> new GgufValue.Float32(raw.getFloat(at));
            case FLOAT64 -> new GgufValue.Float64(raw.getDouble(at));
            case BOOL -> new GgufValue.Bool(raw.get(at) == 1);
            case STRING, ARRAY -> throw new IllegalStateException(type + " has no fixed size");
        };
    }

    @Override
    public int size() {
        return size;
    }
}
