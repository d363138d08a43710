package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Tool calling for every model, whatever its template: the tools are described in the system message and the reply
 * is constrained by a grammar to a JSON envelope, {@code {"tool_calls": [{"name": ..., "arguments": {...}}]}} or
 * {@code {"response": "..."}}, with each call's arguments held to its tool's JSON Schema. Earlier calls and tool
 * results are written back into the conversation in the same JSON, as assistant and user messages, so a template
 * that knows nothing of tools renders them. A model cannot invent a tool name or produce arguments its schema
 * rejects; with {@link ToolChoice#REQUIRED} it cannot answer without a call.
 */
public final class JsonToolFormat implements ToolFormat {
    private final ChatFormat base;

    /**
     * The JSON tool format over a chat format.
     *
     * @param base renders the prepared conversation (any template, or the plain format)
     */
    public JsonToolFormat(ChatFormat base) {
        this.base = java.util.Objects.requireNonNull(base, "base");
    }

    @Override
    public String name() {
        return "json";
    }

    @Override
    public String render(List<ChatMessage> conversation, Tools tools) {
        return base.render(forRendering(conversation, tools));
    }

    @Override
    public SamplerChain constrain(SamplerChain chain, Tools tools, io.llamaffm.Tokenizer tokenizer, String prompt) {
        return tools != null && tools.active() ? constrain(chain, tools) : chain;
    }

    /**
     * {@inheritDoc} With the tools active the reply is the JSON envelope ({@link JsonToolStream}); otherwise it is
     * plain text, passed on as it comes.
     */
    @Override
    public ReplyReader reader(String prompt, Tools tools, Supplier<String> ids, ReplyReader.Listener listener) {
        if (tools != null && tools.active()) {
            return new JsonToolStream(tools, ids, listener);
        }
        return new ReplyReader() {
            private final StringBuilder all = new StringBuilder();

            @Override
            public void push(CharSequence text) {
                all.append(text);
                if (listener != null && !text.isEmpty()) {
                    listener.content(text.toString());
                }
            }

            @Override
            public ParsedReply finish() {
                return new ParsedReply(all.toString().strip(), "", List.of(), true);
            }
        };
    }

    /**
     * What a format renders for a conversation: the conversation itself when it has no tool calls or results and no
     * tools are active, else {@link #prepare} of it.
     *
     * @param conversation the conversation
     * @param tools        the tools on offer, or null for none
     * @return the messages to render
     */
    public static List<ChatMessage> forRendering(List<ChatMessage> conversation, Tools tools) {
        boolean toolMessages = conversation.stream().anyMatch(m -> !m.toolCalls().isEmpty() || m.toolCallId() != null);
        return toolMessages || (tools != null && tools.active())
                ? prepare(conversation, tools == null ? Tools.of() : tools) : conversation;
    }

    /**
     * The conversation as a base format (any {@link ChatFormat}) renders it: the tools' instructions in the system
     * message when the tools are active, earlier calls as assistant messages and tool results as user messages, both in
     * JSON text.
     *
     * @param conversation the conversation, with tool calls and tool results
     * @param tools        the tools on offer
     * @return the messages to render
     */
    public static List<ChatMessage> prepare(List<ChatMessage> conversation, Tools tools) {
        List<ChatMessage> out = new ArrayList<>(conversation.size() + 1);
        boolean system = !conversation.isEmpty() && conversation.getFirst().role().equals("system");
        if (tools.active()) {
            String instructions = instructions(tools);
            out.add(ChatMessage.system(system ? conversation.getFirst().content() + "\n\n" + instructions : instructions));
        } else if (system) {
            out.add(conversation.getFirst());
        }
        Map<String, String> names = new LinkedHashMap<>();
        for (ChatMessage m : conversation.subList(system ? 1 : 0, conversation.size())) {
            if (!m.toolCalls().isEmpty()) {
                List<Object> calls = new ArrayList<>();
                for (ToolCall c : m.toolCalls()) {
                    names.put(c.id(), c.name());
                    Map<String, Object> call = new LinkedHashMap<>();
                    call.put("name", c.name());
                    call.put("arguments", JsonParser.parse(c.arguments()));
                    calls.add(call);
                }
                out.add(ChatMessage.assistant(NlohmannJson.dump(Map.of("tool_calls", calls))));
            } else if (m.toolCallId() != null) {
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("name", names.getOrDefault(m.toolCallId(), ""));
                result.put("content", m.content());
                out.add(ChatMessage.user(NlohmannJson.dump(Map.of("tool_result", result))));
            } else {
                out.add(m);
            }
        }
        return out;
    }

    private static String instructions(Tools tools) {
        StringBuilder sb = new StringBuilder("You can call these tools:\n");
        for (Tool t : tools.tools()) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("name", t.name());
            d.put("description", t.description());
            d.put("parameters", JsonParser.parse(t.parameters()));
            sb.append(NlohmannJson.dump(d)).append('\n');
        }
        String calls = tools.parallelCalls() ? "{\"tool_calls\": [{\"name\": ..., \"arguments\": {...}}, ...]}"
                : "{\"tool_calls\": [{\"name\": ..., \"arguments\": {...}}]}";
        sb.append(switch (tools.choice().mode()) {
            case AUTO -> "Reply with one JSON object: " + calls + " to call tools, or {\"response\": \"...\"} to answer.";
            case REQUIRED -> "Reply with one JSON object that calls tools: " + calls + ".";
            case NAMED -> "Reply with one JSON object that calls the tool " + tools.choice().name() + ": " + calls + ".";
            case NONE -> throw new IllegalStateException("no tool instructions for NONE");
        });
        sb.append(" Tool results come back as {\"tool_result\": {\"name\": ..., \"content\": ...}}.");
        return sb.toString();
    }

    /**
     * The sampler chain for a reply with the tools active: {@code chain} with the grammar of the reply's JSON Schema
     * first.
     *
     * @param chain the decoding strategy, without a grammar of its own
     * @param tools the active tools
     * @return the chain that holds the reply to the envelope
     * @throws IllegalArgumentException if the chain has a grammar, or the tools' schemas cannot become a grammar
     */
    public static SamplerChain constrain(SamplerChain chain, Tools tools) {
        refuseGrammar(chain);
        SamplerChain.Grammar grammar;
        try {
            grammar = SamplerChain.Grammar.fromJsonSchema(schema(tools));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the tools' schemas cannot be turned into a grammar: " + e.getMessage(), e);
        }
        List<SamplerChain.Stage> stages = new ArrayList<>();
        stages.add(grammar);
        stages.addAll(chain.stages());
        return new SamplerChain(stages);
    }

    /** Refuses a chain with a grammar of its own: with tools, the tools' grammar holds the reply. */
    static void refuseGrammar(SamplerChain chain) {
        for (SamplerChain.Stage stage : chain.stages()) {
            if (stage instanceof SamplerChain.Grammar || stage instanceof SamplerChain.LazyGrammar) {
                throw new IllegalArgumentException("the sampler has a grammar of its own: with tools, the tools' grammar holds the reply");
            }
        }
    }

    /** The JSON Schema of the reply: the calls the choice allows (each tool's arguments by its schema), or a response. */
    static String schema(Tools tools) {
        List<Object> callSchemas = new ArrayList<>();
        for (Tool t : tools.tools()) {
            if (tools.choice().mode() == ToolChoice.Mode.NAMED && !t.name().equals(tools.choice().name())) {
                continue;
            }
            Map<String, Object> props = new LinkedHashMap<>();
            props.put("name", Map.of("const", t.name()));
            props.put("arguments", t.schema());
            callSchemas.add(object(props));
        }
        Map<String, Object> array = new LinkedHashMap<>();
        array.put("type", "array");
        array.put("items", callSchemas.size() == 1 ? callSchemas.getFirst() : Map.of("oneOf", callSchemas));
        array.put("minItems", java.math.BigDecimal.ONE);
        if (!tools.parallelCalls()) {
            array.put("maxItems", java.math.BigDecimal.ONE);
        }
        Map<String, Object> callsProps = new LinkedHashMap<>();
        callsProps.put("tool_calls", array);
        Map<String, Object> calls = object(callsProps);
        if (tools.choice().mode() != ToolChoice.Mode.AUTO) {
            return NlohmannJson.dump(calls);
        }
        Map<String, Object> responseProps = new LinkedHashMap<>();
        responseProps.put("response", Map.of("type", "string"));
        return NlohmannJson.dump(Map.of("oneOf", List.of(calls, object(responseProps))));
    }

    private static Map<String, Object> object(Map<String, Object> properties) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("type", "object");
        o.put("properties", properties);
        o.put("required", List.copyOf(properties.keySet()));
        o.put("additionalProperties", false);
        return o;
    }

    /**
     * Reads a reply: the calls (with fresh ids from {@code ids}) or the response text. A reply cut inside its list of
     * calls keeps the calls complete before the cut; any other reply that is not a complete envelope has no calls and
     * its raw text is the content.
     *
     * @param reply the generated text
     * @param tools the tools on offer (a call of another name is not a call)
     * @param ids   makes an id for each call
     * @return what the reply says
     */
    public static ParsedReply parse(String reply, Tools tools, Supplier<String> ids) {
        Object value;
        try {
            value = JsonParser.parse(reply);
        } catch (IllegalArgumentException e) {
            return salvage(reply, tools, ids);
        }
        return parseValue(value, reply, tools, ids);
    }

    private static ParsedReply parseValue(Object value, String reply, Tools tools, Supplier<String> ids) {
        if (value instanceof Map<?, ?> m && m.get("tool_calls") instanceof List<?> list && !list.isEmpty()) {
            List<ToolCall> calls = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof Map<?, ?> call) || !(call.get("name") instanceof String name)
                        || tools.find(name).isEmpty() || !(call.get("arguments") instanceof Map<?, ?> args)) {
                    return new ParsedReply(reply, "", List.of(), false);
                }
                calls.add(new ToolCall(ids.get(), name, NlohmannJson.dump(args)));
            }
            return new ParsedReply("", "", calls, true);
        }
        if (value instanceof Map<?, ?> m && m.size() == 1 && m.get("response") instanceof String text) {
            return new ParsedReply(text, "", List.of(), true);
        }
        return new ParsedReply(reply, "", List.of(), false);
    }

    /**
     * A reply cut inside its list of calls (the budget ran out while a weak model went on adding calls): the calls
     * complete before the cut, if any; otherwise the raw text.
     */
    private static ParsedReply salvage(String reply, Tools tools, Supplier<String> ids) {
        if (reply.stripLeading().startsWith("{") && reply.contains("\"tool_calls\"")) {
            for (int end = reply.lastIndexOf('}'); end > 0; end = reply.lastIndexOf('}', end - 1)) {
                Object value;
                try {
                    value = JsonParser.parse(reply.substring(0, end + 1) + "]}");
                } catch (IllegalArgumentException e) {
                    continue;
                }
                ParsedReply p = parseValue(value, reply, tools, ids);
                if (!p.calls().isEmpty()) {
                    return new ParsedReply("", "", p.calls(), false);
                }
                break;
            }
        }
        return new ParsedReply(reply, "", List.of(), false);
    }
}
