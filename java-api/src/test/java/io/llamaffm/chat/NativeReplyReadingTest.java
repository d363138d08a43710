package io.llamaffm.chat;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replies that break a family's syntax read as documented: text, never an exception; cut replies are incomplete. */
class NativeReplyReadingTest {
    private static final Tool WEATHER = Tool.of("get_weather", "", "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
    private static final Tools TOOLS = Tools.of(WEATHER);

    private static ParsedReply read(CallSyntax syntax, String reply, Tools tools) {
        SyntaxReader r = new SyntaxReader((text, partial) -> syntax.parse(tools, text, partial, false), tools, "",
                () -> "call_1", null);
        r.push(reply);
        return r.finish();
    }

    @Test
    void aWellFormedHermesCallAndTextAroundIt() {
        ParsedReply p = read(ToolSyntax.HERMES, "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                + "{\"city\": \"Oslo\"}}\n</tool_call>", TOOLS);
        assertEquals("Let me look.", p.content());
        assertEquals(List.of(new ToolCall("call_1", "get_weather", "{\"city\":\"Oslo\"}")), p.calls());
        assertTrue(p.complete());
    }

    @Test
    void argumentsThatAreNotJsonLeaveTheTextAsContent() {
        String reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {city: Oslo}}\n</tool_call>";
        ParsedReply p = read(ToolSyntax.HERMES, reply, TOOLS);
        assertTrue(p.calls().isEmpty());
        assertFalse(p.complete());
        assertEquals(reply, p.content());
    }

    @Test
    void aCallCutByTheBudgetIsIncompleteAndKeepsTheCallsBeforeIt() {
        String one = "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}</tool_call>";
        ParsedReply p = read(ToolSyntax.HERMES, one + "\n<tool_call>{\"name\": \"get_wea", TOOLS);
        assertEquals(1, p.calls().size());
        assertFalse(p.complete());
        ParsedReply cutInside = read(ToolSyntax.QWEN3_CODER, "<tool_call>\n<function=get_weather>\n<parameter=city>\nOs", TOOLS);
        assertTrue(cutInside.calls().isEmpty());
        assertFalse(cutInside.complete());
    }

    @Test
    void aCallOfAToolNotOnOfferIsNotACall() {
        ParsedReply p = read(ToolSyntax.HERMES, "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>", TOOLS);
        assertTrue(p.calls().isEmpty());
        assertFalse(p.complete());
    }

    @Test
    void withNoToolsActiveCallSyntaxIsText() {
        String reply = "<tool_call>{\"name\": \"get_weather\", \"arguments\": {}}</tool_call>";
        ParsedReply p = read(ToolSyntax.HERMES, reply, Tools.of(WEATHER).withChoice(ToolChoice.NONE));
        assertTrue(p.calls().isEmpty());
        assertEquals(reply, p.content());
    }

    @Test
    void harmonyRecipientAndGemmaRepliesReadAsCalls() {
        ParsedReply gptOss = read(HarmonySyntax.INSTANCE, "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant"
                + "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Oslo\"}", TOOLS);
        assertEquals("Think.", gptOss.reasoning());
        assertEquals("{\"city\":\"Oslo\"}", gptOss.calls().getFirst().arguments());
        ParsedReply functionary = read(RecipientSyntax.INSTANCE, "all\nSure.>>>get_weather\n{\"city\": \"Oslo\"}", TOOLS);
        assertEquals("Sure.", functionary.content());
        assertEquals("get_weather", functionary.calls().getFirst().name());
        ParsedReply gemma = read(GemmaSyntax.INSTANCE, "<|tool_call>call:get_weather{city:<|\"|>Oslo, \"Norway\"<|\"|>}<tool_call|>",
                TOOLS);
        assertEquals("{\"city\":\"Oslo, \\\"Norway\\\"\"}", gemma.calls().getFirst().arguments());
    }

    @Test
    void llamasPythonTagIsNeitherTextNorCallAndRunsCodeThroughThePythonTool() {
        ParsedReply json = read(ToolSyntax.LLAMA3, "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": "
                + "{\"city\": \"Oslo\"}}", TOOLS);
        assertEquals("", json.content());
        assertEquals("{\"city\":\"Oslo\"}", json.calls().getFirst().arguments());
        Tools withPython = Tools.of(WEATHER, Tool.of("python", "runs code",
                "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"}}}"));
        ParsedReply code = read(ToolSyntax.LLAMA3, "<|python_tag|>print(\"hi\")", withPython);
        assertEquals(List.of(new ToolCall("call_1", "python", "{\"code\":\"print(\\\"hi\\\")\"}")), code.calls());
        StringBuilder streamed = new StringBuilder();
        SyntaxReader r = new SyntaxReader((text, partial) -> ToolSyntax.LLAMA3.parse(withPython, text, partial, false),
                withPython, "", () -> "call_1", new ReplyReader.Listener() {
                    @Override
                    public void content(String text) {}

                    @Override
                    public void arguments(int index, String fragment) {
                        streamed.append(fragment);
                    }
                });
        StringBuilder shown = new StringBuilder();
        SyntaxReader text = new SyntaxReader((t, partial) -> ToolSyntax.LLAMA3.parse(TOOLS, t, partial, false), TOOLS, "",
                () -> "call_1", shown::append);
        for (char c : "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {}}".toCharArray()) {
            text.push(String.valueOf(c));
        }
        assertEquals(1, text.finish().calls().size());
        assertEquals("", shown.toString(), "the tag is never shown");
        for (char c : "<|python_tag|>print(\"hi\")".toCharArray()) {
            r.push(String.valueOf(c));
        }
        assertEquals(r.finish().calls().getFirst().arguments(), streamed.toString());
    }

    @Test
    void reasoningOfEarlierRepliesReachesTheTemplate() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}[{{ m.reasoning_content }}|{{ m.thinking }}|{{ m.content }}]"
                + "{% endfor %}");
        assertEquals("[why|why|answer]", t.render(List.of(ChatMessage.assistant("answer").withReasoning("why")), false));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ChatMessage.user("x").withReasoning("no"));
    }

    @Test
    void hostileRepliesNeverThrow() {
        for (CallSyntax s : List.of(ToolSyntax.HERMES, ToolSyntax.QWEN3_CODER, ToolSyntax.KIMI_K2, ToolSyntax.MISTRAL,
                ToolSyntax.MISTRAL_NEMO, ToolSyntax.LLAMA3, ToolSyntax.GLM4, ToolSyntax.COMMAND_R7B, HarmonySyntax.INSTANCE,
                RecipientSyntax.INSTANCE, GemmaSyntax.INSTANCE)) {
            for (String reply : List.of("", "{", "}", "<tool_call>", "<tool_call>{\"name\":", "[TOOL_CALLS][{]", ">>>\n",
                    "<|message|><|message|>", "<|tool_call>call:{", "<|tool_call>call:x{a:[1,{b:<|\"|>",
                    "<tool_call>\n<function=x>\n<parameter=>\n\n</parameter>", "{\"name\": 1, \"parameters\": []}",
                    "\u0000\uFFFF\uD800", "<think>".repeat(1000))) {
                ParsedReply p = read(s, reply, TOOLS);
                assertTrue(p.calls().isEmpty() || p.calls().stream().allMatch(c -> c.name().equals("get_weather")), s.name());
            }
        }
    }
}
