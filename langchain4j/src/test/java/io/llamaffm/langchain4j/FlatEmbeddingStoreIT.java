package io.llamaffm.langchain4j;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.store.embedding.EmbeddingStore;
import dev.langchain4j.store.embedding.EmbeddingStoreWithFilteringIT;
import io.llamaffm.embeddings.VectorIndex;

/**
 * LangChain4j's own conformance tests for embedding stores with filtering ({@code langchain4j-core}'s test jar),
 * run against {@link LlamaFfmEmbeddingStore} over the exact {@link VectorIndex}.
 */
class FlatEmbeddingStoreIT extends EmbeddingStoreWithFilteringIT {
    private final LlamaFfmEmbeddingStore store = new LlamaFfmEmbeddingStore(new VectorIndex(384));

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
