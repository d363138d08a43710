package io.llamaffm.chat;

import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tool types refuse bad input with clear messages; the JSON format's schema and parser agree. */
class ToolsTest {
    private static final Tool A = Tool.of("a", "first", "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}");
    private static final Tool B = Tool.of("b", "second", "{\"type\":\"object\"}");

    @Test
    void badToolsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Tool.of("", "", "{}"));
        assertThrows(IllegalArgumentException.class, () -> Tool.of("has space", "", "{}"));
        assertThrows(IllegalArgumentException.class, () -> Tool.of("x".repeat(65), "", "{}"));
        IllegalArgumentException notJson = assertThrows(IllegalArgumentException.class, () -> Tool.of("t", "", "{type:"));
        assertTrue(notJson.getMessage().contains("not JSON"), notJson.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tool.of("t", "", "[1]"), "a schema is an object");
        assertEquals("{\"type\":\"object\"}", Tool.of("t", "", " { \"type\" : \"object\" } ").parameters(), "normalized");
    }

    @Test
    void badChoicesAndDuplicatesAreRefused() {
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class, () -> Tools.of(A, A));
        assertTrue(dup.getMessage().contains("two tools are named a"), dup.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tools.of(A).withChoice(ToolChoice.named("c")));
        assertThrows(IllegalArgumentException.class, () -> Tools.of().withChoice(ToolChoice.REQUIRED));
        assertThrows(IllegalArgumentException.class, () -> new ToolChoice(ToolChoice.Mode.AUTO, "a"));
        assertThrows(IllegalArgumentException.class, () -> new ToolChoice(ToolChoice.Mode.NAMED, null));
        assertFalse(Tools.of().active());
        assertFalse(Tools.of(A).withChoice(ToolChoice.NONE).active());
        assertTrue(Tools.of(A).active());
    }

    @Test
    void badMessagesAndCallsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ToolCall("", "a", "{}"));
        assertThrows(IllegalArgumentException.class, () -> new ToolCall("c1", "a", "[]"));
        assertThrows(IllegalArgumentException.class, () -> new ToolCall("c1", "a", "{\"x\":"));
        assertEquals("{\"x\":1}", new ToolCall("c1", "a", "{ \"x\": 1 }").arguments());
        assertThrows(IllegalArgumentException.class,
                () -> new ChatMessage("user", "", List.of(new ToolCall("c1", "a", "{}")), null), "only assistants call");
        assertThrows(IllegalArgumentException.class, () -> new ChatMessage("user", "x", List.of(), "c1"));
        assertThrows(IllegalArgumentException.class, () -> ChatMessage.toolResult(" ", "x"));
        assertEquals(new ChatMessage("user", "hi"), ChatMessage.user("hi"));
    }

    @Test
    void theSchemaAllowsExactlyWhatTheChoiceAllows() {
        Map<?, ?> auto = (Map<?, ?>) JsonParser.parse(JsonToolFormat.schema(Tools.of(A, B)));
        assertEquals(2, ((List<?>) auto.get("oneOf")).size(), "calls or a response");
        String required = JsonToolFormat.schema(Tools.of(A, B).withChoice(ToolChoice.REQUIRED).withParallelCalls(false));
        assertTrue(required.contains("\"minItems\":1") && required.contains("\"maxItems\":1"), required);
        assertFalse(required.contains("response"), required);
        String named = JsonToolFormat.schema(Tools.of(A, B).withChoice(ToolChoice.named("b")));
        assertTrue(named.contains("{\"const\":\"b\"}") && !named.contains("{\"const\":\"a\"}"), named);
    }

    @Test
    void parsingReadsCallsAndResponsesAndLeavesAnythingElseAsText() {
        Tools tools = Tools.of(A, B);
        int[] n = {0};
        ParsedReply calls = JsonToolFormat.parse(
                "{\"tool_calls\":[{\"name\":\"a\",\"arguments\":{\"x\":2}},{\"name\":\"b\",\"arguments\":{}}]}", tools,
                () -> "id" + (++n[0]));
        assertEquals(List.of(new ToolCall("id1", "a", "{\"x\":2}"), new ToolCall("id2", "b", "{}")), calls.calls());
        assertTrue(calls.complete());
        ParsedReply text = JsonToolFormat.parse("{\"response\":\"hi\"}", tools, () -> "x");
        assertEquals("hi", text.content());
        assertTrue(text.calls().isEmpty() && text.complete());
        ParsedReply cut = JsonToolFormat.parse("{\"tool_calls\": [{\"name\":\"a\",\"arguments\":{\"x\":1}} , {\"name\":\"b\",\"argu",
                tools, () -> "c");
        assertEquals(List.of(new ToolCall("c", "a", "{\"x\":1}")), cut.calls(), "the complete call before the cut");
        assertFalse(cut.complete());
        for (String other : new String[] {"{\"tool_calls\":[{\"name\":\"zz\",\"arguments\":{}}]}", "{\"tool_calls\":[{\"name\":\"a\"",
                "plain words", "{\"response\":1}", "{\"tool_calls\":[]}"}) {
            ParsedReply p = JsonToolFormat.parse(other, tools, () -> "x");
            assertTrue(p.calls().isEmpty() && !p.complete(), other);
            assertEquals(other, p.content());
        }
    }

    @Test
    void callsAndResultsAreWrittenBackAsJsonForAnyTemplate() {
        ToolCall call = new ToolCall("call_1", "a", "{\"x\":3}");
        List<ChatMessage> prepared = JsonToolFormat.prepare(List.of(ChatMessage.system("Be brief."), ChatMessage.user("go"),
                ChatMessage.assistant("", List.of(call)), ChatMessage.toolResult("call_1", "done")), Tools.of(A));
        assertEquals(4, prepared.size());
        assertTrue(prepared.get(0).content().startsWith("Be brief.\n\nYou can call these tools:\n{\"name\":\"a\""),
                prepared.get(0).content());
        assertEquals(ChatMessage.assistant("{\"tool_calls\":[{\"name\":\"a\",\"arguments\":{\"x\":3}}]}"), prepared.get(2));
        assertEquals(ChatMessage.user("{\"tool_result\":{\"name\":\"a\",\"content\":\"done\"}}"), prepared.get(3));
        List<ChatMessage> none = JsonToolFormat.prepare(List.of(ChatMessage.user("go")), Tools.of(A).withChoice(ToolChoice.NONE));
        assertEquals(List.of(ChatMessage.user("go")), none, "no instructions when the tools are not active");
    }
}
