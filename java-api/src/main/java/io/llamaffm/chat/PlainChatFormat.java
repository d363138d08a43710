package io.llamaffm.chat;

import java.util.List;

/**
 * The fallback conversation format, for models without a chat template (or before templates are rendered):
 *
 * <pre>
 * SYSTEM TEXT            (when there is a system message)
 *
 * User: first question
 * Assistant: first answer
 * User: second question
 * Assistant:
 * </pre>
 *
 * A reply ends at an end-of-generation token or when the model starts the next user line ({@code "\nUser:"}).
 */
public final class PlainChatFormat implements ChatFormat {
    /** The stop string that ends a reply. */
    public static final String STOP = "\nUser:";

    /** The format; it holds no state. */
    public PlainChatFormat() {}

    @Override
    public String render(List<ChatMessage> messages) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages) {
            switch (m.role()) {
                case "system" -> sb.append(m.content()).append("\n\n");
                case "assistant" -> sb.append("Assistant: ").append(m.content()).append('\n');
                default -> sb.append("User: ").append(m.content()).append('\n');
            }
        }
        return sb.append("Assistant:").toString();
    }

    @Override
    public List<String> stopStrings() {
        return List.of(STOP);
    }

    @Override
    public boolean parseSpecial() {
        return false; // a user typing "<s>" means the text, not the token
    }

    @Override
    public String name() {
        return "plain";
    }
}
