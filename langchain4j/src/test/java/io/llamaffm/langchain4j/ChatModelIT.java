package io.llamaffm.langchain4j;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonEnumSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ChatMessage;
import io.llamaffm.chat.PlainChatFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The blocking chat model on stories260K, checked against llama-ffm's own Context API: the model has no chat
 * template, so both use the plain format; greedy answers must be identical, and each option must act as stated.
 */
class ChatModelIT {
    static final ContextParams CONTEXT = ContextParams.defaults().withContextLength(512).withThreads(1);
    static final String QUESTION = "Tell me a story about a cat.";
    static final int MAX = 40;

    static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    static LlamaFfmChatModel.Builder greedy() {
        return greedy(model);
    }

    static LlamaFfmChatModel.Builder greedy(Model model) {
        return LlamaFfmChatModel.builder().model(model).contextParams(CONTEXT).temperature(0.0).maxOutputTokens(MAX);
    }

    /** What the Context API generates (greedy) for the same conversation in the plain format, stripped. */
    static Completion reference(List<ChatMessage> conversation, int maxTokens, String... stops) {
        return reference(model, conversation, maxTokens, stops);
    }

    static Completion reference(Model model, List<ChatMessage> conversation, int maxTokens, String... stops) {
        return reference(model, conversation, maxTokens, SamplerChain.greedy(), stops);
    }

    static Completion reference(Model model, List<ChatMessage> conversation, int maxTokens, SamplerChain sampler, String... stops) {
        ChatFormat format = ChatFormat.forModel(model);
        String rendered = format.render(conversation);
        int[] prompt = model.tokenizer().encode(rendered, format.addSpecial(model, rendered), format.parseSpecial());
        List<String> allStops = new java.util.ArrayList<>(List.of(stops));
        allStops.add(PlainChatFormat.STOP);
        try (Context ctx = model.newContext(CONTEXT)) {
            return ctx.generate(prompt, new GenerationParams(maxTokens, allStops, false, false), sampler, null);
        }
    }

    static ChatRequest ask(String text, dev.langchain4j.model.chat.request.ChatRequestParameters parameters) {
        return ChatRequest.builder().messages(UserMessage.from(text)).parameters(parameters).build();
    }

    interface Storyteller {
        String tell(String request);
    }

    @Test
    void aModelWithoutTemplateUsesThePlainFormat() {
        ChatFormat format = ChatFormat.forModel(model);
        assertInstanceOf(PlainChatFormat.class, format);
        assertEquals("You tell stories.\n\nUser: " + QUESTION + "\nAssistant:",
                format.render(List.of(ChatMessage.system("You tell stories."), ChatMessage.user(QUESTION))));
    }

    @Test
    void aiServicesAnswerEqualsTheContextApiGreedyOutput() {
        Completion expected = reference(List.of(ChatMessage.user(QUESTION)), MAX);
        System.out.println("greedy answer: " + expected.text());
        assertTrue(expected.text().strip().length() > 20, "a real answer: " + expected.text());
        try (LlamaFfmChatModel chat = greedy().build()) {
            Storyteller teller = AiServices.create(Storyteller.class, chat);
            assertEquals(expected.text().strip(), teller.tell(QUESTION));
            ChatResponse r = chat.chat(ask(QUESTION, null));
            assertEquals(expected.text().strip(), r.aiMessage().text());
            assertEquals(expected.promptTokens(), r.tokenUsage().inputTokenCount());
            assertEquals(expected.tokens().length, r.tokenUsage().outputTokenCount());
            assertEquals(expected.stopReason() == Completion.StopReason.MAX_TOKENS ? FinishReason.LENGTH : FinishReason.STOP,
                    r.finishReason());
            assertEquals(model.config().name(), r.modelName());
        }
    }

    @Test
    void aSystemMessageAndHistoryArePartOfThePrompt() {
        List<ChatMessage> conversation = List.of(ChatMessage.system("You tell stories."), ChatMessage.user("Hi."),
                ChatMessage.assistant("Hello."), ChatMessage.user(QUESTION));
        Completion expected = reference(conversation, MAX);
        try (LlamaFfmChatModel chat = greedy().build()) {
            ChatResponse r = chat.chat(dev.langchain4j.data.message.SystemMessage.from("You tell stories."),
                    UserMessage.from("Hi."), dev.langchain4j.data.message.AiMessage.from("Hello."), UserMessage.from(QUESTION));
            assertEquals(expected.text().strip(), r.aiMessage().text());
            assertEquals(expected.promptTokens(), r.tokenUsage().inputTokenCount());
        }
    }

