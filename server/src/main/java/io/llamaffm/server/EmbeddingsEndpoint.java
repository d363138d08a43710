package io.llamaffm.server;

import com.sun.net.httpserver.HttpExchange;
import io.llamaffm.ContextPool;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings}: L2-normalized embeddings of one or more texts with the embedding model's pooling,
 * as float arrays or ({@code "encoding_format": "base64"}) base64 strings of little-endian float32 values.
 */
final class EmbeddingsEndpoint {
    /** OpenAI's limit on inputs per request. */
    static final int MAX_INPUTS = 2048;

    private final ModelIds ids;
    private final ContextPool pool; // null when the server has no embedding model
    private final int dimension;
    private final Duration queueTimeout;

    EmbeddingsEndpoint(ModelIds ids, ContextPool pool, int dimension, Duration queueTimeout) {
        this.ids = ids;
        this.pool = pool;
        this.dimension = dimension;
        this.queueTimeout = queueTimeout;
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
        List<Embedding> vectors;
        try (ContextPool.Lease lease = pool.acquire(queueTimeout)) {
            vectors = lease.context().embed(input, EmbeddingParams.defaults());
        } catch (IllegalArgumentException e) { // an input longer than one batch (refused, never truncated), bad Unicode
            throw ApiException.invalidValue("input", e.getMessage());
        }
        List<Responses.EmbeddingItem> data = new ArrayList<>(vectors.size());
        int tokens = 0;
        for (int i = 0; i < vectors.size(); i++) {
            float[] v = vectors.get(i).vector();
            data.add(new Responses.EmbeddingItem("embedding", i, base64 ? base64(v) : v));
            tokens += vectors.get(i).tokens();
        }
        OpenAiServer.sendJson(exchange, 200, new Responses.EmbeddingList("list", data, ids.embedding(),
                new Responses.EmbeddingUsage(tokens, tokens)));
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
