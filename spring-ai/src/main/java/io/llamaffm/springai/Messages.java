package io.llamaffm.springai;

import io.llamaffm.chat.ChatMessage;
import io.llamaffm.chat.ToolCall;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;

import java.util.ArrayList;
import java.util.List;

/** Spring AI messages as llama-ffm chat messages, which the model's chat format renders into the prompt. */
final class Messages {
    private Messages() {}

    /**
     * System, user, assistant (with its tool calls) and tool response messages; a tool response message with several
     * responses becomes one tool result per response.
     *
     * @throws IllegalArgumentException for an empty conversation, or a message with images or other media
     */
    static List<ChatMessage> toLlamaFfm(List<Message> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new IllegalArgumentException("a prompt needs at least one message");
        }
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (Message m : messages) {
            switch (m) {
                case SystemMessage s -> out.add(ChatMessage.system(text(s)));
                case UserMessage u -> {
                    if (!u.getMedia().isEmpty()) {
                        throw new IllegalArgumentException("llama-ffm chat models take text only: a user message carries "
                                + u.getMedia().size() + " media part(s)");
                    }
                    out.add(ChatMessage.user(text(u)));
                }
                case AssistantMessage a -> out.add(a.hasToolCalls()
                        ? ChatMessage.assistant(text(a), calls(a.getToolCalls()))
                        : ChatMessage.assistant(text(a)));
                case ToolResponseMessage t -> {
                    for (ToolResponseMessage.ToolResponse r : t.getResponses()) {
                        out.add(ChatMessage.toolResult(r.id(), r.responseData() == null ? "" : r.responseData()));
                    }
                }
                default -> throw new IllegalArgumentException("llama-ffm chat models take system, user, assistant and tool "
                        + "response messages, not " + m.getMessageType());
            }
        }
        return out;
    }

    private static String text(Message m) {
        return m.getText() == null ? "" : m.getText();
    }

    /** The calls of an earlier assistant message (one without an id or arguments gets a fresh id and {}). */
    private static List<ToolCall> calls(List<AssistantMessage.ToolCall> calls) {
        List<ToolCall> out = new ArrayList<>(calls.size());
        for (AssistantMessage.ToolCall c : calls) {
            out.add(new ToolCall(c.id() == null || c.id().isBlank() ? ToolCall.newId() : c.id(), c.name(),
                    c.arguments() == null || c.arguments().isBlank() ? "{}" : c.arguments()));
        }
        return out;
    }

    /** llama-ffm's calls as Spring AI's (type "function"). */
    static List<AssistantMessage.ToolCall> toSpring(List<ToolCall> calls) {
        List<AssistantMessage.ToolCall> out = new ArrayList<>(calls.size());
        for (ToolCall c : calls) {
            out.add(new AssistantMessage.ToolCall(c.id(), "function", c.name(), c.arguments()));
        }
        return out;
    }
}
