package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextPool;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ParsedReply;
import io.llamaffm.chat.ReplyReader;
import io.llamaffm.chat.ToolFormat;
import io.llamaffm.chat.ToolCall;
import io.llamaffm.chat.Tools;
import io.llamaffm.chat.ChatMessage;
import io.llamaffm.server.LeadingSpaceTrimmer;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: checks the request, leases a context from the
 * pool and generates, answering with one JSON object or, with {@code "stream": true}, a stream of chunks.
 */
final class GenerationEndpoint {
    /** OpenAI's default {@code max_tokens} for {@code /v1/completions}; chat replies run until the context is full. */
    static final int COMPLETION_DEFAULT_MAX_TOKENS = 16;
    private static final int MAX_STOP_STRINGS = 4;
    /** The most prompts of one {@code /v1/completions} request (each is generated in turn). */
    static final int MAX_PROMPTS = 2048;
    /** Fields that would change the answer in ways this server does not implement: refused unless inert. */
    private static final List<String> UNSUPPORTED = List.of("logprobs", "top_logprobs", "echo", "suffix", "best_of",
            "functions", "function_call", "audio", "prediction");
    private static final System.Logger LOG = System.getLogger("io.llamaffm.server");

    private final Model model;
    private final ModelIds ids;
    private final ContextPool pool;
    private final int contextLength;
    private final ChatFormat chatFormat;
    private final ToolFormat toolFormat;
    private final Duration queueTimeout;
    private final Metrics metrics;

    GenerationEndpoint(Model model, ModelIds ids, ContextPool pool, Duration queueTimeout, Metrics metrics) {
        this.model = model;
        this.ids = ids;
        this.pool = pool;
        this.contextLength = pool.contextLength().orElseThrow(); // the server's pools are eager
        this.chatFormat = ChatFormat.forModel(model);
        this.toolFormat = chatFormat.toolFormat();
        this.queueTimeout = queueTimeout;
        this.metrics = metrics;
    }

    /** What a checked request asks for: one prompt per choice. */
    record Job(List<int[]> prompts, GenerationParams params, SamplerChain chain, boolean stream, boolean includeUsage,
               boolean chat, Tools tools, String chatPrompt, ToolFormat toolFormat) {
        /** {@return whether the reply is held to tool calls or a response (the tools are active)} */
        boolean toolReply() {
            return tools != null && tools.active();
        }
    }

    /** A rendered chat prompt: its text (the reply's reader needs it) and its tokens. */
    private record ChatPrompt(String text, int[] tokens) {}

    private static Tools tools(Job job) {
        return job.tools() != null ? job.tools() : Tools.of();
    }

    /** The text and counts of one generated choice. */
    private record Choice(String text, Completion completion) {}

    /** Handles {@code /v1/completions} ({@code chat} false) or {@code /v1/chat/completions}. */
    void handle(HttpExchange exchange, byte[] body, boolean chat) throws InterruptedException {
        Job job = plan(body, chat);
        try (ContextPool.Lease lease = pool.acquire(queueTimeout)) {
            if (job.stream()) {
                stream(exchange, lease.context(), job);
            } else {
                OpenAiServer.sendJson(exchange, 200, respond(lease.context(), job));
            }
        }
    }

    // ---- checking the request ------------------------------------------------------------------------------

    Job plan(byte[] body, boolean chat) {
        JsonNode tree = ApiJson.parseTree(body);
        refuseUnsupported(tree);
        Requests.Generation r = ApiJson.bind(tree, Requests.Generation.class);
        ids.requireGeneration(r.model());
        if (r.n() != null && r.n() != 1) {
            throw ApiException.invalidValue("n", "this server makes one choice per prompt (n = 1), got " + r.n() + ".");
        }
        Tools tools = chat ? ToolRequests.tools(r) : ToolRequests.refuseOnCompletions(r);
        ToolFormat toolFormat = chat ? toolFormat(r) : null;
        ChatPrompt chatPrompt = chat ? chatPrompt(toolFormat, r.messages(), tools) : null;
        List<int[]> prompts = chat ? List.of(chatPrompt.tokens()) : completionPrompts(r.prompt());
        List<String> stops = stopStrings(r.stop(), chat);
        int maxTokens = maxTokens(r, chat);
        SamplerChain chain = RequestSampling.chain(r, model.tokenizer().vocabularySize(), contextLength);
        if (tools != null && tools.active()) {
            if (r.responseFormat() != null && !"text".equals(r.responseFormat().type())) {
                throw ApiException.invalidValue("response_format", "cannot be combined with tools: the tools' grammar holds "
                        + "the reply.");
            }
            try {
                chain = toolFormat.constrain(chain, tools, model.tokenizer(), chatPrompt.text());
            } catch (IllegalArgumentException e) {
                throw ApiException.invalidValue("tools", e.getMessage());
            }
        }
        boolean stream = Boolean.TRUE.equals(r.stream());
        if (r.streamOptions() != null && !stream) {
            throw ApiException.invalidValue("stream_options", "allowed only when 'stream' is true.");
        }
        boolean usage = r.streamOptions() != null && Boolean.TRUE.equals(r.streamOptions().includeUsage());
        boolean ignoreEos = Boolean.TRUE.equals(r.ignoreEos());
        return new Job(prompts, new GenerationParams(maxTokens, stops, ignoreEos, false), chain, stream, usage, chat, tools,
                chat ? chatPrompt.text() : null, toolFormat);
    }

