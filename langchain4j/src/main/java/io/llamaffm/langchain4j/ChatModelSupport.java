package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;

import java.util.List;
import java.util.Set;

/**
 * What {@link LlamaFfmChatModel} and {@link LlamaFfmStreamingChatModel} answer alike: their default parameters,
 * listeners and capabilities, and closing. The methods implement those of LangChain4j's
 * {@code ChatModel}/{@code StreamingChatModel}.
 */
abstract class ChatModelSupport implements AutoCloseable {
    final ChatEngine engine;

    ChatModelSupport(ChatEngine engine) {
        this.engine = engine;
    }

    /** The builder's parameters (and the model's name), which each request's own parameters override. */
    public ChatRequestParameters defaultRequestParameters() {
        return engine.defaults();
    }

    /** The listeners given to the builder. */
    public List<ChatModelListener> listeners() {
        return engine.listeners();
    }

    /** JSON-schema response formats are supported (through a grammar). */
    public Set<Capability> supportedCapabilities() {
        return Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    /**
     * Frees the contexts, and the model when this chat model loaded it. Idempotent.
     *
     * @throws IllegalStateException while a call is still running
     */
    @Override
    public void close() {
        engine.close();
    }
}
