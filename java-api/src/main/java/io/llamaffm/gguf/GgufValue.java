package io.llamaffm.gguf;

import java.util.List;
import java.util.Optional;

/**
 * One GGUF metadata value: a record per GGUF value type. Unsigned types keep their value in a wider Java type
 * ({@link UInt8}, {@link UInt16} in an {@code int}, {@link UInt32} in a {@code long}); {@link UInt64} keeps the 64 raw
 * bits in a {@code long} (read it with {@link Long#toUnsignedString(long)} or the unsigned methods of {@link Long}).
 */
public sealed interface GgufValue {

    /** {@return the GGUF type of this value} */
    Type type();

    /** The GGUF metadata value types ({@code enum gguf_type}) with their numeric ids. */
    enum Type {
        /** Unsigned 8-bit integer. */
        UINT8(0, 1),
        /** Signed 8-bit integer. */
        INT8(1, 1),
        /** Unsigned 16-bit integer. */
        UINT16(2, 2),
        /** Signed 16-bit integer. */
        INT16(3, 2),
        /** Unsigned 32-bit integer. */
        UINT32(4, 4),
        /** Signed 32-bit integer. */
        INT32(5, 4),
        /** 32-bit IEEE float. */
        FLOAT32(6, 4),
        /** Boolean stored as one byte, 0 or 1. */
        BOOL(7, 1),
        /** UTF-8 string: a 64-bit byte length, then the bytes (no terminator). */
        STRING(8, 8),
        /** Array: element type, 64-bit element count, elements. */
        ARRAY(9, 12),
        /** Unsigned 64-bit integer. */
        UINT64(10, 8),
        /** Signed 64-bit integer. */
        INT64(11, 8),
        /** 64-bit IEEE float. */
        FLOAT64(12, 8);

        private final int id;
        private final int minBytes;

        Type(int id, int minBytes) {
            this.id = id;
            this.minBytes = minBytes;
        }

        /** {@return the numeric id stored in the file} */
        public int id() {
            return id;
        }

        /** Fewest bytes one value of this type takes in a file (the whole size for fixed-size types). */
        int minBytes() {
            return minBytes;
        }

        /** {@return whether this is one of the eight integer types} */
        public boolean isInteger() {
            return switch (this) {
                case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
                default -> false;
            };
        }

        /** Whether values of this type have a fixed size (every type except string and array). */
        boolean isFixedSize() {
            return this != STRING && this != ARRAY;
        }

        /**
         * The type with a numeric id.
         *
         * @param id the id stored in a file
         * @return the type, or empty for an unknown id
         */
        public static Optional<Type> byId(int id) {
            for (Type t : values()) {
                if (t.id == id) {
                    return Optional.of(t);
                }
            }
            return Optional.empty();
        }
    }

    /**
     * GGUF {@code uint8}: 0 to 255.
     *
     * @param value the value
     */
    record UInt8(int value) implements GgufValue {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code value} is outside 0..255
         */
        public UInt8 {
            if (value < 0 || value > 0xFF) throw new IllegalArgumentException("uint8 out of range: " + value);
        }

