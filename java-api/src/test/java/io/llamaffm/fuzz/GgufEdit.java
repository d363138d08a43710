package io.llamaffm.fuzz;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.TensorInfo;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A GGUF file taken apart for editing: its metadata and tensors (whose data stay views of the source until written),
 * written back with {@link GgufWriter}, so the result is always well-formed GGUF.
 */
final class GgufEdit {
    /** One tensor: name, type, shape and data of exactly the shape's size in that type. */
    record Tensor(String name, GgmlType type, long[] dims, MemorySegment data) {}

    final LinkedHashMap<String, GgufValue> metadata;
    final List<Tensor> tensors;

    private GgufEdit(LinkedHashMap<String, GgufValue> metadata, List<Tensor> tensors) {
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** The contents of {@code file}, which must stay open until {@link #bytes()} has returned. */
    static GgufEdit of(GgufFile file) {
        List<Tensor> tensors = new ArrayList<>();
        for (TensorInfo t : file.tensors()) {
            tensors.add(new Tensor(t.name(), t.type(), t.dims(), file.tensorData(t)));
        }
        return new GgufEdit(new LinkedHashMap<>(file.metadata()), tensors);
    }

    /** The index of the tensor named {@code name}. @throws IllegalArgumentException if there is none */
    int indexOf(String name) {
        for (int i = 0; i < tensors.size(); i++) {
            if (tensors.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no tensor " + name);
    }

    /** The file. @throws IllegalArgumentException if the writer refuses a value or tensor */
    byte[] bytes() {
        GgufWriter w = new GgufWriter();
        metadata.forEach(w::put);
        for (Tensor t : tensors) {
            w.addTensorBytes(t.name(), t.type(), t.dims(), t.data());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        w.write(out);
        return out.toByteArray();
    }
}
