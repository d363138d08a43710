package io.llamaffm.examples.cli;

import java.util.Objects;

/** One turn of a conversation. */
record ChatMessage(Role role, String content) {
    enum Role { SYSTEM, USER, ASSISTANT }

    ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    static ChatMessage system(String content) {
        return new ChatMessage(Role.SYSTEM, content);
    }

    static ChatMessage user(String content) {
        return new ChatMessage(Role.USER, content);
    }

    static ChatMessage assistant(String content) {
        return new ChatMessage(Role.ASSISTANT, content);
    }
}
