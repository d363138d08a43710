package io.llamaffm.examples;

import java.util.function.Consumer;

/**
 * Passes streamed text on without the whitespace that opens it, such as the space a model writes after
 * {@code "Assistant:"} in the plain chat format. Pieces that are only whitespace before the first other character
 * are dropped; everything after it passes unchanged.
 */
public final class LeadingSpaceTrimmer implements Consumer<String> {
    private final Consumer<String> next;
    private boolean started;

    /** Trims the start of what goes to {@code next}. */
    public LeadingSpaceTrimmer(Consumer<String> next) {
        this.next = next;
    }

    @Override
    public void accept(String piece) {
        if (!started) {
            piece = piece.stripLeading();
            if (piece.isEmpty()) {
                return;
            }
            started = true;
        }
        next.accept(piece);
    }
}
