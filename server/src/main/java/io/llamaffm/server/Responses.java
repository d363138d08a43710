package io.llamaffm.server;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/** The response bodies the server writes, serialized by {@link ApiJson#MAPPER} (snake_case JSON names). */
final class Responses {
    private Responses() {}

    /** {@code {"error":{...}}}. */
    record ErrorBody(Error error) {}

    /** What went wrong: {@code type} is {@code invalid_request_error} for 4xx, {@code server_error} for 5xx. */
    record Error(String message, String type, String param, String code) {}

    /** Token counts of a generation; {@code promptTokensDetails.cachedTokens}: prompt tokens not decoded again. */
    record Usage(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {
        static Usage of(int prompt, int completion, int cached) {
            return new Usage(prompt, completion, prompt + completion, new PromptTokensDetails(cached));
        }
    }

    /** How many prompt tokens came from the KV cache (a slot's earlier tokens, another slot's, or the prompt cache). */
    record PromptTokensDetails(int cachedTokens) {}

    /** One entry of {@code /v1/models}. */
    record ModelCard(String id, String object, long created, String ownedBy) {}

    /** {@code /v1/models}. */
    record ModelList(String object, List<ModelCard> data) {}

    /** {@code /v1/completions}, and each of its stream chunks (without usage, unless asked for). */
    record TextCompletion(String id, String object, long created, String model, List<TextChoice> choices,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    /** One choice of a text completion; {@code finishReason} is null in stream chunks until the last. */
    record TextChoice(String text, int index, Object logprobs, String finishReason) {}

    /** {@code /v1/chat/completions} without streaming. */
    record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices, Usage usage) {}

    /** The reply of a chat completion. */
    record ChatChoice(int index, AssistantMessage message, Object logprobs, String finishReason) {}

    /**
     * The assistant's message: its text (null when it only calls tools), the reasoning of a reasoning model (absent when
     * none) and its tool calls (absent when none).
     */
    record AssistantMessage(String role, String content,
                            @JsonInclude(JsonInclude.Include.NON_EMPTY) String reasoningContent,
                            @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ToolCallOut> toolCalls) {}

    /** A tool call of a reply. */
    record ToolCallOut(String id, String type, FunctionOut function) {}

    /** The called function and its arguments as JSON text. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record FunctionOut(String name, String arguments) {}

    /** A tool call in a stream: its first chunk has the id, type and name, the next ones argument text. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ToolCallDelta(int index, String id, String type, FunctionOut function) {}

    /** One chunk of a streamed chat completion. */
    record ChatChunk(String id, String object, long created, String model, List<ChunkChoice> choices,
                     @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    /** The change one chunk brings; {@code finishReason} is set on the last content chunk only. */
    record ChunkChoice(int index, Delta delta, Object logprobs, String finishReason) {}

    /** The role (first chunk), the next piece of content or of reasoning, or tool-call fragments. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(String role, String content, String reasoningContent, List<ToolCallDelta> toolCalls) {
        Delta(String role, String content) {
            this(role, content, null, null);
        }
    }

    /** A chat choice's {@code logprobs}: one entry per generated token. */
    record ChatLogprobs(List<TokenLogprob> content) {}

    /** A generated token: its text, log-probability, UTF-8 bytes, and the most probable tokens at its step. */
    record TokenLogprob(String token, float logprob, List<Integer> bytes, List<TopLogprob> topLogprobs) {}

    /** One of the most probable tokens at a step. */
    record TopLogprob(String token, float logprob, List<Integer> bytes) {}

    /** A text completion's {@code logprobs} (the legacy shape): parallel lists per token. */
    record TextLogprobs(List<String> tokens, List<Float> tokenLogprobs, List<java.util.Map<String, Float>> topLogprobs,
                        List<Integer> textOffset) {}

    /** {@code /v1/embeddings}. */
    record EmbeddingList(String object, List<EmbeddingItem> data, String model, EmbeddingUsage usage) {}

    /** One embedding: a float array, or a base64 string of little-endian float32 values. */
    record EmbeddingItem(String object, int index, Object embedding) {}

    /** Token counts of an embeddings request. */
    record EmbeddingUsage(int promptTokens, int totalTokens) {}

    /** {@code /v1/rerank}, in Jina's (and llama-server's) shape. */
    record RerankList(String model, String object, EmbeddingUsage usage, List<RerankResult> results) {}

    /** One ranked document: its index in the request, its score, and its text when asked for. */
    record RerankResult(int index, float relevanceScore, @JsonInclude(JsonInclude.Include.NON_NULL) RerankDocument document) {}

    /** The text of a ranked document. */
    record RerankDocument(String text) {}
}
