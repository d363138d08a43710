package io.llamaffm.server;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A response of server-sent events: {@code data: {json}\n\n} per event, then {@code data: [DONE]\n\n}. The status
 * line and headers go out with the first event, so a request that fails before it still gets a plain JSON error.
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

    /** Sends one event with {@code value} as its JSON data. */
    void send(Object value) {
        write("data: " + ApiJson.write(value) + "\n\n");
    }

    /** Ends the stream the way OpenAI's does. */
    void done() {
        write("data: [DONE]\n\n");
    }

    private void write(String text) {
        try {
            RunningRequest.writeToClient(() -> { // never interrupted halfway: see RunningRequest
                if (out == null) {
                    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
                    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
                    RunningRequest.answered(200);
                    exchange.sendResponseHeaders(200, 0); // chunked
                    out = exchange.getResponseBody();
                }
                out.write(text.getBytes(StandardCharsets.UTF_8));
                out.flush();
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
