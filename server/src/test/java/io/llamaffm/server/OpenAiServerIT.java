package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.chat.ChatMessage;
import io.llamaffm.chat.PlainChatFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI-compatible server on stories260K, started in this JVM on an ephemeral port and called with the JDK's
 * HTTP client. Greedy answers are compared with what the library's Context API gives for the same prompt.
 */
class OpenAiServerIT {
    static final String GREEDY_16 = ", there was a little girl named Lily. She loved to play";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    static final ContextParams ONE_THREAD = ContextParams.defaults().withContextLength(512).withThreads(1);

    static Model model;
    static OpenAiServer server;

    record Reply(int status, JsonNode body, String raw, HttpResponse<String> response) {}

    @BeforeAll
    static void start() throws Exception {
        Path file = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(file), "../shared/models/stories260K.gguf is absent");
        model = Model.load(file);
        server = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withParallel(2)
                .withContext(ONE_THREAD.withContextLength(1024))); // 512 tokens per slot
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (model != null) {
            model.close();
        }
    }

    static Reply post(OpenAiServer s, String path, String body) throws Exception {
        return send(HttpRequest.newBuilder(s.baseUri().resolve(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json"));
    }

    static Reply post(String path, String body) throws Exception {
        return post(server, path, body);
    }

    static Reply get(String path) throws Exception {
        return send(HttpRequest.newBuilder(server.baseUri().resolve(path)).GET());
    }

    static Reply send(HttpRequest.Builder request) throws Exception {
        HttpResponse<String> r = HTTP.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        boolean json = r.headers().firstValue("Content-Type").orElse("").startsWith("application/json");
        JsonNode body = !json || r.body().isEmpty() ? null : JSON.readTree(r.body());
        return new Reply(r.statusCode(), body, r.body(), r);
    }

    /** What the library gives for the same prompt, greedily. */
    static Completion viaApi(int[] prompt, GenerationParams params, SamplerChain chain) {
        try (Context ctx = model.newContext(ONE_THREAD)) {
            return ctx.generate(prompt, params, chain, null);
        }
    }

    static String chatRequest(int maxTokens, String extra) {
        return "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"system\",\"content\":\"You tell stories.\"},"
                + "{\"role\":\"user\",\"content\":\"Tell me about a dog\"}],\"temperature\":0,\"max_tokens\":" + maxTokens
                + extra + "}";
    }

    /** The plain-format prompt of {@link #chatRequest}, as the server renders it. */
    static int[] chatPrompt() {
        String rendered = new PlainChatFormat().render(List.of(ChatMessage.system("You tell stories."),
                ChatMessage.user("Tell me about a dog")));
        assertEquals("You tell stories.\n\nUser: Tell me about a dog\nAssistant:", rendered);
        return model.tokenizer().encode(rendered, true, false);
    }

    /** The data of each server-sent event, checking the framing: {@code data: ...} lines, each followed by a blank line. */
    static List<String> events(String raw) {
        assertTrue(raw.endsWith("data: [DONE]\n\n"), raw);
        List<String> data = new ArrayList<>();
        String[] blocks = raw.split("\n\n", -1);
        assertEquals("", blocks[blocks.length - 1]);
        for (int i = 0; i < blocks.length - 1; i++) {
            assertTrue(blocks[i].startsWith("data: ") && !blocks[i].contains("\n"), () -> "bad event framing: " + raw);
            data.add(blocks[i].substring("data: ".length()));
        }
        return data;
    }

    @Test
    void listsAndDescribesTheModel() throws Exception {
        Reply list = get("/v1/models");
        assertEquals(200, list.status(), list.raw());
        assertEquals("application/json", list.response().headers().firstValue("Content-Type").orElseThrow());
        assertEquals("list", list.body().get("object").asText());
        assertEquals(1, list.body().get("data").size());
        JsonNode card = list.body().get("data").get(0);
        assertEquals("stories260K", card.get("id").asText());
        assertEquals("model", card.get("object").asText());
        assertEquals("llama-ffm", card.get("owned_by").asText());
        assertTrue(Math.abs(card.get("created").asLong() - System.currentTimeMillis() / 1000) < 600, list.raw());
        Reply one = get("/v1/models/stories260K");
        assertEquals(card, one.body());
        Reply missing = get("/v1/models/gpt-4");
        assertEquals(404, missing.status());
        assertEquals("model_not_found", missing.body().at("/error/code").asText());
        assertEquals("{\"status\":\"ok\"}", get("/health").raw());
    }

    @Test
    void aGreedyCompletionIsTheLibrarysTextWithUsageAndFinishReason() throws Exception {
        Reply r = post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0}");
        assertEquals(200, r.status(), r.raw());
        Completion api = viaApi(model.tokenizer().encode("Once upon a time"), GenerationParams.defaults().withMaxTokens(16),
                SamplerChain.greedy());
        assertEquals(GREEDY_16, api.text());
        JsonNode b = r.body();
        assertEquals(api.text(), b.at("/choices/0/text").asText(), "the default max_tokens is 16, as OpenAI's");
        assertEquals("length", b.at("/choices/0/finish_reason").asText());
        assertEquals(0, b.at("/choices/0/index").asInt());
        assertTrue(b.at("/choices/0/logprobs").isNull());
        assertEquals("text_completion", b.get("object").asText());
        assertEquals("stories260K", b.get("model").asText());
        assertTrue(b.get("id").asText().matches("cmpl-[0-9a-f]{32}"), r.raw());
        assertTrue(Math.abs(b.get("created").asLong() - System.currentTimeMillis() / 1000) < 600, r.raw());
        assertEquals(5, b.at("/usage/prompt_tokens").asInt());
        assertEquals(16, b.at("/usage/completion_tokens").asInt());
        assertEquals(21, b.at("/usage/total_tokens").asInt());
    }

    @Test
    void aPromptArrayGivesOneChoiceEachAndStopStringsEndWithStop() throws Exception {
        Reply r = post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":[\"Once upon a time\",\"Lily went\"],"
                + "\"temperature\":0,\"max_tokens\":16,\"stop\":[\"Lily\",\"never\"]}");
        assertEquals(200, r.status(), r.raw());
        GenerationParams params = GenerationParams.defaults().withMaxTokens(16).withStopStrings("Lily", "never");
        Completion first = viaApi(model.tokenizer().encode("Once upon a time"), params, SamplerChain.greedy());
        Completion second = viaApi(model.tokenizer().encode("Lily went"), params, SamplerChain.greedy());
        assertEquals(", there was a little girl named ", first.text());
        assertEquals(2, r.body().get("choices").size());
        assertEquals(first.text(), r.body().at("/choices/0/text").asText());
        assertEquals("stop", r.body().at("/choices/0/finish_reason").asText());
        assertEquals(second.text(), r.body().at("/choices/1/text").asText());
        assertEquals(1, r.body().at("/choices/1/index").asInt());
        assertEquals(first.promptTokens() + second.promptTokens(), r.body().at("/usage/prompt_tokens").asInt());
        assertEquals(first.tokens().length + second.tokens().length, r.body().at("/usage/completion_tokens").asInt());
        Reply single = post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0,"
                + "\"max_tokens\":16,\"stop\":\"Lily\"}");
        assertEquals(first.text(), single.body().at("/choices/0/text").asText(), "stop as one string");
    }

    @Test
    void aGreedyChatReplyIsTheLibrarysTextOfThePlainFormatPrompt() throws Exception {
        Reply r = post("/v1/chat/completions", chatRequest(24, ""));
        assertEquals(200, r.status(), r.raw());
        int[] prompt = chatPrompt();
        Completion api = viaApi(prompt, GenerationParams.defaults().withMaxTokens(24).withStopStrings(PlainChatFormat.STOP),
                SamplerChain.greedy());
        JsonNode b = r.body();
        assertEquals(api.text().stripLeading(), b.at("/choices/0/message/content").asText(), r.raw());
        assertFalse(b.at("/choices/0/message/content").asText().isBlank(), r.raw());
        assertEquals("assistant", b.at("/choices/0/message/role").asText());
        assertEquals(api.stopReason() == Completion.StopReason.MAX_TOKENS ? "length" : "stop",
                b.at("/choices/0/finish_reason").asText());
        assertEquals("chat.completion", b.get("object").asText());
        assertTrue(b.get("id").asText().matches("chatcmpl-[0-9a-f]{32}"), r.raw());
        assertEquals(prompt.length, b.at("/usage/prompt_tokens").asInt());
        assertEquals(api.tokens().length, b.at("/usage/completion_tokens").asInt());
        assertEquals(prompt.length + api.tokens().length, b.at("/usage/total_tokens").asInt());
        // the same request again finds its prompt in the KV cache: all of it but the last token, decoded for its logits
        Reply again = post("/v1/chat/completions", chatRequest(24, ""));
        assertEquals(b.at("/choices/0/message"), again.body().at("/choices/0/message"), again.raw());
        assertEquals(prompt.length - 1, again.body().at("/usage/prompt_tokens_details/cached_tokens").asInt(), again.raw());
        // max_completion_tokens is the newer name of max_tokens; text parts are joined
        Reply parts = post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"developer\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"You tell \"},{\"type\":\"text\",\"text\":\"stories.\"}]},"
                + "{\"role\":\"user\",\"content\":\"Tell me about a dog\"}],\"temperature\":0,\"max_completion_tokens\":24}");
        assertEquals(b.at("/choices/0/message"), parts.body().at("/choices/0/message"), parts.raw());
    }

    @Test
    void aStreamedChatIsRoleThenContentThenFinishThenUsageThenDoneAndAddsUpToTheReply() throws Exception {
        Reply plain = post("/v1/chat/completions", chatRequest(24, ""));
        Reply r = post("/v1/chat/completions", chatRequest(24, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals(200, r.status(), r.raw());
        assertEquals("text/event-stream; charset=utf-8", r.response().headers().firstValue("Content-Type").orElseThrow());
        List<String> data = events(r.raw());
        assertEquals("[DONE]", data.getLast());
        List<JsonNode> chunks = new ArrayList<>();
        for (String d : data.subList(0, data.size() - 1)) {
            chunks.add(JSON.readTree(d));
        }
        String id = chunks.getFirst().get("id").asText();
        assertTrue(id.startsWith("chatcmpl-"), id);
        for (JsonNode c : chunks) {
            assertEquals(id, c.get("id").asText(), "one id for the whole stream");
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertEquals("stories260K", c.get("model").asText());
        }
        JsonNode first = chunks.getFirst().at("/choices/0");
        assertEquals("assistant", first.at("/delta/role").asText());
        assertEquals("", first.at("/delta/content").asText());
        assertTrue(first.get("finish_reason").isNull());
        StringBuilder text = new StringBuilder();
        List<JsonNode> content = chunks.subList(1, chunks.size() - 2);
        assertTrue(content.size() > 1, "the reply comes in several chunks: " + r.raw());
        for (JsonNode c : content) {
            assertTrue(c.at("/choices/0/finish_reason").isNull(), c::toString);
            assertFalse(c.at("/choices/0/delta").has("role"), c::toString);
            text.append(c.at("/choices/0/delta/content").asText());
        }
        assertEquals(plain.body().at("/choices/0/message/content").asText(), text.toString());
        JsonNode finish = chunks.get(chunks.size() - 2).at("/choices/0");
        assertEquals(0, finish.get("delta").size(), "the last choice chunk has an empty delta");
        assertEquals(plain.body().at("/choices/0/finish_reason").asText(), finish.get("finish_reason").asText());
        JsonNode usage = chunks.getLast();
        assertEquals(0, usage.get("choices").size());
        for (String field : List.of("prompt_tokens", "completion_tokens", "total_tokens")) {
            assertEquals(plain.body().at("/usage/" + field), usage.at("/usage/" + field), field);
        }
        // the same prompt as the blocking request just before: all of it but its last token is in the cache
        assertEquals(usage.at("/usage/prompt_tokens").asInt() - 1, usage.at("/usage/prompt_tokens_details/cached_tokens").asInt());
        assertFalse(chunks.get(1).has("usage"), "only the last chunk carries usage");
    }

    @Test
    void aStreamedCompletionAddsUpToTheNonStreamedOne() throws Exception {
        Reply r = post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0,"
                + "\"max_tokens\":16,\"stream\":true}");
        assertEquals(200, r.status(), r.raw());
        List<String> data = events(r.raw());
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(0, data.size() - 2)) {
            JsonNode c = JSON.readTree(d);
            assertEquals("text_completion", c.get("object").asText());
            assertTrue(c.at("/choices/0/finish_reason").isNull());
            text.append(c.at("/choices/0/text").asText());
        }
        assertEquals(GREEDY_16, text.toString());
        JsonNode last = JSON.readTree(data.get(data.size() - 2));
        assertEquals("", last.at("/choices/0/text").asText());
        assertEquals("length", last.at("/choices/0/finish_reason").asText());
        assertFalse(last.has("usage"), "no usage chunk unless stream_options asks");
    }

    @Test
    void aSeedMakesSamplingRepeatable() throws Exception {
        String body = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":1.2,\"top_p\":0.95,"
                + "\"max_tokens\":24,\"seed\":%d}";
        String a = post("/v1/completions", body.formatted(7)).body().at("/choices/0/text").asText();
        String b = post("/v1/completions", body.formatted(7)).body().at("/choices/0/text").asText();
        assertEquals(a, b);
        SamplerChain chain = SamplerChain.of(new SamplerChain.TopP(0.95f, 1), new SamplerChain.Temperature(1.2f),
                new SamplerChain.Dist(7));
        assertEquals(viaApi(model.tokenizer().encode("Once upon a time"), GenerationParams.defaults().withMaxTokens(24), chain)
                .text(), a, "the same chain through the library");
        Set<String> others = new java.util.HashSet<>();
        for (int seed = 1; seed <= 3; seed++) {
            others.add(post("/v1/completions", body.formatted(seed)).body().at("/choices/0/text").asText());
        }
        assertTrue(others.size() > 1, "different seeds give different stories: " + others);
    }

    @Test
    void aJsonSchemaResponseFormatConstrainsTheReplyAsTheLibrarysGrammarDoes() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"mood\":{\"enum\":[\"happy\",\"sad\"]},"
                + "\"age\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":9}},\"required\":[\"mood\",\"age\"],"
                + "\"additionalProperties\":false}";
        Reply r = post("/v1/chat/completions", chatRequest(64, ",\"response_format\":{\"type\":\"json_schema\","
                + "\"json_schema\":{\"name\":\"mood\",\"strict\":true,\"schema\":" + schema + "}}"));
        assertEquals(200, r.status(), r.raw());
        String content = r.body().at("/choices/0/message/content").asText();
        JsonNode json = JSON.readTree(content);
        assertTrue(Set.of("happy", "sad").contains(json.get("mood").asText()), content);
        assertTrue(json.get("age").isInt() && json.get("age").asInt() >= 1 && json.get("age").asInt() <= 9, content);
        assertEquals(Set.of("mood", "age"), Set.copyOf(iterable(json.fieldNames())), content);
        assertEquals("stop", r.body().at("/choices/0/finish_reason").asText());
        Completion api = viaApi(chatPrompt(), GenerationParams.defaults().withMaxTokens(64).withStopStrings(PlainChatFormat.STOP),
                SamplerChain.of(SamplerChain.Grammar.fromJsonSchema(JSON.readTree(schema).toString()), new SamplerChain.Greedy()));
        assertEquals(api.text().stripLeading(), content);

        Reply object = post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0,"
                + "\"max_tokens\":200,\"response_format\":{\"type\":\"json_object\"}}");
        assertEquals(200, object.status(), object.raw());
        String text = object.body().at("/choices/0/text").asText();
        assertTrue(text.startsWith("{"), text);
        if (object.body().at("/choices/0/finish_reason").asText().equals("stop")) {
            assertTrue(JSON.readTree(text).isObject(), text);
        }
        assertEquals(viaApi(model.tokenizer().encode("Once upon a time"), GenerationParams.defaults().withMaxTokens(200),
                SamplerChain.of(SamplerChain.Grammar.fromJsonSchema("{\"type\":\"object\"}"), new SamplerChain.Greedy())).text(), text);
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    record Bad(String method, String path, String body, int status, String code, String param) {}

    @Test
    void badRequestsGetOpenAiErrorBodies() throws Exception {
        String msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        String longPrompt = "\"prompt\":\"" + "a ".repeat(600) + "\"";
        List<Bad> cases = List.of(
                new Bad("POST", "/v1/chat/completions", "{\"model\": \"stories260K\", " + msgs, 400, "invalid_json", null),
                new Bad("POST", "/v1/chat/completions", "", 400, "invalid_json", null),
                new Bad("POST", "/v1/chat/completions", "[1, 2]", 400, "invalid_json", null),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\",\"model\":\"x\"," + msgs + "}", 400, "invalid_json", null),
                new Bad("POST", "/v1/chat/completions", "{" + msgs + "}", 400, "missing_required_parameter", "model"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"}", 400, "missing_required_parameter", "messages"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[]}", 400, "missing_required_parameter", "messages"),
                new Bad("POST", "/v1/completions", "{\"model\":\"stories260K\"}", 400, "missing_required_parameter", "prompt"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"gpt-4o\"," + msgs + "}", 404, "model_not_found", "model"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":7," + msgs + "}", 400, "invalid_type", "model"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":\"hi\"}", 400, "invalid_type", "messages"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
                        400, "invalid_type", "messages[0].content"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
                        400, "invalid_value", "messages[0].role"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"content\":\"x\"}]}",
                        400, "missing_required_parameter", "messages[0].role"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":"
                        + "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}", 400, "invalid_value", "messages[0].content[0]"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"max_tokens\":\"5\"}", 400, "invalid_type", "max_tokens"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"max_tokens\":2.5}", 400, "invalid_type", "max_tokens"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"max_tokens\":0}", 400, "invalid_value", "max_tokens"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"temperature\":\"hot\"}", 400, "invalid_type", "temperature"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"temperature\":2.5}", 400, "invalid_value", "temperature"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"top_p\":-1}", 400, "invalid_value", "top_p"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"stream\":\"yes\"}", 400, "invalid_type", "stream"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"stop\":5}", 400, "invalid_type", "stop"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
                        400, "invalid_value", "stop"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"stop\":[\"\"]}", 400, "invalid_value", "stop"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"n\":3}", 400, "invalid_value", "n"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"seed\":-5}", 400, "invalid_value", "seed"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"logit_bias\":{\"99999\":5}}",
                        400, "invalid_value", "logit_bias"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"top_logprobs\":3}",
                        400, "invalid_value", "top_logprobs"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"logprobs\":true,\"top_logprobs\":21}",
                        400, "invalid_value", "top_logprobs"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"logprobs\":1}",
                        400, "invalid_type", "logprobs"),
                new Bad("POST", "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"a\",\"logprobs\":true}",
                        400, "invalid_type", "logprobs"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"stream_options\":{\"include_usage\":true}}",
                        400, "invalid_value", "stream_options"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"response_format\":{\"type\":\"yaml\"}}",
                        400, "invalid_value", "response_format.type"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"response_format\":{\"type\":\"json_schema\"}}",
                        400, "missing_required_parameter", "response_format.json_schema.schema"),
                new Bad("POST", "/v1/chat/completions", "{\"model\":\"stories260K\"," + msgs + ",\"response_format\":{\"type\":\"json_schema\","
                        + "\"json_schema\":{\"schema\":{\"type\":\"tree\"}}}}", 400, "invalid_value", "response_format.json_schema.schema"),
                new Bad("POST", "/v1/completions", "{\"model\":\"stories260K\"," + longPrompt + "}", 400, "context_length_exceeded", "prompt"),
                new Bad("POST", "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":[\"a\",7]}", 400, "invalid_type", "prompt[1]"),
                new Bad("POST", "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"\\ud800\"}", 400, "invalid_value", "prompt"),
                new Bad("POST", "/v1/embeddings", "{\"model\":\"stories260K\",\"input\":\"x\"}", 400, "model_not_supported", "model"),
                new Bad("GET", "/v1/chat/completions", null, 405, "method_not_allowed", null),
                new Bad("DELETE", "/v1/models", null, 405, "method_not_allowed", null),
                new Bad("GET", "/v1/engines", null, 404, "unknown_url", null),
                new Bad("POST", "/v2/chat/completions", "{}", 404, "unknown_url", null));
        for (Bad c : cases) {
            HttpRequest.Builder req = HttpRequest.newBuilder(server.baseUri().resolve(c.path())).method(c.method(),
                    c.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(c.body()));
            Reply r = send(req);
            String what = c + " -> " + r.status() + " " + r.raw();
            assertEquals(c.status(), r.status(), what);
            JsonNode error = r.body().get("error");
            assertEquals(Set.of("message", "type", "param", "code"), Set.copyOf(iterable(error.fieldNames())), what);
            assertEquals("invalid_request_error", error.get("type").asText(), what);
            assertEquals(c.code(), error.get("code").asText(), what);
            assertEquals(c.param() == null ? null : c.param(), error.get("param").isNull() ? null : error.get("param").asText(), what);
            assertFalse(error.get("message").asText().isBlank(), what);
            if (c.status() == 405) {
                assertTrue(r.response().headers().firstValue("Allow").isPresent(), what);
            }
        }
        Reply overflow = post("/v1/completions", "{\"model\":\"stories260K\"," + longPrompt + "}");
        assertTrue(overflow.body().at("/error/message").asText().startsWith("This model's context holds 512 tokens, but the "
                + "prompt has 602"), overflow.raw());
        assertEquals(200, get("/v1/models").status(), "the server still serves after the errors");
    }

    @Test
    void aBodyOverTheLimitGets413() throws Exception {
        try (OpenAiServer small = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD)
                .withMaxRequestBytes(1024))) {
            Reply tooLarge = post(small, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"" + "x".repeat(2000) + "\"}");
            assertEquals(413, tooLarge.status(), tooLarge.raw());
            assertEquals("request_too_large", tooLarge.body().at("/error/code").asText());
            Reply fits = post(small, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0}");
            assertEquals(GREEDY_16, fits.body().at("/choices/0/text").asText(), fits.raw());
        }
    }

    /** Starts an endless stream on {@code s} and reads its first bytes: the request then holds a slot until closed. */
    static InputStream holdASlot(OpenAiServer s) throws Exception {
        HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(s.baseUri().resolve("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\","
                        + "\"max_tokens\":100000,\"ignore_eos\":true,\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        InputStream in = r.body();
        assertEquals("data: ", new String(in.readNBytes(6), StandardCharsets.UTF_8));
        return in;
    }

    @Test
    void whenEverySlotIsBusyARequestWaitsInTheQueueOrGets503() throws Exception {
        String body = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0}";
        ContextParams endless = ONE_THREAD.withContextLength(32768);
        try (OpenAiServer busy = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(endless)
                .withQueueSize(0))) {
            try (InputStream held = holdASlot(busy)) {
                Reply r = post(busy, "/v1/completions", body);
                assertEquals(503, r.status(), r.raw());
                assertEquals("server_error", r.body().at("/error/type").asText());
                assertEquals("server_busy", r.body().at("/error/code").asText());
                assertEquals(200, send(HttpRequest.newBuilder(busy.baseUri().resolve("/v1/models"))).status(),
                        "listing models needs no slot");
            }
            // the stream's client went away: its slot comes back once the server notices (its next write fails)
            Reply after = null;
            for (int i = 0; i < 100 && (after == null || after.status() == 503); i++) {
                Thread.sleep(50);
                after = post(busy, "/v1/completions", body);
            }
            assertEquals(GREEDY_16, after.body().at("/choices/0/text").asText(), after.raw());
        }
        try (OpenAiServer queued = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(endless)
                .withQueueTimeout(Duration.ofSeconds(60)))) {
            CompletableFuture<HttpResponse<String>> waiting;
            try (InputStream held = holdASlot(queued)) {
                waiting = HTTP.sendAsync(HttpRequest.newBuilder(queued.baseUri().resolve("/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                Thread.sleep(500);
                assertFalse(waiting.isDone(), "the request waits for the held slot");
                assertEquals(1, queued.scheduler().stats().queued());
            }
            HttpResponse<String> r = waiting.get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(GREEDY_16, JSON.readTree(r.body()).at("/choices/0/text").asText());
        }
    }

    @Test
    void concurrentRequestsShareTheModelAndEachGetsTheGreedyText() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> replies = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            replies.add(HTTP.sendAsync(HttpRequest.newBuilder(server.baseUri().resolve("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\","
                            + "\"temperature\":0,\"stream\":" + (i % 2 == 0) + "}")).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < replies.size(); i++) {
            HttpResponse<String> r = replies.get(i).get(120, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            String text;
            if (i % 2 == 0) {
                StringBuilder sb = new StringBuilder();
                List<String> data = events(r.body());
                for (String d : data.subList(0, data.size() - 1)) {
                    sb.append(JSON.readTree(d).at("/choices/0/text").asText());
                }
                text = sb.toString();
            } else {
                text = JSON.readTree(r.body()).at("/choices/0/text").asText();
            }
            assertEquals(GREEDY_16, text, "request " + i);
        }
    }

    @Test
    void aClientThatLeavesMidStreamGivesItsContextBack() throws Exception {
        // 32768 tokens past end-of-story would keep the only context for much longer than the queue timeout
        try (OpenAiServer one = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0)
                .withContext(ONE_THREAD.withContextLength(32768)).withQueueTimeout(Duration.ofSeconds(10)))) {
            HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(one.baseUri().resolve("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\","
                            + "\"max_tokens\":100000,\"ignore_eos\":true,\"stream\":true}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                byte[] first = in.readNBytes(6);
                assertEquals("data: ", new String(first, StandardCharsets.UTF_8));
            }
            // the only context comes back once the server notices; the next request gets it
            Reply next = post(one, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"temperature\":0}");
            assertEquals(200, next.status(), next.raw());
            assertEquals(GREEDY_16, next.body().at("/choices/0/text").asText());
        }
    }

    @Test
    void closingTheServerFreesThePortAndLeavesTheModelOpen() throws Exception {
        OpenAiServer s = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD));
        URI base = s.baseUri();
        assertEquals("127.0.0.1", base.getHost(), "loopback by default");
        s.close();
        s.close(); // idempotent
        assertThrowsConnect(base);
        assertFalse(model.isClosed());
    }

    private static void assertThrowsConnect(URI base) {
        try {
            HTTP.send(HttpRequest.newBuilder(base.resolve("/v1/models")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            return;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("the closed server still answered");
    }
}
