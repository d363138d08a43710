package io.llamaffm.chat;


import java.util.List;

/**
 * Renders the conversation with the model's own chat template (Jinja), ending with the generation prompt.
 *
 * @param template the chat template
 */
public record TemplateChatFormat(ChatTemplate template) implements ChatFormat {
    @Override
    public String render(List<ChatMessage> messages) {
        return template.render(messages, true);
    }

    @Override
    public List<String> stopStrings() {
        return List.of(); // the template's end-of-turn token is an end-of-generation token
    }

    @Override
    public boolean parseSpecial() {
        return true; // the template writes special tokens as text
    }

    /** {@return the template's own call syntax when it is a known family ({@link NativeToolFormat}), else the JSON format} */
    @Override
    public ToolFormat toolFormat() {
        return NativeToolFormat.detect(template).<ToolFormat>map(f -> f).orElseGet(() -> new JsonToolFormat(this));
    }

    @Override
    public String name() {
        return "chat template";
    }
}
