package io.llamaffm.langchain4j;

import io.llamaffm.chat.TrimmedText;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.GenerationParams;
import io.llamaffm.SamplerChain;
import io.llamaffm.SamplingParams;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ParsedReply;
import io.llamaffm.chat.ReplyReader;
import io.llamaffm.chat.ToolFormat;
import io.llamaffm.chat.ToolCall;
import io.llamaffm.chat.Tools;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What {@link LlamaFfmChatModel} and {@link LlamaFfmStreamingChatModel} share: a LangChain4j chat request becomes a
 * prompt (rendered by the chat format), a sampler chain and generation parameters, and runs on a pooled context.
 */
final class ChatEngine implements AutoCloseable {
    private final ModelContexts pool;
    private final ChatFormat format;
    private final LlamaFfmChatRequestParameters defaults;
    private final List<ChatModelListener> listeners;
    private final String modelName;

    ChatEngine(ModelContexts pool, ChatFormat format, LlamaFfmChatRequestParameters defaults, List<ChatModelListener> listeners) {
        this.pool = pool;
        String loaded = pool.model().config().name();
        if (defaults.modelName() != null && !defaults.modelName().equals(loaded)) {
            throw new dev.langchain4j.exception.UnsupportedFeatureException("modelName '" + defaults.modelName()
                    + "' is not supported: this chat model runs the loaded model " + loaded);
        }
        this.format = format != null ? format : ChatFormat.forModel(pool.model());
        this.defaults = defaults.modelName() != null ? defaults
                : LlamaFfmChatRequestParameters.builder().overrideWith(defaults).modelName(pool.model().config().name()).build();
        this.listeners = List.copyOf(listeners);
        this.modelName = pool.model().config().name(); // the loaded model: a request naming another is refused
    }

    LlamaFfmChatRequestParameters defaults() {
        return defaults;
    }

    List<ChatModelListener> listeners() {
        return listeners;
    }

    /**
     * Generates the reply to {@code request} (whose parameters already include the defaults), passing its text to
     * {@code onText} piece by piece (without leading and trailing whitespace, like the returned message).
     *
     * @param onContext receives the context the reply is generated on before generation starts, and null once it
     *                  ends (for cancelling)
     */
    ChatResponse chat(ChatRequest request, Consumer<String> onText, Consumer<Context> onContext) {
        return chat(request, onText, null, onContext);
    }

    /**
     * As {@link #chat(ChatRequest, Consumer, Consumer)}; with tools active and {@code onToolCall} given, the reply is
     * read as it is generated: its text goes to {@code onText} as it comes and each call's argument fragments to
     * {@code onToolCall} (index, id, name and the fragment).
     */
    ChatResponse chat(ChatRequest request, Consumer<String> onText, Consumer<dev.langchain4j.model.chat.response.PartialToolCall> onToolCall,
                      Consumer<Context> onContext) {
        ChatRequestParameters p = request.parameters();
        if (p.modelName() != null && !p.modelName().equals(modelName)) {
            throw new dev.langchain4j.exception.UnsupportedFeatureException("modelName '" + p.modelName()
                    + "' is not supported: this chat model runs the loaded model " + modelName);
        }
        Tools tools = LangChainTools.tools(p, request.messages());
        Tools offered = tools != null ? tools : Tools.of();
        List<io.llamaffm.chat.ChatMessage> messages = Prompts.toLlamaFfm(request.messages());
        ToolFormat toolFormat = format.toolFormat();
        String rendered = toolFormat.render(messages, offered);
        int[] prompt = Prompts.encode(pool.model(), format, rendered);
        SamplerChain sampler = toolFormat.constrain(sampler(p), offered, pool.model().tokenizer(), rendered);
        List<String> stops = stopStrings(p);
        // the reply is read as it comes: its text streamed (no call syntax, no reasoning), its calls as partial tool calls
        ReplyReader reader = toolFormat.reader(rendered, offered, ToolCall::newId,
                LangChainTools.partials(onText == null ? null : new TrimmedText(onText), onToolCall));
        Completion c = pool.use(ctx -> {
            int max = p.maxOutputTokens() != null ? p.maxOutputTokens() : Math.max(1, ctx.contextLength() - prompt.length);
            onContext.accept(ctx);
            try {
                return ctx.generate(prompt, new GenerationParams(max, stops, false, false), sampler, reader::push);
            } finally {
                onContext.accept(null); // the context goes back to the pool: no longer this call's to cancel
            }
        });
        ParsedReply reply = reader.finish();
        FinishReason finish = finishReason(c.stopReason());
        AiMessage.Builder message = AiMessage.builder()
                .text(reply.content().isEmpty() && !reply.calls().isEmpty() ? null : reply.content());
        if (!reply.reasoning().isEmpty()) {
            message.thinking(reply.reasoning());
        }
        if (!reply.calls().isEmpty()) {
            message.toolExecutionRequests(LangChainTools.requests(reply.calls()));
            finish = reply.complete() ? FinishReason.TOOL_EXECUTION : FinishReason.LENGTH;
        } else if (offered.active() && !reply.complete()) {
            finish = FinishReason.LENGTH;
        }
        return ChatResponse.builder()
                .aiMessage(message.build())
                .modelName(modelName)
                .tokenUsage(new TokenUsage(c.promptTokens(), c.tokens().length))
                .finishReason(finish)
                .build();
    }

