package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import io.llamaffm.ContextPool;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Tokenizer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@code POST /v1/rerank} (also {@code /rerank}, {@code /v1/reranking}, {@code /reranking}, as llama-server routes it):
 * scores each document against the query with the rank-pooling model ({@link io.llamaffm.Context#rank}) and answers in
 * Jina's shape, as llama-server does: {@code {"model","object":"list","usage","results":[{"index","relevance_score",
 * "document"?}]}}, best first (ties keep the request's order), cut to {@code top_n}. Scores are the classification
 * head's raw output. Each request leases one of the rerank contexts.
 */
final class RerankEndpoint {
    /** The most documents per request (as OpenAI's limit on embedding inputs). */
    static final int MAX_DOCUMENTS = 2048;

    private final ModelIds ids;
    private final ContextPool pool; // null when the server has no rerank model
    private final Tokenizer tokenizer;
    private final int maxPairTokens;
    private final Duration queueTimeout;
    private final Metrics metrics;

    /** {@code maxPairTokens}: the most tokens of a query-document pair (one micro-batch of a rerank context). */
    RerankEndpoint(ModelIds ids, ContextPool pool, Tokenizer tokenizer, int maxPairTokens, Duration queueTimeout, Metrics metrics) {
        this.ids = ids;
        this.pool = pool;
        this.tokenizer = tokenizer;
        this.maxPairTokens = maxPairTokens;
        this.queueTimeout = queueTimeout;
        this.metrics = metrics;
    }

    void handle(HttpExchange exchange, byte[] body) throws InterruptedException {
        if (pool == null) {
            throw new ApiException(404, "invalid_request_error", "This server has no rerank model: start it with "
                    + "--rerank-model FILE (a GGUF model with rank pooling, such as a converted bge-reranker).", null,
                    "rerank_not_enabled");
        }
        Requests.Rerank r = ApiJson.bind(ApiJson.parseTree(body), Requests.Rerank.class);
        ids.requireRerank(r.model());
        if (r.query() == null) {
            throw ApiException.invalid("Missing required parameter: 'query' (a string).", "query", "missing_required_parameter");
        }
        if (r.query().isEmpty()) {
            throw ApiException.invalidValue("query", "must not be an empty string.");
        }
        List<String> documents = documents(r.documents());
        if (r.topN() != null && r.topN() < 1) {
            throw ApiException.invalidValue("top_n", "must be at least 1, got " + r.topN() + ".");
        }
        int tokens = checkLengths(r.query(), documents, maxPairTokens);
        float[] scores;
        try (ContextPool.Lease lease = pool.acquire(queueTimeout)) {
            scores = lease.context().rank(r.query(), documents, EmbeddingParams.defaults());
        }
        respond(exchange, r, documents, scores, tokens);
    }

    private void respond(HttpExchange exchange, Requests.Rerank r, List<String> documents, float[] scores, int tokens) {
        List<Integer> order = new ArrayList<>(documents.size());
        for (int i = 0; i < documents.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble(i -> -scores[i])); // stable: ties keep the request's order
        int n = r.topN() == null ? order.size() : Math.min(r.topN(), order.size());
        boolean withText = Boolean.TRUE.equals(r.returnDocuments());
        List<Responses.RerankResult> results = new ArrayList<>(n);
        for (int i : order.subList(0, n)) {
            results.add(new Responses.RerankResult(i, scores[i], withText ? new Responses.RerankDocument(documents.get(i)) : null));
        }
        metrics.rerankDocuments(documents.size());
        OpenAiServer.sendJson(exchange, 200, new Responses.RerankList(ids.rerank(), "list",
                new Responses.EmbeddingUsage(tokens, tokens), results));
    }

    /** The documents: strings or {@code {"text": string}} objects, at least one, none empty. */
    private static List<String> documents(JsonNode docs) {
        if (docs == null || docs.isNull()) {
            throw ApiException.invalid("Missing required parameter: 'documents' (an array of strings or {\"text\": ...} "
                    + "objects).", "documents", "missing_required_parameter");
        }
        if (!docs.isArray()) {
            throw ApiException.invalid("Invalid type for 'documents': expected an array, got " + ApiJson.kind(docs) + ".",
                    "documents", "invalid_type");
        }
        if (docs.isEmpty()) {
            throw ApiException.invalid("Missing required parameter: 'documents' must hold at least one document.",
                    "documents", "missing_required_parameter");
        }
        if (docs.size() > MAX_DOCUMENTS) {
            throw ApiException.invalidValue("documents", "at most " + MAX_DOCUMENTS + " documents per request, got "
                    + docs.size() + ".");
        }
        List<String> out = new ArrayList<>(docs.size());
        for (int i = 0; i < docs.size(); i++) {
            String param = "documents[" + i + "]";
            JsonNode d = docs.get(i);
            String text;
            if (d.isTextual()) {
                text = d.textValue();
            } else if (d.isObject()) {
                JsonNode t = d.get("text");
                if (t == null || t.isNull()) {
                    throw ApiException.invalid("Missing required parameter: '" + param + ".text'.", param + ".text",
                            "missing_required_parameter");
                }
                if (!t.isTextual()) {
                    throw ApiException.invalid("Invalid type for '" + param + ".text': expected a string, got "
                            + ApiJson.kind(t) + ".", param + ".text", "invalid_type");
                }
                text = t.textValue();
            } else {
                throw ApiException.invalid("Invalid type for '" + param + "': expected a string or an object with 'text', got "
                        + ApiJson.kind(d) + ".", param, "invalid_type");
            }
            if (text.isEmpty()) {
                throw ApiException.invalidValue(param, "documents must not be empty strings.");
            }
            out.add(text);
        }
        return out;
    }

    /**
     * Checks that each query-document pair ({@code [CLS] query [SEP] document [SEP]}, as {@link io.llamaffm.Context#rank}
     * builds it) fits {@code limit} tokens and that the texts are valid Unicode; returns the tokens of all pairs.
     */
    private int checkLengths(String query, List<String> documents, int limit) {
        int[] q = encode(query, "query");
        if (q.length >= limit) {
            throw ApiException.invalidValue("query", "the query has " + q.length + " tokens; with a document, a pair may "
                    + "have at most " + limit + ".");
        }
        int total = 0;
        for (int i = 0; i < documents.size(); i++) {
            int[] d = encode(documents.get(i), "documents[" + i + "]");
            int pair = q.length + d.length - (d.length > 0 && d[0] == tokenizer.bos() ? 1 : 0);
            if (pair > limit) {
                throw ApiException.invalidValue("documents[" + i + "]", "the query and this document make " + pair
                        + " tokens; a pair may have at most " + limit + " (longer pairs are refused, not truncated).");
            }
            total += pair;
        }
        return total;
    }

    private int[] encode(String text, String param) {
        try {
            return tokenizer.encode(text, true, false);
        } catch (IllegalArgumentException e) { // not valid Unicode (a lone surrogate escaped in the JSON)
            throw ApiException.invalidValue(param, e.getMessage());
        }
    }
}
