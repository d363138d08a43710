package io.llamaffm.server;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * The request bodies the server reads, bound by {@link ApiJson#MAPPER} (JSON names in snake_case: {@code maxTokens}
 * is {@code max_tokens}). A field that is absent or {@code null} is null here and takes its default. Values are
 * checked by the endpoints, which know the model.
 */
final class Requests {
    private Requests() {}

    /**
     * The body of {@code /v1/completions} ({@link #prompt} required) and {@code /v1/chat/completions}
     * ({@link #messages} required); each endpoint ignores the other's field. {@code top_k}, {@code min_p} and
     * {@code ignore_eos} are extensions (as llama.cpp's server has them).
     */
    record Generation(String model,
                      @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> prompt,
                      List<Message> messages,
                      Integer maxTokens,
                      Integer maxCompletionTokens,
                      Double temperature,
                      Double topP,
                      Integer topK,
                      Double minP,
                      Double frequencyPenalty,
                      Double presencePenalty,
                      Map<String, Double> logitBias,
                      @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
                      Long seed,
                      Boolean stream,
                      StreamOptions streamOptions,
                      Integer n,
                      ResponseFormat responseFormat,
                      Boolean ignoreEos,
                      List<ToolSpec> tools,
                      JsonNode toolChoice,
                      Boolean parallelToolCalls,
                      String reasoningFormat,
                      Map<String, Object> chatTemplateKwargs) {}

    /**
     * One chat message; {@code content} is a string or an array of {@code {"type":"text","text":...}} parts; an
     * assistant message may carry {@code tool_calls}, a {@code tool} message the {@code tool_call_id} it answers.
     */
    record Message(String role, JsonNode content, List<MessageToolCall> toolCalls, String toolCallId,
                   String reasoningContent) {}

    /** A tool of {@code tools}: {@code {"type":"function","function":{"name","description","parameters"}}}. */
    record ToolSpec(String type, FunctionSpec function) {}

    /** A function tool; {@code parameters} is its JSON Schema (an object). */
    record FunctionSpec(String name, String description, JsonNode parameters, Boolean strict) {}

    /** A tool call of an earlier assistant message; {@code arguments} is JSON text. */
    record MessageToolCall(String id, String type, FunctionCall function) {}

    /** The called function and its arguments (JSON text). */
    record FunctionCall(String name, String arguments) {}

    /** {@code stream_options}: {@code include_usage} adds a last chunk with the token counts. */
    record StreamOptions(Boolean includeUsage) {}

    /** {@code response_format}: {@code text}, {@code json_object}, or {@code json_schema} with its schema. */
    record ResponseFormat(String type, JsonSchema jsonSchema) {}

    /** {@code response_format.json_schema}: a name, the schema, and {@code strict} (always honoured here). */
    record JsonSchema(String name, JsonNode schema, Boolean strict) {}

    /** The body of {@code /v1/embeddings}. */
    record Embeddings(String model,
                      @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> input,
                      String encodingFormat,
                      Integer dimensions) {}

    /**
     * The body of {@code /v1/rerank}: {@code documents} is an array of strings or {@code {"text": ...}} objects (read
     * by the endpoint, which names the element at fault).
     */
    record Rerank(String model, String query, JsonNode documents, Integer topN, Boolean returnDocuments) {}
}
