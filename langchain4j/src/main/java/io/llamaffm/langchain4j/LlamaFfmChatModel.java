package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;


/**
 * A LangChain4j {@link ChatModel} running a local GGUF model with llama-ffm.
 *
 * <pre>{@code
 * try (Model model = Model.load(Path.of("model.gguf"));
 *      LlamaFfmChatModel chat = LlamaFfmChatModel.builder().model(model).temperature(0.0).build()) {
 *     String answer = chat.chat("Why is the sky blue?");
 * }
 * }</pre>
 *
 * <p><b>Prompt.</b> Messages are rendered with the model's own chat template, or, for a model without one, with
 * llama-ffm's plain {@code User:}/{@code Assistant:} format (see {@link io.llamaffm.chat.ChatFormat#forModel}); the
 * reply is returned without leading and trailing whitespace. Text messages only: images are refused with
 * {@link dev.langchain4j.exception.UnsupportedFeatureException}.
 *
 * <p><b>Tools.</b> Tool specifications (with {@code AUTO}, {@code REQUIRED} or {@code NONE}) work with every model
 * through llama-ffm's JSON tool format ({@link io.llamaffm.chat.JsonToolFormat}): the tools go into the system message
 * and a grammar holds the reply to calls of those tools with arguments valid for their schemas, or (AUTO) a text
 * answer. A reply with calls is an {@code AiMessage} with tool execution requests (ids {@code call_...}) and finish
 * reason {@code TOOL_EXECUTION}; tool results come back as {@code ToolExecutionResultMessage}s. The streaming model
 * reports each call through {@code onCompleteToolCall} once the reply is complete.
 *
 * <p><b>Parameters.</b> temperature, top-p, top-k, max output tokens, stop sequences, frequency and presence
 * penalties, and the response format are honoured; {@link LlamaFfmChatRequestParameters} adds the seed and min-p.
 * {@link dev.langchain4j.model.chat.request.ResponseFormat#JSON} constrains the reply with a grammar: to the JSON
 * schema when one is given (so AiServices can return records and POJOs), else to any JSON object. A reply cut short
 * by the token limit ends with finish reason {@code LENGTH} and may be incomplete JSON.
 *
 * <p><b>Ownership.</b> Built with {@code model(Model)} it borrows the model: close this chat model first, then the
 * model. Built with {@code modelPath(Path)} it loads and owns the model and closes it in {@link #close()}. Either
 * way it owns its contexts (KV caches) and frees them in {@link #close()}.
 *
 * <p><b>Threads.</b> Safe to call from several threads: each call takes a context of its own from a pool of at most
 * {@code maxContexts} (default 1), created on first need and kept, so its KV cache lets a later prompt that starts
 * like an earlier one (the same system message, a growing conversation) decode only what is new. A call that finds
 * every context busy waits for one.
 */
public final class LlamaFfmChatModel extends ChatModelSupport implements ChatModel {

    private LlamaFfmChatModel(ChatEngine engine) {
        super(engine);
    }

    /** A builder: give it {@code model(Model)} or {@code modelPath(Path)}, then options. */
    public static Builder builder() {
        return new Builder();
    }

    /** Generates the reply; called by {@link ChatModel#chat(ChatRequest)} with the defaults already applied. */
    @Override
    public ChatResponse doChat(ChatRequest request) {
        return engine.chat(request, null, context -> {});
    }

    /** Builds a {@link LlamaFfmChatModel}; see {@link ChatModelBuilder} for the options. */
    public static final class Builder extends ChatModelBuilder<Builder> {
        private Builder() {}

        /**
         * The chat model; loads the model now when {@code modelPath} was given.
         *
         * @throws IllegalArgumentException if neither or both of model and modelPath were given, or a default is invalid
         */
        public LlamaFfmChatModel build() {
            return new LlamaFfmChatModel(engine());
        }
    }
}
