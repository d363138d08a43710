package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;
import io.llamaffm.internal.JsonParser;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Tool calling in a model family's own syntax, the one its chat template teaches: the template renders the tools,
 * earlier calls and tool results itself, the reply is read in the family's markers, and reasoning
 * ({@code <think>...</think>} or the family's tags) is separated from the answer. {@link #detect} recognises the family
 * from the template's source:
 *
 * <table class="striped">
 *   <caption>Families</caption>
 *   <tr><th>name</th><th>models</th><th>calls</th></tr>
 *   <tr><td>hermes</td><td>Hermes 2 Pro / 3, Qwen 2.5, Qwen 3, QwQ, Granite 4, SmolLM3</td>
 *       <td>{@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>}</td></tr>
 *   <tr><td>llama3</td><td>Llama 3.1, 3.2, 3.3</td><td>{@code {"name": ..., "parameters": {...}}} as the whole reply</td></tr>
 *   <tr><td>qwen3-coder</td><td>Qwen3-Coder, Qwen 3.5, Nemotron Nano 3</td>
 *       <td>{@code <tool_call><function=NAME><parameter=KEY>VALUE</parameter></function></tool_call>}</td></tr>
 *   <tr><td>mistral-nemo</td><td>Mistral Nemo</td><td>{@code [TOOL_CALLS][{"name": ..., "arguments": {...}, "id": ...}]}</td></tr>
 *   <tr><td>mistral</td><td>Mistral Small 3.2, Devstral, Ministral 3, Magistral</td>
 *       <td>{@code [TOOL_CALLS]NAME[CALL_ID]ID[ARGS]{...}}, reasoning in {@code [THINK]...[/THINK]}</td></tr>
 *   <tr><td>functionary-v3.1</td><td>Functionary v3.1</td><td>{@code <function=NAME>{...}</function>}</td></tr>
 *   <tr><td>command-r7b</td><td>Command R7B</td>
 *       <td>{@code <|START_ACTION|>[{"tool_call_id": ..., "tool_name": ..., "parameters": {...}}]<|END_ACTION|>}</td></tr>
 *   <tr><td>deepseek-r1</td><td>DeepSeek R1 and its distills</td>
 *       <td>{@code <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME ```json {...} ```<｜tool▁call▁end｜>}</td></tr>
 *   <tr><td>deepseek-v3.1</td><td>DeepSeek V3.1</td><td>{@code <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜>}</td></tr>
 *   <tr><td>granite</td><td>Granite 3.x</td><td>{@code <|tool_call|>[{"name": ..., "arguments": {...}}]}</td></tr>
 *   <tr><td>kimi-k2</td><td>Kimi K2</td>
 *       <td>{@code <|tool_call_begin|>functions.NAME:0<|tool_call_argument_begin|>{...}<|tool_call_end|>}</td></tr>
 *   <tr><td>glm4</td><td>GLM 4.5 to 4.7</td>
 *       <td>{@code <tool_call>NAME<arg_key>KEY</arg_key><arg_value>VALUE</arg_value></tool_call>}</td></tr>
 *   <tr><td>firefunction</td><td>FireFunction v2</td><td>{@code functools[{"name": ..., "arguments": {...}}]}</td></tr>
 *   <tr><td>gpt-oss</td><td>gpt-oss</td><td>harmony channels: {@code <|channel|>analysis} (reasoning),
 *       {@code <|channel|>final} (answer), {@code <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{...}}</td></tr>
 *   <tr><td>functionary-v3.2</td><td>Functionary v3.2</td><td>{@code >>>all} answer, {@code >>>NAME} then the JSON arguments</td></tr>
 *   <tr><td>gemma4</td><td>Gemma 4</td><td>{@code <|tool_call>call:NAME{key:<|"|>text<|"|>,n:1}<tool_call|>},
 *       reasoning in {@code <|channel>thought ... <channel|>}</td></tr>
 * </table>
 *
 * <p>The prompt gets the variables llama.cpp gives every template: {@code tools}, {@code enable_thinking} (true),
 * {@code datetime} and {@code date_string} (from the template's clock), and {@link #withTemplateVariables} adds more.
 *
 * <p>A template that matches none of them gets the {@link JsonToolFormat}, which works with any template.
 */
public final class NativeToolFormat implements ToolFormat {
    private static final java.time.format.DateTimeFormatter DATETIME =
            java.time.format.DateTimeFormatter.ofPattern("MMM dd yyyy", java.util.Locale.ROOT);
    private static final java.time.format.DateTimeFormatter DATE_STRING =
            java.time.format.DateTimeFormatter.ofPattern("dd MMM yyyy", java.util.Locale.ROOT);

    private final ChatTemplate template;
    private final CallSyntax syntax;
    private final boolean separateReasoning;
    private final Map<String, Object> variables;

    private NativeToolFormat(ChatTemplate template, CallSyntax syntax, boolean separateReasoning,
                             Map<String, Object> variables) {
        this.template = template;
        this.syntax = syntax;
        this.separateReasoning = separateReasoning;
        this.variables = variables;
    }

    /**
     * The native format a chat template teaches.
     *
     * @param template the model's chat template
     * @return its family's format, or empty when its call syntax is not one of the known families
     */
    public static Optional<NativeToolFormat> detect(ChatTemplate template) {
        return ToolSyntax.detect(template.source()).map(s -> new NativeToolFormat(template, s, true, Map.of()));
    }

    /**
     * Whether reasoning is taken out of the answer (the default) or kept in it, tags and all.
     *
     * @param separate true to put reasoning in {@link ParsedReply#reasoning()}, false to keep it inline in the content
     * @return a format with that choice
     */
    public NativeToolFormat withSeparateReasoning(boolean separate) {
        return new NativeToolFormat(template, syntax, separate, variables);
    }

    /**
     * Extra variables for the template, such as {@code enable_thinking} (false turns a Qwen 3 model's reasoning off)
     * or {@code reasoning_effort}; they are rendered as given, after the format's own.
     *
     * @param templateVariables the variables by name (null, Boolean, numbers, String, List and Map)
     * @return a format that renders with them
     */
    public NativeToolFormat withTemplateVariables(Map<String, ?> templateVariables) {
        return new NativeToolFormat(template, syntax, separateReasoning, Map.copyOf(templateVariables));
    }

    /** {@return whether the family writes reasoning in tags this format separates} */
    public boolean reasons() {
        return syntax.reasoningStart() != null;
    }

    @Override
    public String name() {
        return syntax.name();
    }

    @Override
    public String render(List<ChatMessage> conversation, Tools tools) {
        Map<String, Object> all = new HashMap<>();
        all.put("messages", template.messageMaps(conversation));
        all.put("add_generation_prompt", true);
        all.put("enable_thinking", true); // as llama.cpp passes it; withTemplateVariables can turn it off
        // today's date as llama.cpp's chat code gives it to every template (Llama 3.x, FireFunction read it)
        java.time.LocalDate today = java.time.LocalDate.now(template.clock());
        all.put("datetime", DATETIME.format(today));
        all.put("date_string", DATE_STRING.format(today));
        if (tools != null && tools.active()) {
            List<Object> list = new ArrayList<>();
            for (Tool t : tools.tools()) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", t.name());
                function.put("description", t.description());
                function.put("parameters", JsonParser.parse(t.parameters()));
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("type", "function");
                entry.put("function", function);
                list.add(entry);
            }
            all.put("tools", list);
            all.putAll(syntax.toolVariables(list));
        }
        all.putAll(variables);
        return template.render(all);
    }

    @Override
    public SamplerChain constrain(SamplerChain chain, Tools tools, Tokenizer tokenizer, String prompt) {
        if (tools == null || !tools.active()) {
            return chain;
        }
        JsonToolFormat.refuseGrammar(chain);
        List<SamplerChain.Stage> stages = new ArrayList<>();
        stages.add(syntax.grammar(tools, tokenizer, startsInReasoning(prompt)));
        stages.addAll(chain.stages());
        return new SamplerChain(stages);
    }

    @Override
    public ReplyReader reader(String prompt, Tools tools, Supplier<String> ids, ReplyReader.Listener listener) {
        boolean open = startsInReasoning(prompt);
        CallSyntax s = separateReasoning ? syntax : syntax.withoutReasoning();
        String inline = !separateReasoning && open ? syntax.reasoningStart() : "";
        Tools offered = tools == null ? Tools.of() : tools;
        boolean startsInReasoning = separateReasoning && open;
        return new SyntaxReader((text, partial) -> s.parse(offered, text, partial, startsInReasoning), offered, inline, ids,
                listener);
    }

    /** Whether the prompt ends inside a reasoning block (the template opened it for the reply). */
    private boolean startsInReasoning(String prompt) {
        if (syntax.reasoningStart() == null || prompt == null) {
            return false;
        }
        String p = prompt.stripTrailing();
        return p.endsWith(syntax.reasoningStart());
    }

    @Override
    public String toString() {
        return "NativeToolFormat[" + syntax.name() + "]";
    }
}
