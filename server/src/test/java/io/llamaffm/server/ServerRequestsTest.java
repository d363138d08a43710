package io.llamaffm.server;

import io.llamaffm.ContextParams;
import io.llamaffm.SamplerChain;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server's request binding, sampler recipes and model naming, without natives or a model. */
class ServerRequestsTest {
    static Requests.Generation generation(String json) {
        return ApiJson.bind(ApiJson.parseTree(json.getBytes(StandardCharsets.UTF_8)), Requests.Generation.class);
    }

    static ApiException refused(String json) {
        return assertThrows(ApiException.class, () -> generation(json));
    }

    @Test
    void snakeCaseFieldsBindAndSingleValuesBecomeLists() {
        Requests.Generation r = generation("{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":5,\"max_completion_tokens\":6,"
                + "\"top_p\":0.5,\"stop\":\"x\",\"seed\":42,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"n\",\"schema\":{\"type\":\"object\"}}},"
                + "\"logit_bias\":{\"13\":-100},\"unknown_field\":[1,2,3]}");
        assertEquals("m", r.model());
        assertEquals(List.of("hi"), r.prompt());
        assertEquals(5, r.maxTokens());
        assertEquals(6, r.maxCompletionTokens());
        assertEquals(0.5, r.topP());
        assertEquals(List.of("x"), r.stop());
        assertEquals(42L, r.seed());
        assertEquals(true, r.streamOptions().includeUsage());
        assertEquals("object", r.responseFormat().jsonSchema().schema().get("type").asText());
        assertEquals(Map.of("13", -100.0), r.logitBias());
        assertNull(r.temperature(), "absent fields are null");
        assertEquals(List.of("a", "b"), generation("{\"prompt\":[\"a\",\"b\"],\"temperature\":null}").prompt());
    }

    @Test
    void typesAreStrictAndErrorsNameTheField() {
        for (String[] c : new String[][] {
                {"{\"max_tokens\":\"5\"}", "max_tokens", "an integer"},
                {"{\"max_tokens\":5.5}", "max_tokens", "an integer"},
                {"{\"model\":5}", "model", "a string"},
                {"{\"model\":true}", "model", "a string"},
                {"{\"stream\":1}", "stream", "a boolean"},
                {"{\"temperature\":\"0.5\"}", "temperature", "a number"},
                {"{\"messages\":{}}", "messages", "an array"},
                {"{\"messages\":[{\"role\":7}]}", "messages[0].role", "a string"},
                {"{\"prompt\":[\"a\",[1]]}", "prompt[1]", "a string"},
                {"{\"stop\":5}", "stop", "a string or an array of them"},
                {"{\"stream_options\":true}", "stream_options", "an object"}}) {
            ApiException e = refused(c[0]);
            assertEquals(400, e.status(), c[0]);
            assertEquals(c[1], e.body().error().param(), c[0]);
            assertEquals("invalid_type", e.body().error().code(), c[0]);
            assertEquals("Invalid type for '" + c[1] + "': expected " + c[2] + ".", e.getMessage(), c[0]);
        }
    }

    @Test
    void malformedBodiesAreInvalidJson() {
        for (String body : List.of("", "   ", "{", "{\"a\":1,\"a\":2}", "{} {}", "[]", "\"text\"", "nul")) {
            ApiException e = refused(body);
            assertEquals(400, e.status(), body);
            assertEquals("invalid_json", e.body().error().code(), body);
            assertNull(e.body().error().param(), body);
            assertEquals("invalid_request_error", e.body().error().type(), body);
        }
    }