    @Test
    void maxOutputTokensBoundsTheReply() {
        Completion full = reference(List.of(ChatMessage.user(QUESTION)), MAX);
        try (LlamaFfmChatModel chat = greedy().build()) {
            for (int n : new int[] {1, 5, 12}) {
                ChatResponse r = chat.chat(ask(QUESTION, LlamaFfmChatRequestParameters.builder().maxOutputTokens(n).build()));
                assertEquals(n, r.tokenUsage().outputTokenCount(), "max " + n);
                assertEquals(FinishReason.LENGTH, r.finishReason());
                String prefix = model.tokenizer().decode(java.util.Arrays.copyOf(full.tokens(), n)).strip();
                assertEquals(prefix, r.aiMessage().text(), "the first " + n + " tokens of the full answer");
            }
        }
    }

    @Test
    void aStopSequenceCutsTheReplyAndIsNotIncluded() {
        String full = reference(List.of(ChatMessage.user(QUESTION)), MAX).text().strip();
        int cut = full.indexOf(' ', full.length() / 2);
        String stop = full.substring(cut, cut + 4);
        assertEquals(cut, full.indexOf(stop), "the stop text first appears at the cut: " + stop);
        try (LlamaFfmChatModel chat = greedy().build()) {
            ChatResponse r = chat.chat(ask(QUESTION, LlamaFfmChatRequestParameters.builder().stopSequences(List.of(stop)).build()));
            assertEquals(full.substring(0, cut).strip(), r.aiMessage().text());
            assertFalse(r.aiMessage().text().contains(stop));
            assertEquals(FinishReason.STOP, r.finishReason());
        }
        try (LlamaFfmChatModel chat = greedy().stopSequences(List.of(stop)).build()) {
            assertEquals(full.substring(0, cut).strip(), chat.chat(QUESTION), "a builder default");
        }
    }

    @Test
    void temperatureZeroAndTopKOneAreDeterministic() {
        String greedyText = reference(List.of(ChatMessage.user(QUESTION)), MAX).text().strip();
        try (LlamaFfmChatModel chat = LlamaFfmChatModel.builder().model(model).contextParams(CONTEXT).maxOutputTokens(MAX).build()) {
            for (int seed = 1; seed <= 3; seed++) {
                var hot = LlamaFfmChatRequestParameters.builder().temperature(1.5).topK(1).seed(seed).build();
                assertEquals(greedyText, chat.chat(ask(QUESTION, hot)).aiMessage().text(), "top-k 1, seed " + seed);
                var cold = LlamaFfmChatRequestParameters.builder().temperature(0.0).seed(seed).build();
                assertEquals(greedyText, chat.chat(ask(QUESTION, cold)).aiMessage().text(), "temperature 0, seed " + seed);
            }
        }
    }

    @Test
    void aSeedRepeatsASampledReplyAndOtherSeedsDiffer() {
        try (LlamaFfmChatModel chat = LlamaFfmChatModel.builder().model(model).contextParams(CONTEXT).maxOutputTokens(MAX)
                .temperature(1.0).topK(100).topP(1.0).minP(0.0).build()) {
            Set<String> replies = new HashSet<>();
            for (int seed = 1; seed <= 4; seed++) {
                var p = LlamaFfmChatRequestParameters.builder().seed(seed).build();
                String first = chat.chat(ask(QUESTION, p)).aiMessage().text();
                assertEquals(first, chat.chat(ask(QUESTION, p)).aiMessage().text(), "seed " + seed + " again");
                replies.add(first);
            }
            assertEquals(4, replies.size(), "each seed draws another reply: " + replies);
        }
        try (LlamaFfmChatModel seeded = LlamaFfmChatModel.builder().model(model).contextParams(CONTEXT).maxOutputTokens(MAX)
                .temperature(1.0).seed(7).build()) {
            assertEquals(seeded.chat(QUESTION), seeded.chat(QUESTION), "a builder seed");
        }
    }

    @Test
    void topPAndTopKNarrowTheDraw() {
        // top-p near 0 keeps only the most probable token, whatever the temperature: the greedy reply
        String greedyText = reference(List.of(ChatMessage.user(QUESTION)), MAX).text().strip();
        try (LlamaFfmChatModel chat = LlamaFfmChatModel.builder().model(model).contextParams(CONTEXT).maxOutputTokens(MAX)
                .temperature(2.0).topP(0.0001).seed(3).build()) {
            assertEquals(greedyText, chat.chat(QUESTION));
        }
        try (LlamaFfmChatModel chat = LlamaFfmChatModel.builder().model(model).contextParams(CONTEXT).maxOutputTokens(MAX)
                .temperature(2.0).topP(1.0).minP(0.0).seed(3).build()) {
            assertFalse(greedyText.equals(chat.chat(QUESTION)), "without the narrowing, temperature 2 strays");
        }
    }

