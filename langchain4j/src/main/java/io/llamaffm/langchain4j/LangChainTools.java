package io.llamaffm.langchain4j;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.PartialToolCall;
import io.llamaffm.chat.ReplyReader;
import io.llamaffm.chat.Tool;
import io.llamaffm.chat.ToolCall;
import io.llamaffm.chat.ToolChoice;
import io.llamaffm.chat.Tools;

import java.util.ArrayList;
import java.util.List;

/** LangChain4j's tool types and llama-ffm's: specifications, choice, execution requests. */
final class LangChainTools {
    private LangChainTools() {}

    /**
     * The tools of a request, or null when it has none. {@code REQUIRED} asks for a call in a turn that has had none:
     * once the conversation ends with tool results, the reply answers from them ({@code NONE}), so an agent loop that
     * keeps the choice (AiServices does) cannot call tools forever.
     */
    static Tools tools(ChatRequestParameters p, List<dev.langchain4j.data.message.ChatMessage> messages) {
        List<ToolSpecification> specs = p.toolSpecifications();
        if (specs == null || specs.isEmpty()) {
            if (p.toolChoice() == dev.langchain4j.model.chat.request.ToolChoice.REQUIRED) {
                throw new IllegalArgumentException("tool choice REQUIRED needs at least one tool specification");
            }
            return null;
        }
        List<Tool> tools = new ArrayList<>(specs.size());
        for (ToolSpecification s : specs) {
            String schema = s.parameters() == null ? "{\"type\":\"object\",\"properties\":{}}" : JsonSchemaText.of(s.parameters());
            tools.add(Tool.of(s.name(), s.description() == null ? "" : s.description(), schema));
        }
        ToolChoice choice = p.toolChoice() == null ? ToolChoice.AUTO : switch (p.toolChoice()) {
            case AUTO -> ToolChoice.AUTO;
            case REQUIRED -> !messages.isEmpty() && messages.getLast() instanceof ToolExecutionResultMessage
                    ? ToolChoice.NONE : ToolChoice.REQUIRED;
            case NONE -> ToolChoice.NONE;
        };
        return new Tools(tools, choice, true);
    }

    static List<ToolExecutionRequest> requests(List<ToolCall> calls) {
        List<ToolExecutionRequest> out = new ArrayList<>(calls.size());
        for (ToolCall c : calls) {
            out.add(ToolExecutionRequest.builder().id(c.id()).name(c.name()).arguments(c.arguments()).build());
        }
        return out;
    }

    /** The calls of an earlier AI message (a request without an id or arguments gets a fresh id and {}). */
    static List<ToolCall> calls(List<ToolExecutionRequest> requests) {
        List<ToolCall> out = new ArrayList<>(requests.size());
        for (ToolExecutionRequest r : requests) {
            out.add(new ToolCall(r.id() == null || r.id().isBlank() ? ToolCall.newId() : r.id(), r.name(),
                    r.arguments() == null || r.arguments().isBlank() ? "{}" : r.arguments()));
        }
        return out;
    }


    /**
     * A reader's listener that passes the text on and each call's argument fragments as LangChain4j partial tool calls;
     * either may be null.
     */
    static ReplyReader.Listener partials(java.util.function.Consumer<String> onText,
                                         java.util.function.Consumer<PartialToolCall> onToolCall) {
        return new ReplyReader.Listener() {
            private final java.util.Map<Integer, String[]> calls = new java.util.HashMap<>();

            @Override
            public void content(String text) {
                if (onText != null) {
                    onText.accept(text);
                }
            }

            @Override
            public void callStarted(int index, String id, String name) {
                calls.put(index, new String[] {id, name});
            }

            @Override
            public void arguments(int index, String fragment) {
                if (onToolCall == null) {
                    return;
                }
                String[] call = calls.get(index);
                onToolCall.accept(PartialToolCall.builder().index(index).id(call[0]).name(call[1]).partialArguments(fragment).build());
            }
        };
    }
}
