package io.llamaffm.chat;

import java.util.Objects;

/**
 * One message of a conversation: who speaks ({@code system}, {@code user}, {@code assistant}, or any role the
 * model's template knows, such as {@code tool}) and what they say.
 *
 * @param role    the speaker; not blank
 * @param content the text of the message; may be empty
 */
public record ChatMessage(String role, String content) {
    /** Validates the fields. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.isBlank()) {
            throw new IllegalArgumentException("a chat message needs a role (system, user, assistant, ...)");
        }
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
