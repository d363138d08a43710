package io.llamaffm.internal.load;

import io.llamaffm.ModelLoadException;
import io.llamaffm.ModelParams;
import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.ggml_init_params;
import io.llamaffm.bindings.ggml_tensor;
import io.llamaffm.bindings.llama_model_set_tensor_data_t;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.TensorInfo;
import io.llamaffm.internal.NativeLog;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a model from a GGUF file already in memory (and validated by {@link GgufFile#read}): builds llama.cpp's
 * {@code gguf_context} from the parsed metadata and tensor infos, then calls {@code llama_model_init_from_user}, whose
 * tensor-data callback copies each of our zero-copy tensor views into the tensor llama.cpp allocated
 * ({@code ggml_backend_tensor_set}). llama.cpp owns the weights afterwards; the caller's memory is no longer needed.
 */
public final class MemoryModelLoader {
    /** ggml's {@code GGML_MAX_NAME}: a tensor name takes fewer bytes than this (with its NUL). */
    private static final int GGML_MAX_NAME = 64;
    /** ggml's {@code GGML_MAX_DIMS}. */
    private static final int GGML_MAX_DIMS = 4;
    /** Heap data goes to native code through a buffer of at most this size. */
    private static final long STAGING_BYTES = 8L << 20;

    private MemoryModelLoader() {}

    /**
     * What llama.cpp cannot know about a model it did not read from a file, from our own reading of the GGUF: the
     * parameter count and tensor bytes (llama.cpp counts them while reading a file's tensor infos) and, when the file
     * does not state {@code general.file_type}, the file type llama.cpp guesses from the most common tensor type.
     *
     * @param guessedFileType the {@code llama_ftype} llama.cpp would guess (with its GUESSED flag), or -1 when the
     *                        metadata (or an override) states the file type
     */
    public record Stats(long parameterCount, long sizeBytes, int guessedFileType) {
        public static Stats of(GgufFile file, ModelParams params) {
            long bytes = 0;
            for (TensorInfo t : file.tensors()) {
                bytes = Math.addExact(bytes, t.byteSize());
            }
            boolean stated = file.find("general.file_type").isPresent()
                    || params.metadataOverrides().containsKey("general.file_type");
            return new Stats(file.parameterCount(), bytes, stated ? -1 : GuessedFileType.of(file.tensors()));
        }
    }

    /**
     * Refuses in Java what llama.cpp's gguf API would abort on or silently change: tensor names of 64 bytes or more,
     * and NUL characters in keys, tensor names or string values (the API takes C strings).
     *
     * @throws ModelLoadException naming the offending key or tensor
     */
    static void validate(GgufFile file, Path name) {
        for (Map.Entry<String, GgufValue> e : file.metadata().entrySet()) {
            if (e.getKey().indexOf('\0') >= 0) {
                throw refused(name, "metadata key '" + e.getKey().replace("\0", "\\0") + "' holds a NUL character");
            }
            boolean nul = switch (e.getValue()) {
                case GgufValue.Str(String s) -> s.indexOf('\0') >= 0;
                case GgufValue.Array a when a.elementType() == GgufValue.Type.STRING ->
                        a.strings().stream().anyMatch(s -> s.indexOf('\0') >= 0);
                default -> false;
            };
            if (nul) {
                throw refused(name, "a string value of metadata key '" + e.getKey() + "' holds a NUL character, which "
                        + "llama.cpp's gguf API cannot take (load the model from a file instead)");
            }
        }
        for (TensorInfo t : file.tensors()) {
            if (t.name().indexOf('\0') >= 0 || t.name().getBytes(StandardCharsets.UTF_8).length >= GGML_MAX_NAME) {
                throw refused(name, "tensor name '" + t.name().replace("\0", "\\0") + "' is longer than "
                        + (GGML_MAX_NAME - 1) + " bytes or holds a NUL character");
            }
        }
    }

    /**
     * Creates the model. The caller keeps {@code file}'s memory alive during the call.
     *
     * @param modelParams a filled {@code llama_model_params}
     * @return the {@code llama_model*}, never NULL
     * @throws ModelLoadException if llama.cpp refuses the model or a tensor cannot be filled
     */
    public static MemorySegment load(GgufFile file, MemorySegment modelParams, Path name) {
        validate(file, name);
        MemorySegment gguf = MemorySegment.NULL;
        MemorySegment ggml = MemorySegment.NULL;
        try (Arena local = Arena.ofConfined()) {
            gguf = LlamaH.gguf_init_empty();
            if (gguf.equals(MemorySegment.NULL)) {
                throw refused(name, "gguf_init_empty failed (out of memory)");
            }
            for (Map.Entry<String, GgufValue> e : file.metadata().entrySet()) {
                setValue(gguf, local.allocateFrom(e.getKey()), e.getValue(), local);
            }
            List<TensorInfo> tensors = file.tensors();
            if (!tensors.isEmpty()) {
                MemorySegment init = ggml_init_params.allocate(local);
                ggml_init_params.mem_size(init, LlamaH.ggml_tensor_overhead() * (tensors.size() + 1L));
                ggml_init_params.mem_buffer(init, MemorySegment.NULL);
                ggml_init_params.no_alloc(init, true);
                ggml = LlamaH.ggml_init(init);
                if (ggml.equals(MemorySegment.NULL)) {
                    throw refused(name, "ggml_init failed (out of memory)");
                }
                MemorySegment ne = local.allocate(ValueLayout.JAVA_LONG, GGML_MAX_DIMS);
                for (TensorInfo t : tensors) {
                    long[] dims = t.dims();
                    MemorySegment.copy(dims, 0, ne, ValueLayout.JAVA_LONG, 0, dims.length);
                    MemorySegment tensor = LlamaH.ggml_new_tensor(ggml, t.type().id(), dims.length, ne);
                    LlamaH.ggml_set_name(tensor, local.allocateFrom(t.name()));
                    LlamaH.gguf_add_tensor(gguf, tensor); // copies the tensor's description (type, shape, name)
                }
            }
            return createModel(file, gguf, modelParams, name, local);
        } finally {
            if (!ggml.equals(MemorySegment.NULL)) {
                LlamaH.ggml_free(ggml);
            }
            if (!gguf.equals(MemorySegment.NULL)) {
                LlamaH.gguf_free(gguf);
            }
        }
    }

    private static MemorySegment createModel(GgufFile file, MemorySegment gguf, MemorySegment modelParams, Path name,
                                             Arena local) {
        Map<String, TensorInfo> byName = new HashMap<>();
        file.tensors().forEach(t -> byName.put(t.name(), t));
        TensorFiller filler = new TensorFiller(file, byName, local);
        MemorySegment callback = llama_model_set_tensor_data_t.allocate(filler::fill, local);
        MemorySegment raw;
        List<String> log;
        NativeLog.beginCapture();
        try {
            raw = LlamaH.llama_model_init_from_user(gguf, callback, MemorySegment.NULL, modelParams);
        } finally {
            log = NativeLog.endCapture();
        }
        if (filler.failure != null) {
            if (!raw.equals(MemorySegment.NULL)) {
                LlamaH.llama_model_free(raw);
            }
            throw new ModelLoadException(name, filler.failure.getMessage(), log, filler.failure);
        }
        if (raw.equals(MemorySegment.NULL)) {
            throw new ModelLoadException(name, "llama.cpp could not load it", log);
        }
        return raw;
    }

    /** The set_tensor_data upcall: finds our view of the tensor llama.cpp names and copies it in. */
    private static final class TensorFiller {
        private final GgufFile file;
        private final Map<String, TensorInfo> byName;
        private final Arena local;
        private MemorySegment staging;
        Throwable failure; // the first failure; later tensors are skipped

        TensorFiller(GgufFile file, Map<String, TensorInfo> byName, Arena local) {
            this.file = file;
            this.byName = byName;
            this.local = local;
        }

        // Upcall: nothing may escape into native code (it would end the JVM); the failure is rethrown after the load.
        void fill(MemorySegment tensor, MemorySegment userData) {
            if (failure != null) {
                return;
            }
            try {
                MemorySegment t = tensor.reinterpret(ggml_tensor.layout().byteSize());
                String tensorName = LlamaH.ggml_get_name(t).reinterpret(GGML_MAX_NAME).getString(0);
                TensorInfo info = byName.get(tensorName);
                if (info == null) {
                    throw new IllegalStateException("llama.cpp needs tensor '" + tensorName + "', which the GGUF does not have");
                }
                int type = ggml_tensor.type(t);
                long[] ne = ggml_tensor.ne(t).toArray(ValueLayout.JAVA_LONG);
                long[] dims = Arrays.copyOf(info.dims(), GGML_MAX_DIMS);
                for (int i = info.dims().length; i < GGML_MAX_DIMS; i++) {
                    dims[i] = 1;
                }
                if (type != info.type().id() || !Arrays.equals(ne, dims)) {
                    throw new IllegalStateException("tensor '" + tensorName + "' is " + info.type() + " "
                            + Arrays.toString(info.dims()) + " in the GGUF, but the model expects "
                            + GgmlType.byId(type).map(Enum::name).orElse("type " + type) + " " + Arrays.toString(ne));
                }
                MemorySegment data = file.tensorData(info);
                long nbytes = LlamaH.ggml_nbytes(t);
                if (nbytes != data.byteSize()) {
                    throw new IllegalStateException("tensor '" + tensorName + "' takes " + nbytes + " bytes in llama.cpp but "
                            + data.byteSize() + " bytes in the GGUF");
                }
                copy(t, data);
            } catch (Throwable e) {
                failure = e;
            }
        }

        private void copy(MemorySegment tensor, MemorySegment data) {
            if (data.isNative()) {
                LlamaH.ggml_backend_tensor_set(tensor, data, 0, data.byteSize());
                return;
            }
            // heap memory cannot be handed to native code: stage it
            if (staging == null) {
                staging = local.allocate(STAGING_BYTES);
            }
            for (long at = 0; at < data.byteSize(); at += STAGING_BYTES) {
                long n = Math.min(STAGING_BYTES, data.byteSize() - at);
                MemorySegment.copy(data, at, staging, 0, n);
                LlamaH.ggml_backend_tensor_set(tensor, staging, at, n);
            }
        }
    }

    private static void setValue(MemorySegment gguf, MemorySegment key, GgufValue value, Arena local) {
        switch (value) {
            case GgufValue.UInt8 v -> LlamaH.gguf_set_val_u8(gguf, key, (byte) v.value());
            case GgufValue.Int8 v -> LlamaH.gguf_set_val_i8(gguf, key, v.value());
            case GgufValue.UInt16 v -> LlamaH.gguf_set_val_u16(gguf, key, (short) v.value());
            case GgufValue.Int16 v -> LlamaH.gguf_set_val_i16(gguf, key, v.value());
            case GgufValue.UInt32 v -> LlamaH.gguf_set_val_u32(gguf, key, (int) v.value());
            case GgufValue.Int32 v -> LlamaH.gguf_set_val_i32(gguf, key, v.value());
            case GgufValue.UInt64 v -> LlamaH.gguf_set_val_u64(gguf, key, v.value());
            case GgufValue.Int64 v -> LlamaH.gguf_set_val_i64(gguf, key, v.value());
            case GgufValue.Float32 v -> LlamaH.gguf_set_val_f32(gguf, key, v.value());
            case GgufValue.Float64 v -> LlamaH.gguf_set_val_f64(gguf, key, v.value());
            case GgufValue.Bool v -> LlamaH.gguf_set_val_bool(gguf, key, v.value());
            case GgufValue.Str v -> LlamaH.gguf_set_val_str(gguf, key, local.allocateFrom(v.value()));
            case GgufValue.Array a when a.elementType() == GgufValue.Type.STRING -> {
                List<String> strings = a.strings();
                MemorySegment pointers = local.allocate(ValueLayout.ADDRESS, Math.max(1, strings.size()));
                for (int i = 0; i < strings.size(); i++) {
                    pointers.setAtIndex(ValueLayout.ADDRESS, i, local.allocateFrom(strings.get(i)));
                }
                LlamaH.gguf_set_arr_str(gguf, key, pointers, strings.size());
            }
            case GgufValue.Array a -> LlamaH.gguf_set_arr_data(gguf, key, a.elementType().id(), packed(a, local), a.size());
        }
    }

    /** The elements of a fixed-size array as the C array gguf_set_arr_data copies (native byte order). */
    private static MemorySegment packed(GgufValue.Array a, Arena local) {
        int width = switch (a.elementType()) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32, FLOAT32 -> 4;
            case UINT64, INT64, FLOAT64 -> 8;
            case STRING, ARRAY -> throw new IllegalStateException(a.elementType() + " has no fixed size");
        };
        MemorySegment out = local.allocate((long) width * Math.max(1, a.size()), width);
        List<GgufValue> elements = a.elements();
        for (int i = 0; i < elements.size(); i++) {
            long at = (long) i * width;
            switch (elements.get(i)) {
                case GgufValue.UInt8 v -> out.set(ValueLayout.JAVA_BYTE, at, (byte) v.value());
                case GgufValue.Int8 v -> out.set(ValueLayout.JAVA_BYTE, at, v.value());
                case GgufValue.Bool v -> out.set(ValueLayout.JAVA_BYTE, at, (byte) (v.value() ? 1 : 0));
                case GgufValue.UInt16 v -> out.set(ValueLayout.JAVA_SHORT, at, (short) v.value());
                case GgufValue.Int16 v -> out.set(ValueLayout.JAVA_SHORT, at, v.value());
                case GgufValue.UInt32 v -> out.set(ValueLayout.JAVA_INT, at, (int) v.value());
                case GgufValue.Int32 v -> out.set(ValueLayout.JAVA_INT, at, v.value());
                case GgufValue.Float32 v -> out.set(ValueLayout.JAVA_FLOAT, at, v.value());
                case GgufValue.UInt64 v -> out.set(ValueLayout.JAVA_LONG, at, v.value());
                case GgufValue.Int64 v -> out.set(ValueLayout.JAVA_LONG, at, v.value());
                case GgufValue.Float64 v -> out.set(ValueLayout.JAVA_DOUBLE, at, v.value());
                default -> throw new IllegalStateException("array of " + a.elementType() + " holds a " + elements.get(i).type());
            }
        }
        return out;
    }

    private static ModelLoadException refused(Path name, String reason) {
        return new ModelLoadException(name, reason, List.of());
    }
}
