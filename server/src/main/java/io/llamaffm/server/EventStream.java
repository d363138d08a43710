package io.llamaffm.server;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A response of server-sent events: {@code data: {json}\n\n} per event, then {@code data: [DONE]\n\n}. The status
 * line and headers go out with the first event, so a request that fails before it still gets a plain JSON error.
 * Events are buffered until {@link #flush()} (or the end): the request's thread sends what the scheduler queued for it
 * since it last woke in one write, instead of one system call per token.
 * A write that fails (the client went away) throws {@link UncheckedIOException}, which ends the generation.
 */
final class EventStream {
    private final HttpExchange exchange;
    private OutputStream out;

    EventStream(HttpExchange exchange) {
        this.exchange = exchange;
    }

    /** Whether the response has begun (an error can now only be sent as an event). */
    boolean started() {
        return out != null;
    }

    /** Buffers one event with {@code value} as its JSON data. */
    void send(Object value) {
        write("data: " + ApiJson.write(value) + "\n\n", false);
    }

    /** Sends the events buffered so far, if the response has begun. */
    void flush() {
        if (out != null) {
            write("", true);
        }
    }

    /** Ends the stream the way OpenAI's does, and sends it. */
    void done() {
        write("data: [DONE]\n\n", true);
    }

    private void write(String text, boolean flush) {
        try {
            RunningRequest.writeToClient(() -> { // never interrupted halfway: see RunningRequest
                if (out == null) {
                    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
                    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
                    RunningRequest.answered(200);
                    exchange.sendResponseHeaders(200, 0); // chunked
                    out = exchange.getResponseBody();
                }
                if (!text.isEmpty()) {
                    out.write(text.getBytes(StandardCharsets.UTF_8));
                }
                if (flush) {
                    out.flush();
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
