package io.llamaffm.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tools through LangChain4j on stories260K: the JSON tool format holds every reply to valid calls. */
class ToolsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ToolSpecification WEATHER = ToolSpecification.builder().name("get_weather")
            .description("The forecast for a city")
            .parameters(JsonObjectSchema.builder().addEnumProperty("city", List.of("Paris", "Rome", "Oslo")).required("city").build())
            .build();

    @org.junit.jupiter.api.BeforeAll
    static void load() {
        ChatModelIT.load();
    }

    @org.junit.jupiter.api.AfterAll
    static void close() {
        ChatModelIT.close();
    }

    private static LlamaFfmChatModel.Builder greedy() {
        return ChatModelIT.greedy();
    }

    private static ChatRequest request(ToolChoice choice, dev.langchain4j.data.message.ChatMessage... messages) {
        return ChatRequest.builder().messages(messages).parameters(LlamaFfmChatRequestParameters.builder()
                .toolSpecifications(WEATHER).toolChoice(choice).temperature(1.0).seed(11).maxOutputTokens(120).build()).build();
    }

    @Test
    void requiredGivesExecutionRequestsWithValidArguments() throws Exception {
        try (LlamaFfmChatModel chat = greedy().build()) {
            for (int seed = 0; seed < 20; seed++) {
                ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from("Weather in Rome?"))
                        .parameters(LlamaFfmChatRequestParameters.builder().toolSpecifications(WEATHER).toolChoice(ToolChoice.REQUIRED)
                                .temperature(1.0).seed(seed).maxOutputTokens(200).build()).build());
                AiMessage m = r.aiMessage();
                assertTrue(m.hasToolExecutionRequests(), "seed " + seed + ": " + m);
                assertTrue(r.finishReason() == FinishReason.TOOL_EXECUTION || r.finishReason() == FinishReason.LENGTH,
                        "a cut list of calls keeps its complete calls: " + r.finishReason());
                Set<String> ids = new HashSet<>();
                for (ToolExecutionRequest t : m.toolExecutionRequests()) {
                    assertTrue(ids.add(t.id()) && t.id().startsWith("call_"), t.toString());
                    assertEquals("get_weather", t.name());
                    JsonNode args = JSON.readTree(t.arguments());
                    assertEquals(1, args.size(), t.arguments());
                    assertTrue(List.of("Paris", "Rome", "Oslo").contains(args.get("city").asText()), t.arguments());
                }
            }
        }
    }

    @Test
    void aToolResultGoesBackAndNoneAnswersInText() {
        try (LlamaFfmChatModel chat = greedy().build()) {
            AiMessage call = chat.chat(request(ToolChoice.REQUIRED, UserMessage.from("Weather in Oslo?"))).aiMessage();
            ToolExecutionRequest req = call.toolExecutionRequests().getFirst();
            ChatResponse answer = chat.chat(request(ToolChoice.NONE, UserMessage.from("Weather in Oslo?"), call,
                    ToolExecutionResultMessage.from(req, "sunny, 21 C")));
            assertFalse(answer.aiMessage().hasToolExecutionRequests());
            assertTrue(answer.finishReason() == FinishReason.STOP || answer.finishReason() == FinishReason.LENGTH);
            // REQUIRED after a tool result answers from it instead of calling again
            ChatResponse after = chat.chat(request(ToolChoice.REQUIRED, UserMessage.from("Weather in Oslo?"), call,
                    ToolExecutionResultMessage.from(req, "sunny, 21 C")));
            assertFalse(after.aiMessage().hasToolExecutionRequests(), after.toString());
        }
    }

    static final class WeatherTools {
        final List<String> cities = new ArrayList<>();

        @Tool("The forecast for a city")
        String getWeather(@P("the city") String city) {
            cities.add(city);
            return "sunny in " + city;
        }
    }

    interface Assistant {
        String chat(String message);
    }

    @Test
    void anAiServicesRoundTripCallsTheToolThenAnswersAndRequiredDoesNotLoop() {
        WeatherTools tools = new WeatherTools();
        try (LlamaFfmChatModel chat = LlamaFfmChatModel.builder().model(ChatModelIT.model).contextParams(ChatModelIT.CONTEXT)
                .temperature(0.0).defaultRequestParameters(LlamaFfmChatRequestParameters.builder()
                        .toolChoice(ToolChoice.REQUIRED).maxOutputTokens(200).build()).build()) {
            Assistant assistant = AiServices.builder(Assistant.class).chatModel(chat).tools(tools).build();
            String answer = assistant.chat("What is the weather in Paris?");
            assertFalse(tools.cities.isEmpty(), "the tool ran; answer: " + answer);
            // greedy stories260K calls the tool (several times in parallel) in its first reply; after the results, REQUIRED
            // lets the model answer: AiServices gets a text answer instead of looping until its invocation limit
            assertFalse(tools.cities.isEmpty(), "the tool ran");
            assertTrue(answer != null && !answer.contains("tool_calls"), "a text answer came back: " + answer);
        }
    }

    @Test
    void theStreamingModelReportsEachCompleteCall() throws Exception {
        try (LlamaFfmStreamingChatModel streaming = LlamaFfmStreamingChatModel.builder().model(ChatModelIT.model).maxContexts(1).build()) {
            List<CompleteToolCall> calls = new ArrayList<>();
            List<dev.langchain4j.model.chat.response.PartialToolCall> partials = new ArrayList<>();
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            streaming.chat(request(ToolChoice.REQUIRED, UserMessage.from("Weather in Paris?")), new StreamingChatResponseHandler() {
                @Override
                public void onPartialToolCall(dev.langchain4j.model.chat.response.PartialToolCall call) {
                    partials.add(call);
                }

                @Override
                public void onCompleteToolCall(CompleteToolCall call) {
                    calls.add(call);
                }

                @Override
                public void onCompleteResponse(ChatResponse response) {
                    done.complete(response);
                }

                @Override
                public void onError(Throwable error) {
                    done.completeExceptionally(error);
                }
            });
            ChatResponse r = done.get(60, TimeUnit.SECONDS);
            assertEquals(r.aiMessage().toolExecutionRequests().size(), calls.size());
            for (int i = 0; i < calls.size(); i++) {
                assertEquals(i, calls.get(i).index());
                assertEquals(r.aiMessage().toolExecutionRequests().get(i), calls.get(i).toolExecutionRequest());
            }
            assertFalse(calls.isEmpty());
            // the arguments came in fragments as they were generated, and make up each complete call's arguments
            for (CompleteToolCall call : calls) {
                StringBuilder args = new StringBuilder();
                for (var p : partials) {
                    if (p.index() == call.index()) {
                        assertEquals(call.toolExecutionRequest().id(), p.id());
                        assertEquals(call.toolExecutionRequest().name(), p.name());
                        args.append(p.partialArguments());
                    }
                }
                assertEquals(JSON.readTree(call.toolExecutionRequest().arguments()), JSON.readTree(args.toString()));
            }
            assertTrue(partials.size() > calls.size(), "several fragments: " + partials.size());
        }
    }
}
