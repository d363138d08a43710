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
     *
     * @param messages the conversation so far, in order
     * @return the prompt text
     */
    String render(List<ChatMessage> messages);

    /** {@return the texts that end an assistant reply (they are not shown); empty when end-of-turn tokens do it} */
    List<String> stopStrings();

    /** {@return whether special-token text in the rendered prompt is parsed as special tokens (true for chat templates)} */
    boolean parseSpecial();

    /** {@return a short name for messages: {@code plain}, or the template's name} */
    String name();

    /**
     * How this format's models are told about tools and how their replies are read: by default the
     * {@link JsonToolFormat}, which any model can follow.
     *
     * @return the tool format
     */
    default ToolFormat toolFormat() {
        return new JsonToolFormat(this);
    }

    /**
     * Whether the tokenizer should add the model's special tokens (BOS) itself: not when the rendered text already
     * starts with them, as chat templates that write {@code bos_token} do.
     *
     * @param model    the model whose tokenizer encodes the prompt
     * @param rendered the rendered prompt
     * @return whether to add the special tokens
     */
    default boolean addSpecial(Model model, String rendered) {
        int bos = model.tokenizer().bos();
        return bos < 0 || !rendered.startsWith(new String(model.tokenizer().pieceBytes(bos, true),
                java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * The format to use with a model.
     *
     * @param model the model
     * @return the model's own chat template when it has one, else {@link PlainChatFormat}
     */
    static ChatFormat forModel(Model model) {
        return model.chatTemplate().<ChatFormat>map(t -> new TemplateChatFormat(ChatTemplate.of(model).withSystemRoleFallback(true)))
                .orElseGet(PlainChatFormat::new);
    }
}
