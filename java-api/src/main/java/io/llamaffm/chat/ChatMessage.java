package io.llamaffm.chat;

import java.util.List;
import java.util.Objects;

/**
 * One message of a conversation: who speaks ({@code system}, {@code user}, {@code assistant}, or any role the
 * model's template knows, such as {@code tool}) and what they say; an assistant message may carry the tools it
 * called, a {@code tool} message the id of the call it answers.
 *
 * @param role       the speaker; not blank
 * @param content    the text of the message; may be empty
 * @param toolCalls  the tools an assistant message called, in order; empty otherwise
 * @param toolCallId the call a {@code tool} message answers; null otherwise
 * @param reasoning  the reasoning an assistant message wrote before its content (rendered as the message's
 *                   {@code reasoning_content}, and {@code thinking}, for templates that show it); empty otherwise
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId, String reasoning) {
    /** Validates the fields and copies the calls. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        Objects.requireNonNull(reasoning, "reasoning");
        if (!reasoning.isEmpty() && !role.equals("assistant")) {
            throw new IllegalArgumentException("only an assistant message has reasoning, not a " + role + " message");
        }
        toolCalls = List.copyOf(toolCalls);
        if (role.isBlank()) {
            throw new IllegalArgumentException("a chat message needs a role (system, user, assistant, ...)");
        }
        if (!toolCalls.isEmpty() && !role.equals("assistant")) {
            throw new IllegalArgumentException("only an assistant message calls tools, not a " + role + " message");
        }
        if (toolCallId != null && (!role.equals("tool") || toolCallId.isBlank())) {
            throw new IllegalArgumentException("a tool call id belongs to a tool message and must not be blank");
        }
    }

    /**
     * A message without reasoning.
     *
     * @param role       the speaker
     * @param content    the text
     * @param toolCalls  the tools an assistant message called
     * @param toolCallId the call a {@code tool} message answers, or null
     */
    public ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId) {
        this(role, content, toolCalls, toolCallId, "");
    }

    /**
     * This assistant message with its reasoning.
     *
     * @param text the reasoning text
     * @return the copy
     */
    public ChatMessage withReasoning(String text) {
        return new ChatMessage(role, content, toolCalls, toolCallId, text);
    }

    /**
     * A message without tool calls.
     *
     * @param role    the speaker
     * @param content the text
     */
    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null);
    }

    /**
     * An {@code assistant} message that called tools.
     *
     * @param content   the text that came with the calls; may be empty
     * @param toolCalls the calls
     * @return the assistant message
     */
    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        return new ChatMessage("assistant", content, toolCalls, null);
    }

    /**
     * A {@code tool} message: the result of a tool call.
     *
     * @param toolCallId the id of the call it answers
     * @param content    the tool's output
     * @return the tool message
     */
    public static ChatMessage toolResult(String toolCallId, String content) {
        return new ChatMessage("tool", content, List.of(), Objects.requireNonNull(toolCallId, "toolCallId"));
    }

    /**
     * A {@code system} message: instructions for the assistant.
     *
     * @param content the message's text
     * @return the system message
     */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /**
     * A {@code user} message.
     *
     * @param content the message's text
     * @return the user message
     */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /**
     * An {@code assistant} message: an earlier reply of the model.
     *
     * @param content the message's text
     * @return the assistant message
     */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
