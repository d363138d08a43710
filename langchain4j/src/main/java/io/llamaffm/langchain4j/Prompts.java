package io.llamaffm.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import io.llamaffm.Model;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.Tools;

import java.util.ArrayList;
import java.util.List;

/**
 * LangChain4j messages to the prompt tokens llama-ffm generates from: each message becomes an
 * {@link io.llamaffm.chat.ChatMessage}, the conversation is rendered by the {@link ChatFormat} (the model's chat
 * template, or the plain format for models without one) and encoded as {@link io.llamaffm.chat.ChatSession} does.
 */
final class Prompts {
    private Prompts() {}

    /** The prompt tokens of {@code messages}, ending where the assistant's reply begins. */
    static int[] encode(Model model, ChatFormat format, List<ChatMessage> messages) {
        return encode(model, format, format.toolFormat().render(toLlamaFfm(messages), null));
    }

    /** The prompt tokens of a rendered prompt, as the chat format encodes it. */
    static int[] encode(Model model, ChatFormat format, String rendered) {
        return model.tokenizer().encode(rendered, format.addSpecial(model, rendered), format.parseSpecial());
    }

    /**
     * System, user and AI messages as llama-ffm chat messages.
     *
     * @throws UnsupportedFeatureException for images or other non-text content
     */
    static List<io.llamaffm.chat.ChatMessage> toLlamaFfm(List<ChatMessage> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new IllegalArgumentException("a chat request needs at least one message");
        }
        List<io.llamaffm.chat.ChatMessage> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            out.add(toLlamaFfm(m));
        }
        return out;
    }

    /** One message; see {@link #toLlamaFfm(List)}. */
    static io.llamaffm.chat.ChatMessage toLlamaFfm(ChatMessage m) {
        return switch (m) {
            case SystemMessage s -> io.llamaffm.chat.ChatMessage.system(s.text());
            case UserMessage u -> {
                if (!u.hasSingleText()) {
                    throw new UnsupportedFeatureException("llama-ffm chat models do not support image or other non-text "
                            + "content: a user message with " + u.contents().size() + " content part(s) of types "
                            + u.contents().stream().map(c -> c.type().name().toLowerCase(java.util.Locale.ROOT)).toList());
                }
                yield io.llamaffm.chat.ChatMessage.user(u.singleText());
            }
            case AiMessage a -> (a.hasToolExecutionRequests()
                    ? io.llamaffm.chat.ChatMessage.assistant(a.text() == null ? "" : a.text(), LangChainTools.calls(a.toolExecutionRequests()))
                    : io.llamaffm.chat.ChatMessage.assistant(a.text() == null ? "" : a.text()))
                    .withReasoning(a.thinking() == null ? "" : a.thinking());
            case ToolExecutionResultMessage t -> io.llamaffm.chat.ChatMessage.toolResult(t.id(), t.text() == null ? "" : t.text());
            default -> throw new UnsupportedFeatureException("llama-ffm chat models take system, user, AI and tool result "
                    + "messages, not " + m.type());
        };
    }
}
