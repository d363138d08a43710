package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.llamaffm.Model;
import io.llamaffm.grammar.HostileGrammars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import static io.llamaffm.server.OpenAiServerIT.JSON;
import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static io.llamaffm.server.OpenAiServerIT.chatRequest;
import static io.llamaffm.server.OpenAiServerIT.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile JSON schemas over HTTP ({@link HostileGrammars}): as a {@code response_format} and as a tool's
 * {@code parameters}, each gets a 400 in OpenAI's error shape, naming the parameter and saying why, within
 * {@value HostileGrammars#MAX_MILLIS} ms measured at the client; the server then answers normal requests with a
 * schema and with a tool as before. (A tool's schema is also shown to the model in the prompt: a huge one is refused
 * as longer than the context, before its grammar is built.)
 */
class HostileSchemaServerIT {
    /** Schemas sent as a response format: nesting through $refs, exponential allOf and anyOf, recursion, sizes, counts. */
    private static final List<String> RESPONSE_FORMATS = List.of("$ref chain of 10000 definitions",
            "definition whose allOf refers to itself", "allOf of $refs doubling 30 times", "anyOf of $refs doubling 40 times",
            "mutual $refs through $defs", "enum of 200000 values",
            "8000 property names that become the same rule name", "minLength 2147483647", "maximum of 30 digits",
            "pattern of 1000 repetitions {0,1999}", "pattern with 100000 quantifiers in a row");
    /**
     * Schemas sent as a tool's parameters: without $refs (the JSON tool format nests a tool's schema in the reply's)
     * and short, as the chat prompt shows the model its tools' schemas: a long one exceeds the context first.
     */
    private static final List<String> TOOL_PARAMETERS = List.of("minItems 1000000", "minLength 2147483647",
            "pattern a{5000}", "pattern ((a{1000}){1000}){5000}", "maximum of 30 digits", "pattern {5,2}",
            "pattern with an unclosed group");
    private static final String WEATHER_SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":"
            + "{\"enum\":[\"Paris\",\"Rome\",\"Oslo\"]}},\"required\":[\"city\"]}";

    static Model model;
    static OpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        Path file = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(file), "../shared/models/stories260K.gguf is absent");
        model = Model.load(file);
        server = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD));
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

    private static final Map<String, HostileGrammars.Case> CASES = HostileGrammars.schemas().stream()
            .collect(Collectors.toMap(HostileGrammars.Case::name, Function.identity()));

    private static String responseFormat(String schema) {
        return chatRequest(64, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":"
                + schema + "}}");
    }

    private static String tool(String parameters) {
        return chatRequest(48, ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
                + "\"the weather\",\"parameters\":" + parameters + "}}],\"tool_choice\":\"required\"");
    }

    @Test
    void hostileResponseFormatsAndToolSchemasGetA400QuicklyAndTheServerGoesOn() throws Exception {
        // warm: the first requests load classes; the bound is for refusing, not for starting
        assertEquals(200, post(server, "/v1/chat/completions", responseFormat(WEATHER_SCHEMA)).status());
        assertEquals(400, post(server, "/v1/chat/completions", responseFormat(CASES.get("minItems 1000000").text().get())).status());
        assertEquals(400, post(server, "/v1/chat/completions", responseFormat(CASES.get("schema of 3 MB").text().get())).status());
        for (String name : RESPONSE_FORMATS) {
            refused(name, responseFormat(CASES.get(name).text().get()), "response_format.json_schema.schema");
        }
        for (String name : TOOL_PARAMETERS) {
            refused(name, tool(CASES.get(name).text().get()), "tools");
        }
        // a long hostile tool schema is refused by the prompt it makes: 400 too
        long start = System.nanoTime();
        OpenAiServerIT.Reply tooLong = post(server, "/v1/chat/completions", tool(CASES.get("30000 optional properties").text().get()));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(400, tooLong.status(), abbreviated(tooLong.raw()));
        assertEquals("context_length_exceeded", tooLong.body().at("/error/code").asText());
        assertTrue(millis <= 5 * HostileGrammars.MAX_MILLIS, "a 30000-property tool took " + millis + " ms");
        // normal requests after them: a schema holds the reply, a tool is called
        String schema = "{\"type\":\"object\",\"properties\":{\"mood\":{\"enum\":[\"happy\",\"sad\"]}},\"required\":[\"mood\"],"
                + "\"additionalProperties\":false}";
        OpenAiServerIT.Reply ok = post(server, "/v1/chat/completions", responseFormat(schema));
        assertEquals(200, ok.status(), ok.raw());
        JsonNode mood = JSON.readTree(ok.body().at("/choices/0/message/content").asText());
        assertTrue(Set.of("happy", "sad").contains(mood.get("mood").asText()), ok.raw());
        OpenAiServerIT.Reply call = post(server, "/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":"
                + "\"user\",\"content\":\"Weather in Oslo?\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                + "\"get_weather\",\"parameters\":" + WEATHER_SCHEMA + "}}],\"tool_choice\":\"required\",\"parallel_tool_calls\":false,"
                + "\"max_tokens\":120,\"seed\":100}");
        assertEquals(200, call.status(), call.raw());
        assertEquals("tool_calls", call.body().at("/choices/0/finish_reason").asText(), call.raw());
        JsonNode arguments = JSON.readTree(call.body().at("/choices/0/message/tool_calls/0/function/arguments").asText());
        assertTrue(Set.of("Paris", "Rome", "Oslo").contains(arguments.get("city").asText()), call.raw());
    }

    private static void refused(String name, String body, String param) throws Exception {
        HostileGrammars.Case c = CASES.get(name);
        long start = System.nanoTime();
        OpenAiServerIT.Reply r = post(server, "/v1/chat/completions", body);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(400, r.status(), name + ": " + abbreviated(r.raw()));
        JsonNode error = r.body().get("error");
        assertEquals(Set.of("message", "type", "param", "code"), Set.copyOf(iterable(error.fieldNames())), name);
        assertEquals("invalid_request_error", error.get("type").asText(), name);
        assertEquals("invalid_value", error.get("code").asText(), name);
        assertEquals(param, error.get("param").asText(), name);
        String message = error.get("message").asText();
        assertTrue(message.startsWith("Invalid value for '" + param + "': "), name + ": " + message);
        assertTrue(message.contains(c.fragment()), name + ": '" + c.fragment() + "' not in " + message);
        assertTrue(millis <= HostileGrammars.MAX_MILLIS, name + " took " + millis + " ms");
        System.out.println(param + ": " + name + ": 400 in " + millis + " ms");
    }

    private static List<String> iterable(java.util.Iterator<String> names) {
        List<String> out = new java.util.ArrayList<>();
        names.forEachRemaining(out::add);
        return out;
    }

    private static String abbreviated(String s) {
        return s.length() <= 500 ? s : s.substring(0, 500) + "...";
    }
}
