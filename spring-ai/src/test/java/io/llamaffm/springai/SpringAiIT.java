package io.llamaffm.springai;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.SamplingParams;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ChatMessage;
import io.llamaffm.chat.ChatResult;
import io.llamaffm.chat.ChatSession;
import io.llamaffm.chat.ToolCall;
import io.llamaffm.chat.ToolChoice;
import io.llamaffm.chat.Tools;
import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.testmodels.SyntheticQwen;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.AdvisorParams;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.converter.BeanOutputConverter;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.ai.support.ToolCallbacks;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.ai.vectorstore.SearchRequest;
import org.springframework.ai.vectorstore.SimpleVectorStore;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spring AI models in a Spring Boot application, configured by properties only: a Qwen2.5-shaped chat model with
 * random weights (its real tokenizer and chat template; {@link SyntheticQwen}) for chat, tools, streaming and
 * structured output, and all-MiniLM-L6-v2 converted to GGUF for embeddings. Every chat answer is checked against what
 * llama-ffm's own {@link ChatSession} generates for the same conversation under greedy sampling.
 */
@SpringBootTest(classes = SpringAiIT.App.class)
class SpringAiIT {
    static final String SYSTEM = "You help with the weather.";
    static final int MAX_TOKENS = 48;

    @SpringBootApplication
    static class App {}

    /** Skips (before the application context loads) where the pinned llama.cpp source the Qwen model is made from is absent. */
    @org.junit.jupiter.api.BeforeAll
    static void modelsCanBeMade() {
        SyntheticQwen.path();
    }

    @DynamicPropertySource
    static void models(DynamicPropertyRegistry registry) {
        registry.add("llama-ffm.chat.model", () -> SyntheticQwen.path().toString());
        registry.add("llama-ffm.chat.context-length", () -> "1024");
        registry.add("llama-ffm.chat.threads", () -> "2");
        registry.add("llama-ffm.chat.gpu-layers", () -> "0");
        registry.add("llama-ffm.chat.pool-size", () -> "2");
        registry.add("llama-ffm.chat.options.temperature", () -> "0");
        registry.add("llama-ffm.chat.options.max-tokens", () -> Integer.toString(MAX_TOKENS));
        registry.add("llama-ffm.embedding.model", () -> miniLm().toString());
        registry.add("llama-ffm.embedding.threads", () -> "1");
    }

    static Path miniLm;

