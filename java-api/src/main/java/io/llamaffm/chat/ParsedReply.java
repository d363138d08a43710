package io.llamaffm.chat;

import java.util.List;
import java.util.Objects;

/**
 * What a model's reply says, read by its {@link ToolFormat}: the answer's text, the reasoning the model wrote before
 * it (a {@code <think>} block or the family's equivalent), and the tool calls.
 *
 * @param content   the answer's text, without reasoning or call syntax (empty when the reply only calls tools)
 * @param reasoning the reasoning text, empty when there is none or it is kept inline in the content
 * @param calls     the tool calls, in order
 * @param complete  whether the reply was complete: false when it was cut (budget, context) inside reasoning or a call,
 *                  or when call syntax was malformed (then the calls complete before the fault are kept and the rest
 *                  of the text is in the content)
 */
public record ParsedReply(String content, String reasoning, List<ToolCall> calls, boolean complete) {
    /** Copies the calls. */
    public ParsedReply {
        Objects.requireNonNull(content, "content");
        Objects.requireNonNull(reasoning, "reasoning");
        calls = List.copyOf(calls);
    }
}
