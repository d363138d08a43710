package io.llamaffm.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Where each field of a well-formed GGUF file lies, so that the mutator can edit one count, length, type, dimension
 * or offset at a time. Walks a file our reader has already accepted (it checks nothing itself).
 *
 * @param fields       every count, length, type id, dimension, offset and scalar value, in file order
 * @param keyValues    the byte span of each key-value pair
 * @param tensorInfos  the byte span of each tensor info
 * @param strings      the content of each key, string value (arrays included) and tensor name
 * @param headerEnd    where the tensor infos end
 */
record GgufLayout(List<Field> fields, List<Span> keyValues, List<Span> tensorInfos, List<Text> strings,
                  int headerEnd) {

    /** What a field holds. */
    enum Kind { TENSOR_COUNT, KV_COUNT, KEY_LENGTH, VALUE_TYPE, ARRAY_TYPE, ARRAY_LENGTH, STRING_LENGTH, SCALAR,
        NAME_LENGTH, DIM_COUNT, DIM, TENSOR_TYPE, TENSOR_OFFSET }

    /** A little-endian integer field of {@code width} bytes at {@code offset}. */
    record Field(Kind kind, int offset, int width, String label) {}

    /** Bytes {@code [start, end)} of the file. */
    record Span(int start, int end, String label) {}

    /**
     * A string's content, bytes {@code [start, start + length)}, whose 8-byte length lies at {@code lengthAt}; its
     * kind is that of the length field: a key, a (string or array element) value, or a tensor name.
     */
    record Text(Kind kind, int lengthAt, int start, int length, String label) {
        Text withLabel(String l) {
            return new Text(kind, lengthAt, start, length, l);
        }
    }

    /** Walks {@code file}, which must be well-formed GGUF. */
    static GgufLayout of(byte[] file) {
        return new Walker(file).walk();
    }

    private static final class Walker {
        private final ByteBuffer in;
        private final List<Field> fields = new ArrayList<>();
        private final List<Span> keyValues = new ArrayList<>();
        private final List<Span> tensorInfos = new ArrayList<>();
        private final List<Text> strings = new ArrayList<>();

        Walker(byte[] file) {
            in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        }

        GgufLayout walk() {
            in.position(8); // magic, version
            long tensors = field(Kind.TENSOR_COUNT, 8, "tensor count");
            long kvs = field(Kind.KV_COUNT, 8, "key-value count");
            for (long i = 0; i < kvs; i++) {
                int start = in.position();
                String key = string(Kind.KEY_LENGTH, "key " + i);
                strings.set(strings.size() - 1, strings.getLast().withLabel(key));
                int type = (int) field(Kind.VALUE_TYPE, 4, key);
                value(type, key);
                keyValues.add(new Span(start, in.position(), key));
            }
            for (long i = 0; i < tensors; i++) {
                int start = in.position();
                String name = string(Kind.NAME_LENGTH, "tensor " + i);
                long dims = field(Kind.DIM_COUNT, 4, name);
                for (int d = 0; d < dims; d++) {
                    field(Kind.DIM, 8, name + " dim " + d);
                }
                field(Kind.TENSOR_TYPE, 4, name);
                field(Kind.TENSOR_OFFSET, 8, name);
                tensorInfos.add(new Span(start, in.position(), name));
            }
            return new GgufLayout(List.copyOf(fields), List.copyOf(keyValues), List.copyOf(tensorInfos),
                    List.copyOf(strings), in.position());
        }

        private void value(int type, String key) {
            if (type == 8) {
                string(Kind.STRING_LENGTH, key);
            } else if (type == 9) {
                int element = (int) field(Kind.ARRAY_TYPE, 4, key);
                long n = field(Kind.ARRAY_LENGTH, 8, key);
                if (element == 8) {
                    for (long i = 0; i < n; i++) {
                        string(Kind.STRING_LENGTH, key + "[" + i + "]");
                    }
                } else {
                    in.position(Math.toIntExact(in.position() + n * width(element)));
                }
            } else {
                field(Kind.SCALAR, width(type), key);
            }
        }

        private long field(Kind kind, int width, String label) {
            int at = in.position();
            fields.add(new Field(kind, at, width, label));
            return switch (width) {
                case 1 -> in.get() & 0xFF;
                case 2 -> in.getShort() & 0xFFFF;
                case 4 -> in.getInt() & 0xFFFF_FFFFL;
                default -> in.getLong();
            };
        }

        private String string(Kind lengthKind, String label) {
            int lengthAt = in.position();
            int n = Math.toIntExact(field(lengthKind, 8, label));
            byte[] b = new byte[n];
            int start = in.position();
            in.get(b);
            String s = new String(b, java.nio.charset.StandardCharsets.UTF_8);
            strings.add(new Text(lengthKind, lengthAt, start, n, label));
            return s;
        }

        private static int width(int type) {
            return switch (type) {
                case 0, 1, 7 -> 1;
                case 2, 3 -> 2;
                case 4, 5, 6 -> 4;
                default -> 8;
            };
        }
    }
}