    static synchronized Path miniLm() {
        if (miniLm == null) {
            try {
                miniLm = MiniLmFixture.gguf(Files.createTempDirectory("minilm"), GgmlType.F32);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return miniLm;
    }

    @Autowired
    ChatModel chatModel;
    @Autowired
    EmbeddingModel embeddingModel;
    @Autowired
    LlamaFfmChatProperties chatProperties;
    @Autowired
    LlamaFfmEmbeddingProperties embeddingProperties;

    LlamaFfmChatModel chat() {
        return assertInstanceOf(LlamaFfmChatModel.class, chatModel);
    }

    // ---- references: llama-ffm's own chat session on a context of the same shape ----

    static SamplerChain greedy() {
        return SamplingParams.defaults().withTemperature(0).toChain();
    }

    Context referenceContext() {
        return chat().model().newContext(ContextParams.defaults().withContextLength(1024).withThreads(2));
    }

    @Test
    void propertiesBindAndConfigureTheModels() {
        assertEquals(SyntheticQwen.path().toString(), chatProperties.getModel());
        assertEquals(1024, chatProperties.getContextLength());
        assertEquals(2, chatProperties.getThreads());
        assertEquals(0, chatProperties.getGpuLayers());
        assertEquals(2, chatProperties.getPoolSize());
        assertEquals(0.0, chatProperties.getOptions().getTemperature());
        assertEquals(SyntheticQwen.path(), chat().model().path());
        LlamaFfmChatOptions defaults = chat().getOptions();
        assertEquals(0.0, defaults.getTemperature());
        assertEquals(MAX_TOKENS, defaults.getMaxTokens());
        assertEquals(chat().model().config().name(), defaults.getModel());
        assertEquals(miniLm().toString(), embeddingProperties.getModel());
        assertTrue(embeddingProperties.isNormalize());
        LlamaFfmEmbeddingModel embeddings = assertInstanceOf(LlamaFfmEmbeddingModel.class, embeddingModel);
        assertEquals(miniLm(), embeddings.model().path());
    }

    @Test
    void aPlainAnswerIsTheChatSessionsAndStreamingAddsUpToIt() {
        ChatClient client = ChatClient.create(chatModel);
        ChatResponse response = client.prompt().system(SYSTEM).user("Hello, who are you?").call().chatResponse();
        Completion expected;
        try (Context ctx = referenceContext()) {
            expected = new ChatSession(ctx, ChatFormat.forModel(chat().model()), SYSTEM)
                    .send("Hello, who are you?", new GenerationParams(MAX_TOKENS, List.of(), false, false), greedy(), null);
        }
        String text = response.getResult().getOutput().getText();
        assertEquals(expected.text().strip(), text);
        assertFalse(text.isEmpty());
        assertEquals(expected.tokens().length, response.getMetadata().getUsage().getCompletionTokens());
        assertEquals(expected.promptTokens(), response.getMetadata().getUsage().getPromptTokens());
        assertEquals(expected.stopReason() == Completion.StopReason.MAX_TOKENS ? "LENGTH" : "STOP",
                response.getResult().getMetadata().getFinishReason());

        List<String> chunks = client.prompt().system(SYSTEM).user("Hello, who are you?").stream().content().collectList().block();
        assertEquals(text, String.join("", chunks));
        assertTrue(chunks.size() > 1, "streamed in pieces: " + chunks);
    }

    @Test
    void samplingOptionsAreTheCoresRecipe() {
        String question = "Tell me about the sea.";
        LlamaFfmChatOptions options = LlamaFfmChatOptions.builder().temperature(0.9).topK(30).topP(0.9).minP(0.02).seed(5)
                .frequencyPenalty(0.3).presencePenalty(0.2).maxTokens(32).build();
        List<org.springframework.ai.chat.messages.Message> messages = List.of(
                new org.springframework.ai.chat.messages.SystemMessage(SYSTEM), new org.springframework.ai.chat.messages.UserMessage(question));
        Completion expected;
        try (Context ctx = referenceContext()) {
            expected = new ChatSession(ctx, ChatFormat.forModel(chat().model()), SYSTEM).send(question,
                    new GenerationParams(32, List.of(), false, false), SamplingParams.defaults().withTemperature(0.9f)
                            .withTopK(30).withTopP(0.9f).withMinP(0.02f).withSeed(5).withFrequencyPenalty(0.3f)
                            .withPresencePenalty(0.2f).toChain(), null);
        }
        // a chat model of its own (borrowing the model): its context is fresh, as the reference's
        try (LlamaFfmChatModel fresh = LlamaFfmChatModel.builder().model(chat().model())
                .contextParams(ContextParams.defaults().withContextLength(1024).withThreads(2)).build()) {
            ChatResponse first = fresh.call(new org.springframework.ai.chat.prompt.Prompt(messages, options));
            String text = first.getResult().getOutput().getText();
            assertEquals(expected.text().strip(), text);
            String other = fresh.call(new org.springframework.ai.chat.prompt.Prompt(messages, options.mutate().seed(6).build()))
                    .getResult().getOutput().getText();
            assertFalse(other.equals(text), "seeds 5 and 6 draw different replies");
            // a stop sequence cuts the reply before it
            String cut = text.substring(text.length() / 2, text.length() / 2 + 2);
            ChatResponse stopped = fresh.call(new org.springframework.ai.chat.prompt.Prompt(messages,
                    options.mutate().stopSequences(List.of(cut)).build()));
            assertEquals(text.substring(0, text.indexOf(cut)).strip(), stopped.getResult().getOutput().getText());
            assertEquals("STOP", stopped.getResult().getMetadata().getFinishReason());
        }
        assertFalse(chat().model().isClosed(), "a borrowed model stays open");
    }

    @Test
    void cancellingTheStreamStopsTheGenerationAndFreesItsContext() throws Exception {
        org.springframework.ai.chat.prompt.Prompt prompt = new org.springframework.ai.chat.prompt.Prompt("Tell me a long story.",
                LlamaFfmChatOptions.builder().temperature(0.0).maxTokens(200).build());
        try (LlamaFfmChatModel one = LlamaFfmChatModel.builder().model(chat().model())
                .contextParams(ContextParams.defaults().withContextLength(2048).withThreads(2)).poolSize(1).build()) {
            long start = System.nanoTime();
            ChatResponse whole = one.call(prompt);
            long wholeNanos = System.nanoTime() - start;
            assertEquals(200, whole.getMetadata().getUsage().getCompletionTokens(), "greedy never ends this reply early");

            List<String> two = one.stream(prompt).map(r -> r.getResult().getOutput().getText()).take(2).collectList().block();
            assertEquals(2, two.size());
            // close() is refused while a call holds the context: it succeeds once the cancelled generation has stopped
            long cancelled = System.nanoTime();
            while (true) {
                try {
                    one.close();
                    break;
                } catch (IllegalStateException busy) {
                    Thread.sleep(2);
                }
            }
            long freedNanos = System.nanoTime() - cancelled;
            assertTrue(freedNanos < wholeNanos / 4, "freed after " + freedNanos / 1_000_000 + " ms; the whole reply took "
                    + wholeNanos / 1_000_000 + " ms");
        }
    }

    /** The tool of the round trip: records each call's argument. */
    static final class WeatherTools {
        enum City { PARIS, ROME, OSLO }

        final List<City> calls = new ArrayList<>();

        @Tool(description = "The forecast for a city")
        String getWeather(@ToolParam(description = "the city") City city) {
            calls.add(city);
            return "sunny, 21 C in " + city;
        }
    }

    @Test
    void aChatClientToolRoundTripCallsTheToolWithTheGrammarsArgumentsThenAnswersFromItsResult() throws Exception {
        WeatherTools tools = new WeatherTools();
        String question = "What is the weather in Paris?";
        String answer = ChatClient.create(chatModel).prompt().system(SYSTEM).user(question).tools(tools)
                .options(LlamaFfmChatOptions.builder().toolChoice("required").parallelToolCalls(false).maxTokens(64))
                .call().content();

        // the same turns on llama-ffm's own session: the call the grammar makes, then the answer to its result
        io.llamaffm.chat.Tool tool = toLlamaFfm(ToolCallbacks.from(new WeatherTools())[0]);
        Tools required = Tools.of(tool).withChoice(ToolChoice.REQUIRED).withParallelCalls(false);
        ChatResult call;
        ChatResult expected;
        try (Context ctx = referenceContext()) {
            ChatSession session = new ChatSession(ctx, ChatFormat.forModel(chat().model()), SYSTEM);
            GenerationParams params = new GenerationParams(64, List.of(), false, false);
            call = session.send(question, required, params, greedy(), null);
            assertEquals(ChatResult.FinishReason.TOOL_CALLS, call.finishReason(), call.completion().text());
            ToolCall c = call.toolCalls().getFirst();
            var args = new tools.jackson.databind.ObjectMapper().readTree(c.arguments());
            assertEquals(1, args.size(), c.arguments());
            String city = args.get("city").asString();
            assertEquals(List.of(WeatherTools.City.valueOf(city)), tools.calls, "the tool ran once, with the grammar's argument");
            expected = session.sendToolResults(List.of(ChatMessage.toolResult(c.id(), "\"sunny, 21 C in " + city + "\"")),
                    required.withChoice(ToolChoice.NONE), params, greedy(), null);
        }
        assertEquals(expected.content().strip(), answer);
        assertFalse(answer.isEmpty());
    }

    @Test
    void streamingThroughChatClientsToolLoopGivesTheBlockingAnswer() {
        WeatherTools blockingTools = new WeatherTools();
        WeatherTools streamingTools = new WeatherTools();
        String question = "What is the weather in Oslo?";
        LlamaFfmChatOptions.Builder<?> options = LlamaFfmChatOptions.builder().toolChoice("required").parallelToolCalls(false).maxTokens(64);
        String blocking = ChatClient.create(chatModel).prompt().system(SYSTEM).user(question).tools(blockingTools)
                .options(options).call().content();
        List<String> chunks = ChatClient.create(chatModel).prompt().system(SYSTEM).user(question).tools(streamingTools)
                .options(options).stream().content().collectList().block();
        assertEquals(1, streamingTools.calls.size(), "the streamed reply's call ran once");
        assertEquals(blockingTools.calls, streamingTools.calls);
        assertEquals(blocking, String.join("", chunks));
        assertTrue(chunks.size() > 1, "the answer streamed in pieces: " + chunks);
    }

    /** A structured answer: enums only, so the grammar bounds it. */
    record Forecast(WeatherTools.City city, Sky sky, boolean windy) {
        enum Sky { SUNNY, CLOUDY, RAINY }
    }

    @Test
    void nativeStructuredOutputHoldsTheReplyToTheBeansSchema() {
        String question = "Give me the forecast for Rome.";
        Forecast forecast = ChatClient.create(chatModel).prompt().system(SYSTEM).user(question)
                .advisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT).options(LlamaFfmChatOptions.builder().maxTokens(64))
                .call().entity(Forecast.class);

        BeanOutputConverter<Forecast> converter = new BeanOutputConverter<>(Forecast.class);
        Completion expected;
        try (Context ctx = referenceContext()) {
            expected = new ChatSession(ctx, ChatFormat.forModel(chat().model()), SYSTEM).send(question,
                    new GenerationParams(64, List.of(), false, false),
                    SamplingParams.defaults().withTemperature(0)
                            .withGrammar(SamplerChain.Grammar.fromJsonSchema(converter.getJsonSchema())).toChain(), null);
        }
        assertEquals(Completion.StopReason.END_OF_GENERATION, expected.stopReason(), expected.text());
        assertEquals(converter.convert(expected.text().strip()), forecast);
    }

    static final Map<String, String> DOCUMENTS = Map.of(
            "cats", "Cats are small carnivorous mammals that many people keep as pets. They purr when they are content "
                    + "and like to sleep in warm, sunny places.",
            "jvm", "The Java virtual machine runs bytecode compiled from Java, Kotlin or Scala. Its garbage collector "
                    + "frees the memory of objects that are no longer reachable.",
            "paris", "Paris is the capital of France. It is famous for the Eiffel Tower, the Louvre museum and the cafes "
                    + "along the river Seine.",
            "plants", "Plants make their own food through photosynthesis. Using the energy of sunlight, their leaves turn "
                    + "water and carbon dioxide into sugar and release oxygen into the air.",
            "football", "The World Cup is an international football tournament held every four years. National teams from "
                    + "every continent play for the trophy.",
            "bread", "To bake bread, mix flour, water, yeast and salt into a dough. Knead it, let it rise for an hour in "
                    + "a warm place, then bake the loaf in a hot oven until the crust is brown.");

    static final Map<String, String> QUESTIONS = Map.of(
            "Which city has the Eiffel Tower?", "paris",
            "How do plants produce oxygen?", "plants",
            "What does the garbage collector of the JVM do?", "jvm",
            "How long should dough rise before baking?", "bread",
            "Which pet purrs when it is happy?", "cats",
            "Who plays in the World Cup?", "football");

    @Test
    void aSimpleVectorStoreRetrievesTheDocumentOfEachQuestion() {
        SimpleVectorStore store = SimpleVectorStore.builder(embeddingModel).build();
        store.add(DOCUMENTS.entrySet().stream().map(e -> new Document(e.getKey(), e.getValue(), Map.of())).toList());
        for (Map.Entry<String, String> q : QUESTIONS.entrySet()) {
            List<Document> hits = store.similaritySearch(SearchRequest.builder().query(q.getKey()).topK(2).build());
            assertEquals(q.getValue(), hits.getFirst().getId(), q.getKey() + " -> " + hits.stream().map(Document::getId).toList());
        }
    }

    @Test
    void batchEmbeddingsAreTheContextsVectorsAndCountTheirTokens() {
        List<String> texts = new ArrayList<>(DOCUMENTS.values());
        texts.addAll(QUESTIONS.keySet()); // 12 texts: two decodes of 8 sequences at most
        LlamaFfmEmbeddingModel embeddings = (LlamaFfmEmbeddingModel) embeddingModel;
        List<io.llamaffm.Embedding> expected;
        io.llamaffm.Embedding alone;
        try (Context ctx = embeddings.model().newContext(LlamaFfmEmbeddingModel.Builder.defaultContextParams()
                .withThreads(1).withEmbeddings(true))) {
            expected = ctx.embed(texts, EmbeddingParams.defaults());
            alone = ctx.embed(texts.getFirst(), EmbeddingParams.defaults());
        }
        EmbeddingResponse r = embeddingModel.embedForResponse(texts);
        assertEquals(texts.size(), r.getResults().size());
        int tokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(expected.get(i).vector(), r.getResults().get(i).getOutput(), 1e-6f, "text " + i);
            assertEquals(i, r.getResults().get(i).getIndex());
            tokens += expected.get(i).tokens();
        }
        assertEquals(tokens, r.getMetadata().getUsage().getPromptTokens());
        assertEquals(MiniLmFixture.HIDDEN, embeddingModel.dimensions());
        assertArrayEquals(alone.vector(), embeddingModel.embed(new Document(texts.getFirst())), 1e-6f, "one text alone");
    }

    static io.llamaffm.chat.Tool toLlamaFfm(org.springframework.ai.tool.ToolCallback callback) {
        var d = callback.getToolDefinition();
        return io.llamaffm.chat.Tool.of(d.name(), d.description(), d.inputSchema());
    }
}
