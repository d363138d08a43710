package io.llamaffm.langchain4j;

import io.llamaffm.Model;
import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.gguf.GgmlType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One MiniLM embedding model for the EmbeddingStore conformance tests (loaded once per test JVM). */
final class EmbeddingStoreFixture {
    private static LlamaFfmEmbeddingModel embeddingModel;

    private EmbeddingStoreFixture() {}

    static synchronized LlamaFfmEmbeddingModel embeddingModel() {
        if (embeddingModel == null) {
            try {
                Path dir = Files.createTempDirectory("llamaffm-store-it");
                Model model = Model.load(MiniLmFixture.gguf(dir, GgmlType.F32)); // lives as long as the test JVM
                embeddingModel = LlamaFfmEmbeddingModel.builder().model(model)
                        .contextParams(LlamaFfmEmbeddingModel.Builder.defaultContextParams().withThreads(2)).build();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return embeddingModel;
    }

    static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
