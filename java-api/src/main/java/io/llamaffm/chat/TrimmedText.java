package io.llamaffm.chat;

import java.util.function.Consumer;

/**
 * Streams a reply without its leading and trailing whitespace, so the pieces add up to {@code text.strip()}:
 * whitespace before the first visible character is dropped, and whitespace after the last one seen so far is held
 * back until more visible text follows (or dropped at the end). Chat formats put the reply after a separator
 * ({@code "Assistant:"}), so replies usually start with a space that is not part of the answer.
 */
public final class TrimmedText implements Consumer<String> {
    private final Consumer<String> downstream;
    private final StringBuilder pending = new StringBuilder();
    private boolean started;

    /**
     * Trims what goes to {@code downstream}.
     *
     * @param downstream receives the pieces, trimmed
     */
    public TrimmedText(Consumer<String> downstream) {
        this.downstream = downstream;
    }

    /**
     * Takes the next piece of the reply.
     *
     * @param piece the text as generated
     */
    @Override
    public void accept(String piece) {
        String text = started ? piece : piece.stripLeading();
        if (text.isEmpty()) {
            return;
        }
        started = true;
        pending.append(text);
        String visible = pending.toString().stripTrailing();
        if (!visible.isEmpty()) {
            pending.delete(0, visible.length());
            downstream.accept(visible);
        }
    }
}
