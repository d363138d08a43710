package io.llamaffm.server;

import io.llamaffm.convert.OnnxToGguf;
import io.llamaffm.gguf.GgmlType;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/** all-MiniLM-L6-v2 (the ONNX model and tokenizer of a test dependency) converted to a GGUF embedding model. */
final class MiniLm {
    private MiniLm() {}

    /** Writes {@code dir/all-minilm-l6-v2.gguf} (F16) and returns it; its model id is {@code all-minilm-l6-v2}. */
    static Path gguf(Path dir) throws Exception {
        Path gguf = dir.resolve("all-minilm-l6-v2.gguf");
        OnnxToGguf.convert(copy(dir, "all-minilm-l6-v2.onnx"), copy(dir, "all-minilm-l6-v2-tokenizer.json"), gguf, GgmlType.F16);
        return gguf;
    }

    private static Path copy(Path dir, String resource) throws Exception {
        Path p = dir.resolve(resource);
        try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(resource)) {
            Files.copy(Objects.requireNonNull(in, "MiniLM artifact on the test class path"), p);
        }
        return p;
    }
}
