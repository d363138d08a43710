package io.llamaffm.langchain4j;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.store.embedding.EmbeddingStore;
import dev.langchain4j.store.embedding.EmbeddingStoreWithFilteringIT;
import io.llamaffm.lucene.HnswConfig;
import io.llamaffm.lucene.LuceneVectorStore;
import org.junit.jupiter.api.AfterEach;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * LangChain4j's own conformance tests for embedding stores with filtering, run against {@link LlamaFfmEmbeddingStore}
 * over the Lucene HNSW {@link LuceneVectorStore} (a new directory per test).
 */
class LuceneEmbeddingStoreIT extends EmbeddingStoreWithFilteringIT {
    private final LuceneVectorStore lucene = open();
    private final LlamaFfmEmbeddingStore store = new LlamaFfmEmbeddingStore(lucene);

    static LuceneVectorStore open() {
        try {
            return LuceneVectorStore.open(EmbeddingStoreFixture.tempDir("llamaffm-lucene-it"), 384, HnswConfig.defaults());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterEach
    void closeStore() throws IOException {
        lucene.close();
    }

    @Override
    protected EmbeddingStore<TextSegment> embeddingStore() {
        return store;
    }

    @Override
    protected EmbeddingModel embeddingModel() {
        return EmbeddingStoreFixture.embeddingModel();
    }

    @Override
    protected boolean supportsContains() {
        return true;
    }
}
