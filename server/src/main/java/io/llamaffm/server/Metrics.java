package io.llamaffm.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The server's counters and the {@code /metrics} page in Prometheus' text format (version 0.0.4), every name
 * prefixed {@code llamaffm_}: requests by endpoint and status, prompt and completion tokens, embedded inputs, ranked
 * documents (counters), generated tokens per second over the last {@value #WINDOW_SECONDS} s and the generation side's
 * {@link GenerationGauges} (gauges). Thread-safe.
 */
final class Metrics {
    /** The content type of the page. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** The span of the tokens-per-second gauge. */
    static final int WINDOW_SECONDS = 10;

    private record Series(String endpoint, String status) {}

    private final Map<Series, LongAdder> requests = new ConcurrentHashMap<>();
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder completionTokens = new LongAdder();
    private final LongAdder embeddingInputs = new LongAdder();
    private final LongAdder rerankDocuments = new LongAdder();
    private final LongSupplier nanoClock;
    // tokens generated in each of the last WINDOW_SECONDS seconds (of nanoClock), guarded by this
    private final long[] bucketSecond = new long[WINDOW_SECONDS];
    private final long[] bucketTokens = new long[WINDOW_SECONDS];

    Metrics() {
        this(System::nanoTime);
    }

    /** Metrics on {@code nanoClock} (tests pass their own). */
    Metrics(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        java.util.Arrays.fill(bucketSecond, Long.MIN_VALUE);
    }

    /** Counts a request answered with {@code status} (0: none could be sent) on {@code endpoint} (a route). */
    void request(String endpoint, int status) {
        requests.computeIfAbsent(new Series(endpoint, status <= 0 ? "none" : Integer.toString(status)), k -> new LongAdder())
                .increment();
    }

    /** Counts a generation answered: its prompt tokens and the tokens generated. */
    void generation(int prompt, int completion) {
        promptTokens.add(prompt);
        completionTokens.add(completion);
        generated(completion);
    }

    /** Counts texts embedded. */
    void embeddingInputs(int n) {
        embeddingInputs.add(n);
    }

    /** Counts documents ranked. */
    void rerankDocuments(int n) {
        rerankDocuments.add(n);
    }

    private synchronized void generated(long tokens) {
        long second = Math.floorDiv(nanoClock.getAsLong(), 1_000_000_000L);
        int i = (int) Math.floorMod(second, WINDOW_SECONDS);
        if (bucketSecond[i] != second) {
            bucketSecond[i] = second;
            bucketTokens[i] = 0;
        }
        bucketTokens[i] += tokens;
    }

    /** Tokens generated per second over the last {@value #WINDOW_SECONDS} seconds (this one included). */
    synchronized double tokensPerSecond() {
        long second = Math.floorDiv(nanoClock.getAsLong(), 1_000_000_000L);
        long sum = 0;
        for (int i = 0; i < WINDOW_SECONDS; i++) {
            if (bucketSecond[i] > second - WINDOW_SECONDS && bucketSecond[i] <= second) {
                sum += bucketTokens[i];
            }
        }
        return (double) sum / WINDOW_SECONDS;
    }

    /** The page: every family with its HELP and TYPE lines, request series sorted by endpoint then status. */
    String render(GenerationGauges g) {
        StringBuilder out = new StringBuilder(2048);
        family(out, "requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
        List<Map.Entry<Series, LongAdder>> series = new ArrayList<>(requests.entrySet());
        series.sort(Map.Entry.comparingByKey(java.util.Comparator.comparing(Series::endpoint).thenComparing(Series::status)));
        for (Map.Entry<Series, LongAdder> e : series) {
            out.append("llamaffm_requests_total{endpoint=\"").append(label(e.getKey().endpoint())).append("\",status=\"")
                    .append(label(e.getKey().status())).append("\"} ").append(e.getValue().sum()).append('\n');
        }
        sample(out, "prompt_tokens_total", "counter", "Prompt tokens of the generation requests answered.", promptTokens.sum());
        sample(out, "completion_tokens_total", "counter", "Tokens generated for the requests answered.", completionTokens.sum());
        sample(out, "embedding_inputs_total", "counter", "Texts embedded.", embeddingInputs.sum());
        sample(out, "rerank_documents_total", "counter", "Documents ranked.", rerankDocuments.sum());
        family(out, "generated_tokens_per_second", "gauge", "Tokens generated per second over the last " + WINDOW_SECONDS
                + " s (counted as each response completes).");
        out.append("llamaffm_generated_tokens_per_second ").append(tokensPerSecond()).append('\n');
        sample(out, "requests_waiting", "gauge", "Generation requests waiting for a slot.", g.queued());
        sample(out, "slots_busy", "gauge", "Slots generating now.", g.busySlots());
        sample(out, "slots", "gauge", "Slots in all.", g.slots());
        sample(out, "kv_cells_used", "gauge", "KV cache cells held for the running requests.", g.kvCellsUsed());
        sample(out, "kv_cells_cached", "gauge", "KV cache cells kept by free slots for prefix reuse.", g.kvCellsCached());
        sample(out, "kv_cells", "gauge", "KV cache cells in all.", g.kvCells());
        sample(out, "decodes_total", "counter", "Decodes run (each carries every busy slot's next token).", g.decodes());
        return out.toString();
    }

    private static void family(StringBuilder out, String name, String type, String help) {
        out.append("# HELP llamaffm_").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE llamaffm_").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String type, String help, long value) {
        family(out, name, type, help);
        out.append("llamaffm_").append(name).append(' ').append(value).append('\n');
    }

    /** A label value escaped as the text format asks (backslash, double quote, line feed). */
    static String label(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
