package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import io.llamaffm.ContextParams;
import io.llamaffm.chat.ChatFormat;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Builder settings of both chat models: the chat format and the default request parameters. Values set here are
 * the defaults of every request; a request's own parameters win. Unset ones fall back to temperature 0.8, top-k
 * 40, top-p 0.95, min-p 0.05, a new random seed per call, and as many output tokens as the context has room for.
 *
 * @param <B> the concrete builder
 */
abstract class ChatModelBuilder<B extends ChatModelBuilder<B>> extends ModelBuilder<B> {
    private ChatFormat chatFormat;
    private ChatRequestParameters defaultRequestParameters;
    private final LlamaFfmChatRequestParameters.Builder parameters = LlamaFfmChatRequestParameters.builder();
    private List<ChatModelListener> listeners = List.of();

    ChatModelBuilder() {}

    /**
     * How messages become the prompt; defaults to {@link ChatFormat#forModel}: the model's own chat template, or the
     * plain {@code User:}/{@code Assistant:} format for models without one.
     */
    public B chatFormat(ChatFormat chatFormat) {
        this.chatFormat = chatFormat;
        return self();
    }

    /** Default parameters of every request; the single-value setters of this builder override them. */
    public B defaultRequestParameters(ChatRequestParameters parameters) {
        this.defaultRequestParameters = parameters;
        return self();
    }

    /** Sampling temperature (0 = greedy: always the most probable token). */
    public B temperature(Double temperature) {
        parameters.temperature(temperature);
        return self();
    }

    /** Nucleus sampling: keep the most probable tokens whose probabilities add up to this (0..1). */
    public B topP(Double topP) {
        parameters.topP(topP);
        return self();
    }

    /** Keep only the k most probable tokens (0 = off, as in llama.cpp; 1 = greedy). */
    public B topK(Integer topK) {
        parameters.topK(topK);
        return self();
    }

    /** Keep tokens at least this probable relative to the most probable one (0..1). */
    public B minP(Double minP) {
        parameters.minP(minP);
        return self();
    }

    /** Seed of the random draw: the same seed, settings and prompt give the same answer. */
    public B seed(Integer seed) {
        parameters.seed(seed);
        return self();
    }

    /** Most tokens of a reply. */
    public B maxOutputTokens(Integer maxOutputTokens) {
        parameters.maxOutputTokens(maxOutputTokens);
        return self();
    }

    /** Texts that end a reply (not included in it). */
    public B stopSequences(List<String> stopSequences) {
        parameters.stopSequences(stopSequences);
        return self();
    }

    /** Penalty for tokens in proportion to how often they appeared in the last 64 tokens. */
    public B frequencyPenalty(Double frequencyPenalty) {
        parameters.frequencyPenalty(frequencyPenalty);
        return self();
    }

    /** Penalty for tokens that appeared in the last 64 tokens at all. */
    public B presencePenalty(Double presencePenalty) {
        parameters.presencePenalty(presencePenalty);
        return self();
    }

    /** {@link ResponseFormat#JSON} (optionally with a JSON schema) constrains replies to JSON with a grammar. */
    public B responseFormat(ResponseFormat responseFormat) {
        parameters.responseFormat(responseFormat);
        return self();
    }

    /** Listeners told about every request, response and error. */
    public B listeners(List<ChatModelListener> listeners) {
        this.listeners = listeners == null ? List.of() : listeners;
        return self();
    }

    /** The engine: contexts from {@link ContextParams#defaults()} (4096 tokens) unless contextParams was given. */
    ChatEngine engine() {
        LlamaFfmChatRequestParameters single = parameters.build();
        LlamaFfmChatRequestParameters defaults = defaultRequestParameters == null ? single
                : LlamaFfmChatRequestParameters.builder().overrideWith(defaultRequestParameters).overrideWith(single).build();
        ChatEngine.sampler(defaults); // bad defaults fail at build time, not at the first request
        ModelContexts pool = pool(ContextParams.defaults(), UnaryOperator.identity());
        try {
            return new ChatEngine(pool, chatFormat, defaults, listeners);
        } catch (RuntimeException | Error e) {
            pool.close();
            throw e;
        }
    }
}
