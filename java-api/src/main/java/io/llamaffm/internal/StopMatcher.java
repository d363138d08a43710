package io.llamaffm.internal;

import java.util.List;

/**
 * Holds back generated text that might be the start of a stop string, so that a stop string split over
 * several tokens is never emitted. One per generation; not thread-safe.
 */
public final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    /** Adds text; appends to {@code out} what can be emitted now. Returns true when a stop string was found. */
    public boolean push(CharSequence text, StringBuilder out) {
        if (stopped) {
            return true;
        }
        pending.append(text);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            out.append(pending, 0, first);
            pending.setLength(0);
            stopped = true;
            return true;
        }
        int keep = 0; // longest suffix of pending that is a prefix of some stop string
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, pending.length()); k > keep; k--) {
                if (endsWith(pending, s, k)) {
                    keep = k;
                    break;
                }
            }
        }
        out.append(pending, 0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return false;
    }

    /** Whether {@code sb} ends with the first {@code k} characters of {@code s}. */
    private static boolean endsWith(StringBuilder sb, String s, int k) {
        int base = sb.length() - k;
        for (int i = 0; i < k; i++) {
            if (sb.charAt(base + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Emits what was held back (generation ended without a stop string). */
    public void flush(StringBuilder out) {
        if (!stopped) {
            out.append(pending);
        }
        pending.setLength(0);
    }
}
