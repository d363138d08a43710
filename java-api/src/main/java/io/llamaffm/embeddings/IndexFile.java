package io.llamaffm.embeddings;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/** Reads and writes the {@link VectorIndex} file format (described in {@link VectorIndex}'s Javadoc). */
final class IndexFile {
    static final int MAGIC = 0x4C465649; // "LFVI"
    static final int VERSION = 1; // without attributes
    static final int VERSION_ATTRIBUTES = 2;
    private static final byte STRING = 1;
    private static final byte INT = 2;
    private static final byte LONG = 3;
    private static final byte FLOAT = 4;
    private static final byte DOUBLE = 5;
    static final int HEADER_BYTES = 16; // magic, version, dimension, count
    static final int CRC_BYTES = 4;
    private static final double UNIT_TOLERANCE = 1e-3;

    private IndexFile() {}

    static void write(Path path, VectorIndex index) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try {
            writeTo(tmp, index);
            moveOver(tmp, path);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeTo(Path file, VectorIndex index) throws IOException {
        CRC32 crc = new CRC32();
        int[] order = index.slotsById();
        boolean withAttributes = index.hasAttributes(); // else version 1, as earlier releases wrote
        try (DataOutputStream out = new DataOutputStream(
                new CheckedOutputStream(new BufferedOutputStream(Files.newOutputStream(file)), crc))) {
            out.writeInt(MAGIC);
            out.writeInt(withAttributes ? VERSION_ATTRIBUTES : VERSION);
            out.writeInt(index.dimension());
            out.writeInt(order.length);
            for (int slot : order) {
                writeString(out, index.idAt(slot));
                writeString(out, index.metadataAt(slot));
                if (withAttributes) {
                    writeAttributes(out, index.attributesAt(slot));
                }
                for (float x : index.vectorAt(slot)) {
                    out.writeFloat(x);
                }
            }
            out.writeInt((int) crc.getValue()); // every byte so far has passed through the checksum
        }
    }

    private static void writeAttributes(DataOutputStream out, Map<String, Object> attributes) throws IOException {
        out.writeInt(attributes.size());
        for (Map.Entry<String, Object> e : attributes.entrySet()) { // sorted by key
            writeString(out, e.getKey());
            switch (e.getValue()) {
                case String v -> {
                    out.writeByte(STRING);
                    writeString(out, v);
                }
                case Integer v -> {
                    out.writeByte(INT);
                    out.writeInt(v);
                }
                case Long v -> {
                    out.writeByte(LONG);
                    out.writeLong(v);
                }
                case Float v -> {
                    out.writeByte(FLOAT);
                    out.writeFloat(v);
                }
                case Double v -> {
                    out.writeByte(DOUBLE);
                    out.writeDouble(v);
                }
                default -> throw new IllegalStateException("unexpected attribute type " + e.getValue().getClass());
            }
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static void moveOver(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static VectorIndex read(Path path) throws IOException {
        long fileSize = Files.size(path);
        if (fileSize < HEADER_BYTES + CRC_BYTES) {
            throw new CorruptIndexException(path, "truncated: " + fileSize + " bytes, shorter than the "
                    + (HEADER_BYTES + CRC_BYTES) + "-byte header and checksum");
        }
        CRC32 crc = new CRC32();
        try (DataInputStream in = new DataInputStream(
                new CheckedInputStream(new BufferedInputStream(Files.newInputStream(path)), crc))) {
            Reader reader = new Reader(path, in, fileSize - HEADER_BYTES - CRC_BYTES);
            VectorIndex index = readBody(reader, in);
            int expected = (int) crc.getValue();
            int stored = in.readInt();
            if (stored != expected) {
                throw reader.corrupt(String.format("checksum mismatch: stored %08x, computed %08x", stored, expected));
            }
            return index;
        } catch (EOFException e) {
            throw new CorruptIndexException(path, "truncated: the file ended early");
        }
    }

    private static VectorIndex readBody(Reader reader, DataInputStream in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw reader.corrupt("not a vector index (bad magic)");
        }
        int version = in.readInt();
        if (version != VERSION && version != VERSION_ATTRIBUTES) {
            throw reader.corrupt("unsupported version " + version + " (this library reads versions " + VERSION
                    + " and " + VERSION_ATTRIBUTES + ")");
        }
        int dimension = in.readInt();
        int count = in.readInt();
        if (dimension <= 0 || count < 0) {
            throw reader.corrupt("invalid header: dimension " + dimension + ", count " + count);
        }
        VectorIndex index = new VectorIndex(dimension);
        long minEntryBytes = 8 + 4L * dimension;
        if (count > reader.remaining / minEntryBytes || count > index.maxSize()) {
            throw reader.corrupt("truncated or corrupt: " + count + " entries of at least " + minEntryBytes
                    + " bytes cannot fit in the " + reader.remaining + " bytes after the header");
        }
        index.ensureCapacity(count);
        for (int i = 0; i < count; i++) {
            readEntry(reader, index, i, version == VERSION_ATTRIBUTES);
        }
        if (reader.remaining != 0) {
            throw reader.corrupt(reader.remaining + " unexpected bytes after the last entry");
        }
        return index;
    }

    private static void readEntry(Reader reader, VectorIndex index, int i, boolean withAttributes) throws IOException {
        String id = reader.readString("entry " + i + " id", false);
        String metadata = reader.readString("entry " + i + " metadata", true);
        Map<String, Object> attributes = withAttributes ? readAttributes(reader, "entry " + i) : Map.of();
        float[] vector = reader.readVector(index.dimension(), "entry " + i + " vector");
        double norm = Math.sqrt(Similarity.dot(vector, 0, vector, 0, vector.length));
        if (!(Math.abs(norm - 1) <= UNIT_TOLERANCE)) {
            throw reader.corrupt("entry " + i + " vector has length " + norm + ", not 1");
        }
        if (index.put(id, vector, metadata, attributes)) {
            throw reader.corrupt("entry " + i + " repeats the id \"" + id + "\"");
        }
    }

    private static Map<String, Object> readAttributes(Reader reader, String entry) throws IOException {
        int count = reader.readInt(entry + " attribute count");
        if (count < 0 || count > reader.remaining / 9) { // each takes at least 4 (key length) + 1 (type) + 4 bytes
            throw reader.corrupt(entry + " attribute count " + count + " does not fit in the " + reader.remaining
                    + " bytes left");
        }
        TreeMap<String, Object> attributes = new TreeMap<>();
        String previous = null;
        for (int a = 0; a < count; a++) {
            String what = entry + " attribute " + a;
            String key = reader.readString(what + " key", false);
            if (key.isEmpty() || (previous != null && previous.compareTo(key) >= 0)) {
                throw reader.corrupt(what + " key \"" + key + "\" is empty or out of order");
            }
            byte type = reader.readByte(what + " type");
            Object value = switch (type) {
                case STRING -> reader.readString(what + " value", false);
                case INT -> reader.readInt(what + " value");
                case LONG -> reader.readLong(what + " value");
                case FLOAT -> reader.readFloat(what + " value");
                case DOUBLE -> reader.readDouble(what + " value");
                default -> throw reader.corrupt(what + " has unknown type " + type);
            };
            try {
                Attributes.checkValue(key, value);
            } catch (IllegalArgumentException e) {
                throw reader.corrupt(what + ": " + e.getMessage());
            }
            attributes.put(key, value);
            previous = key;
        }
        return Attributes.copyOf(attributes);
    }

    /** Reads from the stream, counting the bytes the file has left before its checksum. */
    private static final class Reader {
        private final Path path;
        private final DataInputStream in;
        private long remaining;

        Reader(Path path, DataInputStream in, long remaining) {
            this.path = path;
            this.in = in;
            this.remaining = remaining;
        }

        String readString(String what, boolean nullable) throws IOException {
            int length = readInt(what + " length");
            if (length == -1 && nullable) {
                return null;
            }
            if (length < 0 || length > remaining) {
                throw corrupt(what + " length " + length + " does not fit in the " + remaining + " bytes left");
            }
            byte[] bytes = new byte[length];
            in.readFully(bytes);
            remaining -= length;
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw corrupt(what + " is not valid UTF-8");
            }
        }

        float[] readVector(int dimension, String what) throws IOException {
            need(4L * dimension, what);
            float[] v = new float[dimension];
            for (int j = 0; j < dimension; j++) {
                v[j] = in.readFloat();
                if (!Float.isFinite(v[j])) {
                    throw corrupt(what + " component " + j + " is " + v[j]);
                }
            }
            return v;
        }

        int readInt(String what) throws IOException {
            need(4, what);
            return in.readInt();
        }

        byte readByte(String what) throws IOException {
            need(1, what);
            return in.readByte();
        }

        long readLong(String what) throws IOException {
            need(8, what);
            return in.readLong();
        }

        float readFloat(String what) throws IOException {
            need(4, what);
            return in.readFloat();
        }

        double readDouble(String what) throws IOException {
            need(8, what);
            return in.readDouble();
        }

        private void need(long bytes, String what) throws CorruptIndexException {
            if (bytes > remaining) {
                throw corrupt("truncated: " + what + " needs " + bytes + " bytes, " + remaining + " left");
            }
            remaining -= bytes;
        }

        CorruptIndexException corrupt(String detail) {
            return new CorruptIndexException(path, detail);
        }
    }
}
