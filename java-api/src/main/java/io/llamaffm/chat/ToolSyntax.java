package io.llamaffm.chat;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How one family of models writes tool calls and reasoning, as markers around JSON or XML-like parameters. A
 * {@code "\n"} inside a marker stands for optional whitespace when reading and for a line break when the grammar
 * writes it. The reader is {@link SyntaxParser}, the grammar {@link SyntaxGrammar}.
 *
 * @param name           the family's name
 * @param reasoningStart the tag that opens reasoning, or null (used only when the template writes it)
 * @param reasoningEnd   the tag that closes reasoning
 * @param contentStart   a tag the answer's text is wrapped in, or null
 * @param contentEnd     the tag that closes it
 * @param sectionStart   the marker before all calls, or null
 * @param sectionEnd     the marker after all calls, or null
 * @param callStart      the marker before each call, or null (the calls are JSON objects in the section, or, with no
 *                       section either, one JSON object that is the whole reply)
 * @param callEnd        the marker after each call, or null
 * @param separator      what separates calls (inside a JSON array: {@code ,}), or null for whitespace
 * @param nameKeys       the keys of a call's name in a JSON call object, first one written; empty when the name is
 *                       in the markers
 * @param argsKeys       the keys of its arguments in a JSON call object, first one written
 * @param idKey          the key of the call's id in a JSON call object, or null
 * @param namePrefix     text before the name when the name is in the markers, or null
 * @param nameEnd        the marker after the name, or null when the name ends with its last name character
 * @param indexedName    the name is followed by {@code :<index>}, and name plus index is the call's id (Kimi)
 * @param idMarker       a marker between the name and {@code nameEnd}, followed by the call's id, or null (Mistral)
 * @param paramStart     the marker before each parameter's name when arguments are XML-like, or null for JSON
 * @param paramNameEnd   the marker between a parameter's name and its value
 * @param paramEnd       the marker after a parameter's value
 */
