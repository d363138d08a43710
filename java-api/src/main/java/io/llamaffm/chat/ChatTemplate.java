package io.llamaffm.chat;

import io.llamaffm.Model;
import io.llamaffm.Tokenizer;
import io.llamaffm.internal.jinja.Budget;
import io.llamaffm.internal.jinja.JinjaException;
import io.llamaffm.internal.jinja.Template;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model's chat template: turns a conversation into the prompt text the model was trained on, rendered as
 * Hugging Face's {@code apply_chat_template} renders it. The template is Jinja2 with Python semantics
 * ({@code trim_blocks}, {@code lstrip_blocks}, no trailing newline kept, an immutable sandbox); it sees
 * {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, {@code tools} and
 * {@code documents} (None unless given) and the functions {@code raise_exception} and {@code strftime_now}.
 *
 * <p>A template is code, often from a model file: every render is bounded by its {@link TemplateLimits} (steps, output,
 * the length of each value and the memory of all, nesting), so that a hostile template fails with a
 * {@link ChatTemplateException} of kind {@link ChatTemplateException.Kind#LIMIT} within about a second instead of
 * running for hours or filling the heap. The factories without limits use {@link TemplateLimits#defaults()}.
 *
 * <p>Immutable and thread-safe. The template is parsed once, when the instance is made.
 *
 * <pre>{@code
 * ChatTemplate template = ChatTemplate.of(model);
 * String prompt = template.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi!")), true);
 * }</pre>
 */
public final class ChatTemplate {
    private final String source;
    private final Template template;
    private final TemplateLimits limits;
    private final String bosToken;
    private final String eosToken;
    private final Clock clock;
    private final boolean systemRoleFallback;
    private volatile Boolean supportsSystemRole;
    private volatile Boolean objectArguments;

    private ChatTemplate(String source, Template template, TemplateLimits limits, String bosToken, String eosToken, Clock clock,
                         boolean systemRoleFallback) {
        this.source = source;
        this.template = template;
        this.limits = limits;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.clock = clock;
        this.systemRoleFallback = systemRoleFallback;
    }

    /**
     * A template from its Jinja source, with empty {@code bos_token} and {@code eos_token}.
     *
     * @param source the Jinja source
     * @return the parsed template
     * @throws ChatTemplateException of kind {@link ChatTemplateException.Kind#SYNTAX} if it does not parse
     */
    public static ChatTemplate of(String source) {
        return of(source, "", "");
    }

    /**
     * A template from its Jinja source, with the text of the model's beginning- and end-of-sequence tokens.
     *
     * @param source   the Jinja source
     * @param bosToken the value of {@code bos_token}
     * @param eosToken the value of {@code eos_token}
     * @return the parsed template
     * @throws ChatTemplateException of kind {@link ChatTemplateException.Kind#SYNTAX} if it does not parse, or
     *                               {@link ChatTemplateException.Kind#LIMIT} if it is too long or nests too deeply
     */
    public static ChatTemplate of(String source, String bosToken, String eosToken) {
        return of(source, bosToken, eosToken, TemplateLimits.defaults());
    }

    /**
     * A template from its Jinja source, with the text of the model's beginning- and end-of-sequence tokens and the
     * limits every render of it keeps to.
     *
     * @param source   the Jinja source
     * @param bosToken the value of {@code bos_token}
     * @param eosToken the value of {@code eos_token}
     * @param limits   what parsing and each render may use
     * @return the parsed template
     * @throws ChatTemplateException of kind {@link ChatTemplateException.Kind#SYNTAX} if it does not parse, or
     *                               {@link ChatTemplateException.Kind#LIMIT} if it is longer or nests deeper than the limits
     */
    public static ChatTemplate of(String source, String bosToken, String eosToken, TemplateLimits limits) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(bosToken, "bosToken");
        Objects.requireNonNull(eosToken, "eosToken");
        Objects.requireNonNull(limits, "limits");
        try {
            return new ChatTemplate(source, Template.parse(source, limits), limits, bosToken, eosToken, Clock.systemDefaultZone(), false);
        } catch (JinjaException e) {
            throw translate(e);
        }
    }

    /**
     * The template stored in a model's metadata ({@code tokenizer.chat_template}), with the text of the model's
     * BOS and EOS tokens. A vocabulary-only model is enough.
     *
     * @param model the model
     * @return the parsed template
     * @throws ChatTemplateException of kind {@link ChatTemplateException.Kind#MISSING} if the model has none,
     *                               {@link ChatTemplateException.Kind#SYNTAX} if it does not parse, or
     *                               {@link ChatTemplateException.Kind#LIMIT} if it is too long or nests too deeply
     * @throws IllegalStateException if the model is closed
     */
    public static ChatTemplate of(Model model) {
        return of(model, TemplateLimits.defaults());
    }

    /**
     * The template stored in a model's metadata, as {@link #of(Model)} reads it, with the limits every render of it
     * keeps to.
     *
     * @param model  the model
     * @param limits what parsing and each render may use
     * @return the parsed template
     * @throws ChatTemplateException of kind {@link ChatTemplateException.Kind#MISSING} if the model has none,
     *                               {@link ChatTemplateException.Kind#SYNTAX} if it does not parse, or
     *                               {@link ChatTemplateException.Kind#LIMIT} if it is longer or nests deeper than the limits
     * @throws IllegalStateException if the model is closed
     */
    public static ChatTemplate of(Model model, TemplateLimits limits) {
        String source = model.chatTemplate().orElseThrow(() -> new ChatTemplateException(ChatTemplateException.Kind.MISSING, 0,
                "model " + model.path().getFileName() + " has no chat template (tokenizer.chat_template) in its metadata"));
        Tokenizer tokenizer = model.tokenizer();
        return of(source, tokenText(tokenizer, tokenizer.bos()), tokenText(tokenizer, tokenizer.eos()), limits);
    }

    private static String tokenText(Tokenizer tokenizer, int token) {
        return token < 0 ? "" : new String(tokenizer.pieceBytes(token, true), StandardCharsets.UTF_8);
    }

    /** {@return the Jinja source} */
    public String source() {
        return source;
    }

    /** {@return what parsing and each render may use} */
    public TemplateLimits limits() {
        return limits;
    }

    /** {@return the value of {@code bos_token}} */
    public String bosToken() {
        return bosToken;
    }

    /** {@return the value of {@code eos_token}} */
    public String eosToken() {
        return eosToken;
    }

    /** {@return the clock {@code strftime_now} reads} */
    Clock clock() {
        return clock;
    }

    /**
     * A copy whose {@code strftime_now} reads another clock (the system clock and time zone by default).
     *
     * @param newClock the clock, with its time zone
     * @return the copy
     */
    public ChatTemplate withClock(Clock newClock) {
        Objects.requireNonNull(newClock, "clock");
        return new ChatTemplate(source, template, limits, bosToken, eosToken, newClock, systemRoleFallback);
    }

    /**
     * A copy that, when enabled and the template {@linkplain #supportsSystemRole() ignores or refuses system
     * messages}, merges a leading system message into the next message ({@code system + "\n" + next}) before
     * rendering, as llama.cpp's chat code does. Off by default: Hugging Face renders the conversation as given.
     *
     * @param enabled whether to merge
     * @return the copy
     */
    public ChatTemplate withSystemRoleFallback(boolean enabled) {
        ChatTemplate copy = new ChatTemplate(source, template, limits, bosToken, eosToken, clock, enabled);
        copy.supportsSystemRole = supportsSystemRole;
        return copy;
    }

    /**
     * {@return whether the template uses a leading system message: rendered with a system and a user message, it
     * reads the system message's content (llama.cpp's test). Templates that drop it or refuse it answer false}
     */
    public boolean supportsSystemRole() {
        Boolean known = supportsSystemRole;
        if (known == null) {
            known = probeSystemRole();
            supportsSystemRole = known;
        }
        return known;
    }

    private boolean probeSystemRole() {
        Template.WatchedMap system = new Template.WatchedMap("content");
        system.put("role", "system");
        system.put("content", "System message");
        Map<String, Object> variables = new HashMap<>();
        variables.put("messages", List.of(system, Map.of("role", "user", "content", "User message")));
        variables.put("bos_token", "");
        variables.put("eos_token", "");
        variables.put("add_generation_prompt", true);
        variables.put("tools", List.of());
        try {
            template.render(variables, clock, new Budget(limits));
        } catch (JinjaException e) {
            // a template that refuses system messages may still have read the content first: only the read counts
        }
        return system.wasRead();
    }

    /**
     * Renders a conversation into prompt text.
     *
     * @param messages            the conversation, in order
     * @param addGenerationPrompt end with the opening of an assistant turn, so the model answers next
     * @return the prompt text
     * @throws ChatTemplateException if the template fails or refuses the conversation ({@code raise_exception})
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> variables = new HashMap<>();
        variables.put("messages", messageMaps(messages));
        variables.put("add_generation_prompt", addGenerationPrompt);
        return render(variables);
    }

    /**
     * The conversation as the template's {@code messages} variable: maps with {@code role}, {@code content},
     * {@code tool_calls} (as the OpenAI API writes them: {@code id}, {@code type}, {@code function} with {@code name}
     * and {@code arguments}) and {@code tool_call_id}. A call's arguments are an object for templates that read them
     * as one ({@code arguments | tojson}, {@code arguments.items()}) and JSON text for the others, as llama.cpp decides;
     * a system message is merged into the first user message when the fallback is on and the template has no system role.
     *
     * @param messages the conversation
     * @return the messages variable
     */
    public List<Map<String, Object>> messageMaps(List<ChatMessage> messages) {
        List<ChatMessage> conversation = systemRoleFallback && !supportsSystemRole() ? mergeSystem(messages) : messages;
        boolean objects = conversation.stream().anyMatch(m -> !m.toolCalls().isEmpty()) && objectArguments();
        List<Map<String, Object>> list = new ArrayList<>(conversation.size());
        for (ChatMessage m : conversation) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            if (!m.toolCalls().isEmpty()) {
                List<Map<String, Object>> calls = new ArrayList<>();
                for (ToolCall c : m.toolCalls()) {
                    Object arguments = objects ? io.llamaffm.internal.JsonParser.parse(c.arguments()) : c.arguments();
                    Map<String, Object> function = new LinkedHashMap<>(); // in the OpenAI API's order
                    function.put("name", c.name());
                    function.put("arguments", arguments);
                    Map<String, Object> call = new LinkedHashMap<>();
                    call.put("id", c.id());
                    call.put("type", "function");
                    call.put("function", function);
                    calls.add(call);
                }
                map.put("tool_calls", calls);
            }
            if (m.toolCallId() != null) {
                map.put("tool_call_id", m.toolCallId());
            }
            if (!m.reasoning().isEmpty()) { // the names templates read it under (Qwen 3, DeepSeek; gpt-oss, Kimi)
                map.put("reasoning_content", m.reasoning());
                map.put("thinking", m.reasoning());
            }
            list.add(map);
        }
        return list;
    }

    /**
     * {@return whether the template reads a tool call's arguments as an object: rendered with a call whose arguments
     * are {@code {"arg": value}}, the value appears in the output other than in a Python rendering of the whole object}
     */
    public boolean objectArguments() {
        Boolean known = objectArguments;
        if (known == null) {
            known = probeObjectArguments();
            objectArguments = known;
        }
        return known;
    }

    private boolean probeObjectArguments() {
        String marker = "ARG_VALUE_PROBE";
        Map<String, Object> call = Map.of("id", "call00001", "type", "function",
                "function", Map.of("name", "tool1", "arguments", Map.of("arg", marker)));
        Map<String, Object> variables = new HashMap<>();
        variables.put("messages", List.of(Map.of("role", "user", "content", "User message"),
                Map.of("role", "assistant", "content", "", "tool_calls", List.of(call))));
        variables.put("add_generation_prompt", false);
        variables.put("tools", List.of(Map.of("type", "function", "function", Map.of("name", "tool1", "description", "",
                "parameters", Map.of("type", "object", "properties", Map.of("arg", Map.of("type", "string")))))));
        try {
            String out = template.render(withDefaults(variables), clock, new Budget(limits));
            return out.contains(marker) && !out.contains("{'arg': '" + marker + "'}");
        } catch (RuntimeException e) { // a template that fails on calls reads no arguments
            return false;
        }
    }

    /**
     * Renders with template variables of your own: {@code messages} as maps (with {@code tool_calls} and the
     * like), {@code tools}, or any keyword a template reads ({@code enable_thinking}, ...). Values are null,
     * Boolean, numbers, String, List and Map, nested freely. {@code bos_token}, {@code eos_token},
     * {@code add_generation_prompt} (false), {@code tools} and {@code documents} (None) are added when absent.
     *
     * @param variables the template's variables by name
     * @return the rendered text
     * @throws ChatTemplateException if the template fails or refuses the input, or reaches one of its {@link #limits()}
     *                               (kind {@link ChatTemplateException.Kind#LIMIT})
     * @throws IllegalArgumentException if a value is of another type
     */
    public String render(Map<String, ?> variables) {
        return measure(variables).text();
    }

    /** A rendering and what it used. */
    record Measured(String text, Budget.Usage usage) {}

    /** Renders as {@link #render(Map)} does, and tells what the render used (for the limits' margins). */
    Measured measure(Map<String, ?> variables) {
        Budget budget = new Budget(limits);
        try {
            return new Measured(template.render(withDefaults(variables), clock, budget), budget.usage());
        } catch (JinjaException e) {
            throw translate(e);
        }
    }

    /** {@return how deeply the template's source nests (blocks, brackets, operators and filters)} */
    int sourceDepth() {
        return template.depth();
    }

    private Map<String, Object> withDefaults(Map<String, ?> variables) {
        Map<String, Object> all = new HashMap<>();
        all.put("bos_token", bosToken);
        all.put("eos_token", eosToken);
        all.put("add_generation_prompt", false);
        all.put("tools", null);
        all.put("documents", null);
        all.putAll(variables);
        return all;
    }

    private static List<ChatMessage> mergeSystem(List<ChatMessage> messages) {
        if (messages.isEmpty() || !messages.getFirst().role().equals("system")) {
            return messages;
        }
        List<ChatMessage> out = new ArrayList<>(messages.subList(1, messages.size()));
        if (!out.isEmpty()) {
            ChatMessage next = out.getFirst();
            out.set(0, new ChatMessage(next.role(), messages.getFirst().content() + "\n" + next.content()));
        }
        return out;
    }

    private static ChatTemplateException translate(JinjaException e) {
        ChatTemplateException.Kind kind = switch (e.kind()) {
            case SYNTAX -> ChatTemplateException.Kind.SYNTAX;
            case RAISED -> ChatTemplateException.Kind.RAISED;
            case RENDER -> ChatTemplateException.Kind.RENDER;
            case LIMIT -> ChatTemplateException.Kind.LIMIT;
        };
        ChatTemplateException out = new ChatTemplateException(kind, e.line(), e.getMessage());
        out.initCause(e);
        return out;
    }

    @Override
    public String toString() {
        return "ChatTemplate[" + source.length() + " chars, bos=" + bosToken + ", eos=" + eosToken + ", " + limits + "]";
    }
}