        @Override
        public Type type() {
            return Type.UINT8;
        }
    }

    /**
     * GGUF {@code int8}.
     *
     * @param value the value
     */
    record Int8(byte value) implements GgufValue {
        @Override
        public Type type() {
            return Type.INT8;
        }
    }

    /**
     * GGUF {@code uint16}: 0 to 65535.
     *
     * @param value the value
     */
    record UInt16(int value) implements GgufValue {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code value} is outside 0..65535
         */
        public UInt16 {
            if (value < 0 || value > 0xFFFF) throw new IllegalArgumentException("uint16 out of range: " + value);
        }

        @Override
        public Type type() {
            return Type.UINT16;
        }
    }

    /**
     * GGUF {@code int16}.
     *
     * @param value the value
     */
    record Int16(short value) implements GgufValue {
        @Override
        public Type type() {
            return Type.INT16;
        }
    }

    /**
     * GGUF {@code uint32}: 0 to 4294967295.
     *
     * @param value the value
     */
    record UInt32(long value) implements GgufValue {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code value} is outside 0..2^32-1
         */
        public UInt32 {
            if (value < 0 || value > 0xFFFF_FFFFL) throw new IllegalArgumentException("uint32 out of range: " + value);
        }

        @Override
        public Type type() {
            return Type.UINT32;
        }
    }

    /**
     * GGUF {@code int32}.
     *
     * @param value the value
     */
    record Int32(int value) implements GgufValue {
        @Override
        public Type type() {
            return Type.INT32;
        }
    }

    /**
     * GGUF {@code uint64}; {@code value} holds the 64 bits, read them as unsigned.
     *
     * @param value the value
     */
    record UInt64(long value) implements GgufValue {
        @Override
        public Type type() {
            return Type.UINT64;
        }

        @Override
        public String toString() {
            return "UInt64[value=" + Long.toUnsignedString(value) + "]";
        }
    }

    /**
     * GGUF {@code int64}.
     *
     * @param value the value
     */
    record Int64(long value) implements GgufValue {
        @Override
        public Type type() {
            return Type.INT64;
        }
    }

    /**
     * GGUF {@code float32}.
     *
     * @param value the value
     */
    record Float32(float value) implements GgufValue {
        @Override
        public Type type() {
            return Type.FLOAT32;
        }
    }

    /**
     * GGUF {@code float64}.
     *
     * @param value the value
     */
    record Float64(double value) implements GgufValue {
        @Override
        public Type type() {
            return Type.FLOAT64;
        }
    }

    /**
     * GGUF {@code bool}.
     *
     * @param value the value
     */
    record Bool(boolean value) implements GgufValue {
        @Override
        public Type type() {
            return Type.BOOL;
        }
    }

    /**
     * GGUF {@code string} (UTF-8 in the file).
     *
     * @param value the value
     */
    record Str(String value) implements GgufValue {
        /**
         * Checks the components.
         *
         * @throws NullPointerException if {@code value} is null
         */
        public Str {
            if (value == null) throw new NullPointerException("string value is null");
        }

        @Override
        public Type type() {
            return Type.STRING;
        }
    }

    /**
     * GGUF {@code array}: elements of one type, which is neither {@link Type#ARRAY} (llama.cpp does not read nested
     * arrays) nor mixed.
     *
     * @param elementType the type of every element
     * @param elements    the elements, in order (an unmodifiable copy)
     */
    record Array(Type elementType, List<GgufValue> elements) implements GgufValue {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if the element type is ARRAY or an element has another type
         */
        public Array {
            if (elementType == null) throw new NullPointerException("elementType is null");
            if (elementType == Type.ARRAY) {
                throw new IllegalArgumentException("arrays of arrays are not supported (llama.cpp cannot read them)");
            }
            // a reader's packed elements are immutable and typed already; anything else is copied and checked
            if (!(elements instanceof PackedElements p && p.type() == elementType)) {
                elements = List.copyOf(elements);
                for (int i = 0; i < elements.size(); i++) {
                    if (elements.get(i).type() != elementType) {
                        throw new IllegalArgumentException("array of " + elementType + " has a "
                                + elements.get(i).type() + " at index " + i);
                    }
                }
            }
        }

        /**
         * An array of strings.
         *
         * @param values the strings
         * @return the array
         */
        public static Array ofStrings(List<String> values) {
            return new Array(Type.STRING, values.stream().<GgufValue>map(Str::new).toList());
        }

        /**
         * An array of {@code int32}.
         *
         * @param values the integers
         * @return the array
         */
        public static Array ofInt32(int... values) {
            return new Array(Type.INT32, java.util.Arrays.stream(values).<GgufValue>mapToObj(Int32::new).toList());
        }

        /**
         * An array of {@code float32}.
         *
         * @param values the floats
         * @return the array
         */
        public static Array ofFloat32(float... values) {
            GgufValue[] v = new GgufValue[values.length];
            for (int i = 0; i < values.length; i++) {
                v[i] = new Float32(values[i]);
            }
            return new Array(Type.FLOAT32, List.of(v));
        }

        @Override
        public Type type() {
            return Type.ARRAY;
        }

        /** {@return the number of elements} */
        public int size() {
            return elements.size();
        }

        /**
         * The elements as strings.
         *
         * @return the strings, in order
         * @throws IllegalStateException if the elements are not strings
         */
        public List<String> strings() {
            requireElements(Type.STRING);
            return elements.stream().map(e -> ((Str) e).value()).toList();
        }

        /**
         * The elements as floats.
         *
         * @return the floats, in order
         * @throws IllegalStateException if the elements are not {@code float32}
         */
        public float[] floats() {
            requireElements(Type.FLOAT32);
            float[] out = new float[elements.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = ((Float32) elements.get(i)).value();
            }
            return out;
        }

        /**
         * The elements as {@code long}s (any integer element type; {@code uint64} elements as their raw bits).
         *
         * @return the integers, in order
         * @throws IllegalStateException if the elements are not integers
         */
        public long[] longs() {
            if (!elementType.isInteger()) {
                throw new IllegalStateException("array of " + elementType + " holds no integers");
            }
            long[] out = new long[elements.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (elements.get(i)) {
                    case UInt8 v -> v.value();
                    case Int8 v -> v.value();
                    case UInt16 v -> v.value();
                    case Int16 v -> v.value();
                    case UInt32 v -> v.value();
                    case Int32 v -> v.value();
                    case UInt64 v -> v.value();
                    case Int64 v -> v.value();
                    default -> throw new IllegalStateException("array of " + elementType + " holds no integers");
                };
            }
            return out;
        }

        private void requireElements(Type t) {
            if (elementType != t) {
                throw new IllegalStateException("array of " + elementType + ", not of " + t);
            }
        }
    }
}
