package io.llamaffm.lucene;

import io.llamaffm.embeddings.Attributes;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;

/** The typed attributes of an entry as one stored field: count, then key (UTF), type byte, value. */
final class AttributeCodec {
    private AttributeCodec() {}

    static byte[] encode(Map<String, Object> attributes) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(attributes.size());
            for (Map.Entry<String, Object> e : attributes.entrySet()) {
                out.writeUTF(e.getKey());
                switch (e.getValue()) {
                    case String v -> {
                        out.writeByte(1);
                        byte[] utf8 = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        out.writeInt(utf8.length);
                        out.write(utf8);
                    }
                    case Integer v -> {
                        out.writeByte(2);
                        out.writeInt(v);
                    }
                    case Long v -> {
                        out.writeByte(3);
                        out.writeLong(v);
                    }
                    case Float v -> {
                        out.writeByte(4);
                        out.writeFloat(v);
                    }
                    case Double v -> {
                        out.writeByte(5);
                        out.writeDouble(v);
                    }
                    default -> throw new IllegalStateException("unexpected attribute type " + e.getValue().getClass());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static Map<String, Object> decode(byte[] bytes) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int count = in.readInt();
            if (count < 0 || count > bytes.length) {
                throw new IOException("attribute count " + count);
            }
            TreeMap<String, Object> attributes = new TreeMap<>();
            for (int i = 0; i < count; i++) {
                String key = in.readUTF();
                Object value = switch (in.readByte()) {
                    case 1 -> {
                        int length = in.readInt();
                        if (length < 0 || length > in.available()) {
                            throw new IOException("string length " + length);
                        }
                        yield new String(in.readNBytes(length), java.nio.charset.StandardCharsets.UTF_8);
                    }
                    case 2 -> in.readInt();
                    case 3 -> in.readLong();
                    case 4 -> in.readFloat();
                    case 5 -> in.readDouble();
                    default -> throw new IOException("unknown attribute type");
                };
                attributes.put(key, value);
            }
            return Attributes.copyOf(attributes);
        }
    }
}
