package io.llamaffm.benchmarks;

import java.util.List;
import java.util.Locale;

/**
 * One concurrency level of a server load run: {@code clients} clients sending their requests back to back, all
 * started at once, and the wall time from that start to the end of the last response.
 *
 * @param clients     concurrent clients
 * @param wallSeconds from the start of the level to the end of its last response
 * @param requests    every request's measurements, in no particular order
 */
record LoadLevel(int clients, double wallSeconds, List<StreamedCompletion> requests) {
    LoadLevel {
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("a level without requests");
        }
        requests = List.copyOf(requests);
    }

    /** Generated tokens of every request together. */
    long tokens() {
        return requests.stream().mapToLong(StreamedCompletion::tokens).sum();
    }

    /** Aggregate throughput: generated tokens of every request over the wall time of the level. */
    double tokensPerSecond() {
        return tokens() / wallSeconds;
    }

    /** Times to the first content chunk, one per request (ms). */
    Stats ttft() {
        return new Stats(requests.stream().mapToDouble(StreamedCompletion::ttftMillis).toArray());
    }

    /** Inter-token latencies of every request pooled (ms); null when no request streamed two content chunks. */
    Stats itl() {
        double[] all = requests.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.itlMillis())).toArray();
        return all.length == 0 ? null : new Stats(all);
    }

    /** Prompt tokens by usage, median over the requests that reported it; -1 when none did. */
    int promptTokens() {
        return median(requests.stream().mapToInt(StreamedCompletion::promptTokens));
    }

    /** Prompt tokens the server took from its cache, median over the requests that reported it; -1 when none did. */
    int cachedTokens() {
        return median(requests.stream().mapToInt(StreamedCompletion::cachedTokens));
    }

    private static int median(java.util.stream.IntStream reported) {
        double[] p = reported.filter(t -> t >= 0).asDoubleStream().toArray();
        return p.length == 0 ? -1 : (int) Math.round(new Stats(p).median());
    }

    /** "p50 / p99" in ms with one decimal; "n/a" for null. */
    static String percentiles(Stats s) {
        return s == null ? "n/a" : String.format(Locale.ROOT, "%.1f / %.1f", s.quantile(0.5), s.quantile(0.99));
    }

    /** One line for logs. */
    String summary() {
        return String.format(Locale.ROOT, "%d clients, %d requests, %d tokens in %.2f s: %.1f tokens/s, TTFT p50/p99 %s ms, ITL p50/p99 %s ms",
                clients, requests.size(), tokens(), wallSeconds, tokensPerSecond(), percentiles(ttft()), percentiles(itl()));
    }
}
