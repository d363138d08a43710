package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.llamaffm.chat.ChatMessage;
import io.llamaffm.chat.ParsedReply;
import io.llamaffm.chat.ReplyReader;
import io.llamaffm.chat.Tool;
import io.llamaffm.chat.ToolCall;
import io.llamaffm.chat.ToolChoice;
import io.llamaffm.chat.Tools;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The OpenAI tool-calling fields of a chat request ({@code tools}, {@code tool_choice}, ...) and of its reply. */
final class ToolRequests {
    private ToolRequests() {}

    /** The tools of a chat request, or null when it offers none. */
    static Tools tools(Requests.Generation r) {
        List<Requests.ToolSpec> specs = r.tools();
        if ((specs == null || specs.isEmpty()) && (r.toolChoice() == null || r.toolChoice().isNull())) {
            return null;
        }
        List<Tool> tools = new ArrayList<>();
        for (int i = 0; specs != null && i < specs.size(); i++) {
            Requests.ToolSpec spec = specs.get(i);
            String param = "tools[" + i + "]";
            if (spec == null || !"function".equals(spec.type()) || spec.function() == null) {
                throw ApiException.invalidValue(param, "only {\"type\": \"function\", \"function\": {...}} tools are supported.");
            }
            Requests.FunctionSpec f = spec.function();
            if (f.name() == null) {
                throw ApiException.invalid("Missing required parameter: '" + param + ".function.name'.", param + ".function.name",
                        "missing_required_parameter");
            }
            JsonNode parameters = f.parameters();
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
                throw ApiException.invalidValue(param + ".function.parameters", "must be a JSON Schema object.");
            }
            try {
                tools.add(Tool.of(f.name(), f.description() == null ? "" : f.description(),
                        parameters == null || parameters.isNull() ? "{\"type\":\"object\"}" : parameters.toString()));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalidValue(param + ".function", e.getMessage());
            }
        }
        try {
            return new Tools(tools, choice(r.toolChoice()), !Boolean.FALSE.equals(r.parallelToolCalls()));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidValue("tools", e.getMessage());
        }
    }

    /** Completions have no tools: refused when a request offers some; null otherwise. */
    static Tools refuseOnCompletions(Requests.Generation r) {
        if (r.tools() != null && !r.tools().isEmpty()) {
            throw ApiException.invalid("'tools' is supported on /v1/chat/completions only.", "tools", "unsupported_parameter");
        }
        return null;
    }

    private static ToolChoice choice(JsonNode c) {
        if (c == null || c.isNull()) {
            return ToolChoice.AUTO;
        }
        if (c.isTextual()) {
            return switch (c.textValue()) {
                case "none" -> ToolChoice.NONE;
                case "auto" -> ToolChoice.AUTO;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw ApiException.invalidValue("tool_choice", "'" + c.textValue()
                        + "' is not one of none, auto, required, or {\"type\": \"function\", \"function\": {\"name\": ...}}.");
            };
        }
        JsonNode name = c.path("function").path("name");
        if (!c.isObject() || !"function".equals(c.path("type").asText(null)) || !name.isTextual()) {
            throw ApiException.invalidValue("tool_choice", "expected none, auto, required, or {\"type\": \"function\", "
                    + "\"function\": {\"name\": ...}}.");
        }
        return ToolChoice.named(name.textValue());
    }

    /** The tool calls of an earlier assistant message. */
    static List<ToolCall> calls(List<Requests.MessageToolCall> calls, String param) {
        List<ToolCall> out = new ArrayList<>(calls.size());
        for (int i = 0; i < calls.size(); i++) {
            Requests.MessageToolCall c = calls.get(i);
            String p = param + "[" + i + "]";
            if (c == null || c.id() == null || c.function() == null || c.function().name() == null) {
                throw ApiException.invalidValue(p, "a tool call needs an id and a function with a name.");
            }
            try {
                out.add(new ToolCall(c.id(), c.function().name(), c.function().arguments() == null ? "{}" : c.function().arguments()));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalidValue(p + ".function.arguments", e.getMessage());
            }
        }
        return out;
    }

    /** Every tool message answers a call of an earlier assistant message. */
    static void checkToolResults(List<ChatMessage> messages) {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            m.toolCalls().forEach(c -> ids.add(c.id()));
            if (m.toolCallId() != null && !ids.contains(m.toolCallId())) {
                throw ApiException.invalidValue("messages[" + i + "].tool_call_id", "'" + m.toolCallId()
                        + "' answers no tool call of an earlier assistant message.");
            }
        }
    }

    /**
     * {@code tool_calls} when the reply called tools (complete), {@code length} when it was cut inside a call or its
     * reasoning, else the generation's reason.
     */
    static String finishReason(ParsedReply reply, String generation) {
        if (!reply.complete()) {
            return "length";
        }
        return reply.calls().isEmpty() ? generation : "tool_calls";
    }

    static List<Responses.ToolCallOut> out(List<ToolCall> calls) {
        List<Responses.ToolCallOut> out = new ArrayList<>(calls.size());
        for (ToolCall c : calls) {
            out.add(new Responses.ToolCallOut(c.id(), "function", new Responses.FunctionOut(c.name(), c.arguments())));
        }
        return out;
    }

    /**
     * A listener that turns a tool reply, as it is read, into stream deltas as OpenAI sends them: the text, or per call a
     * first chunk (index, id, type, name, empty arguments) and then its argument fragments.
     */
    static ReplyReader.Listener deltas(java.util.function.Consumer<Responses.Delta> out) {
        return new ReplyReader.Listener() {
            @Override
            public void content(String text) {
                out.accept(new Responses.Delta(null, text));
            }

            @Override
            public void reasoning(String text) {
                out.accept(new Responses.Delta(null, null, text, null));
            }

            @Override
            public void callStarted(int index, String id, String name) {
                out.accept(new Responses.Delta(null, null, null, List.of(new Responses.ToolCallDelta(index, id, "function",
                        new Responses.FunctionOut(name, "")))));
            }

            @Override
            public void arguments(int index, String fragment) {
                out.accept(new Responses.Delta(null, null, null, List.of(new Responses.ToolCallDelta(index, null, null,
                        new Responses.FunctionOut(null, fragment)))));
            }
        };
    }
}
