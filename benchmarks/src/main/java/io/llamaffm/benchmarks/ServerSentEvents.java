package io.llamaffm.benchmarks;

/**
 * Decodes a {@code text/event-stream} line by line, by the rules of the HTML standard that OpenAI-style streams need:
 * the {@code data:} lines of an event (one optional space after the colon dropped) are joined by {@code "\n"} and
 * make the event at the next blank line; comment lines (starting with {@code ':'}) and other fields ({@code event:},
 * {@code id:}, {@code retry:}) are skipped, and a blank line with no data before it makes no event. Line endings are
 * the line reader's business ({@code \n}, {@code \r\n} and {@code \r} alike). One decoder per stream; not thread-safe.
 */
final class ServerSentEvents {
    private final StringBuilder data = new StringBuilder();
    private boolean pending;

    /** Feeds one line, without its line ending; returns the data of the event it completes, or null. */
    String line(String line) {
        if (line.isEmpty()) {
            return dispatch();
        }
        if (line.charAt(0) == ':') {
            return null;
        }
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        if (!field.equals("data")) {
            return null;
        }
        String value = colon < 0 ? "" : line.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        if (pending) {
            data.append('\n');
        }
        data.append(value);
        pending = true;
        return null;
    }

    /**
     * At the end of the stream: the data of an event whose blank line never came, or null. (The standard drops such an
     * event; a benchmark would rather count a last chunk a server sent without its blank line.)
     */
    String end() {
        return dispatch();
    }

    private String dispatch() {
        if (!pending) {
            return null;
        }
        String event = data.toString();
        data.setLength(0);
        pending = false;
        return event;
    }
}
