package io.llamaffm.server;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The /metrics page and its tokens-per-second window, on a clock the test moves. */
class MetricsTest {
    static final long SECOND = 1_000_000_000L;

    record Gauges(int queued, int busySlots, int slots, long kvCellsUsed, long kvCells, long kvCellsCached, long decodes)
            implements GenerationGauges {}

    @Test
    void thePageIsPrometheusTextWithEveryFamilyAndSortedRequestSeries() {
        AtomicLong now = new AtomicLong(1000 * SECOND);
        Metrics m = new Metrics(now::get);
        m.request("/v1/completions", 200);
        m.request("/health", 200);
        m.request("/v1/completions", 400);
        m.request("/v1/completions", 200);
        m.request("other", 0);
        m.generation(5, 16);
        m.generation(7, 4);
        m.embeddingInputs(3);
        m.rerankDocuments(4);
        assertEquals("""
                # HELP llamaffm_requests_total HTTP requests answered, by endpoint and status code.
                # TYPE llamaffm_requests_total counter
                llamaffm_requests_total{endpoint="/health",status="200"} 1
                llamaffm_requests_total{endpoint="/v1/completions",status="200"} 2
                llamaffm_requests_total{endpoint="/v1/completions",status="400"} 1
                llamaffm_requests_total{endpoint="other",status="none"} 1
                # HELP llamaffm_prompt_tokens_total Prompt tokens of the generation requests answered.
                # TYPE llamaffm_prompt_tokens_total counter
                llamaffm_prompt_tokens_total 12
                # HELP llamaffm_completion_tokens_total Tokens generated for the requests answered.
                # TYPE llamaffm_completion_tokens_total counter
                llamaffm_completion_tokens_total 20
                # HELP llamaffm_embedding_inputs_total Texts embedded.
                # TYPE llamaffm_embedding_inputs_total counter
                llamaffm_embedding_inputs_total 3
                # HELP llamaffm_rerank_documents_total Documents ranked.
                # TYPE llamaffm_rerank_documents_total counter
                llamaffm_rerank_documents_total 4
                # HELP llamaffm_generated_tokens_per_second Tokens generated per second over the last 10 s (counted as each response completes).
                # TYPE llamaffm_generated_tokens_per_second gauge
                llamaffm_generated_tokens_per_second 2.0
                # HELP llamaffm_requests_waiting Generation requests waiting for a slot.
                # TYPE llamaffm_requests_waiting gauge
                llamaffm_requests_waiting 3
                # HELP llamaffm_slots_busy Slots generating now.
                # TYPE llamaffm_slots_busy gauge
                llamaffm_slots_busy 2
                # HELP llamaffm_slots Slots in all.
                # TYPE llamaffm_slots gauge
                llamaffm_slots 4
                # HELP llamaffm_kv_cells_used KV cache cells held for the running requests.
                # TYPE llamaffm_kv_cells_used gauge
                llamaffm_kv_cells_used 100
                # HELP llamaffm_kv_cells_cached KV cache cells kept by free slots for prefix reuse.
                # TYPE llamaffm_kv_cells_cached gauge
                llamaffm_kv_cells_cached 50
                # HELP llamaffm_kv_cells KV cache cells in all.
                # TYPE llamaffm_kv_cells gauge
                llamaffm_kv_cells 16384
                # HELP llamaffm_decodes_total Decodes run (each carries every busy slot's next token).
                # TYPE llamaffm_decodes_total counter
                llamaffm_decodes_total 7
                """, m.render(new Gauges(3, 2, 4, 100, 16384, 50, 7)));
    }

    @Test
    void tokensPerSecondCountsTheLastTenSecondsOnly() {
        AtomicLong now = new AtomicLong(5 * SECOND + 1);
        Metrics m = new Metrics(now::get);
        assertEquals(0.0, m.tokensPerSecond());
        m.generation(1, 30); // second 5
        now.set(9 * SECOND);
        m.generation(1, 20); // second 9
        assertEquals(5.0, m.tokensPerSecond());
        now.set(14 * SECOND + SECOND / 2); // seconds 5..14: both still in
        assertEquals(5.0, m.tokensPerSecond());
        now.set(15 * SECOND); // seconds 6..15: the first has gone
        assertEquals(2.0, m.tokensPerSecond());
        m.generation(1, 7); // second 15 reuses second 5's bucket
        assertEquals(2.7, m.tokensPerSecond(), 1e-12);
        now.set(100 * SECOND);
        assertEquals(0.0, m.tokensPerSecond(), "nothing in the last 10 s");
    }

    @Test
    void labelValuesAreEscaped() {
        assertEquals("a\\\\b\\\"c\\nd", Metrics.label("a\\b\"c\nd"));
    }
}
