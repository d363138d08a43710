package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.llamaffm.server.OpenAiServerIT.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official OpenAI Java client gets tool calls from the server, blocking and streamed, and sends results back. */
class OpenAiClientToolsIT {
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        OpenAiServerIT.start();
        client = OpenAIOkHttpClient.builder().baseUrl(OpenAiServerIT.server.baseUri().resolve("/v1").toString()).apiKey("none")
                .timeout(Duration.ofSeconds(60)).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        OpenAiServerIT.stop();
    }

    private static ChatCompletionCreateParams.Builder request() {
        FunctionParameters parameters = FunctionParameters.builder()
                .putAdditionalProperty("type", JsonValue.from("object"))
                .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("enum", List.of("Paris", "Rome", "Oslo")))))
                .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                .build();
        return ChatCompletionCreateParams.builder().model("stories260K").addUserMessage("Weather in Oslo?")
                .addFunctionTool(FunctionDefinition.builder().name("get_weather").description("The forecast for a city")
                        .parameters(parameters).build())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).parallelToolCalls(false).maxCompletionTokens(120L).seed(3L);
    }

    private static void assertValid(ChatCompletionMessageFunctionToolCall call) throws Exception {
        assertTrue(call.id().startsWith("call_"), call.id());
        assertEquals("get_weather", call.function().name());
        JsonNode args = JSON.readTree(call.function().arguments());
        assertEquals(1, args.size(), call.function().arguments());
        assertTrue(List.of("Paris", "Rome", "Oslo").contains(args.get("city").asText()), call.function().arguments());
    }

    @Test
    void aBlockingRequestGetsAToolCall() throws Exception {
        ChatCompletion c = client.chat().completions().create(request().build());
        ChatCompletion.Choice choice = c.choices().getFirst();
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        assertFalse(choice.message().content().isPresent(), "no text with the calls");
        List<com.openai.models.chat.completions.ChatCompletionMessageToolCall> calls = choice.message().toolCalls().orElseThrow();
        assertEquals(1, calls.size());
        assertValid(calls.getFirst().asFunction());
    }

    @Test
    void aStreamedRequestAccumulatesToTheSameCall() throws Exception {
        ChatCompletion whole = client.chat().completions().create(request().build());
        ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(request().build())) {
            stream.stream().forEach(accumulator::accumulate);
        }
        ChatCompletion streamed = accumulator.chatCompletion();
        ChatCompletion.Choice choice = streamed.choices().getFirst();
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
        assertValid(call);
        ChatCompletionMessageFunctionToolCall reference = whole.choices().getFirst().message().toolCalls().orElseThrow()
                .getFirst().asFunction();
        assertEquals(reference.function().name(), call.function().name());
        assertEquals(reference.function().arguments(), call.function().arguments(), "the same seed, the same arguments");
    }

    @Test
    void theResultGoesBackAsAToolMessage() {
        ChatCompletion c = client.chat().completions().create(request().build());
        ChatCompletionMessageFunctionToolCall call = c.choices().getFirst().message().toolCalls().orElseThrow().getFirst().asFunction();
        ChatCompletionCreateParams next = request()
                .addMessage(c.choices().getFirst().message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("sunny, 21 C").build())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).maxCompletionTokens(8L).build();
        ChatCompletion answer = client.chat().completions().create(next);
        ChatCompletion.Choice choice = answer.choices().getFirst();
        assertFalse(choice.message().toolCalls().map(l -> !l.isEmpty()).orElse(false), "NONE: no calls");
        assertTrue(choice.message().content().isPresent());
        assertTrue(List.of(ChatCompletion.Choice.FinishReason.STOP, ChatCompletion.Choice.FinishReason.LENGTH)
                .contains(choice.finishReason()));
    }
}
