package io.llamaffm.gguf;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a GGUF model into {@code parts} files the way llama.cpp's gguf-split lays them out: every part carries
 * {@code split.no} (UINT16, 0-based), {@code split.count} (UINT16) and {@code split.tensors.count} (INT32, all
 * tensors); the first part also carries all metadata; the tensors are dealt out in order. Files are named
 * {@code PREFIX-0000N-of-0000M.gguf}, the names llama.cpp derives from the first part.
 */
public final class SplitFixture {
    private SplitFixture() {}

    /** Writes the parts into {@code dir}; returns their paths in order. */
    public static List<Path> write(Path model, Path dir, String prefix, int parts) {
        if (parts < 2) {
            throw new IllegalArgumentException("need at least 2 parts");
        }
        List<Path> out = new ArrayList<>();
        try (GgufFile in = GgufFile.open(model)) {
            List<TensorInfo> tensors = in.tensors();
            int per = Math.ceilDiv(tensors.size(), parts);
            for (int p = 0; p < parts; p++) {
                GgufWriter w = new GgufWriter();
                if (p == 0) {
                    in.metadata().forEach(w::put);
                }
                w.putUInt16("split.no", p);
                w.putUInt16("split.count", parts);
                w.putInt32("split.tensors.count", tensors.size());
                for (TensorInfo t : tensors.subList(Math.min(p * per, tensors.size()), Math.min((p + 1) * per, tensors.size()))) {
                    w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t));
                }
                Path file = dir.resolve(String.format("%s-%05d-of-%05d.gguf", prefix, p + 1, parts));
                w.write(file);
                out.add(file);
            }
        }
        return out;
    }
}
