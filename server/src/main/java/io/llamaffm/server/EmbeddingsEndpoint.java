package io.llamaffm.server;

import com.sun.net.httpserver.HttpExchange;
import io.llamaffm.Embedding;
import io.llamaffm.Tokenizer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings}: L2-normalized embeddings of one or more texts with the embedding model's pooling,
 * as float arrays or ({@code "encoding_format": "base64"}) base64 strings of little-endian float32 values. The inputs
 * are checked here (each must fit one micro-batch: refused, never truncated), then embedded by the
 * {@link EmbeddingBatcher} together with other requests' inputs.
 */
final class EmbeddingsEndpoint {
    /** OpenAI's limit on inputs per request. */
    static final int MAX_INPUTS = 2048;

    private final ModelIds ids;
    private final EmbeddingBatcher batcher; // null when the server has no embedding model
    private final Tokenizer tokenizer;
    private final int dimension;
    private final Metrics metrics;

    EmbeddingsEndpoint(ModelIds ids, EmbeddingBatcher batcher, Tokenizer tokenizer, int dimension, Metrics metrics) {
        this.ids = ids;
        this.batcher = batcher;
        this.tokenizer = tokenizer;
        this.dimension = dimension;
        this.metrics = metrics;
    }

    void handle(HttpExchange exchange, byte[] body) throws InterruptedException {
        Requests.Embeddings r = ApiJson.bind(ApiJson.parseTree(body), Requests.Embeddings.class);
        ids.requireEmbedding(r.model());
        List<String> input = inputs(r.input());
        boolean base64 = encoding(r.encodingFormat());
        if (r.dimensions() != null && r.dimensions() != dimension) {
            throw ApiException.invalidValue("dimensions", "this model makes " + dimension + "-dimensional embeddings only, got "
                    + r.dimensions() + ".");
        }
        checkLengths(input);
        List<Embedding> vectors;
        try {
            vectors = batcher.embed(input);
        } catch (IllegalArgumentException e) { // checked above; should the library still refuse an input
            throw ApiException.invalidValue("input", e.getMessage());
        }
        List<Responses.EmbeddingItem> data = new ArrayList<>(vectors.size());
        int tokens = 0;
        for (int i = 0; i < vectors.size(); i++) {
            float[] v = vectors.get(i).vector();
            data.add(new Responses.EmbeddingItem("embedding", i, base64 ? base64(v) : v));
            tokens += vectors.get(i).tokens();
        }
        metrics.embeddingInputs(vectors.size());
        OpenAiServer.sendJson(exchange, 200, new Responses.EmbeddingList("list", data, ids.embedding(),
                new Responses.EmbeddingUsage(tokens, tokens)));
    }

    /** Refuses, naming it, an input longer than one micro-batch or that is not valid Unicode (a lone surrogate). */
    private void checkLengths(List<String> input) {
        int limit = batcher.maxTokens();
        for (int i = 0; i < input.size(); i++) {
            String param = input.size() == 1 ? "input" : "input[" + i + "]";
            int tokens;
            try {
                tokens = tokenizer.encode(input.get(i), true, false).length;
            } catch (IllegalArgumentException e) {
                throw ApiException.invalidValue(param, e.getMessage());
            }
            if (tokens > limit) {
                throw ApiException.invalidValue(param, "the input has " + tokens + " tokens; this embedding model takes at "
                        + "most " + limit + " per input (longer inputs are refused, not truncated).");
            }
        }
    }

    private static List<String> inputs(List<String> input) {
        if (input == null || input.isEmpty()) {
            throw ApiException.invalid("Missing required parameter: 'input' (a string or an array of strings).", "input",
                    "missing_required_parameter");
        }
        if (input.size() > MAX_INPUTS) {
            throw ApiException.invalidValue("input", "at most " + MAX_INPUTS + " inputs per request, got " + input.size() + ".");
        }
        for (int i = 0; i < input.size(); i++) {
            String param = input.size() == 1 ? "input" : "input[" + i + "]";
            if (input.get(i) == null) {
                throw ApiException.invalid("Invalid type for '" + param + "': expected a string.", param, "invalid_type");
            }
            if (input.get(i).isEmpty()) {
                throw ApiException.invalidValue(param, "inputs must not be empty strings.");
            }
        }
        return input;
    }

    private static boolean encoding(String format) {
        if (format == null || format.equals("float")) {
            return false;
        }
        if (format.equals("base64")) {
            return true;
        }
        throw ApiException.invalidValue("encoding_format", "expected 'float' or 'base64', got '" + format + "'.");
    }

    private static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return Base64.getEncoder().encodeToString(b.array());
    }
}
