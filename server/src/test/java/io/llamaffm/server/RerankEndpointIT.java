package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.llamaffm.Context;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.gguf.GgmlType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /v1/rerank} with the reranker of java-api's RerankIT (all-MiniLM-L6-v2 with a seeded classification head and
 * rank pooling), served beside stories260K; scores are compared with {@link Context#rank} on the same settings.
 */
class RerankEndpointIT {
    static final String QUERY = "How many people live in Berlin?";
    static final List<String> DOCS = List.of("Berlin has a population of 3,520,031 registered inhabitants.",
            "New York City is famous for the Metropolitan Museum of Art.", "Berlin is the capital of Germany.",
            "I like turtles.");

    @TempDir
    static Path dir;
    static Model generator;
    static Model ranker;
    static Path base;
    static OpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        Path stories = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(stories), "../shared/models/stories260K.gguf is absent");
        base = MiniLmFixture.gguf(dir, GgmlType.F32);
        Path reranker = MiniLmFixture.RankHead.seeded(7).writeReranker(base, dir.resolve("minilm-rank.gguf"));
        generator = Model.load(stories);
        ranker = Model.load(reranker);
        server = OpenAiServer.start(generator, null, ranker, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        for (Model m : new Model[] {ranker, generator}) {
            if (m != null) {
                m.close();
            }
        }
    }

    /** The library's scores on a context made as the server makes its rerank contexts. */
    static float[] viaApi(String query, List<String> docs) {
        try (Context ctx = ranker.newContext(ONE_THREAD.withContextLength(512).withBatchSize(512).withMicroBatchSize(512)
                .withSequences(8).withEmbeddings(true))) {
            return ctx.rank(query, docs, EmbeddingParams.defaults());
        }
    }

    /** Tokens of {@code [CLS] query [SEP] document [SEP]}. */
    static int pairTokens(String query, String doc) {
        int[] d = ranker.tokenizer().encode(doc, true, false);
        return ranker.tokenizer().encode(query, true, false).length + d.length - 1;
    }

    static String body(String docs, String extra) {
        return "{\"query\":\"" + QUERY + "\",\"documents\":" + docs + extra + "}";
    }

    static String docsJson() {
        return OpenAiServerIT.JSON.valueToTree(DOCS).toString();
    }

    @Test
    void resultsAreTheLibrarysScoresBestFirstWithUsage() throws Exception {
        float[] api = viaApi(QUERY, DOCS);
        Integer[] order = IntStream.range(0, DOCS.size()).boxed().sorted(Comparator.comparingDouble(i -> -api[i]))
                .toArray(Integer[]::new);
        OpenAiServerIT.Reply r = post(server, "/v1/rerank", body(docsJson(), ",\"model\":\"minilm-rank\""));
        assertEquals(200, r.status(), r.raw());
        JsonNode b = r.body();
        assertEquals("minilm-rank", b.get("model").asText());
        assertEquals("list", b.get("object").asText());
        int tokens = DOCS.stream().mapToInt(d -> pairTokens(QUERY, d)).sum();
        assertEquals(tokens, b.at("/usage/prompt_tokens").asInt());
        assertEquals(tokens, b.at("/usage/total_tokens").asInt());
        JsonNode results = b.get("results");
        assertEquals(4, results.size());
        for (int i = 0; i < 4; i++) {
            JsonNode item = results.get(i);
            assertEquals(order[i], item.get("index").asInt(), r.raw());
            assertEquals(api[order[i]], item.get("relevance_score").floatValue(), 1e-5f, r.raw());
            assertEquals(List.of("index", "relevance_score"), List.copyOf(iterable(item.fieldNames())), "no document unless asked");
        }
        for (int i = 1; i < 4; i++) {
            assertTrue(results.get(i - 1).get("relevance_score").floatValue() >= results.get(i).get("relevance_score").floatValue());
        }
        assertEquals(Arrays.stream(order).toList(), List.of(results.get(0).get("index").asInt(), results.get(1).get("index").asInt(),
                results.get(2).get("index").asInt(), results.get(3).get("index").asInt()));
        OpenAiServerIT.Reply noModel = post(server, "/v1/rerank", body(docsJson(), ""));
        assertEquals(b, noModel.body(), "the model field is optional");
    }

    @Test
    void topNCutsReturnDocumentsAddsTheTextAndObjectsWithTextAreDocuments() throws Exception {
        float[] api = viaApi(QUERY, DOCS);
        int best = IntStream.range(0, 4).boxed().max(Comparator.comparingDouble(i -> api[i])).orElseThrow();
        int second = IntStream.range(0, 4).boxed().filter(i -> i != best).max(Comparator.comparingDouble(i -> api[i])).orElseThrow();
        String mixed = "[{\"text\":\"" + DOCS.get(0) + "\"},\"" + DOCS.get(1) + "\",{\"text\":\"" + DOCS.get(2) + "\",\"title\":\"x\"},\""
                + DOCS.get(3) + "\"]";
        OpenAiServerIT.Reply r = post(server, "/v1/rerank", body(mixed, ",\"top_n\":2,\"return_documents\":true"));
        assertEquals(200, r.status(), r.raw());
        JsonNode results = r.body().get("results");
        assertEquals(2, results.size(), r.raw());
        assertEquals(best, results.get(0).get("index").asInt());
        assertEquals(DOCS.get(best), results.get(0).at("/document/text").asText());
        assertEquals(second, results.get(1).get("index").asInt());
        assertEquals(DOCS.get(second), results.get(1).at("/document/text").asText());
        assertEquals(api[best], results.get(0).get("relevance_score").floatValue(), 1e-5f);
        int tokens = DOCS.stream().mapToInt(d -> pairTokens(QUERY, d)).sum();
        assertEquals(tokens, r.body().at("/usage/prompt_tokens").asInt(), "every document is scored, whatever top_n");
        OpenAiServerIT.Reply all = post(server, "/v1/rerank", body(docsJson(), ",\"top_n\":99"));
        assertEquals(4, all.body().get("results").size(), "top_n beyond the documents keeps them all");
        OpenAiServerIT.Reply one = post(server, "/v1/rerank", "{\"query\":\"turtles\",\"documents\":[\"I like turtles.\"]}");
        assertEquals(viaApi("turtles", List.of("I like turtles."))[0], one.body().at("/results/0/relevance_score").floatValue(), 1e-5f);
    }

    @Test
    void llamaServersOtherRoutesAnswerTheSame() throws Exception {
        JsonNode expected = post(server, "/v1/rerank", body(docsJson(), "")).body();
        for (String path : List.of("/rerank", "/v1/reranking", "/reranking")) {
            OpenAiServerIT.Reply r = post(server, path, body(docsJson(), ""));
            assertEquals(200, r.status(), path + " " + r.raw());
            assertEquals(expected, r.body(), path);
        }
        OpenAiServerIT.Reply get = OpenAiServerIT.send(HttpRequest.newBuilder(server.baseUri().resolve("/v1/rerank")).GET());
        assertEquals(405, get.status());
        assertEquals("POST", get.response().headers().firstValue("Allow").orElseThrow());
    }

    @Test
    void badRerankRequestsNameTheParameter() throws Exception {
        String longDoc = "word ".repeat(600);
        String[][] cases = {
                {"{\"documents\":[\"a\"]}", "400", "missing_required_parameter", "query"},
                {"{\"query\":5,\"documents\":[\"a\"]}", "400", "invalid_type", "query"},
                {"{\"query\":\"\",\"documents\":[\"a\"]}", "400", "invalid_value", "query"},
                {"{\"query\":\"q\"}", "400", "missing_required_parameter", "documents"},
                {"{\"query\":\"q\",\"documents\":null}", "400", "missing_required_parameter", "documents"},
                {"{\"query\":\"q\",\"documents\":\"a\"}", "400", "invalid_type", "documents"},
                {"{\"query\":\"q\",\"documents\":[]}", "400", "missing_required_parameter", "documents"},
                {"{\"query\":\"q\",\"documents\":[\"a\",1]}", "400", "invalid_type", "documents[1]"},
                {"{\"query\":\"q\",\"documents\":[[\"a\"]]}", "400", "invalid_type", "documents[0]"},
                {"{\"query\":\"q\",\"documents\":[{\"txt\":\"a\"}]}", "400", "missing_required_parameter", "documents[0].text"},
                {"{\"query\":\"q\",\"documents\":[{\"text\":5}]}", "400", "invalid_type", "documents[0].text"},
                {"{\"query\":\"q\",\"documents\":[\"a\",\"\"]}", "400", "invalid_value", "documents[1]"},
                {"{\"query\":\"q\",\"documents\":[\"a\",\"" + longDoc + "\"]}", "400", "invalid_value", "documents[1]"},
                {"{\"query\":\"" + longDoc + "\",\"documents\":[\"a\"]}", "400", "invalid_value", "query"},
                {"{\"query\":\"q\",\"documents\":[\"\\ud800\"]}", "400", "invalid_value", "documents[0]"},
                {"{\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":0}", "400", "invalid_value", "top_n"},
                {"{\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":\"2\"}", "400", "invalid_type", "top_n"},
                {"{\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":99999999999}", "400", "invalid_value", "top_n"},
                {"{\"query\":\"q\",\"documents\":[\"a\"],\"return_documents\":\"yes\"}", "400", "invalid_type", "return_documents"},
                {"{\"query\":\"q\",\"documents\":[\"a\"],\"model\":\"stories260K\"}", "400", "model_not_supported", "model"},
                {"{\"query\":\"q\",\"documents\":[\"a\"],\"model\":\"bge-reranker\"}", "404", "model_not_found", "model"},
                {"{\"query\":\"q\",", "400", "invalid_json", null}};
        for (String[] c : cases) {
            OpenAiServerIT.Reply r = post(server, "/v1/rerank", c[0]);
            String what = c[0].substring(0, Math.min(100, c[0].length())) + " -> " + r.raw();
            assertEquals(Integer.parseInt(c[1]), r.status(), what);
            assertEquals(c[2], r.body().at("/error/code").asText(), what);
            assertEquals(c[3], r.body().at("/error/param").isNull() ? null : r.body().at("/error/param").asText(), what);
            assertEquals("invalid_request_error", r.body().at("/error/type").asText(), what);
        }
        OpenAiServerIT.Reply tooLong = post(server, "/v1/rerank", "{\"query\":\"q\",\"documents\":[\"" + longDoc + "\"]}");
        assertTrue(tooLong.body().at("/error/message").asText().contains("a pair may have at most 512"), tooLong.raw());
        OpenAiServerIT.Reply chat = post(server, "/v1/chat/completions",
                "{\"model\":\"minilm-rank\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals("The model 'minilm-rank' ranks documents only: use /v1/rerank, or 'stories260K' for completions.",
                chat.body().at("/error/message").asText(), chat.raw());
        JsonNode models = OpenAiServerIT.send(HttpRequest.newBuilder(server.baseUri().resolve("/v1/models"))).body();
        assertEquals("minilm-rank", models.at("/data/1/id").asText(), models.toString());
        assertEquals(200, post(server, "/v1/rerank", body(docsJson(), "")).status(), "still serving");
    }

    @Test
    void withoutARerankModelTheRoutesAnswer404AndAModelThatCannotRankIsRefusedAtStart() throws Exception {
        try (OpenAiServer plain = OpenAiServer.start(generator, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD))) {
            OpenAiServerIT.Reply r = post(plain, "/v1/rerank", body(docsJson(), ""));
            assertEquals(404, r.status(), r.raw());
            assertEquals("{\"error\":{\"message\":\"This server has no rerank model: start it with --rerank-model FILE (a GGUF "
                    + "model with rank pooling, such as a converted bge-reranker).\",\"type\":\"invalid_request_error\","
                    + "\"param\":null,\"code\":\"rerank_not_enabled\"}}", r.raw());
        }
        try (Model meanPooled = Model.load(base)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OpenAiServer.start(generator, null,
                    meanPooled, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD)));
            assertTrue(e.getMessage().startsWith("the rerank model minilm-f32 cannot rank documents ("), e.getMessage());
        }
        assertFalse(generator.isClosed());
        assertNotEquals(0, server.contextLength(), "the shared server is unaffected");
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