    @Test
    void samplingFollowsOpenAisMeaningOfEachField() {
        assertEquals(SamplerChain.greedy(), RequestSampling.chain(generation("{\"temperature\":0}"), 512, 4096));
        assertEquals(SamplerChain.of(new SamplerChain.Temperature(1), new SamplerChain.Dist(-1)),
                RequestSampling.chain(generation("{}"), 512, 4096), "OpenAI's defaults: temperature 1, top_p 1, random seed");
        assertEquals(SamplerChain.of(new SamplerChain.LogitBias(Map.of(13, -100f)), new SamplerChain.Penalties(4096, 1, 0.5f, 0),
                        new SamplerChain.TopK(40), new SamplerChain.TopP(0.9f, 1), new SamplerChain.MinP(0.05f, 1),
                        new SamplerChain.Temperature(0.7f), new SamplerChain.Dist(7)),
                RequestSampling.chain(generation("{\"temperature\":0.7,\"top_p\":0.9,\"top_k\":40,\"min_p\":0.05,\"seed\":7,"
                        + "\"frequency_penalty\":0.5,\"logit_bias\":{\"13\":-100}}"), 512, 4096));
        SamplerChain json = RequestSampling.chain(generation("{\"temperature\":0,\"response_format\":{\"type\":\"json_object\"}}"), 512, 4096);
        assertEquals(2, json.stages().size());
        assertTrue(json.stages().getFirst() instanceof SamplerChain.Grammar g && g.gbnf().contains("root"), json::toString);
        assertEquals(SamplerChain.greedy(), RequestSampling.chain(generation("{\"temperature\":0,\"response_format\":{\"type\":\"text\"}}"),
                512, 4096));
        assertEquals(new SamplerChain.Dist((int) 4294967294L),
                RequestSampling.chain(generation("{\"seed\":4294967294}"), 512, 4096).stages().getLast());
    }

