package io.llamaffm.server;

import io.llamaffm.Model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The names clients use for the server's models: the file name without {@code .gguf}. Each endpoint serves one of
 * them; a request naming the other gets 400 {@code model_not_supported}, a request naming neither 404
 * {@code model_not_found}.
 *
 * @param generation the id of the model behind {@code /v1/completions} and {@code /v1/chat/completions}
 * @param embedding  the id of the model behind {@code /v1/embeddings}; null when the server has none
 * @param rerank     the id of the model behind {@code /v1/rerank}; null when the server has none
 */
record ModelIds(String generation, String embedding, String rerank) {
    /** The ids of a server without a rerank model. */
    ModelIds(String generation, String embedding) {
        this(generation, embedding, null);
    }

    /** The id of {@code model}: its file (or resource) name without the {@code .gguf} extension. */
    static String idOf(Model model) {
        Path name = model.path().getFileName();
        String s = name == null ? model.path().toString() : name.toString();
        return s.endsWith(".gguf") ? s.substring(0, s.length() - ".gguf".length()) : s;
    }

    /** Every distinct id, generation model first. */
    List<String> all() {
        List<String> ids = new ArrayList<>(List.of(generation));
        if (embedding != null && !ids.contains(embedding)) {
            ids.add(embedding);
        }
        if (rerank != null && !ids.contains(rerank)) {
            ids.add(rerank);
        }
        return ids;
    }

    /** Checks the {@code model} field of a generation request. */
    void requireGeneration(String requested) {
        require(requested);
        if (!requested.equals(generation)) {
            String only = requested.equals(embedding) ? "makes embeddings only: use /v1/embeddings" : "ranks documents only: use /v1/rerank";
            throw ApiException.invalid("The model '" + requested + "' " + only + ", or '" + generation + "' for completions.",
                    "model", "model_not_supported");
        }
    }

    /** Checks the {@code model} field of an embeddings request. */
    void requireEmbedding(String requested) {
        require(requested);
        if (!requested.equals(embedding)) {
            throw ApiException.invalid("The model '" + requested + "' does not make embeddings on this server"
                    + (embedding == null ? ": start it with --embedding-model." : ": use '" + embedding + "'."),
                    "model", "model_not_supported");
        }
    }

    /** Checks the {@code model} field of a rerank request, which may be absent (the rerank model then). */
    void requireRerank(String requested) {
        if (requested == null) {
            return;
        }
        require(requested);
        if (!requested.equals(rerank)) {
            throw ApiException.invalid("The model '" + requested + "' does not rank documents on this server"
                    + (rerank == null ? ": start it with --rerank-model." : ": use '" + rerank + "'."), "model",
                    "model_not_supported");
        }
    }

    private void require(String requested) {
        if (requested == null || requested.isBlank()) {
            throw ApiException.invalid("You must provide a model parameter (one of " + all() + ").", "model",
                    "missing_required_parameter");
        }
        if (!all().contains(requested)) {
            throw new ApiException(404, "invalid_request_error", "The model '" + requested + "' does not exist; this "
                    + "server has " + all() + ".", "model", "model_not_found");
        }
    }
}