record ToolSyntax(String name, String reasoningStart, String reasoningEnd, String contentStart, String contentEnd,
                  String sectionStart, String sectionEnd, String callStart, String callEnd, String separator,
                  List<String> nameKeys, List<String> argsKeys, String idKey, String namePrefix, String nameEnd,
                  boolean indexedName, String idMarker, String paramStart, String paramNameEnd, String paramEnd)
        implements CallSyntax {

    @Override
    public SyntaxParser.Result parse(Tools tools, String text, boolean partial, boolean startsInReasoning) {
        return SyntaxParser.parse(this, tools, text, partial, startsInReasoning);
    }

    @Override
    public io.llamaffm.SamplerChain.Stage grammar(Tools tools, io.llamaffm.Tokenizer tokenizer, boolean startsInReasoning) {
        return SyntaxGrammar.stage(this, tools, tokenizer, startsInReasoning);
    }

    boolean jsonCall() {
        return !nameKeys.isEmpty();
    }

    /**
     * The text a call may start with when the model leaves out the call's first marker (Qwen3-Coder writes
     * {@code <function=...>} without the {@code <tool_call>} before it; llama.cpp accepts that), or null.
     */
    String bareCallStart() {
        return this.name().equals("qwen3-coder") ? "<function=" : null;
    }

    /** FireFunction's template lists the functions from a {@code functions} variable (JSON text), as its own code gives it. */
    @Override
    public Map<String, Object> toolVariables(List<Object> tools) {
        if (!name.equals("firefunction")) {
            return Map.of();
        }
        return Map.of("functions", io.llamaffm.internal.NlohmannJson.dump(tools.stream()
                .map(t -> ((Map<?, ?>) t).get("function")).toList()));
    }

    boolean anchored() {
        return sectionStart == null && callStart == null;
    }

    /** The marker the first call starts with, or null for an anchored JSON call. */
    String trigger() {
        return sectionStart != null ? sectionStart : callStart;
    }

    @Override
    public ToolSyntax withoutReasoning() {
        return new ToolSyntax(name, null, null, contentStart, contentEnd, sectionStart, sectionEnd, callStart, callEnd,
                separator, nameKeys, argsKeys, idKey, namePrefix, nameEnd, indexedName, idMarker, paramStart, paramNameEnd,
                paramEnd);
    }

    private static final String THINK = "<think>";
    private static final String END_THINK = "</think>";

    /** Calls as JSON objects between per-call markers. */
    private static ToolSyntax jsonCalls(String name, String start, String end, List<String> nameKeys, List<String> argsKeys) {
        return new ToolSyntax(name, THINK, END_THINK, null, null, null, null, start, end, null, nameKeys, argsKeys, null,
                null, null, false, null, null, null, null);
    }

    /** Calls as a JSON array after a marker. */
    private static ToolSyntax jsonArray(String name, String start, String end, String nameKey, String argsKey, String idKey) {
        return new ToolSyntax(name, THINK, END_THINK, null, null, start, end, null, null, ",", List.of(nameKey),
                List.of(argsKey), idKey, null, null, false, null, null, null, null);
    }

    /** Calls as markers around the name, then JSON arguments. */
    private static ToolSyntax namedJson(String name, String sectionStart, String sectionEnd, String callStart,
                                        String nameEnd, String callEnd) {
        return new ToolSyntax(name, THINK, END_THINK, null, null, sectionStart, sectionEnd, callStart, callEnd, null,
                List.of(), List.of(), null, null, nameEnd, false, null, null, null, null);
    }

    static final ToolSyntax HERMES = jsonCalls("hermes", "<tool_call>", "</tool_call>", List.of("name"), List.of("arguments"));
    static final ToolSyntax LLAMA3 = jsonCalls("llama3", null, null, List.of("name"), List.of("parameters", "arguments"));
    static final ToolSyntax FUNCTIONARY_V31 = namedJson("functionary-v3.1", null, null, "<function=", ">", "</function>");
    static final ToolSyntax MISTRAL_NEMO = jsonArray("mistral-nemo", "[TOOL_CALLS]\n[", "]", "name", "arguments", "id");
    static final ToolSyntax MISTRAL = new ToolSyntax("mistral", "[THINK]", "[/THINK]", null, null, null, null,
            "[TOOL_CALLS]", null, null, List.of(), List.of(), null, null, "[ARGS]", false, "[CALL_ID]", null, null, null);
    static final ToolSyntax COMMAND_R7B = new ToolSyntax("command-r7b", "<|START_THINKING|>", "<|END_THINKING|>",
            "<|START_RESPONSE|>", "<|END_RESPONSE|>", "<|START_ACTION|>\n[", "]\n<|END_ACTION|>", null, null, ",",
            List.of("tool_name"), List.of("parameters"), "tool_call_id", null, null, false, null, null, null, null);
    static final ToolSyntax DEEPSEEK_R1 = namedJson("deepseek-r1", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>",
            "<｜tool▁call▁begin｜>function<｜tool▁sep｜>", "\n```json\n", "\n```<｜tool▁call▁end｜>");
    static final ToolSyntax DEEPSEEK_V31 = namedJson("deepseek-v3.1", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>",
            "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>");
    static final ToolSyntax GRANITE = new ToolSyntax("granite", THINK, END_THINK, "<response>", "</response>",
            "<|tool_call|>\n[", "]", null, null, ",", List.of("name"), List.of("arguments"), null, null, null, false, null,
            null, null, null);
    static final ToolSyntax KIMI_K2 = new ToolSyntax("kimi-k2", THINK, END_THINK, null, null,
            "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>", "<|tool_call_end|>",
            null, List.of(), List.of(), null, "functions.", "<|tool_call_argument_begin|>", true, null, null, null, null);
    static final ToolSyntax FIREFUNCTION = jsonArray("firefunction", "functools[", "]", "name", "arguments", null);
    static final ToolSyntax QWEN3_CODER = new ToolSyntax("qwen3-coder", THINK, END_THINK, null, null, null, null,
            "<tool_call>\n<function=", "\n</function>\n</tool_call>", null, List.of(), List.of(), null, null, ">", false,
            null, "\n<parameter=", ">\n", "\n</parameter>");
    static final ToolSyntax GLM4 = new ToolSyntax("glm4", THINK, END_THINK, null, null, null, null, "<tool_call>",
            "\n</tool_call>", null, List.of(), List.of(), null, null, null, false, null, "\n<arg_key>",
            "</arg_key>\n<arg_value>", "</arg_value>");

    /**
     * The call syntax a chat template teaches, recognised by the markers in its source (as llama.cpp's chat code
     * recognises them); reasoning tags only where the template writes them.
     *
     * @param source the template's source
     * @return the syntax, or empty for a template with no known call syntax
     */
    static Optional<CallSyntax> detect(String source) {
        if (source.contains("<|channel|>")) {
            return Optional.of(HarmonySyntax.INSTANCE);
        }
        if (source.contains("'<|tool_call>call:'")) {
            return Optional.of(GemmaSyntax.INSTANCE);
        }
        if (source.contains(">>>all") && source.contains(">>>${recipient}")) {
            return Optional.of(RecipientSyntax.INSTANCE);
        }
        ToolSyntax s = detectCalls(source);
        if (s == null) {
            return Optional.empty();
        }
        return Optional.of(s.reasoningStart() != null && source.contains(s.reasoningStart()) ? s : s.withoutReasoning());
    }

    private static ToolSyntax detectCalls(String src) {
        if (src.contains("<|tool_calls_section_begin|>") && src.contains("<|tool_call_begin|>")) {
            return KIMI_K2;
        }
        if (src.contains("<|START_ACTION|>") && src.contains("<|START_RESPONSE|>")) {
            return COMMAND_R7B;
        }
        if (src.contains("[TOOL_CALLS]")) {
            return src.contains("[ARGS]") ? MISTRAL : MISTRAL_NEMO;
        }
        if (src.contains("tool▁calls▁begin")) {
            return src.contains("```json") ? DEEPSEEK_R1 : DEEPSEEK_V31;
        }
        if (src.contains("<tool_call>") && src.contains("<function=") && src.contains("<parameter=")) {
            return QWEN3_CODER;
        }
        if (src.contains("<arg_key>") && src.contains("<tool_call>")) {
            return GLM4;
        }
        if (src.contains("<|tool_call|>")) {
            return GRANITE;
        }
        if (src.contains("functools[")) {
            return FIREFUNCTION;
        }
        if (src.contains("<tool_call>")) {
            return HERMES;
        }
        if (src.contains("<function=") && src.contains("ipython")) {
            return FUNCTIONARY_V31;
        }
        if (src.contains("<|start_header_id|>") && src.contains("ipython")) {
            return LLAMA3;
        }
        return null;
    }
}
