package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import io.llamaffm.Completion;
import io.llamaffm.decoding.BatchScheduler;
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
import io.llamaffm.chat.ChatTemplateException;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: checks the request, submits each prompt to the
 * {@link BatchScheduler} (its choices take a slot each and are batched with every other request's), and answers
 * with one JSON object or, with {@code "stream": true}, a stream of chunks. The scheduler's steps reach this request's
 * thread through a queue; a client that goes away (a failed write) cancels its tickets, which frees their slots and
 * cache cells at once.
 */
final class GenerationEndpoint {
    /** OpenAI's default {@code max_tokens} for {@code /v1/completions}; chat replies run until the context is full. */
    static final int COMPLETION_DEFAULT_MAX_TOKENS = 16;
    private static final int MAX_STOP_STRINGS = 4;
    /** The most prompts of one {@code /v1/completions} request (each is generated in turn). */
    static final int MAX_PROMPTS = 2048;
    /** Fields that would change the answer in ways this server does not implement: refused unless inert. */
    private static final List<String> UNSUPPORTED = List.of("echo", "suffix", "best_of",
            "functions", "function_call", "audio", "prediction");
    private static final System.Logger LOG = System.getLogger("io.llamaffm.server");

    private final Model model;
    private final ModelIds ids;
    private final BatchScheduler scheduler;
    private final int contextLength;
    private final ChatFormat chatFormat;
    private final ToolFormat toolFormat;
    private final Duration queueTimeout;
    private final Metrics metrics;

    GenerationEndpoint(Model model, ModelIds ids, BatchScheduler scheduler, Duration queueTimeout, Metrics metrics) {
        this.model = model;
        this.ids = ids;
        this.scheduler = scheduler;
        this.contextLength = scheduler.tokensPerSlot();
        this.chatFormat = ChatFormat.forModel(model);
        this.toolFormat = chatFormat.toolFormat();
        this.queueTimeout = queueTimeout;
        this.metrics = metrics;
    }

    /** What a checked request asks for: one prompt per choice. */
    record Job(List<int[]> prompts, GenerationParams params, List<SamplerChain> chains, boolean stream, boolean includeUsage,
               boolean chat, Tools tools, String chatPrompt, ToolFormat toolFormat) {
        /** {@return whether log-probabilities go into the response} */
        boolean logprobs() {
            return params.logprobs();
        }

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

    /** Handles {@code /v1/completions} ({@code chat} false) or {@code /v1/chat/completions}. */
    void handle(HttpExchange exchange, byte[] body, boolean chat) throws InterruptedException {
        Job job = plan(body, chat);
        if (job.stream()) {
            stream(exchange, job);
        } else {
            OpenAiServer.sendJson(exchange, 200, respond(job));
        }
    }

    // ---- checking the request ------------------------------------------------------------------------------

    Job plan(byte[] body, boolean chat) {
        JsonNode tree = ApiJson.parseTree(body);
        refuseUnsupported(tree);
        Requests.Generation r = ApiJson.bind(tree, Requests.Generation.class);
        ids.requireGeneration(r.model());
        int n = r.n() == null ? 1 : r.n();
        if (n < 1 || n > scheduler.slots()) {
            throw ApiException.invalidValue("n", "must be between 1 and " + scheduler.slots() + " (this server's slots; each "
                    + "choice generates in one), got " + n + ".");
        }
        int topLogprobs = chat ? chatLogprobs(tree) : completionLogprobs(tree);
        Tools tools = chat ? ToolRequests.tools(r) : ToolRequests.refuseOnCompletions(r);
        ToolFormat toolFormat = chat ? toolFormat(r) : null;
        ChatPrompt chatPrompt = chat ? chatPrompt(toolFormat, r.messages(), tools) : null;
        List<int[]> prompts = chat ? List.of(chatPrompt.tokens()) : completionPrompts(r.prompt());
        List<String> stops = stopStrings(r.stop(), chat);
        int maxTokens = maxTokens(r, chat);
        List<SamplerChain> chains = RequestSampling.chains(r, model.tokenizer().vocabularySize(), contextLength, n);
        if (tools != null && tools.active()) {
            if (r.responseFormat() != null && !"text".equals(r.responseFormat().type())) {
                throw ApiException.invalidValue("response_format", "cannot be combined with tools: the tools' grammar holds "
                        + "the reply.");
            }
            try {
                List<SamplerChain> constrained = new ArrayList<>(n);
                for (SamplerChain chain : chains) {
                    constrained.add(toolFormat.constrain(chain, tools, model.tokenizer(), chatPrompt.text()));
                }
                chains = constrained;
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
        return new Job(prompts, new GenerationParams(maxTokens, stops, ignoreEos, topLogprobs >= 0, Math.max(0, topLogprobs)),
                chains, stream, usage, chat, tools, chat ? chatPrompt.text() : null, toolFormat);
    }

    /** Chat's {@code logprobs} (a boolean) and {@code top_logprobs} (0..20, with logprobs): -1 when off. */
    private static int chatLogprobs(JsonNode tree) {
        JsonNode on = tree.get("logprobs");
        JsonNode top = tree.get("top_logprobs");
        if (on != null && !on.isNull() && !on.isBoolean()) {
            throw ApiException.invalid("Invalid type for 'logprobs': expected a boolean, got " + ApiJson.kind(on) + ".",
                    "logprobs", "invalid_type");
        }
        boolean wanted = on != null && on.isBoolean() && on.booleanValue();
        if (top == null || top.isNull()) {
            return wanted ? 0 : -1;
        }
        int k = smallInt(top, "top_logprobs");
        if (!wanted) {
            throw ApiException.invalidValue("top_logprobs", "needs 'logprobs': true.");
        }
        return k;
    }

    /** The completions' {@code logprobs}: how many alternatives per token (0..20), -1 when absent. */
    private static int completionLogprobs(JsonNode tree) {
        JsonNode v = tree.get("logprobs");
        return v == null || v.isNull() ? -1 : smallInt(v, "logprobs");
    }

    private static int smallInt(JsonNode v, String param) {
        if (!v.isIntegralNumber()) {
            throw ApiException.invalid("Invalid type for '" + param + "': expected an integer, got " + ApiJson.kind(v) + ".",
                    param, "invalid_type");
        }
        if (!v.canConvertToInt() || v.intValue() < 0 || v.intValue() > GenerationParams.MAX_TOP_LOGPROBS) {
            throw ApiException.invalidValue(param, "must be between 0 and " + GenerationParams.MAX_TOP_LOGPROBS + ", got "
                    + v.asText() + ".");
        }
        return v.intValue();
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
            boolean limit = e instanceof ChatTemplateException t && t.kind() == ChatTemplateException.Kind.LIMIT;
            if (limit) { // a hostile template, or a conversation larger than the limits allow: the operator may raise them
                LOG.log(System.Logger.Level.WARNING, e.getMessage());
            }
            throw ApiException.invalid("The model's chat template cannot render these messages: " + e.getMessage(),
                    "messages", limit ? "chat_template_limit" : "invalid_messages");
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

    /** One event of a request's runs, in the order the scheduler produced them. */
    private sealed interface Event permits Piece, Done {}

    /** A step of choice {@code choice} of prompt {@code run}. */
    private record Piece(int run, int choice, BatchScheduler.Step step) implements Event {}

    /** The end of prompt {@code run}: its completions, or why it failed. */
    private record Done(int run, List<Completion> completions, Throwable failure) implements Event {}

    /** Submits every prompt of the job (all of them batched with whatever else runs) and waits for their slots. */
    private List<BatchScheduler.Ticket> submit(Job job, BlockingQueue<Event> events) throws InterruptedException {
        List<BatchScheduler.Ticket> tickets = new ArrayList<>(job.prompts().size());
        try {
            for (int p = 0; p < job.prompts().size(); p++) {
                int run = p;
                BatchScheduler.Ticket t = scheduler.submit(job.prompts().get(p), job.params(), job.chains(),
                        (choice, step) -> events.add(new Piece(run, choice, step)));
                tickets.add(t);
                t.completions().whenComplete((c, failure) -> events.add(new Done(run, c, failure)));
            }
            // at least a second: a request that finds a free slot still waits for the scheduler's thread to take it
            long deadline = System.nanoTime() + Math.max(queueTimeout.toNanos(), 1_000_000_000L);
            for (BatchScheduler.Ticket t : tickets) {
                if (!t.awaitStart(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                    throw busy();
                }
            }
            return tickets;
        } catch (RejectedExecutionException e) {
            tickets.forEach(BatchScheduler.Ticket::cancel);
            throw busy();
        } catch (RuntimeException | InterruptedException e) {
            tickets.forEach(BatchScheduler.Ticket::cancel);
            throw e;
        }
    }

    private ApiException busy() {
        return new ApiException(503, "server_error", "All " + scheduler.slots() + " slot(s) of this server are busy and "
                + "its queue is full or the wait ran out; retry later (or start the server with a larger --parallel).",
                null, "server_busy");
    }

    /** What one choice has produced so far. */
    private final class ChoiceState {
        final int index;
        final StringBuilder text = new StringBuilder();
        final List<BatchScheduler.Step> steps = new ArrayList<>();
        ReplyReader reader;
        boolean opened;
        Completion completion;

        ChoiceState(int index) {
            this.index = index;
        }
    }

    private Object respond(Job job) throws InterruptedException {
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        List<BatchScheduler.Ticket> tickets = submit(job, events);
        try {
            int n = job.chains().size();
            List<ChoiceState> choices = new ArrayList<>();
            for (int i = 0; i < tickets.size() * n; i++) {
                ChoiceState c = new ChoiceState(i);
                choices.add(c);
            }
            drain(events, tickets.size(), piece -> {
                ChoiceState c = choices.get(piece.run() * n + piece.choice());
                c.text.append(piece.step().text());
                if (job.logprobs() && piece.step().token() >= 0) {
                    c.steps.add(piece.step());
                }
            }, done -> {
                for (int i = 0; i < n; i++) {
                    choices.get(done.run() * n + i).completion = done.completions().get(i);
                }
            }, () -> { });
            Responses.Usage usage = usage(job, choices);
            metrics.generation(usage.promptTokens(), usage.completionTokens());
            String id = newId(job.chat());
            long created = Instant.now().getEpochSecond();
            if (job.chat()) {
                List<Responses.ChatChoice> out = new ArrayList<>(choices.size());
                for (ChoiceState c : choices) {
                    String finish = finishReason(c.completion);
                    // a chat reply starts after "Assistant:" (or the template's header): its opening whitespace is not content
                    ParsedReply reply = job.toolFormat().parse(job.chatPrompt(), c.text.toString().stripLeading(), tools(job),
                            ToolCall::newId);
                    Responses.AssistantMessage message = new Responses.AssistantMessage("assistant",
                            reply.calls().isEmpty() || !reply.content().isEmpty() ? reply.content() : null, reply.reasoning(),
                            ToolRequests.out(reply.calls()));
                    if (job.toolReply()) {
                        finish = ToolRequests.finishReason(reply, finish);
                    }
                    out.add(new Responses.ChatChoice(c.index, message, job.logprobs() ? chatLogprobs(c.steps) : null, finish));
                }
                return new Responses.ChatCompletion(id, "chat.completion", created, ids.generation(), out, usage);
            }
            List<Responses.TextChoice> out = new ArrayList<>(choices.size());
            for (ChoiceState c : choices) {
                out.add(new Responses.TextChoice(c.text.toString(), c.index, job.logprobs() ? textLogprobs(c.steps) : null,
                        finishReason(c.completion)));
            }
            return new Responses.TextCompletion(id, "text_completion", created, ids.generation(), out, usage);
        } finally {
            tickets.forEach(BatchScheduler.Ticket::cancel); // the client went away, or an error: free the slots at once
        }
    }

    /**
     * Takes the events of {@code runs} prompts until each is done, passing pieces and ends on; a failed run fails the
     * request; {@code idle} runs whenever the queue is empty before the wait for the next event (a stream sends what
     * it buffered).
     */
    private static void drain(BlockingQueue<Event> events, int runs, Consumer<Piece> onPiece, Consumer<Done> onDone,
            Runnable idle) {
        for (int remaining = runs; remaining > 0; ) {
            Event e;
            if (events.isEmpty()) {
                idle.run();
            }
            try {
                e = events.take();
            } catch (InterruptedException stopping) { // close() ends what runs past its deadline
                throw shuttingDown();
            }
            switch (e) {
                case Piece piece -> onPiece.accept(piece);
                case Done done -> {
                    if (done.failure() != null) {
                        throw done.failure() instanceof RuntimeException r ? r
                                : new IllegalStateException("generation failed: " + done.failure(), done.failure());
                    }
                    onDone.accept(done);
                    remaining--;
                }
            }
        }
    }

    private void stream(HttpExchange exchange, Job job) throws InterruptedException {
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        List<BatchScheduler.Ticket> tickets = submit(job, events);
        EventStream out = new EventStream(exchange);
        String id = newId(job.chat());
        long created = Instant.now().getEpochSecond();
        int n = job.chains().size();
        List<ChoiceState> choices = new ArrayList<>();
        try {
            for (int i = 0; i < tickets.size() * n; i++) {
                int index = i;
                ChoiceState[] self = new ChoiceState[1];
                ChoiceState c = new ChoiceState(index);
                self[0] = c;
                if (job.chat()) {
                    // a chat reply is read as it comes: its text and reasoning, each call (index, id, name) then its arguments
                    c.reader = job.toolFormat().reader(job.chatPrompt(), tools(job), ToolCall::newId,
                            ToolRequests.deltas(delta -> {
                                open(out, job, id, created, self[0]);
                                out.send(chatChunk(id, created, index, delta, pendingLogprobs(self[0]), null));
                            }));
                }
                choices.add(c);
            }
            drain(events, tickets.size(), piece -> {
                ChoiceState c = choices.get(piece.run() * n + piece.choice());
                BatchScheduler.Step step = piece.step();
                if (job.logprobs() && step.token() >= 0) {
                    c.steps.add(step);
                }
                if (job.chat()) {
                    String text = c.opened || c.text.length() > 0 ? step.text() : step.text().stripLeading();
                    c.text.append(text);
                    if (!text.isEmpty()) {
                        c.reader.push(text);
                    }
                    if (job.logprobs() && !c.steps.isEmpty()) { // logprobs of a step whose text the reader held back
                        open(out, job, id, created, c);
                        out.send(chatChunk(id, created, c.index, new Responses.Delta(null, null), pendingLogprobs(c), null));
                    }
                } else if (!step.text().isEmpty() || (job.logprobs() && step.token() >= 0)) {
                    out.send(textChunk(id, created, c.index, step.text(), job.logprobs() ? textLogprobs(drainSteps(c)) : null, null));
                }
            }, done -> {
                for (int i = 0; i < n; i++) {
                    ChoiceState c = choices.get(done.run() * n + i);
                    c.completion = done.completions().get(i);
                    String finish = finishReason(c.completion);
                    if (job.chat()) {
                        open(out, job, id, created, c);
                        ParsedReply reply = c.reader.finish();
                        if (job.toolReply()) {
                            finish = ToolRequests.finishReason(reply, finish);
                        }
                        out.send(chatChunk(id, created, c.index, new Responses.Delta(null, null), null, finish));
                    } else {
                        out.send(textChunk(id, created, c.index, "", null, finish));
                    }
                }
            }, out::flush);
            Responses.Usage usage = usage(job, choices);
            metrics.generation(usage.promptTokens(), usage.completionTokens());
            if (job.includeUsage()) {
                out.send(job.chat() ? new Responses.ChatChunk(id, "chat.completion.chunk", created, ids.generation(), List.of(),
                        usage) : new Responses.TextCompletion(id, "text_completion", created, ids.generation(), List.of(), usage));
            }
            out.done();
        } catch (UncheckedIOException e) {
            throw e; // the client went away: nobody to tell (the finally below frees its slots)
        } catch (RuntimeException e) {
            if (!out.started()) {
                throw e; // still time for a plain error response
            }
            LOG.log(System.Logger.Level.WARNING, "generation failed in the middle of a stream", e);
            out.send(OpenAiServer.errorFor(e).body());
            out.flush();
        } finally {
            tickets.forEach(BatchScheduler.Ticket::cancel);
        }
    }

    /** The first chunk of a chat choice names the role. */
    private void open(EventStream out, Job job, String id, long created, ChoiceState c) {
        if (!c.opened) {
            c.opened = true;
            out.send(chatChunk(id, created, c.index, new Responses.Delta("assistant", ""), null, null));
        }
    }

    /** The chat logprobs of the steps not yet sent with a chunk, or null (none, or not asked for). */
    private Object pendingLogprobs(ChoiceState c) {
        return c.steps.isEmpty() ? null : chatLogprobs(drainSteps(c));
    }

    private static List<BatchScheduler.Step> drainSteps(ChoiceState c) {
        List<BatchScheduler.Step> steps = List.copyOf(c.steps);
        c.steps.clear();
        return steps;
    }

    /** {@code {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}}: the chat shape. */
    private Responses.ChatLogprobs chatLogprobs(List<BatchScheduler.Step> steps) {
        List<Responses.TokenLogprob> content = new ArrayList<>(steps.size());
        for (BatchScheduler.Step s : steps) {
            List<Responses.TopLogprob> top = new ArrayList<>(s.topTokens().length);
            for (int k = 0; k < s.topTokens().length; k++) {
                byte[] bytes = pieceBytes(s.topTokens()[k]);
                top.add(new Responses.TopLogprob(text(bytes), s.topLogprobs()[k], unsigned(bytes)));
            }
            byte[] bytes = pieceBytes(s.token());
            content.add(new Responses.TokenLogprob(text(bytes), s.logprob(), unsigned(bytes), top));
        }
        return new Responses.ChatLogprobs(content);
    }

    /** {@code {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}}: the completions shape. */
    private Responses.TextLogprobs textLogprobs(List<BatchScheduler.Step> steps) {
        List<String> tokens = new ArrayList<>(steps.size());
        List<Float> logprobs = new ArrayList<>(steps.size());
        List<Map<String, Float>> top = new ArrayList<>(steps.size());
        List<Integer> offsets = new ArrayList<>(steps.size());
        int offset = 0;
        for (BatchScheduler.Step s : steps) {
            String text = text(pieceBytes(s.token()));
            tokens.add(text);
            logprobs.add(s.logprob());
            Map<String, Float> alternatives = new LinkedHashMap<>();
            for (int k = 0; k < s.topTokens().length; k++) {
                alternatives.putIfAbsent(text(pieceBytes(s.topTokens()[k])), s.topLogprobs()[k]);
            }
            top.add(alternatives);
            offsets.add(offset);
            offset += text.length();
        }
        return new Responses.TextLogprobs(tokens, logprobs, top, offsets);
    }

    private byte[] pieceBytes(int token) {
        return model.tokenizer().pieceBytes(token, true);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static List<Integer> unsigned(byte[] bytes) {
        List<Integer> out = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            out.add(b & 0xFF);
        }
        return out;
    }

    private Responses.ChatChunk chatChunk(String id, long created, int index, Responses.Delta delta, Object logprobs,
                                          String finish) {
        return new Responses.ChatChunk(id, "chat.completion.chunk", created, ids.generation(),
                List.of(new Responses.ChunkChoice(index, delta, logprobs, finish)), null);
    }

    private Responses.TextCompletion textChunk(String id, long created, int index, String text, Object logprobs, String finish) {
        return new Responses.TextCompletion(id, "text_completion", created, ids.generation(),
                List.of(new Responses.TextChoice(text, index, logprobs, finish)), null);
    }

    /** The prompt tokens of each prompt once, and the tokens of every choice. */
    private static Responses.Usage usage(Job job, List<ChoiceState> choices) {
        int prompt = 0;
        for (int[] p : job.prompts()) {
            prompt += p.length;
        }
        int completion = 0;
        for (ChoiceState c : choices) {
            completion += c.completion.tokens().length;
        }
        int n = job.chains().size();
        int cached = 0;
        for (int run = 0; run < job.prompts().size(); run++) {
            cached += choices.get(run * n).completion.reusedTokens(); // the choices of a run share its prompt
        }
        return Responses.Usage.of(prompt, completion, cached);
    }

    /** {@code "stop"} for an end-of-generation token or a stop string, {@code "length"} for the token or context limit. */
    static String finishReason(Completion c) {
        return switch (c.stopReason()) {
            case END_OF_GENERATION, STOP_STRING -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case CANCELLED -> throw shuttingDown();
        };
    }

    /** A generation ended by {@code close()} past its deadline (cancelled, or its thread interrupted). */
    private static ApiException shuttingDown() {
        return new ApiException(503, "server_error", "The server is shutting down: this generation was cancelled.", null,
                "shutting_down");
    }

    private static String newId(boolean chat) {
        return (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    }
}
