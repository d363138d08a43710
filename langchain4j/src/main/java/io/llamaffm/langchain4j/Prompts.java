package io.llamaffm.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import io.llamaffm.Model;
import io.llamaffm.chat.ChatFormat;

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
        String rendered = format.render(toLlamaFfm(messages));
        return model.tokenizer().encode(rendered, format.addSpecial(model, rendered), format.parseSpecial());
    }

    /**
     * System, user and AI messages as llama-ffm chat messages.
     *
     * @throws UnsupportedFeatureException for images or other non-text content, tool calls and tool results
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
                    throw new UnsupportedFeatureException("llama-ffm chat models take text only: a user message with "
                            + u.contents().size() + " content part(s) of types " + u.contents().stream().map(c -> c.type().name()).toList());
                }
                yield io.llamaffm.chat.ChatMessage.user(u.singleText());
            }
            case AiMessage a -> {
                if (a.hasToolExecutionRequests()) {
                    throw new UnsupportedFeatureException("llama-ffm chat models do not call tools: an AI message holds tool requests");
                }
                yield io.llamaffm.chat.ChatMessage.assistant(a.text() == null ? "" : a.text());
            }
            default -> throw new UnsupportedFeatureException("llama-ffm chat models take system, user and AI messages, not "
                    + m.type() + " (tools are not supported)");
        };
    }
}
