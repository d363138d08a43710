package io.llamaffm.springai;

import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Spring Boot auto-configuration: a {@link LlamaFfmChatModel} when {@code llama-ffm.chat.model} is set, a
 * {@link LlamaFfmEmbeddingModel} when {@code llama-ffm.embedding.model} is set. Each loads and owns its model and is
 * closed (contexts, then the model) when the application context closes. The chat model resolves tool definitions
 * with the application's {@link ToolCallingManager} bean when there is one.
 */
@AutoConfiguration
@EnableConfigurationProperties({LlamaFfmChatProperties.class, LlamaFfmEmbeddingProperties.class})
public class LlamaFfmAutoConfiguration {
    /**
     * The chat model of {@code llama-ffm.chat.*}.
     *
     * @param properties the chat properties
     * @param toolCallingManager the application's tool-calling manager, if any
     * @return the chat model, closed with the application context
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = LlamaFfmChatProperties.PREFIX, name = "model")
    public LlamaFfmChatModel llamaFfmChatModel(LlamaFfmChatProperties properties,
                                               ObjectProvider<ToolCallingManager> toolCallingManager) {
        return LlamaFfmChatModel.builder()
                .modelPath(properties.getModel())
                .modelParams(properties.modelParams())
                .contextParams(properties.contextParams(ContextParams.defaults()))
                .poolSize(properties.getPoolSize())
                .defaultOptions(properties.getOptions().toChatOptions())
                .toolCallingManager(toolCallingManager.getIfAvailable(() -> ToolCallingManager.builder().build()))
                .build();
    }

    /**
     * The embedding model of {@code llama-ffm.embedding.*}.
     *
     * @param properties the embedding properties
     * @return the embedding model, closed with the application context
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = LlamaFfmEmbeddingProperties.PREFIX, name = "model")
    public LlamaFfmEmbeddingModel llamaFfmEmbeddingModel(LlamaFfmEmbeddingProperties properties) {
        return LlamaFfmEmbeddingModel.builder()
                .modelPath(properties.getModel())
                .modelParams(properties.modelParams())
                .contextParams(properties.contextParams(LlamaFfmEmbeddingModel.Builder.defaultContextParams()))
                .poolSize(properties.getPoolSize())
                .normalize(properties.isNormalize())
                .longInput(properties.isTruncate() ? EmbeddingParams.LongInput.TRUNCATE : EmbeddingParams.LongInput.REFUSE)
                .build();
    }
}
