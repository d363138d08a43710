package io.llamaffm.chat;

import io.llamaffm.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat templates rendered exactly as Hugging Face renders them: llama.cpp's test-chat-template.cpp cases (read
 * from the pinned source), every models/templates/*.jinja of the pinned source against goldens made with Python's
 * Jinja2 (scripts/chat-template-goldens.py), and the engine's behaviour on its own. Needs no natives.
 */
class ChatTemplateTest {
    private static final Clock CLOCK = Goldens.CLOCK;
    static final String PHI3 = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}"
            + "{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}"
            + "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}";
    private static final AtomicInteger LLAMA_CPP_PASSED = new AtomicInteger();
    private static final AtomicInteger GOLDEN_PASSED = new AtomicInteger();

    @AfterAll
    static void report() {
        System.out.println("[chat] llama.cpp test-chat-template.cpp Jinja cases matched: " + LLAMA_CPP_PASSED.get()
                + "; models/templates goldens matched: " + GOLDEN_PASSED.get());
    }

    // ---- llama.cpp's tests/test-chat-template.cpp ---------------------------------------------------------

    /**
     * Every case the file checks with Jinja, with llama.cpp's system-message fallback (the file's expectations
     * include it: a template that ignores or refuses system messages gets the system text merged into the next).
     */
    @TestFactory
    Stream<DynamicTest> everyJinjaCaseOfLlamaCppMatches() {
        List<LlamaCppChatCases.Case> cases = LlamaCppChatCases.load().stream().filter(LlamaCppChatCases.Case::supportedWithJinja).toList();
        assertEquals(35, cases.size(), "Jinja cases in " + LlamaCppChatCases.file());
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            ChatTemplate template = ChatTemplate.of(c.template(), c.bos(), c.eos()).withSystemRoleFallback(true);
            assertEquals(c.expectedJinja(), template.render(c.messages(), true));
            LLAMA_CPP_PASSED.incrementAndGet();
        }));
    }

    /** The fallback matters only for the templates that drop or refuse system messages: the others match as given. */
    @Test
    void llamaCppCasesNeedTheFallbackOnlyWhereTheTemplateIgnoresSystemMessages() {
        List<String> withoutSystem = new ArrayList<>();
        for (LlamaCppChatCases.Case c : LlamaCppChatCases.load()) {
            if (!c.supportedWithJinja()) {
                continue;
            }
            ChatTemplate template = ChatTemplate.of(c.template(), c.bos(), c.eos());
            if (template.supportsSystemRole()) {
                assertEquals(c.expectedJinja(), template.render(c.messages(), true), c.name());
            } else {
                withoutSystem.add(c.name());
            }
        }
        assertEquals(List.of("mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)",
                "google/gemma-7b-it", "OrionStarAI/Orion-14B-Chat", "Phi-3-mini", "Phi-3-medium",
                "yandex/YandexGPT-5-Lite-8B-instruct"), withoutSystem);
    }

    // ---- models/templates/*.jinja against Python's Jinja2 -------------------------------------------------

    @TestFactory
    Stream<DynamicTest> everyModelTemplateMatchesPythonJinja2() {
        Path templates = TestEnv.sourceDir().resolve("models/templates");
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<String, Map<String, Object>> scenario : Goldens.scenarios().entrySet()) {
            List<Goldens.Golden> goldens = Goldens.read(scenario.getKey());
            assertEquals(68, goldens.size(), "templates in golden/" + scenario.getKey() + ".txt");
            for (Goldens.Golden g : goldens) {
                tests.add(DynamicTest.dynamicTest(g.name() + " / " + scenario.getKey(), () -> {
                    String source = Files.readString(templates.resolve(g.name()));
                    ChatTemplate template = ChatTemplate.of(source, "<s>", "</s>").withClock(CLOCK);
                    if (g.expected() == null) {
                        assertThrows(ChatTemplateException.class, () -> template.render(scenario.getValue()));
                    } else {
                        assertEquals(g.expected(), template.render(scenario.getValue()));
                    }
                    GOLDEN_PASSED.incrementAndGet();
                }));
            }
        }
        return tests.stream();
    }

    // ---- behaviour ----------------------------------------------------------------------------------------

    private static final List<ChatMessage> HI = List.of(ChatMessage.user(" hi "), ChatMessage.assistant("yo"));

    @Test
    void blockTagsTrimAndLstripLikeTransformers() {
        String source = "{% for m in messages %}\n  {% if m.role == 'user' %}\n    U: {{ m.content }}\n  {% else %}\n"
                + "    A: {{ m.content }}\n  {% endif %}\n{% endfor %}\n{%- if add_generation_prompt %}\n  A:\n{% endif %}\n";
        assertEquals("    U:  hi \n    A: yo\n  A:\n", ChatTemplate.of(source).render(HI, true));
        assertEquals("    U:  hi \n    A: yo\n", ChatTemplate.of(source).render(HI, false));
    }

    @Test
    void dashesStripWhitespaceAndTheLastNewlineIsDropped() {
        String source = "{{- bos_token -}}\n  {%- for m in messages -%}\n    [{{ m.role }}] {{ m.content | trim }}\n"
                + "  {%- endfor %}\n{{ eos_token }}\n";
        assertEquals("<s>[user] hi[assistant] yo</s>", ChatTemplate.of(source, "<s>", "</s>").render(HI, false));
    }

    @Test
    void raiseExceptionRefusesTheConversationWithTheTemplatesMessage() {
        ChatTemplate template = ChatTemplate.of("{% for m in messages %}\n{% if m.role == 'system' %}\n"
                + "{{ raise_exception('System role not supported') }}\n{% endif %}{% endfor %}");
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> template.render(List.of(ChatMessage.system("s")), false));
        assertEquals(ChatTemplateException.Kind.RAISED, e.kind());
        assertEquals("System role not supported", e.reason());
        assertEquals(3, e.line());
        assertEquals("the chat template refused the conversation (template line 3): System role not supported", e.getMessage());
    }

    @Test
    void syntaxErrorsNameTheLine() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("{% if x %}\nok\n{% endfor %}"));
        assertEquals(ChatTemplateException.Kind.SYNTAX, e.kind());
        assertEquals(3, e.line());
        assertEquals("chat template syntax error (template line 3): unexpected 'endfor': expected elif or else or endif",
                e.getMessage());
        ChatTemplateException stray = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("ok\n{% endif %}"));
        assertEquals("unexpected 'endif': no block is open to end here", stray.reason());
        ChatTemplateException unclosed = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("a\n{{ x "));
        assertEquals("unexpected end of template: missing }}", unclosed.reason());
        ChatTemplateException unknown = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("{% include 'x' %}"));
        assertEquals("the 'include' tag is not supported in chat templates", unknown.reason());
        ChatTemplateException escape = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("{{ '\\xZZ' }}"));
        assertEquals("truncated or invalid \\x escape in a string", escape.reason());
    }

    @Test
    void usingAnUndefinedValueFailsWithJinjasMessage() {
        ChatTemplate template = ChatTemplate.of("{{ messages[0].content.nope.deeper }}");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> template.render(HI, false));
        assertEquals(ChatTemplateException.Kind.RENDER, e.kind());
        assertEquals("'str object' has no attribute 'nope'", e.reason());
        assertEquals("", ChatTemplate.of("{{ nothing }}{{ messages[5] }}{% for x in nothing %}x{% endfor %}").render(HI, false));
    }

    @Test
    void theSandboxRefusesMutationAndRunawayTemplates() {
        ChatTemplateException append = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("{% set l = [] %}{{ l.append(1) }}").render(HI, false));
        assertEquals("access to attribute 'append' of 'list' object is unsafe.", append.reason());
        ChatTemplateException recursion = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").render(HI, false));
        assertEquals(ChatTemplateException.Kind.LIMIT, recursion.kind());
        assertTrue(recursion.reason().startsWith("the template nests deeper than " + TemplateLimits.DEFAULT_MAX_NESTING_DEPTH
                + " levels while rendering"), recursion.reason());
        ChatTemplateException range = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("{{ range(10000000)|length }}").render(HI, false));
        assertTrue(range.reason().startsWith("Range too big."), range.reason());
        ChatTemplateException big = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("{{ 2 ** 64 }}").render(HI, false));
        assertEquals("integer result of ** is out of range: template integers are 64-bit", big.reason());
        assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("{{ 'ab' * 1000000000000 }}").render(HI, false));
    }

    @Test
    void contextHasTheVariablesTransformersPasses() {
        String source = "{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|{{ bos_token }}|{{ eos_token }}"
                + "|{{ raise_exception is defined }}|{{ strftime_now('%-d %B %Y, %H:%M') }}";
        ChatTemplate template = ChatTemplate.of(source, "<s>", "</s>").withClock(CLOCK);
        assertEquals("True|True|True|<s>|</s>|True|15 January 2026, 10:30", template.render(HI, true));
    }

    @Test
    void ownVariablesReachTheTemplate() {
        ChatTemplate template = ChatTemplate.of("{% for m in messages %}{{ m.role }}{% if m.tool_calls %}"
                + "{{ m.tool_calls[0].function | tojson }}{% endif %};{% endfor %}{{ enable_thinking }}|{{ tools | length }}");
        Map<String, Object> variables = Goldens.map("messages", List.of(Goldens.map("role", "assistant", "content", null,
                        "tool_calls", List.of(Goldens.map("function", Goldens.map("name", "f", "arguments", Goldens.map("x", 1.5)))))),
                "enable_thinking", false, "tools", List.of(Goldens.map("name", "f")));
        assertEquals("assistant{\"name\": \"f\", \"arguments\": {\"x\": 1.5}};False|1", template.render(variables));
    }

    @Test
    void systemRoleFallbackMergesTheSystemMessageWhereTheTemplateDropsIt() {
        List<ChatMessage> chat = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"));
        ChatTemplate phi3 = ChatTemplate.of(PHI3, "<s>", "<|endoftext|>");
        assertFalse(phi3.supportsSystemRole());
        assertEquals("<s><|user|>\nHi<|end|>\n<|assistant|>\n", phi3.render(chat, true));
        assertEquals("<s><|user|>\nBe brief.\nHi<|end|>\n<|assistant|>\n", phi3.withSystemRoleFallback(true).render(chat, true));
        ChatTemplate chatml = ChatTemplate.of("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                + "{% endfor %}").withSystemRoleFallback(true);
        assertTrue(chatml.supportsSystemRole());
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n", chatml.render(chat, false));
    }

    @Test
    void pythonValueSemantics() {
        String source = "{{ [1, 'a', none, true] }}|{{ {'k': 1.0} }}|{{ 7 / 2 }}|{{ 7 // 2 }}|{{ 'x😀y'|length }}"
                + "|{{ 'a,b'.split(',') }}|{{ '  t '.strip() }}|{{ 'abc'[::-1] }}|{{ 2.5|round }}|{{ (1, 2) }}"
                + "|{{ 'Hi'.startswith(('H', 'x')) }}|{{ {'b': 1, 'a': [2]}|tojson(indent=1) }}";
        assertEquals("[1, 'a', None, True]|{'k': 1.0}|3.5|3|3|['a', 'b']|t|cba|2.0|(1, 2)|True|{\n \"b\": 1,\n \"a\": [\n  2\n ]\n}",
                ChatTemplate.of(source).render(HI, false));
    }

    @Test
    void messagesAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new ChatMessage(" ", "x"));
        assertThrows(NullPointerException.class, () -> ChatMessage.user(null));
        assertEquals(new ChatMessage("assistant", "ok"), ChatMessage.assistant("ok"));
    }
}
