package io.llamaffm.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.llamaffm.server.OpenAiServerIT.JSON;
import static io.llamaffm.server.OpenAiServerIT.events;
import static io.llamaffm.server.OpenAiServerIT.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tool calls through the OpenAI surface on stories260K (no chat template, never trained for tools): the JSON tool
 * format holds its replies to calls of the offered tools with schema-valid arguments.
 */
class ToolCallsServerIT {
    private static final String WEATHER = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
            + "\"description\":\"The forecast for a city\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
            + "{\"enum\":[\"Paris\",\"Rome\",\"Oslo\"]}},\"required\":[\"city\"]}}}";
    private static final String TOOLS = "\"tools\":[" + WEATHER + "]";
    private static final String MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}]";

    @BeforeAll
    static void start() throws Exception {
        OpenAiServerIT.start();
    }

    @AfterAll
    static void stop() {
        OpenAiServerIT.stop();
    }

    private static String request(String extra) {
        return "{\"model\":\"stories260K\"," + MESSAGES + "," + TOOLS + ",\"max_tokens\":120,\"seed\":3" + extra + "}";
    }

    @Test
    void requiredGivesToolCallsWithSchemaValidArguments() throws Exception {
        for (int seed = 0; seed < 10; seed++) {
            OpenAiServerIT.Reply r = post("/v1/chat/completions", request(",\"tool_choice\":\"required\","
                    + "\"parallel_tool_calls\":false,\"seed\":" + (100 + seed)).replace(",\"seed\":3", ""));
            assertEquals(200, r.status(), r.raw());
            JsonNode choice = r.body().at("/choices/0");
            assertEquals("tool_calls", choice.get("finish_reason").asText(), r.raw());
            JsonNode message = choice.get("message");
            assertEquals("assistant", message.get("role").asText());
            assertTrue(message.get("content").isNull(), r.raw());
            JsonNode calls = message.get("tool_calls");
            assertEquals(1, calls.size(), r.raw());
            JsonNode call = calls.get(0);
            assertTrue(call.get("id").asText().startsWith("call_"), r.raw());
            assertEquals("function", call.get("type").asText());
            assertEquals("get_weather", call.at("/function/name").asText());
            JsonNode args = JSON.readTree(call.at("/function/arguments").asText());
            assertEquals(1, args.size(), r.raw());
            assertTrue(List.of("Paris", "Rome", "Oslo").contains(args.get("city").asText()), r.raw());
        }
    }

    @Test
    void aStreamedToolCallComesAsOpenAiSendsIt() throws Exception {
        String body = request(",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},"
                + "\"parallel_tool_calls\":false");
        OpenAiServerIT.Reply whole = post("/v1/chat/completions", body);
        assertEquals(200, whole.status(), whole.raw());
        OpenAiServerIT.Reply r = post("/v1/chat/completions", body.substring(0, body.length() - 1) + ",\"stream\":true}");
        assertEquals(200, r.status(), r.raw());
        List<String> data = events(r.raw());
        List<JsonNode> chunks = new ArrayList<>();
        for (String d : data.subList(0, data.size() - 1)) {
            chunks.add(JSON.readTree(d));
        }
        assertEquals("assistant", chunks.getFirst().at("/choices/0/delta/role").asText());
        JsonNode first = chunks.get(1).at("/choices/0/delta/tool_calls/0");
        assertEquals(0, first.get("index").asInt());
        assertTrue(first.get("id").asText().startsWith("call_"), r.raw());
        assertEquals("function", first.get("type").asText());
        assertEquals("get_weather", first.at("/function/name").asText());
        StringBuilder arguments = new StringBuilder(first.at("/function/arguments").asText());
        for (JsonNode chunk : chunks.subList(2, chunks.size() - 1)) { // the arguments, in fragments as they were generated
            JsonNode fragment = chunk.at("/choices/0/delta/tool_calls/0");
            assertEquals(0, fragment.get("index").asInt(), chunk.toString());
            assertFalse(fragment.has("id"), "the id comes once");
            assertFalse(fragment.get("function").has("name"), "the name comes once");
            arguments.append(fragment.at("/function/arguments").asText());
        }
        assertTrue(chunks.size() > 4, "the arguments come in several chunks: " + r.raw());
        assertEquals(whole.body().at("/choices/0/message/tool_calls/0/function/arguments").asText(), arguments.toString(),
                "the same seed, the same arguments");
        assertEquals("tool_calls", chunks.getLast().at("/choices/0/finish_reason").asText(), r.raw());
    }

    @Test
    void theResultOfACallGoesBackAsAToolMessage() throws Exception {
        String history = "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},{\"role\":\"assistant\","
                + "\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
                + "\"content\":\"sunny\"}]";
        OpenAiServerIT.Reply r = post("/v1/chat/completions", "{\"model\":\"stories260K\"," + history + "," + TOOLS
                + ",\"tool_choice\":\"none\",\"max_tokens\":8,\"temperature\":0}");
        assertEquals(200, r.status(), r.raw());
        assertFalse(r.body().at("/choices/0/message").has("tool_calls"), r.raw());
        assertTrue(r.body().at("/choices/0/message/content").isTextual(), r.raw());
        OpenAiServerIT.Reply auto = post("/v1/chat/completions", "{\"model\":\"stories260K\"," + history + "," + TOOLS
                + ",\"max_tokens\":120,\"seed\":5}");
        assertEquals(200, auto.status(), auto.raw());
        String finish = auto.body().at("/choices/0/finish_reason").asText();
        assertTrue(List.of("tool_calls", "stop", "length").contains(finish), auto.raw());
    }

    @Test
    void badToolRequestsGetOpenAiErrors() throws Exception {
        record Bad(String body, String param) {}
        String unknownId = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\",\"tool_call_id\":\"call_9\","
                + "\"content\":\"y\"}]";
        List<Bad> bad = List.of(
                new Bad("{\"model\":\"stories260K\"," + unknownId + "}", "messages[1].tool_call_id"),
                new Bad(request(",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}"), "tools"),
                new Bad(request(",\"tool_choice\":\"sometimes\""), "tool_choice"),
                new Bad(request(",\"reasoning_format\":\"hidden\""), "reasoning_format"),
                new Bad(request(",\"response_format\":{\"type\":\"json_object\"}"), "response_format"),
                new Bad("{\"model\":\"stories260K\"," + MESSAGES + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                        + "\"has space\"}}]}", "tools[0].function"),
                new Bad("{\"model\":\"stories260K\"," + MESSAGES + ",\"tools\":[" + WEATHER + "," + WEATHER + "]}", "tools"),
                new Bad("{\"model\":\"stories260K\"," + MESSAGES + ",\"tools\":[{\"type\":\"retrieval\"}]}", "tools[0]"),
                new Bad("{\"model\":\"stories260K\"," + MESSAGES + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
                        + "\"parameters\":{\"$ref\":\"https://example.org/s.json\"}}}],\"tool_choice\":\"required\"}", "tools"));
        for (Bad b : bad) {
            OpenAiServerIT.Reply r = post("/v1/chat/completions", b.body());
            assertEquals(400, r.status(), b.body() + " -> " + r.raw());
            assertEquals("invalid_request_error", r.body().at("/error/type").asText(), r.raw());
            assertEquals(b.param(), r.body().at("/error/param").asText(), b.body() + " -> " + r.raw());
        }
        OpenAiServerIT.Reply completions = post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\"," + TOOLS + "}");
        assertEquals(400, completions.status(), completions.raw());
        assertEquals("tools", completions.body().at("/error/param").asText());
    }
}
