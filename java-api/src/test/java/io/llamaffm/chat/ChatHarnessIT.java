package io.llamaffm.chat;

import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tool-calling corpus through llama.cpp's own chat code (llamaffm-chat): every case renders and every output
 * parses, and a few results match what tests/test-chat.cpp expects of them. The results are written to
 * target/chat-harness-results.json for inspection.
 */
class ChatHarnessIT {
    private static final Set<String> FAMILIES = Set.of("llama3", "hermes", "qwen3-coder", "mistral-nemo", "mistral-small",
            "ministral3", "functionary-v3.1", "functionary-v3.2", "command-r7b", "deepseek-r1", "deepseek-v3.1", "granite",
            "gpt-oss", "gemma4", "glm4", "kimi-k2", "firefunction", "smollm3");

    private static List<ChatHarness.Compared> results;

    @BeforeAll
    static void runCorpus() throws IOException {
        ChatHarness.executable(); // skips when the tools were not built from source here
        results = ChatHarness.runCorpus();
        List<Object> dump = new ArrayList<>();
        for (ChatHarness.Compared c : results) {
            Map<String, Object> entry = new LinkedHashMap<>(c.llamaCpp().raw());
            entry.put("family", c.input().family());
            entry.put("template_file", c.input().templateFile());
            entry.put("outputs", c.input().outputs());
            dump.add(entry);
        }
        Path out = Path.of("target", "chat-harness-results.json");
        Files.createDirectories(out.getParent());
        Files.writeString(out, NlohmannJson.dump(Map.of("results", dump)));
    }

    @Test
    void everyCaseRendersAndEveryOutputParses() {
        List<String> failures = new ArrayList<>();
        Set<String> families = new TreeSet<>();
        for (ChatHarness.Compared c : results) {
            families.add(c.input().family());
            ChatHarness.Result r = c.llamaCpp();
            assertEquals(c.input().id(), r.id());
            if (!r.ok()) {
                failures.add(r.id() + ": " + r.error());
                continue;
            }
            assertFalse(r.prompt().isEmpty(), r.id());
            assertEquals(c.input().outputs().size(), r.parsed().size(), r.id());
            for (int i = 0; i < r.parsed().size(); i++) {
                if (!r.parsed().get(i).ok()) {
                    failures.add(r.id() + " output " + i + ": " + r.parsed().get(i).error());
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(FAMILIES, families, "every family has cases");
    }

    @Test
    void hermesToolCallParsesAsTestChatExpects() {
        // test-chat.cpp: Hermes 2 Pro, "<tool_call>\n{...special_function...}</tool_call>" -> message_assist_call
        ChatHarness.Result r = result("hermes/NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use");
        ChatHarness.Parsed p = r.parsed().get(0);
        assertEquals("", p.content());
        assertEquals(List.of(new ChatHarness.ParsedCall("", "special_function", "{\"arg1\": 1}")), p.toolCalls());
        ChatHarness.Parsed withContent = r.parsed().get(1);
        assertEquals("Hello, world!\nWhat's up?", withContent.content());
        assertEquals(1, withContent.toolCalls().size());
        assertTrue(r.prompt().contains("<tool_call>"), "the tools are described in the system prompt");
        assertTrue(r.prompt().endsWith("<|im_start|>assistant\n"), r.prompt());
        assertTrue(r.grammarLazy());
        assertTrue(r.preservedTokens().contains("<tool_call>"), r.preservedTokens().toString());
    }

    @Test
    void parallelCallsKeepTheirIdsWhereTheFormatHasThem() {
        // test-chat.cpp: Mistral Small 3.2 [CALL_ID] ids and Kimi K2's functions.NAME:INDEX ids
        ChatHarness.Parsed mistral = result("mistral-small/Mistral-Small-3.2-24B-Instruct-2506#2").parsed().get(0);
        assertEquals(List.of(new ChatHarness.ParsedCall("000000001", "special_function", "{\"arg1\": 1}"),
                new ChatHarness.ParsedCall("000000002", "special_function_with_opt", "{\"arg1\": 1, \"arg2\": 2}")),
                mistral.toolCalls());
        ChatHarness.Parsed kimi = result("kimi-k2/Kimi-K2-Thinking#2").parsed().get(2);
        assertEquals("I need to call two functions", kimi.reasoningContent());
        assertEquals(List.of("functions.special_function:0", "functions.python:1"),
                kimi.toolCalls().stream().map(ChatHarness.ParsedCall::id).toList());
        assertEquals(Map.of("code", "print('hey')"), JsonParser.parse(kimi.toolCalls().get(1).arguments()));
    }

    @Test
    void reasoningIsSplitFromContentAndCalls() {
        // test-chat.cpp: DeepSeek V3.1, "REASONING</think>CONTENT<calls get_time, get_weather>" (parallel, deepseek)
        ChatHarness.Parsed v31 = result("deepseek-v3.1/deepseek-ai-DeepSeek-V3.1#2").parsed().get(2);
        assertEquals("REASONING", v31.reasoningContent());
        assertEquals("CONTENT", v31.content());
        assertEquals(List.of("get_time", "get_weather"), v31.toolCalls().stream().map(ChatHarness.ParsedCall::name).toList());
        assertEquals(Map.of("city", "Paris"), JsonParser.parse(v31.toolCalls().get(1).arguments()));
        // gpt-oss: analysis channel is reasoning, final channel is content
        ChatHarness.Parsed oss = result("gpt-oss/openai-gpt-oss-120b").parsed().get(2);
        assertEquals("I'm\nthinking", oss.reasoningContent());
        assertEquals("Hello, world!\nWhat's up?", oss.content());
        assertEquals("peg-gemma4", result("gemma4/google-gemma-4-31B-it").format());
    }

    @Test
    void followUpConversationsRenderTheToolResult() {
        for (ChatHarness.Compared c : results) {
            if (c.input().conversation().equals("followup") && c.llamaCpp().ok()) {
                String prompt = c.llamaCpp().prompt();
                assertTrue(prompt.contains("cloudy"), c + ": the tool result is in the prompt");
                assertTrue(prompt.contains("And in London?"), c + ": the follow-up is in the prompt");
            }
        }
    }

    private static ChatHarness.Result result(String id) {
        return results.stream().filter(c -> c.input().id().equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("no case " + id)).llamaCpp();
    }
}
