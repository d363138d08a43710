package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.llamaffm.server.OpenAiServerIT.HTTP;
import static io.llamaffm.server.OpenAiServerIT.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official OpenAI Java client against every generation and embedding field the server implements: logprobs and
 * top_logprobs, n, seed, stop, response_format, stream_options.include_usage, completions' logprobs and prompt arrays,
 * embeddings; and continuous batching seen from outside: concurrent requests share decodes and write what they write
 * alone.
 */
class OpenAiConformanceIT {
    @TempDir
    static Path dir;
    static Model generator;
    static Model embedder;
    static OpenAiServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        Path stories = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(stories), "../shared/models/stories260K.gguf is absent");
        Path gguf = MiniLm.gguf(dir);
        generator = Model.load(stories);
        embedder = Model.load(gguf);
        server = OpenAiServer.start(generator, embedder, ServerConfig.defaults().withPort(0).withParallel(4)
                .withContext(ContextParams.defaults().withContextLength(2048).withThreads(1)));
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUri().resolve("/v1").toString()).apiKey("none")
                .timeout(Duration.ofSeconds(60)).maxRetries(0).build();
    }


    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        for (Model m : new Model[] {embedder, generator}) {
            if (m != null) {
                m.close();
            }
        }
    }

    private static ChatCompletionCreateParams.Builder chat(String message) {
        return ChatCompletionCreateParams.builder().model("stories260K").addUserMessage(message).maxCompletionTokens(24L)
                .temperature(0.0);
    }

    @Test
    void chatLogprobsHaveEveryTokenAndTheTopAlternatives() {
        ChatCompletion c = client.chat().completions().create(chat("Tell me a story").logprobs(true).topLogprobs(3L).build());
        ChatCompletion.Choice choice = c.choices().getFirst();
        List<ChatCompletionTokenLogprob> content = choice.logprobs().orElseThrow().content().orElseThrow();
        assertEquals(c.usage().orElseThrow().completionTokens(), content.size());
        StringBuilder text = new StringBuilder();
        for (ChatCompletionTokenLogprob t : content) {
            text.append(t.token());
            assertTrue(t.logprob() <= 0, t.toString());
            assertEquals(3, t.topLogprobs().size());
            assertEquals(t.token(), t.topLogprobs().getFirst().token(), "greedy: the most probable token");
            assertEquals(t.logprob(), t.topLogprobs().getFirst().logprob(), 1e-6);
            assertTrue(t.topLogprobs().get(1).logprob() <= t.topLogprobs().get(0).logprob());
            assertEquals(t.token(), new String(toBytes(t.bytes().orElseThrow()), java.nio.charset.StandardCharsets.UTF_8));
        }
        assertEquals(choice.message().content().orElseThrow(), text.toString().stripLeading());
    }

    @Test
    void eachChoiceHasItsOwnSeedAndGreedyChoicesAgree() {
        // (a seed does not promise the same text on a repeat: the repeat reuses the cached prompt, whose last token is
        // then decoded alone, and the last bits of its logits may differ from those of the whole prompt's decode)
        ChatCompletion first = client.chat().completions().create(chat("Tell me a story").temperature(1.0).n(3L).seed(11L).build());
        assertEquals(3, first.choices().size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, first.choices().get(i).index());
        }
        assertNotEquals(first.choices().get(0).message().content(), first.choices().get(1).message().content(),
                "each choice has its own seed");
        ChatCompletion greedy = client.chat().completions().create(chat("Tell me a story").n(2L).build());
        assertEquals(greedy.choices().get(0).message().content(), greedy.choices().get(1).message().content());
        int prompt = (int) greedy.usage().orElseThrow().promptTokens();
        ChatCompletion one = client.chat().completions().create(chat("Tell me a story").build());
        assertEquals(prompt, one.usage().orElseThrow().promptTokens(), "the prompt counts once");
        assertEquals(2 * one.usage().orElseThrow().completionTokens(), greedy.usage().orElseThrow().completionTokens());
    }

    @Test
    void stopStringsAndJsonSchemaResponseFormat() throws Exception {
        ChatCompletion stopped = client.chat().completions().create(chat("Tell me a story").maxCompletionTokens(200L)
                .stop(".").build());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, stopped.choices().getFirst().finishReason());
        String text = stopped.choices().getFirst().message().content().orElseThrow();
        assertTrue(!text.contains(".") && !text.isBlank(), text);

        ResponseFormatJsonSchema.JsonSchema.Schema schema = ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                .putAdditionalProperty("type", JsonValue.from("object"))
                .putAdditionalProperty("properties", JsonValue.from(Map.of("name", Map.of("type", "string", "maxLength", 10),
                        "age", Map.of("type", "integer", "minimum", 1, "maximum", 99))))
                .putAdditionalProperty("required", JsonValue.from(List.of("name", "age")))
                .build();
        ChatCompletion json = client.chat().completions().create(chat("Who is Lily?").maxCompletionTokens(80L)
                .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                        .name("person").schema(schema).build()).build()).build());
        JsonNode person = JSON.readTree(json.choices().getFirst().message().content().orElseThrow());
        assertTrue(person.get("name").isTextual() && person.get("name").asText().length() <= 10, person.toString());
        assertTrue(person.get("age").isInt() && person.get("age").asInt() >= 1 && person.get("age").asInt() <= 99, person.toString());
    }

    @Test
    void aStreamCarriesTheSameTextLogprobsAndUsageAsTheBlockingReply() {
        ChatCompletionCreateParams.Builder request = chat("Tell me a story").logprobs(true).topLogprobs(2L);
        ChatCompletion blocking = client.chat().completions().create(request.build());
        StringBuilder text = new StringBuilder();
        List<String> tokens = new ArrayList<>();
        com.openai.models.completions.CompletionUsage usage = null;
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(request
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                if (chunk.usage().isPresent()) {
                    assertTrue(chunk.choices().isEmpty(), "the usage chunk has no choices");
                    usage = chunk.usage().get();
                }
                for (ChatCompletionChunk.Choice c : chunk.choices()) {
                    c.delta().content().ifPresent(text::append);
                    c.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content).ifPresent(l -> l.forEach(t -> tokens.add(t.token())));
                    if (c.finishReason().isPresent()) {
                        finish = c.finishReason().get().asString();
                    }
                }
            }
        }
        assertEquals(blocking.choices().getFirst().message().content().orElseThrow(), text.toString());
        assertEquals(blocking.choices().getFirst().logprobs().orElseThrow().content().orElseThrow().stream()
                .map(ChatCompletionTokenLogprob::token).toList(), tokens);
        assertEquals(blocking.usage().orElseThrow(), Objects.requireNonNull(usage, "no usage chunk"));
        assertEquals(blocking.choices().getFirst().finishReason().asString(), finish);
    }

    @Test
    void completionsTakePromptArraysChoicesAndLogprobs() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model("stories260K")
                .promptOfArrayOfStrings(List.of("Once upon a time", "The little dog")).n(2L).maxTokens(12L).temperature(0.0)
                .logprobs(2L).build());
        assertEquals(4, c.choices().size());
        for (int i = 0; i < 4; i++) {
            CompletionChoice choice = c.choices().get(i);
            assertEquals(i, choice.index());
            CompletionChoice.Logprobs lp = choice.logprobs().orElseThrow();
            assertEquals(choice.text(), String.join("", lp.tokens().orElseThrow()));
            assertEquals(12, lp.tokenLogprobs().orElseThrow().size());
            assertEquals(12, lp.topLogprobs().orElseThrow().size());
            assertEquals(0L, lp.textOffset().orElseThrow().getFirst());
        }
        assertEquals(c.choices().get(0).text(), c.choices().get(1).text(), "greedy choices of one prompt agree");
        try (Context ctx = generator.newContext(ContextParams.defaults().withContextLength(256).withThreads(1))) {
            String expected = ctx.generate(generator.tokenizer().encode("The little dog"), GenerationParams.defaults().withMaxTokens(12),
                    SamplerChain.greedy(), null).text();
            assertEquals(expected, c.choices().get(2).text(), "choices 2 and 3 belong to the second prompt");
        }
    }

    @Test
    void embeddingsEqualTheLibrarys() {
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model("all-minilm-l6-v2")
                .input("a cat sat on the mat").build());
        List<Float> vector = r.data().getFirst().embedding();
        try (Context ctx = embedder.newContext(ContextParams.defaults().withContextLength(512).withEmbeddings(true).withThreads(1))) {
            Embedding e = ctx.embed("a cat sat on the mat", EmbeddingParams.defaults());
            assertEquals(e.vector().length, vector.size());
            for (int i = 0; i < vector.size(); i++) {
                assertEquals(e.vector()[i], vector.get(i), 1e-5);
            }
        }
    }

    @Test
    void concurrentRequestsShareDecodesAndWriteWhatTheyWriteAlone() throws Exception {
        List<String> prompts = List.of("Once upon a time", "The little dog", "Lily and Tom went to the park", "One day, a big bird");
        long before = server.scheduler().stats().decodes();
        List<CompletableFuture<HttpResponse<String>>> replies = new ArrayList<>();
        for (String p : prompts) {
            replies.add(HTTP.sendAsync(HttpRequest.newBuilder(server.baseUri().resolve("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"prompt\":" + JSON.writeValueAsString(p)
                            + ",\"temperature\":0,\"max_tokens\":64,\"ignore_eos\":true}")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        try (Context ctx = generator.newContext(ContextParams.defaults().withContextLength(256).withThreads(1))) {
            for (int i = 0; i < prompts.size(); i++) {
                HttpResponse<String> r = replies.get(i).get(120, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                ctx.clear();
                String alone = ctx.generate(generator.tokenizer().encode(prompts.get(i)), GenerationParams.defaults()
                        .withMaxTokens(64).withIgnoreEos(true), SamplerChain.greedy(), null).text();
                assertEquals(alone, JSON.readTree(r.body()).at("/choices/0/text").asText(), prompts.get(i));
            }
        }
        // alone: 65 decodes each (the prompt, then one per token), 260 in all; batched: 65 steps, plus the few that
        // ran before the last request arrived (each HTTP request is parsed and tokenized on its own thread)
        long decodes = server.scheduler().stats().decodes() - before;
        assertTrue(decodes >= 65 && decodes < 65 + 40, decodes + " decodes for 4 requests of 64 tokens");
    }

    private static byte[] toBytes(List<Long> values) {
        byte[] out = new byte[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (long) values.get(i);
        }
        return out;
    }
}
