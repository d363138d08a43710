package io.llamaffm.gguf;

import io.llamaffm.LlamaException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SequencedMap;

/**
 * A GGUF file read without loading a model: its version, metadata and tensor infos, and zero-copy read-only views of
 * the tensor data. Everything in the header is validated when the file is opened; a malformed file gives a
 * {@link GgufFormatException} naming the byte offset and the problem.
 *
 * <p>{@link #open(Path)} memory-maps the file and {@link #close()} unmaps it; {@link #read(MemorySegment)} reads
 * bytes the caller owns and keeps alive. The object is immutable and may be shared by threads. Closing is idempotent;
 * after close every method throws {@link IllegalStateException} (and segments from {@link #tensorData} of a mapped
 * file can no longer be accessed).
 *
 * <p>Typed getters ({@link #getInt}, {@link #getString}, ...) throw {@link GgufFormatException} when the key is
 * absent or holds another type; the {@code find} variants return empty for an absent key.
 */
public final class GgufFile implements AutoCloseable {
    private final String source;
    private final MemorySegment bytes;
    private final Arena arena; // null when the caller owns the memory
    private final GgufParser.Parsed parsed;
    private final Map<String, TensorInfo> tensorsByName;
    private volatile boolean closed;

    private GgufFile(String source, MemorySegment bytes, Arena arena, boolean headerOnly) {
        this.source = source;
        this.bytes = bytes;
        this.arena = arena;
        this.parsed = headerOnly ? GgufParser.parseHeader(bytes, source) : GgufParser.parse(bytes, source);
        Map<String, TensorInfo> byName = new HashMap<>();
        parsed.tensors().forEach(t -> byName.put(t.name(), t));
        this.tensorsByName = Map.copyOf(byName);
    }

    /**
     * Memory-maps and reads a GGUF file. Close the result to unmap it.
     *
     * @param path the file
     * @return the open file
     * @throws GgufFormatException if the file is not well-formed GGUF
     * @throws LlamaException      if the file cannot be opened or mapped
     */
    public static GgufFile open(Path path) {
        return open(path, false);
    }

    /**
     * Memory-maps a GGUF file of which only the header (metadata and tensor infos) need be there: a file cut after its
     * header, or a download's first bytes. The tensor infos are read but their data is not looked for; a tensor whose
     * data is not in the file has no {@link #tensorData}. Close the result to unmap it.
     *
     * @param path the file
     * @return the open file
     * @throws GgufFormatException if the header is malformed or the file ends inside it
     *                             ({@link GgufFormatException#truncated()})
     * @throws LlamaException      if the file cannot be opened or mapped
     */
    public static GgufFile openHeader(Path path) {
        return open(path, true);
    }

