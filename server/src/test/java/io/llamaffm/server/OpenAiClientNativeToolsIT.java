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
import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.testmodels.SyntheticQwen;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.llamaffm.server.OpenAiServerIT.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official OpenAI Java client gets tool calls in a model family's native syntax from the server: the synthetic
 * Qwen-family model (Qwen2.5's tokenizer and template), whose replies are {@code <tool_call>} blocks held to the tool's
 * schema by a grammar; blocking, streamed, and with the result sent back.
 */
class OpenAiClientNativeToolsIT {
    private static Model model;
    private static OpenAiServer server;
    private static OpenAIClient client;
    private static String modelId;

    @BeforeAll
    static void start() throws Exception {
        model = Model.load(SyntheticQwen.path());
        server = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withParallel(1)
                .withContext(ContextParams.defaults().withContextLength(2048).withThreads(1)));
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUri().resolve("/v1").toString()).apiKey("none")
                .timeout(Duration.ofSeconds(120)).maxRetries(0).build();
        modelId = client.models().list().data().getFirst().id();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        if (model != null) {
            model.close();
        }
    }

    private static ChatCompletionCreateParams.Builder request(ChatCompletionToolChoiceOption.Auto choice) {
        FunctionParameters parameters = FunctionParameters.builder()
                .putAdditionalProperty("type", JsonValue.from("object"))
                .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("enum", List.of("Paris", "Rome", "Oslo")))))
                .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                .build();
        return ChatCompletionCreateParams.builder().model(modelId).addUserMessage("Weather in Oslo?")
                .addFunctionTool(FunctionDefinition.builder().name("get_weather").description("The forecast for a city")
                        .parameters(parameters).build())
                .toolChoice(choice).parallelToolCalls(false).maxCompletionTokens(160L).seed(3L);
    }

    private static void assertValid(ChatCompletionMessageFunctionToolCall call) throws Exception {
        assertTrue(call.id().startsWith("call_"), call.id());
        assertEquals("get_weather", call.function().name());
        JsonNode args = JSON.readTree(call.function().arguments());
        assertEquals(1, args.size(), call.function().arguments());
        assertTrue(List.of("Paris", "Rome", "Oslo").contains(args.get("city").asText()), call.function().arguments());
    }

    @Test
    void theModelIsServedInTheHermesFormat() {
        assertEquals("hermes", ChatFormat.forModel(model).toolFormat().name());
    }

    @Test
    void aBlockingRequestGetsANativeToolCall() throws Exception {
        for (long seed = 0; seed < 5; seed++) {
            ChatCompletion c = client.chat().completions().create(request(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                    .seed(seed).build());
            ChatCompletion.Choice choice = c.choices().getFirst();
            assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
            assertFalse(choice.message().content().isPresent(), "no text with the calls");
            List<com.openai.models.chat.completions.ChatCompletionMessageToolCall> calls = choice.message().toolCalls().orElseThrow();
            assertEquals(1, calls.size());
            assertValid(calls.getFirst().asFunction());
        }
    }

    @Test
    void aStreamedRequestAccumulatesToTheSameCallAndItsFirstChunkNamesIt() throws Exception {
        ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
                .createStreaming(request(ChatCompletionToolChoiceOption.Auto.REQUIRED).build())) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                accumulator.accumulate(chunk);
            });
        }
        ChatCompletion.Choice choice = accumulator.chatCompletion().choices().getFirst();
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
        assertValid(call);
        // (not compared with a blocking request of the same seed: the second request reuses the first one's cached
        // prompt, and logits decoded in another batch split differ in the last bits, enough for this random model)
        var firstCallChunk = chunks.stream().flatMap(ch -> ch.choices().stream())
                .flatMap(ch -> ch.delta().toolCalls().orElse(List.of()).stream()).findFirst().orElseThrow();
        assertEquals(0L, firstCallChunk.index());
        assertEquals("get_weather", firstCallChunk.function().orElseThrow().name().orElseThrow());
        assertTrue(firstCallChunk.id().isPresent());
        assertTrue(chunks.stream().flatMap(ch -> ch.choices().stream()).allMatch(ch -> ch.delta().content().map(
                t -> !t.contains("<tool_call>")).orElse(true)), "no marker reaches the content");
    }

    @Test
    void autoRepliesCarryNoMarkersAndTheResultGoesBack() throws Exception {
        for (long seed = 0; seed < 5; seed++) {
            ChatCompletion c = client.chat().completions().create(request(ChatCompletionToolChoiceOption.Auto.AUTO)
                    .seed(seed).build());
            ChatCompletion.Choice choice = c.choices().getFirst();
            assertFalse(choice.message().content().orElse("").contains("<tool_call>"), choice.toString());
            for (var call : choice.message().toolCalls().orElse(List.of())) {
                assertValid(call.asFunction());
            }
        }
        ChatCompletion c = client.chat().completions().create(request(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
        ChatCompletionMessageFunctionToolCall call = c.choices().getFirst().message().toolCalls().orElseThrow().getFirst().asFunction();
        ChatCompletion answer = client.chat().completions().create(request(ChatCompletionToolChoiceOption.Auto.NONE)
                .addMessage(c.choices().getFirst().message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("sunny, 21 C").build())
                .maxCompletionTokens(8L).build());
        ChatCompletion.Choice choice = answer.choices().getFirst();
        assertFalse(choice.message().toolCalls().map(l -> !l.isEmpty()).orElse(false), "NONE: no calls");
        assertTrue(choice.message().content().isPresent());
    }
}
