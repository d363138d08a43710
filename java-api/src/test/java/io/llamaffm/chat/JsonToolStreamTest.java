package io.llamaffm.chat;

import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The streaming reader gives the non-streaming parse for every split of a reply, and never shows the envelope. */
class JsonToolStreamTest {
    private static final Tools TOOLS = Tools.of(Tool.of("get_weather", "", "{\"type\":\"object\"}"), Tool.of("b", "", "{}"));
    private static final List<String> REPLIES = List.of(
            "{ \"tool_calls\" : [ { \"name\" : \"get_weather\", \"arguments\" : { \"city\" : \"Oslo \\\"N\\\"\", \"days\" : [1, 2.5e1], "
                    + "\"deep\" : {\"tool_calls\": [\"x\"], \"name\": \"b\"} } }, {\"arguments\":{},\n \"name\":\"b\"} ] }",
            "{\"response\": \"Hello, \\\"world\\\"\\n caf\\u00e9 \\ud83d\\ude00 \\\\ done\"}",
            "{\"response\":\"\"}",
            "{ \"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}, {\"name\": \"get_weather\", \"argu",
            "{\"tool_calls\": [{\"name\": \"nope\", \"arguments\": {}}]}",
            "plain text, not JSON");

    /** What a listener heard. */
    private static final class Heard implements ReplyReader.Listener {
        final StringBuilder content = new StringBuilder();
        final Map<Integer, String> names = new LinkedHashMap<>();
        final Map<Integer, String> ids = new LinkedHashMap<>();
        final Map<Integer, StringBuilder> args = new LinkedHashMap<>();

        @Override
        public void content(String text) {
            assertFalse(text.isEmpty());
            content.append(text);
        }

        @Override
        public void callStarted(int index, String id, String name) {
            assertFalse(names.containsKey(index), "a call starts once");
            names.put(index, name);
            ids.put(index, id);
            args.put(index, new StringBuilder());
        }

        @Override
        public void arguments(int index, String fragment) {
            assertTrue(names.containsKey(index), "arguments come after their call's start");
            args.get(index).append(fragment);
        }
    }

    private static void check(String reply, List<String> pieces) {
        int[] n = {0};
        ParsedReply expected = JsonToolFormat.parse(reply, TOOLS, () -> "id" + (++n[0]));
        Heard heard = new Heard();
        int[] m = {0};
        JsonToolStream stream = new JsonToolStream(TOOLS, () -> "id" + (++m[0]), heard);
        pieces.forEach(stream::push);
        ParsedReply got = stream.finish();
        String where = reply + " split as " + pieces;
        assertEquals(expected, got, where);
        if (expected.complete() && expected.calls().isEmpty()) {
            assertEquals(expected.content(), heard.content.toString(), where);
        } else {
            assertFalse(heard.content.toString().contains("{"), "no envelope in the content: " + where);
        }
        for (int i = 0; i < got.calls().size(); i++) {
            ToolCall c = got.calls().get(i);
            assertEquals(c.name(), heard.names.get(i), where);
            assertEquals(c.id(), heard.ids.get(i), where);
            assertEquals(JsonParser.parse(c.arguments()), JsonParser.parse(heard.args.get(i).toString()),
                    "the fragments make up the arguments: " + where);
        }
    }

    @Test
    void everyTwoPieceSplitReadsLikeTheWholeReply() {
        for (String reply : REPLIES) {
            check(reply, List.of(reply));
            for (int cut = 1; cut < reply.length(); cut++) {
                check(reply, List.of(reply.substring(0, cut), reply.substring(cut)));
            }
            List<String> chars = new ArrayList<>();
            for (int i = 0; i < reply.length(); i++) {
                chars.add(reply.substring(i, i + 1));
            }
            check(reply, chars);
        }
    }

    @Test
    void threePieceSplitsOfACallAndAResponse() {
        for (String reply : REPLIES.subList(0, 2)) {
            for (int a = 1; a < reply.length(); a += 3) {
                for (int b = a + 1; b < reply.length(); b += 5) {
                    check(reply, List.of(reply.substring(0, a), reply.substring(a, b), reply.substring(b)));
                }
            }
        }
    }

    @Test
    void theResponseTextComesDecodedAsItComes() {
        Heard heard = new Heard();
        JsonToolStream s = new JsonToolStream(TOOLS, () -> "x", heard);
        s.push("{\"response\": \"Hel");
        assertEquals("Hel", heard.content.toString(), "before the reply is complete");
        s.push("lo \\u00");
        assertEquals("Hello ", heard.content.toString(), "an escape waits until complete");
        s.push("e9!\"}");
        assertEquals("Hello é!", heard.content.toString());
    }

    @Test
    void aCallStartsAsSoonAsItsNameIsComplete() {
        Heard heard = new Heard();
        JsonToolStream s = new JsonToolStream(TOOLS, () -> "call_1", heard);
        s.push("{\"tool_calls\": [{\"name\": \"get_wea");
        assertTrue(heard.names.isEmpty());
        s.push("ther\", \"arguments\": {\"ci");
        assertEquals(Map.of(0, "get_weather"), heard.names);
        assertEquals("{\"ci", heard.args.get(0).toString());
        s.push("ty\": \"Oslo\"}}]}");
        assertEquals("{\"city\":\"Oslo\"}", heard.args.get(0).toString());
        assertEquals(List.of(new ToolCall("call_1", "get_weather", "{\"city\":\"Oslo\"}")), s.finish().calls());
    }
}