    private static GgufFile open(Path path, boolean headerOnly) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path.toString(), mapped, arena, headerOnly);
        } catch (IOException e) {
            arena.close();
            throw new LlamaException("cannot read GGUF file " + path + ": " + e, e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Reads a GGUF file already in memory. The caller owns {@code bytes} and must keep it alive while this object and
     * the tensor views are used; {@link #close()} does not free it.
     *
     * @param bytes the whole file's bytes
     * @return the file, to close when done
     * @throws GgufFormatException if the bytes are not well-formed GGUF
     */
    public static GgufFile read(MemorySegment bytes) {
        return new GgufFile("GGUF in memory (" + bytes.byteSize() + " bytes)", bytes, null, false);
    }

    /**
     * Reads the header of a GGUF file from its first bytes, as {@link #openHeader(Path)} does. The caller owns
     * {@code prefix} and keeps it alive while this object is used.
     *
     * @param prefix the file's first bytes (the whole header, the tensor data need not follow)
     * @param source what the bytes are, for messages (a file name or URL)
     * @return the file, to close when done
     * @throws GgufFormatException if the header is malformed, or the bytes end inside it
     *                             ({@link GgufFormatException#truncated()}: read more and try again)
     */
    public static GgufFile readHeader(MemorySegment prefix, String source) {
        return new GgufFile(source, prefix, null, true);
    }

    /**
     * {@return the bytes the header takes: magic, version, counts, metadata and tensor infos, up to the padding before
     * the tensor data}
     */
    public long headerSize() {
        ensureOpen();
        return parsed.headerEnd();
    }

    /** {@return the GGUF version of the file: 2 or 3} */
    public int version() {
        ensureOpen();
        return parsed.version();
    }

    /** {@return the alignment of tensor data in bytes: {@code general.alignment}, or 32 when the key is absent} */
    public long alignment() {
        ensureOpen();
        return parsed.alignment();
    }

    /** {@return the size of the file in bytes} */
    public long byteSize() {
        ensureOpen();
        return bytes.byteSize();
    }

    /** {@return all metadata in file order (unmodifiable)} */
    public SequencedMap<String, GgufValue> metadata() {
        ensureOpen();
        return parsed.metadata();
    }

    /**
     * Finds a metadata value.
     *
     * @param key the metadata key
     * @return the value of {@code key}, or empty if the file has no such key
     */
    public Optional<GgufValue> find(String key) {
        ensureOpen();
        return Optional.ofNullable(parsed.metadata().get(key));
    }

    /**
     * A metadata value.
     *
     * @param key the metadata key
     * @return the value of {@code key}
     * @throws GgufFormatException if the key is absent
     */
    public GgufValue get(String key) {
        return find(key).orElseThrow(() -> new GgufFormatException(source, -1, "no metadata key '" + key + "'"));
    }

    /**
     * A string value.
     *
     * @param key the metadata key
     * @return the string
     * @throws GgufFormatException if the key is absent or not a string
     */
    public String getString(String key) {
        return findString(key).orElseThrow(() -> absent(key));
    }

    /**
     * A string value, or empty if absent.
     *
     * @param key the metadata key
     * @return the string, or empty
     * @throws GgufFormatException if the key is present but not a string
     */
    public Optional<String> findString(String key) {
        return find(key).map(v -> v instanceof GgufValue.Str(String s) ? s : wrongType(key, v, "STRING"));
    }

    /**
     * An integer value of any integer type whose value fits an {@code int}.
     *
     * @param key the metadata key
     * @return the value
     * @throws GgufFormatException if the key is absent, not an integer, or out of {@code int} range
     */
    public int getInt(String key) {
        return findInt(key).orElseThrow(() -> absent(key));
    }

    /**
     * Like {@link #getInt} but empty if the key is absent.
     *
     * @param key the metadata key
     * @return the value, or empty
     * @throws GgufFormatException if the key is present but not an integer, or out of {@code int} range
     */
    public OptionalInt findInt(String key) {
        OptionalLong v = findLong(key);
        if (v.isEmpty()) {
            return OptionalInt.empty();
        }
        long l = v.getAsLong();
        if (l != (int) l) {
            throw new GgufFormatException(source, keyOffset(key), "value " + l + " of key '" + key + "' does not fit an int");
        }
        return OptionalInt.of((int) l);
    }

    /**
     * An integer value of any integer type whose value fits a {@code long}.
     *
     * @param key the metadata key
     * @return the value
     * @throws GgufFormatException if the key is absent, not an integer, or a {@code uint64} above 2^63-1
     */
    public long getLong(String key) {
        return findLong(key).orElseThrow(() -> absent(key));
    }

    /**
     * Like {@link #getLong} but empty if the key is absent.
     *
     * @param key the metadata key
     * @return the value, or empty
     * @throws GgufFormatException if the key is present but not an integer, or a {@code uint64} above 2^63-1
     */
    public OptionalLong findLong(String key) {
        Optional<GgufValue> found = find(key);
        if (found.isEmpty()) {
            return OptionalLong.empty();
        }
        long l = switch (found.get()) {
            case GgufValue.UInt8 v -> v.value();
            case GgufValue.Int8 v -> v.value();
            case GgufValue.UInt16 v -> v.value();
            case GgufValue.Int16 v -> v.value();
            case GgufValue.UInt32 v -> v.value();
            case GgufValue.Int32 v -> v.value();
            case GgufValue.Int64 v -> v.value();
            case GgufValue.UInt64 v when v.value() >= 0 -> v.value();
            case GgufValue.UInt64 v -> throw new GgufFormatException(source, keyOffset(key), "value "
                    + Long.toUnsignedString(v.value()) + " of key '" + key + "' does not fit a long");
            default -> wrongType(key, found.get(), "an integer type");
        };
        return OptionalLong.of(l);
    }

    /**
     * A {@code float32} value.
     *
     * @param key the metadata key
     * @return the value
     * @throws GgufFormatException if the key is absent or not FLOAT32
     */
    public float getFloat(String key) {
        return findFloat(key).orElseThrow(() -> absent(key));
    }

    /**
     * A {@code float32} value, or empty if absent.
     *
     * @param key the metadata key
     * @return the value, or empty
     * @throws GgufFormatException if the key is present but not FLOAT32
     */
    public Optional<Float> findFloat(String key) {
        return find(key).map(v -> v instanceof GgufValue.Float32(float f) ? f : wrongType(key, v, "FLOAT32"));
    }

    /**
     * A {@code float32} or {@code float64} value.
     *
     * @param key the metadata key
     * @return the value
     * @throws GgufFormatException if the key is absent or not a float type
     */
    public double getDouble(String key) {
        return findDouble(key).orElseThrow(() -> absent(key));
    }

    /**
     * Like {@link #getDouble} but empty if the key is absent.
     *
     * @param key the metadata key
     * @return the value, or empty
     * @throws GgufFormatException if the key is present but not a float type
     */
    public OptionalDouble findDouble(String key) {
        Optional<GgufValue> found = find(key);
        if (found.isEmpty()) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(switch (found.get()) {
            case GgufValue.Float32 v -> v.value();
            case GgufValue.Float64 v -> v.value();
            default -> wrongType(key, found.get(), "FLOAT32 or FLOAT64");
        });
    }

    /**
     * A {@code bool} value.
     *
     * @param key the metadata key
     * @return the value
     * @throws GgufFormatException if the key is absent or not BOOL
     */
    public boolean getBool(String key) {
        return findBool(key).orElseThrow(() -> absent(key));
    }

    /**
     * A {@code bool} value, or empty if absent.
     *
     * @param key the metadata key
     * @return the value, or empty
     * @throws GgufFormatException if the key is present but not BOOL
     */
    public Optional<Boolean> findBool(String key) {
        return find(key).map(v -> v instanceof GgufValue.Bool(boolean b) ? b : wrongType(key, v, "BOOL"));
    }

    /**
     * An array value.
     *
     * @param key the metadata key
     * @return the array
     * @throws GgufFormatException if the key is absent or not an array
     */
    public GgufValue.Array getArray(String key) {
        return findArray(key).orElseThrow(() -> absent(key));
    }

    /**
     * An array value, or empty if absent.
     *
     * @param key the metadata key
     * @return the array, or empty
     * @throws GgufFormatException if the key is present but not an array
     */
    public Optional<GgufValue.Array> findArray(String key) {
        return find(key).map(v -> v instanceof GgufValue.Array a ? a : wrongType(key, v, "ARRAY"));
    }

    /** {@return the tensor infos in file order} */
    public List<TensorInfo> tensors() {
        ensureOpen();
        return parsed.tensors();
    }

    /**
     * Finds a tensor by name.
     *
     * @param name the tensor's name
     * @return the tensor named {@code name}, or empty
     */
    public Optional<TensorInfo> tensor(String name) {
        ensureOpen();
        return Optional.ofNullable(tensorsByName.get(name));
    }

    /** {@return the sum of the element counts of all tensors (the parameter count of a model)} */
    public long parameterCount() {
        ensureOpen();
        long n = 0;
        for (TensorInfo t : parsed.tensors()) {
            n = Math.addExact(n, t.elementCount());
        }
        return n;
    }

    /** {@return where the tensor data section starts, in bytes from the start of the file (a multiple of the alignment)} */
    public long dataOffset() {
        ensureOpen();
        return parsed.dataOffset();
    }

    /**
     * The data of a tensor of this file: a zero-copy, read-only view, valid while this file is open (and, for
     * {@link #read(MemorySegment)}, while the caller's memory is alive).
     *
     * @param tensor one of this file's {@link #tensors()}
     * @return the tensor's bytes
     * @throws IllegalArgumentException if {@code tensor} is not one of this file's {@link #tensors()}
     */
    public MemorySegment tensorData(TensorInfo tensor) {
        ensureOpen();
        if (!tensor.equals(tensorsByName.get(tensor.name()))) {
            throw new IllegalArgumentException(tensor + " is not a tensor of " + source);
        }
        if (parsed.dataOffset() + tensor.offset() + tensor.byteSize() > bytes.byteSize()) {
            throw new IllegalStateException("the data of " + tensor.name() + " is not in " + source
                    + ": only its first " + bytes.byteSize() + " bytes were read");
        }
        return bytes.asSlice(parsed.dataOffset() + tensor.offset(), tensor.byteSize()).asReadOnly();
    }

    /** Unmaps a file from {@link #open(Path)}; for {@link #read(MemorySegment)} only marks this object closed. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        if (arena != null) {
            arena.close();
        }
        closed = true;
    }

    @Override
    public String toString() {
        return "GgufFile[" + source + (closed ? ", closed]" : ", v" + parsed.version() + ", "
                + parsed.metadata().size() + " keys, " + parsed.tensors().size() + " tensors]");
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("GGUF file " + source + " is closed");
        }
    }

    private long keyOffset(String key) {
        return parsed.keyOffsets().getOrDefault(key, -1L);
    }

    private GgufFormatException absent(String key) {
        return new GgufFormatException(source, -1, "no metadata key '" + key + "'");
    }

    private <T> T wrongType(String key, GgufValue v, String expected) {
        throw new GgufFormatException(source, keyOffset(key), "key '" + key + "' is " + v.type() + ", expected " + expected);
    }
}
