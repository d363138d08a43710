package io.llamaffm.springai;

import io.llamaffm.chat.TrimmedText;
import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.SamplingParams;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ParsedReply;
import io.llamaffm.chat.ReplyReader;
import io.llamaffm.chat.Tool;
import io.llamaffm.chat.ToolCall;
import io.llamaffm.chat.ToolChoice;
import io.llamaffm.chat.ToolFormat;
import io.llamaffm.chat.Tools;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.StructuredOutputChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Schedulers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A Spring AI {@link ChatModel} running a local GGUF model with llama-ffm: the prompt's messages are rendered by the
 * model's chat template ({@link ChatFormat#forModel}), the options become llama-ffm's sampling recipe
 * ({@link SamplingParams}), and the reply is generated on a context taken from a pool.
 *
 * <pre>{@code
 * try (LlamaFfmChatModel chat = LlamaFfmChatModel.builder().modelPath(Path.of("qwen2.5-0.5b-instruct-q4_k_m.gguf")).build()) {
 *     String answer = ChatClient.create(chat).prompt("Name a colour.").call().content();
 * }
 * }</pre>
 *
 * <p><b>Tools.</b> The tools of the options' callbacks ({@link ToolCallingManager#resolveToolDefinitions}) are offered
 * in the chat template's tool syntax, and calls are held to the tools' JSON schemas by a grammar, so every returned
 * {@link AssistantMessage.ToolCall} has valid arguments. The model returns the calls (finish reason
 * {@code TOOL_CALLS}); {@code ChatClient}'s tool-calling advisor executes them with its {@link ToolCallingManager} and
 * calls the model again with the results. See {@link LlamaFfmChatOptions} for the tool choice.
 *
 * <p><b>Structured output.</b> An {@code outputSchema} ({@link StructuredOutputChatOptions}, set by {@code ChatClient}
 * when native structured output is enabled) holds the reply to JSON valid against that schema by a grammar.
 *
 * <p><b>Streaming.</b> {@link #stream} runs the generation on Reactor's bounded-elastic scheduler and emits the text as
 * it comes (without leading and trailing whitespace, so the pieces add up to {@link #call}'s text under the same
 * options); the last response carries the tool calls, the finish reason and the token usage. Cancelling the
 * subscription stops the generation before its next token.
 *
 * <p><b>Ownership and threads.</b> A model given to the builder is borrowed (the caller closes it after this chat
 * model); one loaded from {@code modelPath} is owned and closed by {@link #close()}. Concurrent calls take different
 * contexts from a pool of {@code poolSize}; a call that finds them all busy waits for one.
 */
public final class LlamaFfmChatModel implements ChatModel, AutoCloseable {
    private final ModelContexts pool;
    private final ChatFormat format;
    private final LlamaFfmChatOptions defaults;
    private final ToolCallingManager toolCallingManager;
    private final String modelName;

    private LlamaFfmChatModel(ModelContexts pool, @Nullable ChatFormat format, LlamaFfmChatOptions defaults,
                              ToolCallingManager toolCallingManager) {
        this.pool = pool;
        this.format = format != null ? format : ChatFormat.forModel(pool.model());
        this.modelName = pool.model().config().name();
        this.defaults = defaults.getModel() != null ? defaults : defaults.mutate().model(modelName).build();
        this.toolCallingManager = toolCallingManager;
    }

    /** {@return a builder: give it {@code model(Model)} or {@code modelPath(..)}, then options} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the default options: the builder's, with the loaded model's name} */
    @Override
    public LlamaFfmChatOptions getOptions() {
        return defaults;
    }

    /** {@return the model this chat model runs} */
    public Model model() {
        return pool.model();
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Request request = request(prompt);
        return generate(request, null, ctx -> {});
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.<ChatResponse>create(sink -> {
            Request request;
            try {
                request = request(prompt);
            } catch (RuntimeException e) {
                sink.error(e);
                return;
            }
            AtomicReference<Context> running = new AtomicReference<>();
            Object lock = new Object();
            boolean[] cancelled = {false};
            sink.onDispose(() -> {
                synchronized (lock) {
                    cancelled[0] = true;
                    Context ctx = running.get();
                    if (ctx != null) {
                        ctx.cancel(); // stops the generation before its next token
                    }
                }
            });
            try {
                ChatResponse last = generate(request, piece -> {
                    if (!sink.isCancelled()) {
                        sink.next(chunk(new AssistantMessage(piece), ChatGenerationMetadata.NULL, null));
                    }
                }, ctx -> {
                    synchronized (lock) {
                        running.set(ctx);
                        if (ctx != null && cancelled[0]) {
                            ctx.cancel();
                        }
                    }
                });
                // the final response: no more text, the calls (known once the reply is complete), finish reason, usage
                Generation g = last.getResult();
                AssistantMessage tail = AssistantMessage.builder().content("").toolCalls(g.getOutput().getToolCalls()).build();
                sink.next(new ChatResponse(List.of(new Generation(tail, g.getMetadata())), last.getMetadata()));
                sink.complete();
            } catch (RuntimeException | Error e) {
                sink.error(e);
            }
        }, FluxSink.OverflowStrategy.BUFFER).subscribeOn(Schedulers.boundedElastic());
    }

    private ChatResponse chunk(AssistantMessage message, ChatGenerationMetadata metadata, @Nullable ChatResponseMetadata rm) {
        return new ChatResponse(List.of(new Generation(message, metadata)),
                rm != null ? rm : ChatResponseMetadata.builder().model(modelName).build());
    }

    /** What one call generates from: the prompt's options over the defaults, the conversation and the tools. */
    private record Request(LlamaFfmChatOptions options, List<io.llamaffm.chat.ChatMessage> messages, Tools tools) {}

    private Request request(Prompt prompt) {
        LlamaFfmChatOptions options = merge(prompt.getOptions());
        if (options.getModel() != null && !options.getModel().equals(modelName)) {
            throw new IllegalArgumentException("model '" + options.getModel()
                    + "' is not available: this chat model runs the loaded model " + modelName);
        }
        return new Request(options, Messages.toLlamaFfm(prompt.getInstructions()), tools(options, prompt.getInstructions()));
    }

    /** The defaults, overridden by every option the request sets. */
    private LlamaFfmChatOptions merge(@Nullable ChatOptions requested) {
        if (requested == null || requested == defaults) {
            return defaults;
        }
        if (requested instanceof LlamaFfmChatOptions l) {
            // ChatClient starts from getOptions().mutate(): a request built that way already holds the defaults
            LlamaFfmChatOptions.Builder<?> b = defaults.mutate();
            b.toolCallbacks((List<ToolCallback>) null).combineWith(l.mutate());
            b.toolCallbacks(ToolCallingChatOptions.mergeToolCallbacks(l.getToolCallbacks(), defaults.getToolCallbacks()));
            return b.build();
        }
        LlamaFfmChatOptions.Builder<?> b = defaults.mutate();
        b.model(requested.getModel() != null ? requested.getModel() : defaults.getModel());
        if (requested.getFrequencyPenalty() != null) b.frequencyPenalty(requested.getFrequencyPenalty());
        if (requested.getPresencePenalty() != null) b.presencePenalty(requested.getPresencePenalty());
        if (requested.getMaxTokens() != null) b.maxTokens(requested.getMaxTokens());
        if (requested.getStopSequences() != null) b.stopSequences(requested.getStopSequences());
        if (requested.getTemperature() != null) b.temperature(requested.getTemperature());
        if (requested.getTopK() != null) b.topK(requested.getTopK());
        if (requested.getTopP() != null) b.topP(requested.getTopP());
        if (requested instanceof ToolCallingChatOptions t) {
            b.toolCallbacks(ToolCallingChatOptions.mergeToolCallbacks(t.getToolCallbacks(), defaults.getToolCallbacks()));
            b.toolContext(ToolCallingChatOptions.mergeToolContext(t.getToolContext(), defaults.getToolContext()));
        }
        if (requested instanceof StructuredOutputChatOptions s && s.getOutputSchema() != null) {
            b.outputSchema(s.getOutputSchema());
        }
        return b.build();
    }

    /**
     * The tools offered: the definitions the tool-calling manager resolves from the options' callbacks, with the
     * options' choice (ignored when there are no tools, so that a default of {@code required} leaves plain requests
     * alone). {@code required} asks for a call in a turn that has had none: once the conversation ends with
     * tool results, the reply answers from them, so ChatClient's tool loop ends.
     */
    private Tools tools(LlamaFfmChatOptions options, List<Message> messages) {
        String choice = options.getToolChoice() == null ? LlamaFfmChatOptions.TOOL_CHOICE_AUTO : options.getToolChoice();
        List<ToolDefinition> definitions = options.getToolCallbacks() == null || options.getToolCallbacks().isEmpty()
                ? List.of() : toolCallingManager.resolveToolDefinitions(options);
        if (definitions.isEmpty()) {
            return Tools.of(); // a default choice of "required" applies to requests that have tools
        }
        List<Tool> tools = new ArrayList<>(definitions.size());
        for (ToolDefinition d : definitions) {
            tools.add(Tool.of(d.name(), d.description() == null ? "" : d.description(), d.inputSchema()));
        }
        boolean afterResults = messages.getLast() instanceof ToolResponseMessage;
        ToolChoice mode = switch (choice.toLowerCase(Locale.ROOT)) {
            case LlamaFfmChatOptions.TOOL_CHOICE_AUTO -> ToolChoice.AUTO;
            case LlamaFfmChatOptions.TOOL_CHOICE_NONE -> ToolChoice.NONE;
            case LlamaFfmChatOptions.TOOL_CHOICE_REQUIRED -> afterResults ? ToolChoice.NONE : ToolChoice.REQUIRED;
            default -> {
                if (tools.stream().noneMatch(t -> t.name().equals(choice))) {
                    throw new IllegalArgumentException("tool choice '" + choice + "' names no tool of the request: "
                            + tools.stream().map(Tool::name).toList());
                }
                yield afterResults ? ToolChoice.NONE : ToolChoice.named(choice);
            }
        };
        return new Tools(tools, mode, !Boolean.FALSE.equals(options.getParallelToolCalls()));
    }

    /**
     * Generates the reply, passing its text to {@code onText} as it comes when not null, and the context it runs on
     * to {@code onContext} before generation (then null after it), for cancelling.
     */
    private ChatResponse generate(Request request, @Nullable Consumer<String> onText, Consumer<@Nullable Context> onContext) {
        LlamaFfmChatOptions o = request.options();
        Model model = pool.model();
        ToolFormat toolFormat = format.toolFormat();
        String rendered = toolFormat.render(request.messages(), request.tools());
        int[] prompt = model.tokenizer().encode(rendered, format.addSpecial(model, rendered), format.parseSpecial());
        SamplerChain sampler = toolFormat.constrain(sampler(o), request.tools(), model.tokenizer(), rendered);
        ReplyReader reader = toolFormat.reader(rendered, request.tools(), ToolCall::newId, new ReplyReader.Listener() {
            private final Consumer<String> text = onText == null ? null : new TrimmedText(onText);

            @Override
            public void content(String piece) {
                if (text != null) {
                    text.accept(piece);
                }
            }
        });
        Completion c = pool.use(ctx -> {
            int max = o.getMaxTokens() != null ? o.getMaxTokens() : Math.max(1, ctx.contextLength() - prompt.length);
            onContext.accept(ctx);
            try {
                return ctx.generate(prompt, new GenerationParams(max, stopStrings(o), false, false), sampler, reader::push);
            } finally {
                onContext.accept(null);
            }
        });
        ParsedReply reply = reader.finish();
        String finish = switch (c.stopReason()) {
            case END_OF_GENERATION, STOP_STRING -> "STOP";
            case MAX_TOKENS, CONTEXT_FULL -> "LENGTH";
            case CANCELLED -> "CANCELLED";
        };
        if (!reply.calls().isEmpty()) {
            finish = reply.complete() ? "TOOL_CALLS" : "LENGTH";
        } else if (request.tools().active() && !reply.complete()) {
            finish = "LENGTH";
        }
        AssistantMessage.Builder<?> message = AssistantMessage.builder().content(reply.content().strip())
                .toolCalls(Messages.toSpring(reply.calls()));
        if (!reply.reasoning().isEmpty()) {
            message.properties(java.util.Map.of("reasoningContent", reply.reasoning()));
        }
        ChatGenerationMetadata metadata = ChatGenerationMetadata.builder().finishReason(finish).build();
        ChatResponseMetadata responseMetadata = ChatResponseMetadata.builder().model(modelName)
                .usage(new DefaultUsage(c.promptTokens(), c.tokens().length)).build();
        return new ChatResponse(List.of(new Generation(message.build(), metadata)), responseMetadata);
    }

    /** The options' stop sequences, then the chat format's own (the text that starts the next turn). */
    private List<String> stopStrings(LlamaFfmChatOptions o) {
        Set<String> stops = new LinkedHashSet<>();
        if (o.getStopSequences() != null) {
            stops.addAll(o.getStopSequences());
        }
        stops.addAll(format.stopStrings());
        return List.copyOf(stops);
    }

    /**
     * The sampler chain of the options: {@link SamplingParams}, llama-ffm's one recipe, with llama.cpp's defaults for
     * what the options leave unset (frequency/presence penalties, top-k, top-p, min-p, temperature and a seeded draw;
     * temperature 0 picks the most probable token), and the JSON-schema grammar of the output schema when one is set.
     */
    static SamplerChain sampler(LlamaFfmChatOptions o) {
        SamplingParams s = SamplingParams.defaults();
        if (o.getOutputSchema() != null && !o.getOutputSchema().isBlank()) {
            s = s.withGrammar(SamplerChain.Grammar.fromJsonSchema(o.getOutputSchema()));
        }
        if (o.getFrequencyPenalty() != null) s = s.withFrequencyPenalty(o.getFrequencyPenalty().floatValue());
        if (o.getPresencePenalty() != null) s = s.withPresencePenalty(o.getPresencePenalty().floatValue());
        if (o.getTemperature() != null) s = s.withTemperature(o.getTemperature().floatValue());
        if (o.getTopK() != null) s = s.withTopK(o.getTopK());
        if (o.getTopP() != null) s = s.withTopP(o.getTopP().floatValue());
        if (o.getMinP() != null) s = s.withMinP(o.getMinP().floatValue());
        if (o.getSeed() != null) s = s.withSeed(o.getSeed());
        return s.toChain();
    }

    /**
     * Frees the contexts, and the model when this chat model loaded it. Idempotent.
     *
     * @throws IllegalStateException while a call is still running
     */
    @Override
    public void close() {
        pool.close();
    }

    /** Builds a {@link LlamaFfmChatModel}. */
    public static final class Builder {
        private Model model;
        private String modelPath;
        private io.llamaffm.ModelParams modelParams = io.llamaffm.ModelParams.defaults();
        private ContextParams contextParams = ContextParams.defaults();
        private int poolSize = 1;
        private ChatFormat format;
        private LlamaFfmChatOptions options = LlamaFfmChatOptions.builder().build();
        private ToolCallingManager toolCallingManager;

        private Builder() {}

        /** A loaded model, borrowed: the caller closes it after the chat model. */
        public Builder model(Model model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /** A model file, or a reference {@link Model#load(String)} takes ({@code hf:owner/repo:Q4_K_M}): owned. */
        public Builder modelPath(String pathOrReference) {
            this.modelPath = Objects.requireNonNull(pathOrReference, "pathOrReference");
            return this;
        }

        /** A model file: owned. */
        public Builder modelPath(Path path) {
            return modelPath(path.toString());
        }

        /** How the owned model is loaded (GPU layers, mmap, ...). */
        public Builder modelParams(io.llamaffm.ModelParams params) {
            this.modelParams = Objects.requireNonNull(params, "modelParams");
            return this;
        }

        /** The parameters of each pooled context (length, threads, ...). */
        public Builder contextParams(ContextParams params) {
            this.contextParams = Objects.requireNonNull(params, "contextParams");
            return this;
        }

        /** How many contexts concurrent calls may use (default 1). */
        public Builder poolSize(int size) {
            this.poolSize = size;
            return this;
        }

        /** The chat format; default {@link ChatFormat#forModel}: the model's chat template. */
        public Builder chatFormat(ChatFormat format) {
            this.format = format;
            return this;
        }

        /** The default options of every request. */
        public Builder defaultOptions(LlamaFfmChatOptions options) {
            this.options = Objects.requireNonNull(options, "options");
            return this;
        }

        /** The manager that resolves tool definitions from callbacks; default {@code ToolCallingManager.builder().build()}. */
        public Builder toolCallingManager(ToolCallingManager manager) {
            this.toolCallingManager = manager;
            return this;
        }

        /**
         * The chat model; loads the model now when {@code modelPath} was given.
         *
         * @throws IllegalArgumentException if neither or both of model and modelPath were given
         */
        public LlamaFfmChatModel build() {
            if ((model == null) == (modelPath == null)) {
                throw new IllegalArgumentException("give the builder either model(Model) or modelPath(..), not "
                        + (model == null ? "neither" : "both"));
            }
            ToolCallingManager manager = toolCallingManager != null ? toolCallingManager : ToolCallingManager.builder().build();
            Model m = model != null ? model : Model.load(modelPath, modelParams, null);
            try {
                return new LlamaFfmChatModel(new ModelContexts(m, model == null, contextParams, poolSize), format, options, manager);
            } catch (RuntimeException e) {
                if (model == null) {
                    m.close();
                }
                throw e;
            }
        }
    }
}