    /** The request's stop sequences and the chat format's own (the text that starts the next turn). */
    private List<String> stopStrings(ChatRequestParameters p) {
        Set<String> stops = new LinkedHashSet<>();
        if (p.stopSequences() != null) {
            stops.addAll(p.stopSequences());
        }
        stops.addAll(format.stopStrings());
        return List.copyOf(stops);
    }

    /**
     * The sampler chain for the parameters: {@link SamplingParams}, the library's one recipe, with llama.cpp's defaults
     * for what neither the request nor the builder set and llama.cpp's order (the JSON grammar when the response format
     * asks for JSON, frequency/presence penalties over the last 64 tokens, then top-k, top-p, min-p, temperature and a
     * seeded draw; temperature 0 picks the most probable token instead). Every value is checked, even those greedy
     * ignores.
     */
    static SamplerChain sampler(ChatRequestParameters p) {
        SamplingParams s = SamplingParams.defaults().withGrammar(grammar(p.responseFormat()));
        if (p.frequencyPenalty() != null) s = s.withFrequencyPenalty(p.frequencyPenalty().floatValue());
        if (p.presencePenalty() != null) s = s.withPresencePenalty(p.presencePenalty().floatValue());
        if (p.temperature() != null) s = s.withTemperature(p.temperature().floatValue());
        if (p.topK() != null) s = s.withTopK(p.topK());
        if (p.topP() != null) s = s.withTopP(p.topP().floatValue());
        if (p instanceof LlamaFfmChatRequestParameters l && l.minP() != null) s = s.withMinP(l.minP().floatValue());
        if (p instanceof LlamaFfmChatRequestParameters l && l.seed() != null) s = s.withSeed(l.seed());
        return s.toChain();
    }

    /** A grammar for JSON output: valid against the schema when one is given, else any JSON object; null for text. */
    static SamplerChain.Grammar grammar(ResponseFormat format) {
        if (format == null || format.type() != ResponseFormatType.JSON) {
            return null;
        }
        String schema = format.jsonSchema() == null ? "{\"type\":\"object\"}" : JsonSchemaText.of(format.jsonSchema().rootElement());
        return SamplerChain.Grammar.fromJsonSchema(schema);
    }

    private static FinishReason finishReason(Completion.StopReason reason) {
        return switch (reason) {
            case END_OF_GENERATION, STOP_STRING -> FinishReason.STOP;
            case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
            case CANCELLED -> FinishReason.OTHER;
        };
    }

    @Override
    public void close() {
        pool.close();
    }
}