    @Test
    void frequencyAndPresencePenaltiesAreTheContextApisPenaltyStage() {
        String plain = reference(List.of(ChatMessage.user(QUESTION)), MAX).text().strip();
        Completion penalized = reference(model, List.of(ChatMessage.user(QUESTION)), MAX,
                SamplerChain.of(new SamplerChain.Penalties(64, 1f, 0.5f, 1.5f), new SamplerChain.Greedy()));
        assertFalse(plain.equals(penalized.text().strip()), "the penalties change the greedy answer");
        try (LlamaFfmChatModel chat = greedy().frequencyPenalty(0.5).presencePenalty(1.5).build()) {
            assertEquals(penalized.text().strip(), chat.chat(QUESTION));
        }
    }

    @Test
    void jsonResponseFormatWithoutSchemaGivesAJsonObject() throws Exception {
        try (LlamaFfmChatModel chat = greedy().maxOutputTokens(120).build()) {
            ChatResponse r = chat.chat(ask("Describe the cat as JSON.",
                    LlamaFfmChatRequestParameters.builder().responseFormat(ResponseFormat.JSON).build()));
            System.out.println("JSON reply: " + r.aiMessage().text());
            assertEquals(FinishReason.STOP, r.finishReason(), "the grammar let the model finish: " + r.aiMessage().text());
            JsonNode json = new ObjectMapper().readTree(r.aiMessage().text());
            assertTrue(json.isObject(), r.aiMessage().text());
        }
    }

    @Test
    void jsonSchemaResponseFormatGivesJsonValidAgainstTheSchema() throws Exception {
        JsonSchema schema = JsonSchema.builder().name("Cat").rootElement(JsonObjectSchema.builder()
                .addBooleanProperty("happy")
                .addProperty("color", JsonEnumSchema.builder().enumValues("black", "white", "orange").build())
                .addIntegerProperty("legs")
                .required("happy", "color", "legs")
                .additionalProperties(false)
                .build()).build();
        ResponseFormat format = ResponseFormat.builder().type(ResponseFormatType.JSON).jsonSchema(schema).build();
        try (LlamaFfmChatModel chat = greedy().maxOutputTokens(60).build()) {
            for (double temperature : new double[] {0.0, 1.0}) {
                ChatResponse r = chat.chat(ask("Describe the cat.", LlamaFfmChatRequestParameters.builder()
                        .responseFormat(format).temperature(temperature).seed(5).build()));
                System.out.println("schema reply: " + r.aiMessage().text());
                JsonNode json = new ObjectMapper().readTree(r.aiMessage().text());
                assertEquals(Set.of("happy", "color", "legs"), fieldNames(json));
                assertTrue(json.get("happy").isBoolean());
                assertTrue(Set.of("black", "white", "orange").contains(json.get("color").asText()));
                assertTrue(json.get("legs").isIntegralNumber());
            }
        }
    }

    enum Color { BLACK, WHITE, ORANGE }

    record Cat(@JsonProperty(required = true) String name, @JsonProperty(required = true) Color color,
               @JsonProperty(required = true) boolean happy) {}

    interface CatDescriber {
        Cat describe(String request);
    }

    @Test
    void aiServicesReturnRecordsThroughTheSchemaGrammar() throws Exception {
        // the schema AiServices derives from Cat, written by hand: the Context API with its grammar must agree exactly
        String schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                + "\"color\":{\"type\":\"string\",\"enum\":[\"BLACK\",\"WHITE\",\"ORANGE\"]},"
                + "\"happy\":{\"type\":\"boolean\"}},\"required\":[\"name\",\"color\",\"happy\"]}";
        String prompt = "User: Describe a cat.\nAssistant:";
        Completion expected;
        try (Context ctx = model.newContext(CONTEXT)) {
            expected = ctx.generate(prompt, GenerationParams.defaults().withMaxTokens(100).withStopStrings(PlainChatFormat.STOP),
                    SamplerChain.of(SamplerChain.Grammar.fromJsonSchema(schema), new SamplerChain.Greedy()), null);
        }
        System.out.println("schema-constrained: " + expected.text());
        assertEquals(Completion.StopReason.END_OF_GENERATION, expected.stopReason(), "the JSON was completed");
        Cat reference = new ObjectMapper().readValue(expected.text(), Cat.class);
        assertTrue(reference.name() != null && reference.color() != null, reference.toString());
        try (LlamaFfmChatModel chat = greedy().maxOutputTokens(100).build()) {
            assertEquals(reference, AiServices.create(CatDescriber.class, chat).describe("Describe a cat."));
        }
    }