    @Test
    void outOfRangeSamplingValuesAreRefused() {
        for (String[] c : new String[][] {
                {"{\"temperature\":-0.1}", "temperature"}, {"{\"temperature\":2.01}", "temperature"},
                {"{\"top_p\":1.5}", "top_p"}, {"{\"top_k\":-1}", "top_k"}, {"{\"min_p\":2}", "min_p"},
                {"{\"frequency_penalty\":3}", "frequency_penalty"}, {"{\"presence_penalty\":-2.5}", "presence_penalty"},
                {"{\"seed\":-2}", "seed"}, {"{\"seed\":4294967295}", "seed"},
                {"{\"logit_bias\":{\"x\":1}}", "logit_bias"}, {"{\"logit_bias\":{\"512\":1}}", "logit_bias"},
                {"{\"logit_bias\":{\"5\":101}}", "logit_bias"},
                {"{\"response_format\":{\"type\":\"xml\"}}", "response_format.type"},
                {"{\"response_format\":{}}", "response_format.type"},
                {"{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":[1]}}}", "response_format.json_schema.schema"}}) {
            ApiException e = assertThrows(ApiException.class, () -> RequestSampling.chain(generation(c[0]), 512, 4096), c[0]);
            assertEquals(400, e.status(), c[0]);
            assertEquals(c[1], e.body().error().param(), c[0]);
        }
    }

    @Test
    void modelIdsRouteEachEndpointToItsModel() {
        ModelIds ids = new ModelIds("stories260K", "minilm");
        ids.requireGeneration("stories260K");
        ids.requireEmbedding("minilm");
        assertEquals(List.of("stories260K", "minilm"), ids.all());
        assertEquals("model_not_supported", assertThrows(ApiException.class, () -> ids.requireGeneration("minilm")).body().error().code());
        assertEquals("model_not_supported", assertThrows(ApiException.class, () -> ids.requireEmbedding("stories260K")).body().error().code());
        ApiException unknown = assertThrows(ApiException.class, () -> ids.requireGeneration("gpt-4o"));
        assertEquals(404, unknown.status());
        assertEquals("model_not_found", unknown.body().error().code());
        assertEquals("missing_required_parameter", assertThrows(ApiException.class, () -> ids.requireGeneration(null)).body().error().code());
        ApiException none = assertThrows(ApiException.class, () -> new ModelIds("stories260K", null).requireEmbedding("stories260K"));
        assertTrue(none.getMessage().contains("--embedding-model"), none.getMessage());
    }

    @Test
    void errorBodiesHaveOpenAisShape() {
        String json = ApiJson.write(ApiException.invalidValue("top_p", "too big").body());
        assertEquals("{\"error\":{\"message\":\"Invalid value for 'top_p': too big\",\"type\":\"invalid_request_error\","
                + "\"param\":\"top_p\",\"code\":\"invalid_value\"}}", json);
        assertEquals("{\"error\":{\"message\":\"m\",\"type\":\"server_error\",\"param\":null,\"code\":\"internal_error\"}}",
                ApiJson.write(OpenAiServer.errorFor(new IllegalStateException("m")).body()).replace("The server had an error "
                        + "while processing your request: ", ""));
    }

    @Test
    void serverConfigValidatesItsFields() {
        ServerConfig d = ServerConfig.defaults();
        assertEquals("127.0.0.1", d.host());
        assertEquals(8080, d.port());
        assertEquals(1, d.parallel());
        assertEquals(Duration.ofSeconds(60), d.queueTimeout());
        assertThrows(IllegalArgumentException.class, () -> d.withPort(70000));
        assertThrows(IllegalArgumentException.class, () -> d.withParallel(0));
        assertThrows(IllegalArgumentException.class, () -> d.withQueueTimeout(Duration.ofSeconds(-1)));
        assertThrows(IllegalArgumentException.class, () -> d.withMaxRequestBytes(0));
        assertEquals(Duration.ofSeconds(30), d.requestReadTimeout());
        assertEquals(Duration.ofSeconds(10), d.shutdownTimeout());
        assertThrows(IllegalArgumentException.class, () -> d.withRequestReadTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> d.withApiKey(" "));
        ServerConfig keyed = d.withApiKey("sk-secret-123").withRequestReadTimeout(Duration.ofSeconds(2));
        assertEquals("sk-secret-123", keyed.apiKey());
        assertEquals(Duration.ofSeconds(2), keyed.requestReadTimeout());
        assertEquals("sk-secret-123", keyed.withPort(0).withShutdownTimeout(Duration.ZERO).apiKey(), "withers keep the key");
        assertTrue(keyed.toString().contains("apiKey=(set)"), keyed::toString);
        assertFalse(keyed.toString().contains("sk-secret-123"), "the key is never printed");
    }

    @Test
    void serverMainReadsTheKeyTheTimeoutsAndRefusesBadValues() {
        ServerConfig c = ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--api-key", "sk-1", "--read-timeout", "5",
                "--shutdown-timeout=3", "--queue-size", "2"}));
        assertEquals("sk-1", c.apiKey());
        assertEquals(Duration.ofSeconds(5), c.requestReadTimeout());
        assertEquals(Duration.ofSeconds(3), c.shutdownTimeout());
        assertEquals(2, c.queueSize());
        assertEquals(Duration.ofSeconds(30), ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf"})).requestReadTimeout());
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--read-timeout", "0"})));
        assertEquals("--read-timeout must be at least 1, got 0", zero.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ServerMain.parse(new String[] {"--read-timeout"}));
    }

    @Test
    void serverMainReadsThePollingLevel() {
        assertEquals(ContextParams.DEFAULT_POLLING, ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf"})).context().polling());
        assertEquals(50, ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--poll", "50"})).context().polling());
        IllegalArgumentException high = assertThrows(IllegalArgumentException.class,
                () -> ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--poll=101"})));
        assertEquals("polling must be in 0..100, got 101", high.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--poll", "-1"})));
        assertEquals("--poll must be at least 0, got -1", negative.getMessage());
    }

    @Test
    void serverMainReadsThePromptCacheSize() {
        assertEquals(1L << 30, ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf"})).promptCacheBytes());
        assertEquals(256L << 20, ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--cache-ram", "256"})).promptCacheBytes());
        assertEquals(0, ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--cache-ram=0"})).promptCacheBytes());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> ServerMain.config(ServerMain.parse(new String[] {"-m", "x.gguf", "--cache-ram", "-5"})));
        assertEquals("--cache-ram must be at least 0, got -5", negative.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.defaults().withPromptCacheBytes(-1));
    }

    @Test
    void integersOutOfRangeAreInvalidValuesOfTheirField() {
        for (String[] c : new String[][] {
                {"{\"max_tokens\":99999999999999999999}", "max_tokens", "a 32-bit"},
                {"{\"top_k\":2147483648}", "top_k", "a 32-bit"},
                {"{\"seed\":99999999999999999999999}", "seed", "a 64-bit"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":-99999999999999999999}",
                        "max_completion_tokens", "a 32-bit"}}) {
            ApiException e = refused(c[0]);
            assertEquals(400, e.status(), c[0]);
            assertEquals(c[1], e.body().error().param(), c[0]);
            assertEquals("invalid_value", e.body().error().code(), c[0]);
            assertEquals("Invalid value for '" + c[1] + "': the number is out of range (" + c[2] + " integer is expected).",
                    e.getMessage(), c[0]);
        }
        // a float out of double's range is infinite, which the sampling checks refuse by name
        ApiException hot = assertThrows(ApiException.class, () -> RequestSampling.chain(generation("{\"temperature\":1e400}"), 512, 4096));
        assertEquals("Invalid value for 'temperature': must be between 0 and 2, got Infinity.", hot.getMessage());
        assertEquals("Invalid type for 'max_tokens': expected an integer.", refused("{\"max_tokens\":1e400}").getMessage());
    }

    @Test
    void nestingDeeperThanTheReaderAllowsAndBadUtf8AreInvalidJson() {
        for (byte[] body : new byte[][] {
                "[".repeat(100_000).getBytes(StandardCharsets.UTF_8),
                ("{\"prompt\":" + "[".repeat(100_000)).getBytes(StandardCharsets.UTF_8),
                ("{\"a\":" + "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_001)).getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\u00ffb\"}".getBytes(StandardCharsets.ISO_8859_1), // 0xFF is never UTF-8
                {'{', '"', 'p', '"', ':', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'}, // a UTF-8-encoded surrogate
                {'{', '"', 'p', '"', ':', '"', (byte) 0xC3, '"', '}'}, // a cut two-byte sequence
                "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_16), // with a byte order mark
                "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_16LE),
                "{\"model\":\"m\"}".getBytes(java.nio.charset.Charset.forName("UTF-32BE"))}) {
            ApiException e = assertThrows(ApiException.class, () -> ApiJson.parseTree(body));
            assertEquals(400, e.status());
            assertEquals("invalid_json", e.body().error().code());
            assertNull(e.body().error().param());
            assertTrue(e.getMessage().startsWith("We could not parse the JSON body of your request: "), e.getMessage());
        }
        assertTrue(assertThrows(ApiException.class, () -> ApiJson.parseTree("[".repeat(100_000).getBytes(StandardCharsets.UTF_8)))
                .getMessage().contains("nesting depth"));
    }

    @Test
    void rerankIdsAreSeparateFromTheOthers() {
        ModelIds ids = new ModelIds("stories260K", "minilm", "minilm-rank");
        assertEquals(List.of("stories260K", "minilm", "minilm-rank"), ids.all());
        ids.requireRerank(null); // optional on /v1/rerank
        ids.requireRerank("minilm-rank");
        assertEquals("model_not_supported", assertThrows(ApiException.class, () -> ids.requireRerank("minilm")).body().error().code());
        ApiException gen = assertThrows(ApiException.class, () -> ids.requireGeneration("minilm-rank"));
        assertEquals("The model 'minilm-rank' ranks documents only: use /v1/rerank, or 'stories260K' for completions.", gen.getMessage());
        assertEquals(404, assertThrows(ApiException.class, () -> ids.requireRerank("bge")).status());
        ApiException none = assertThrows(ApiException.class, () -> new ModelIds("stories260K", null).requireRerank("stories260K"));
        assertTrue(none.getMessage().contains("--rerank-model"), none.getMessage());
    }
}
