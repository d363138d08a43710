package io.llamaffm.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.List;

/**
 * What one streamed {@code /v1/chat/completions} request measured, read from its server-sent events and the times they
 * arrived: the time to the first chunk that carries content (TTFT), the gaps between successive chunks that carry
 * content (inter-token latencies, ITL), and the tokens generated — {@code usage.completion_tokens} when the server
 * sent usage ({@code stream_options.include_usage}), else the number of chunks with content.
 *
 * @param ttftMillis        from sending the request to the first chunk with content
 * @param itlMillis         the gaps between successive chunks with content, in order (one fewer than the chunks)
 * @param tokens            generated tokens (usage when sent, else {@link #contentChunks})
 * @param contentChunks     chunks whose {@code choices[0].delta.content} is a non-empty string
 * @param promptTokens      {@code usage.prompt_tokens}; -1 without usage
 * @param cachedTokens      {@code usage.prompt_tokens_details.cached_tokens}: prompt tokens the server took from its
 *                          cache instead of decoding them; -1 when it does not say
 * @param tokensFromUsage   whether {@link #tokens} comes from usage
 */
record StreamedCompletion(double ttftMillis, double[] itlMillis, int tokens, int contentChunks, int promptTokens,
                          int cachedTokens, boolean tokensFromUsage) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One event's data and when its last line arrived ({@link System#nanoTime()}). */
    record Event(long nanos, String data) {}

    StreamedCompletion {
        itlMillis = itlMillis.clone();
    }

    @Override
    public double[] itlMillis() {
        return itlMillis.clone();
    }

    /**
     * Reads the events of one response, sent at {@code startNanos}; the stream ends at {@code [DONE]} (events after it
     * are ignored).
     *
     * @throws IOException when an event is not JSON, the server sent an error event, or no chunk carried content
     */
    static StreamedCompletion of(long startNanos, List<Event> events) throws IOException {
        long first = -1;
        long last = -1;
        double[] gaps = new double[events.size()];
        int chunks = 0;
        int completionTokens = -1;
        int promptTokens = -1;
        int cachedTokens = -1;
        for (Event e : events) {
            if (e.data().equals("[DONE]")) {
                break;
            }
            JsonNode chunk;
            try {
                chunk = JSON.readTree(e.data());
            } catch (IOException notJson) {
                throw new IOException("a streamed event is not JSON: " + e.data(), notJson);
            }
            if (chunk.has("error")) {
                throw new IOException("the server sent an error event: " + chunk.get("error"));
            }
            JsonNode content = chunk.path("choices").path(0).path("delta").path("content");
            if (content.isTextual() && !content.asText().isEmpty()) {
                if (first < 0) {
                    first = e.nanos();
                } else {
                    gaps[chunks - 1] = (e.nanos() - last) / 1e6;
                }
                last = e.nanos();
                chunks++;
            }
            JsonNode usage = chunk.path("usage");
            if (usage.isObject()) {
                completionTokens = usage.path("completion_tokens").asInt(-1);
                promptTokens = usage.path("prompt_tokens").asInt(-1);
                cachedTokens = usage.path("prompt_tokens_details").path("cached_tokens").asInt(-1);
            }
        }
        if (first < 0) {
            throw new IOException("no chunk carried content (" + events.size() + " events)");
        }
        boolean fromUsage = completionTokens >= 0;
        return new StreamedCompletion((first - startNanos) / 1e6, java.util.Arrays.copyOf(gaps, chunks - 1),
                fromUsage ? completionTokens : chunks, chunks, promptTokens, cachedTokens, fromUsage);
    }
}