    @Test
    void severalThreadsGetTheSingleThreadedAnswer() throws Exception {
        String expected = reference(List.of(ChatMessage.user(QUESTION)), MAX).text().strip();
        String other = reference(List.of(ChatMessage.user("Once upon a time")), MAX).text().strip();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (LlamaFfmChatModel chat = greedy().maxContexts(2).build()) {
            List<Future<String>> answers = new java.util.ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String q = i % 2 == 0 ? QUESTION : "Once upon a time";
                answers.add(pool.submit(() -> chat.chat(q)));
            }
            for (int i = 0; i < answers.size(); i++) {
                assertEquals(i % 2 == 0 ? expected : other, answers.get(i).get(), "call " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void unsupportedInputsAndBadParametersAreRefused() {
        try (LlamaFfmChatModel chat = greedy().build()) {
            assertThrows(IllegalArgumentException.class, () -> chat.chat(ask(QUESTION, LlamaFfmChatRequestParameters.builder()
                    .toolChoice(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED).build())), "REQUIRED without tools");
            UserMessage withImage = UserMessage.from(TextContent.from("What is this?"), ImageContent.from("aGk=", "image/png"));
            assertThrows(UnsupportedFeatureException.class, () -> chat.chat(withImage));
            assertThrows(IllegalArgumentException.class,
                    () -> chat.chat(ask(QUESTION, LlamaFfmChatRequestParameters.builder().temperature(-1.0).build())));
            assertThrows(IllegalArgumentException.class,
                    () -> chat.chat(ask(QUESTION, LlamaFfmChatRequestParameters.builder().topP(1.5).build())));
            assertThrows(IllegalArgumentException.class,
                    () -> chat.chat(ask(QUESTION, LlamaFfmChatRequestParameters.builder().maxOutputTokens(0).build())));
            assertThrows(IllegalArgumentException.class, () -> chat.chat("word ".repeat(600)), "longer than the context");
            assertEquals(reference(List.of(ChatMessage.user(QUESTION)), MAX).text().strip(), chat.chat(QUESTION),
                    "the model still works after refusals");
        }
        assertThrows(IllegalArgumentException.class, () -> LlamaFfmChatModel.builder().model(model).topK(-1).build());
        assertThrows(IllegalArgumentException.class, () -> LlamaFfmChatModel.builder().build(), "no model");
    }

    @Test
    void aBorrowedModelOutlivesTheChatModelAndAnOwnedOneClosesWithIt() {
        try (Model borrowed = Model.load(TestEnv.stories())) {
            LlamaFfmChatModel chat = LlamaFfmChatModel.builder().model(borrowed).contextParams(CONTEXT).temperature(0.0)
                    .maxOutputTokens(4).build();
            chat.chat(QUESTION);
            IllegalStateException busy = assertThrows(IllegalStateException.class, borrowed::close);
            assertTrue(busy.getMessage().contains("open context"), busy.getMessage());
            chat.close();
            chat.close(); // idempotent
            assertThrows(IllegalStateException.class, () -> chat.chat(QUESTION));
            assertFalse(borrowed.isClosed(), "borrowed: still the caller's");
        }
        LlamaFfmChatModel owner = LlamaFfmChatModel.builder().modelPath(TestEnv.stories()).contextParams(CONTEXT)
                .temperature(0.0).maxOutputTokens(MAX).build();
        assertEquals(reference(List.of(ChatMessage.user(QUESTION)), MAX).text().strip(), owner.chat(QUESTION));
        owner.close();
        assertThrows(IllegalStateException.class, () -> owner.chat(QUESTION));
    }

    @Test
    void theTokenCountEstimatorCountsWithTheModelsTokenizer() {
        try (LlamaFfmTokenCountEstimator estimator = LlamaFfmTokenCountEstimator.builder().model(model).build();
             LlamaFfmChatModel chat = greedy().maxOutputTokens(2).build()) {
            for (String text : List.of("Once upon a time", "A cat sat on the mat. It was happy!", QUESTION)) {
                int n = model.tokenizer().encode(text, false, false).length;
                assertEquals(n, estimator.estimateTokenCountInText(text), text);
                assertEquals(n, estimator.estimateTokenCountInMessage(UserMessage.from(text)), text);
            }
            assertEquals(0, estimator.estimateTokenCountInText(""));
            assertEquals(4, estimator.estimateTokenCountInText("Once upon a time"), "403 ' Once', ... without BOS");
            List<dev.langchain4j.data.message.ChatMessage> messages = List.of(
                    dev.langchain4j.data.message.SystemMessage.from("You tell stories."), UserMessage.from(QUESTION));
            assertEquals(chat.chat(messages).tokenUsage().inputTokenCount(), estimator.estimateTokenCountInMessages(messages),
                    "the prompt the chat model builds");
        }
        try (LlamaFfmTokenCountEstimator owned = LlamaFfmTokenCountEstimator.builder().modelPath(TestEnv.stories()).build()) {
            assertEquals(model.tokenizer().encode(QUESTION, false, false).length, owned.estimateTokenCountInText(QUESTION));
        }
    }

    private static Set<String> fieldNames(JsonNode json) {
        Set<String> names = new HashSet<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
