package io.llamaffm.langchain4j;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.store.embedding.EmbeddingStore;
import dev.langchain4j.store.embedding.EmbeddingStoreWithRemovalIT;
import io.llamaffm.embeddings.VectorIndex;

/** LangChain4j's removal conformance tests against {@link LlamaFfmEmbeddingStore} over the exact {@link VectorIndex}. */
class FlatEmbeddingStoreRemovalIT extends EmbeddingStoreWithRemovalIT {
    private final LlamaFfmEmbeddingStore store = new LlamaFfmEmbeddingStore(new VectorIndex(384));

    @Override
    protected EmbeddingStore<TextSegment> embeddingStore() {
        return store;
    }

    @Override
    protected EmbeddingModel embeddingModel() {
        return EmbeddingStoreFixture.embeddingModel();
    }
}
