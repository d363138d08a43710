package io.llamaffm.internal;

import java.util.List;

/**
 * Generated token pieces to text: whole UTF-8 characters only ({@link Utf8Stream}) and nothing of a stop string
 * ({@link StopMatcher}). One per generated sequence; not thread-safe.
 */
public final class TextStream {
    private final Utf8Stream utf8 = new Utf8Stream();
    private final StopMatcher stops;
    private final StringBuilder raw = new StringBuilder();
    private boolean stopped;

    public TextStream(List<String> stopStrings) {
        this.stops = stopStrings.isEmpty() ? null : new StopMatcher(stopStrings);
    }

    /** Adds a piece's bytes, appending the text they complete to {@code out}; returns true once a stop string appeared. */
    public boolean push(byte[] piece, int length, StringBuilder out) {
        if (stops == null) {
            utf8.push(piece, length, out);
            return false;
        }
        raw.setLength(0);
        utf8.push(piece, length, raw);
        stopped = stops.push(raw, out);
        return stopped;
    }

    /** Ends the stream, appending whatever was held back (unless a stop string cut it). */
    public void finish(StringBuilder out) {
        if (stops == null) {
            utf8.finish(out);
            return;
        }
        raw.setLength(0);
        utf8.finish(raw);
        if (!stopped && !stops.push(raw, out)) {
            stops.flush(out);
        }
    }
}