    private static void refuseUnsupported(JsonNode tree) {
        for (String field : UNSUPPORTED) {
            JsonNode v = tree.get(field);
            boolean inert = v == null || v.isNull() || (v.isBoolean() && !v.booleanValue())
                    || (v.isContainerNode() && v.isEmpty()) || (field.equals("best_of") && v.isInt() && v.intValue() == 1);
            if (!inert) {
                throw ApiException.invalid("'" + field + "' is not supported by this server.", field, "unsupported_parameter");
            }
        }
    }

    private List<int[]> completionPrompts(List<String> prompts) {
        if (prompts == null || prompts.isEmpty()) {
            throw ApiException.invalid("Missing required parameter: 'prompt' (a string or an array of strings).", "prompt",
                    "missing_required_parameter");
        }
        if (prompts.size() > MAX_PROMPTS) {
            throw ApiException.invalidValue("prompt", "at most " + MAX_PROMPTS + " prompts per request, got " + prompts.size() + ".");
        }
        List<int[]> tokens = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            String param = prompts.size() == 1 ? "prompt" : "prompt[" + i + "]";
            if (prompts.get(i) == null) {
                throw ApiException.invalid("Invalid type for '" + param + "': expected a string.", param, "invalid_type");
            }
            tokens.add(fit(encode(prompts.get(i), true, true, param), param));
        }
        return tokens;
    }

    /**
     * The request's tool format: the model's, with {@code reasoning_format} ({@code none} keeps reasoning in the
     * content; {@code auto} or {@code deepseek}, the default, puts it in {@code reasoning_content}) and
     * {@code chat_template_kwargs} (extra template variables, such as {@code enable_thinking}) as llama-server takes them.
     */
    private ToolFormat toolFormat(Requests.Generation r) {
        String reasoning = r.reasoningFormat();
        if (reasoning != null && !List.of("none", "auto", "deepseek").contains(reasoning)) {
            throw ApiException.invalidValue("reasoning_format", "one of 'none', 'auto' or 'deepseek', got '" + reasoning + "'.");
        }
        if (!(toolFormat instanceof io.llamaffm.chat.NativeToolFormat nat)) {
            return toolFormat;
        }
        if ("none".equals(reasoning)) {
            nat = nat.withSeparateReasoning(false);
        }
        if (r.chatTemplateKwargs() != null && !r.chatTemplateKwargs().isEmpty()) {
            nat = nat.withTemplateVariables(r.chatTemplateKwargs());
        }
        return nat;
    }

    private ChatPrompt chatPrompt(ToolFormat toolFormat, List<Requests.Message> messages, Tools tools) {
        if (messages == null || messages.isEmpty()) {
            throw ApiException.invalid("Missing required parameter: 'messages' (a non-empty array).", "messages",
                    "missing_required_parameter");
        }
        List<ChatMessage> chat = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            chat.add(chatMessage(messages.get(i), "messages[" + i + "]"));
        }
        ToolRequests.checkToolResults(chat);
        String rendered;
        try {
            rendered = toolFormat.render(chat, tools);
        } catch (RuntimeException e) { // the model's template refused the conversation (roles out of order, ...)
            throw ApiException.invalid("The model's chat template cannot render these messages: " + e.getMessage(),
                    "messages", "invalid_messages");
        }
        return new ChatPrompt(rendered, fit(encode(rendered, chatFormat.addSpecial(model, rendered), chatFormat.parseSpecial(),
                "messages"), "messages"));
    }

    private static ChatMessage chatMessage(Requests.Message m, String param) {
        if (m == null) {
            throw ApiException.invalid("Invalid type for '" + param + "': expected an object.", param, "invalid_type");
        }
        String role = switch (m.role() == null ? "" : m.role()) {
            case "system", "developer" -> "system";
            case "user", "assistant", "tool" -> m.role();
            case "" -> throw ApiException.invalid("Missing required parameter: '" + param + ".role'.", param + ".role",
                    "missing_required_parameter");
            default -> throw ApiException.invalidValue(param + ".role", "'" + m.role()
                    + "' is not one of system, developer, user, assistant, tool.");
        };
        String text = content(m.content(), param + ".content");
        String reasoning = m.reasoningContent() == null ? "" : m.reasoningContent();
        if (!reasoning.isEmpty() && !role.equals("assistant")) {
            throw ApiException.invalidValue(param + ".reasoning_content", "only assistant messages have reasoning.");
        }
        if (m.toolCalls() != null && !m.toolCalls().isEmpty()) {
            if (!role.equals("assistant")) {
                throw ApiException.invalidValue(param + ".tool_calls", "only assistant messages have tool calls.");
            }
            return ChatMessage.assistant(text, ToolRequests.calls(m.toolCalls(), param + ".tool_calls")).withReasoning(reasoning);
        }
        if (role.equals("assistant")) {
            return ChatMessage.assistant(text).withReasoning(reasoning);
        }
        if (role.equals("tool")) {
            if (m.toolCallId() == null || m.toolCallId().isBlank()) {
                throw ApiException.invalid("Missing required parameter: '" + param + ".tool_call_id'.", param + ".tool_call_id",
                        "missing_required_parameter");
            }
            return ChatMessage.toolResult(m.toolCallId(), text);
        }
        return new ChatMessage(role, text);
    }

    /** The text of a message: a string, null (an empty message), or an array of text parts joined. */
    private static String content(JsonNode content, String param) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (!content.isArray()) {
            throw ApiException.invalid("Invalid type for '" + param + "': expected a string or an array of content parts, got "
                    + ApiJson.kind(content) + ".", param, "invalid_type");
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            JsonNode partText = part.get("text");
            if (!part.isObject() || !"text".equals(part.path("type").asText(null)) || partText == null || !partText.isTextual()) {
                throw ApiException.invalidValue(param + "[" + i + "]", "only {\"type\": \"text\", \"text\": \"...\"} parts "
                        + "are supported.");
            }
            text.append(partText.textValue());
        }
        return text.toString();
    }

    private int[] encode(String text, boolean addSpecial, boolean parseSpecial, String param) {
        try {
            return model.tokenizer().encode(text, addSpecial, parseSpecial);
        } catch (IllegalArgumentException e) { // not valid Unicode (a lone surrogate escaped in the JSON)
            throw ApiException.invalidValue(param, e.getMessage());
        }
    }

    /** The prompt, if it leaves room for at least one generated token. */
    private int[] fit(int[] prompt, String param) {
        if (prompt.length >= contextLength) {
            throw ApiException.invalid("This model's context holds " + contextLength + " tokens, but the prompt has "
                    + prompt.length + " (at least one must be left for the reply). Shorten the prompt or start the "
                    + "server with a larger --ctx.", param, "context_length_exceeded");
        }
        return prompt;
    }

    private List<String> stopStrings(List<String> stop, boolean chat) {
        Set<String> all = new LinkedHashSet<>();
        if (stop != null) {
            if (stop.size() > MAX_STOP_STRINGS) {
                throw ApiException.invalidValue("stop", "at most " + MAX_STOP_STRINGS + " stop strings, got " + stop.size() + ".");
            }
            for (int i = 0; i < stop.size(); i++) {
                if (stop.get(i) == null || stop.get(i).isEmpty()) {
                    throw ApiException.invalidValue("stop", "stop strings must be non-empty strings.");
                }
                all.add(stop.get(i));
            }
        }
        if (chat) {
            all.addAll(chatFormat.stopStrings());
        }
        return List.copyOf(all);
    }

    private int maxTokens(Requests.Generation r, boolean chat) {
        String param = r.maxCompletionTokens() != null ? "max_completion_tokens" : "max_tokens";
        Integer n = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        if (n == null) { // the context bounds a reply anyway: generation stops when it is full
            return chat ? contextLength : COMPLETION_DEFAULT_MAX_TOKENS;
        }
        if (n < 1) {
            throw ApiException.invalidValue(param, "must be at least 1, got " + n + ".");
        }
        return n;
    }

    // ---- answering -------------------------------------------------------------------------------------------

    private Object respond(Context ctx, Job job) {
        List<Choice> choices = new ArrayList<>(job.prompts().size());
        for (int[] prompt : job.prompts()) {
            StringBuilder text = new StringBuilder();
            Completion c = generate(ctx, prompt, job, text::append);
            choices.add(new Choice(text.toString(), c));
        }
        Responses.Usage usage = usage(choices);
        metrics.generation(usage.promptTokens(), usage.completionTokens());
        String id = newId(job.chat());
        long created = Instant.now().getEpochSecond();
        if (job.chat()) {
            Choice c = choices.getFirst();
            String finish = finishReason(c.completion());
            ParsedReply reply = job.toolFormat().parse(job.chatPrompt(), c.completion().text(), tools(job), ToolCall::newId);
            Responses.AssistantMessage message = new Responses.AssistantMessage("assistant",
                    reply.calls().isEmpty() || !reply.content().isEmpty() ? reply.content() : null, reply.reasoning(),
                    ToolRequests.out(reply.calls()));
            if (job.toolReply()) {
                finish = ToolRequests.finishReason(reply, finish);
            }
            return new Responses.ChatCompletion(id, "chat.completion", created, ids.generation(), List.of(new Responses.ChatChoice(0,
                    message, null, finish)), usage);
        }
        List<Responses.TextChoice> out = new ArrayList<>(choices.size());
        for (int i = 0; i < choices.size(); i++) {
            out.add(new Responses.TextChoice(choices.get(i).text(), i, null, finishReason(choices.get(i).completion())));
        }
        return new Responses.TextCompletion(id, "text_completion", created, ids.generation(), out, usage);
    }

    private void stream(HttpExchange exchange, Context ctx, Job job) {
        EventStream events = new EventStream(exchange);
        String id = newId(job.chat());
        long created = Instant.now().getEpochSecond();
        List<Choice> choices = new ArrayList<>(job.prompts().size());
        try {
            for (int i = 0; i < job.prompts().size(); i++) {
                int index = i;
                boolean[] opened = {false};
                Runnable open = () -> {
                    if (job.chat() && !opened[0]) { // the first chunk of a chat stream names the role
                        events.send(chatChunk(id, created, index, new Responses.Delta("assistant", ""), null));
                    }
                    opened[0] = true;
                };
                // a chat reply is read as it comes: its text and reasoning, each call (index, id, name) then its arguments
                ReplyReader reader = !job.chat() ? null : job.toolFormat().reader(job.chatPrompt(), tools(job), ToolCall::newId,
                        ToolRequests.deltas(delta -> {
                            open.run();
                            events.send(chatChunk(id, created, index, delta, null));
                        }));
                Completion c = generate(ctx, job.prompts().get(i), job, reader != null ? reader::push : piece -> {
                    open.run();
                    events.send(textChunk(id, created, index, piece, null));
                });
                open.run();
                String finish = finishReason(c);
                if (reader != null) {
                    ParsedReply reply = reader.finish();
                    if (job.toolReply()) {
                        finish = ToolRequests.finishReason(reply, finish);
                    }
                }
                events.send(job.chat() ? chatChunk(id, created, index, new Responses.Delta(null, null), finish)
                        : textChunk(id, created, index, "", finish));
                choices.add(new Choice("", c));
            }
            metrics.generation(usage(choices).promptTokens(), usage(choices).completionTokens());
            if (job.includeUsage()) {
                events.send(job.chat() ? new Responses.ChatChunk(id, "chat.completion.chunk", created, ids.generation(), List.of(),
                        usage(choices)) : new Responses.TextCompletion(id, "text_completion", created, ids.generation(),
                        List.of(), usage(choices)));
            }
            events.done();
        } catch (UncheckedIOException e) {
            throw e; // the client went away: nobody to tell
        } catch (RuntimeException e) {
            if (!events.started()) {
                throw e; // still time for a plain error response
            }
            LOG.log(System.Logger.Level.WARNING, "generation failed in the middle of a stream", e);
            events.send(OpenAiServer.errorFor(e).body());
        }
    }

    private Completion generate(Context ctx, int[] prompt, Job job, Consumer<String> onText) {
        // a chat reply starts after "Assistant:" (or the template's header): its opening whitespace is not content
        return ctx.generate(prompt, job.params(), job.chain(), job.chat() ? new LeadingSpaceTrimmer(onText) : onText);
    }

    private Responses.ChatChunk chatChunk(String id, long created, int index, Responses.Delta delta, String finish) {
        return new Responses.ChatChunk(id, "chat.completion.chunk", created, ids.generation(),
                List.of(new Responses.ChunkChoice(index, delta, null, finish)), null);
    }

    private Responses.TextCompletion textChunk(String id, long created, int index, String text, String finish) {
        return new Responses.TextCompletion(id, "text_completion", created, ids.generation(),
                List.of(new Responses.TextChoice(text, index, null, finish)), null);
    }

    private static Responses.Usage usage(List<Choice> choices) {
        int prompt = 0;
        int completion = 0;
        for (Choice c : choices) {
            prompt += c.completion().promptTokens();
            completion += c.completion().tokens().length;
        }
        return Responses.Usage.of(prompt, completion);
    }

    /** {@code "stop"} for an end-of-generation token or a stop string, {@code "length"} for the token or context limit. */
    static String finishReason(Completion c) {
        return switch (c.stopReason()) {
            case END_OF_GENERATION, STOP_STRING -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case CANCELLED -> throw new ApiException(503, "server_error", "The server is shutting down: this generation was "
                    + "cancelled.", null, "shutting_down");
        };
    }

    private static String newId(boolean chat) {
        return (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    }
}
