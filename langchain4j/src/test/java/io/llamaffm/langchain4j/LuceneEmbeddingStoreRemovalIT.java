package io.llamaffm.langchain4j;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.store.embedding.EmbeddingStore;
import dev.langchain4j.store.embedding.EmbeddingStoreWithRemovalIT;
import io.llamaffm.lucene.LuceneVectorStore;
import org.junit.jupiter.api.AfterEach;

import java.io.IOException;

/** LangChain4j's removal conformance tests against {@link LlamaFfmEmbeddingStore} over {@link LuceneVectorStore}. */
class LuceneEmbeddingStoreRemovalIT extends EmbeddingStoreWithRemovalIT {
    private final LuceneVectorStore lucene = LuceneEmbeddingStoreIT.open();
    private final LlamaFfmEmbeddingStore store = new LlamaFfmEmbeddingStore(lucene);

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
}
