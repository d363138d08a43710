package io.llamaffm.chat;

import io.llamaffm.Model;

import java.util.List;

/**
 * Turns a conversation into prompt text for the model: {@link TemplateChatFormat} renders the model's own chat
 * template (its GGUF {@code tokenizer.chat_template}); {@link PlainChatFormat} is the fallback for models without
 * one. {@link #forModel} picks.
 */
public interface ChatFormat {
    /**
     * The prompt for the conversation so far, ending where the assistant's next reply begins (the "generation
     * prompt"). Rendering a longer conversation must start with the text of a shorter one, so the context can reuse
     * the tokens already in its KV cache.
     */
    String render(List<ChatMessage> messages);

    /** Texts that end an assistant reply (they are not shown); empty when end-of-turn tokens do it. */
    List<String> stopStrings();

    /** Whether special-token text in the rendered prompt is parsed as special tokens (true for chat templates). */
    boolean parseSpecial();

    /** A short name for messages: {@code plain}, or the template's name. */
    String name();

    /** The format for {@code model}. */
    /**
     * Whether the tokenizer should add the model's special tokens (BOS) itself: not when the rendered text already
     * starts with them, as chat templates that write {@code bos_token} do.
     */
    default boolean addSpecial(Model model, String rendered) {
        int bos = model.tokenizer().bos();
        return bos < 0 || !rendered.startsWith(new String(model.tokenizer().pieceBytes(bos, true),
                java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The model's own chat template when it has one, else {@link PlainChatFormat}. */
    static ChatFormat forModel(Model model) {
        return model.chatTemplate().<ChatFormat>map(t -> new TemplateChatFormat(ChatTemplate.of(model).withSystemRoleFallback(true)))
                .orElseGet(PlainChatFormat::new);
    }
}
