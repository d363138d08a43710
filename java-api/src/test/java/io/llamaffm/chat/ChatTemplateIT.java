package io.llamaffm.chat;

import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import io.llamaffm.TestEnv;
import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_chat_message;
import io.llamaffm.internal.NativeLibraryLoader;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat templates read from GGUF metadata through llama.cpp, and our renderings compared with llama.cpp's
 * built-in formatter ({@code llama_chat_apply_template}) where it knows the template.
 */
class ChatTemplateIT {
    private static final List<ChatMessage> THREE = List.of(
            ChatMessage.user("Hello"), ChatMessage.assistant("Hi there"), ChatMessage.user("Who are you"));

    private static Model vocab(String name) {
        return Model.load(TestEnv.sourceDir().resolve("models").resolve(name), ModelParams.defaults().withVocabOnly(true));
    }

    @Test
    void phi3TemplateFromTheModelRendersThePhi3FormatAsLlamaCppBuiltInDoes() {
        try (Model model = vocab("ggml-vocab-phi-3.gguf")) {
            ChatTemplate template = ChatTemplate.of(model);
            assertEquals(ChatTemplateTest.PHI3, template.source());
            assertEquals("<s>", template.bosToken());
            assertEquals("<|endoftext|>", template.eosToken());
            String expected = "<s><|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n";
            assertEquals(expected, template.render(THREE, true));
            // llama.cpp's built-in phi3 formatter leaves BOS to the tokenizer
            assertEquals(expected, template.bosToken() + builtIn(template.source(), THREE, true));
        }
    }

    @Test
    void aModelsTemplateTakesTheLimitsGiven() {
        try (Model model = vocab("ggml-vocab-phi-3.gguf")) {
            ChatTemplate tight = ChatTemplate.of(model, TemplateLimits.defaults().withMaxOutputChars(40));
            assertEquals(40, tight.limits().maxOutputChars());
            ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> tight.render(THREE, true));
            assertEquals(ChatTemplateException.Kind.LIMIT, e.kind());
            assertTrue(e.reason().startsWith("the rendered text would exceed 40 chars; raise TemplateLimits.maxOutputChars"), e.reason());
            assertEquals(TemplateLimits.defaults(), ChatTemplate.of(model).limits());
            assertEquals(ChatTemplate.of(model).render(THREE, true), ChatTemplate.of(model, TemplateLimits.defaults()).render(THREE, true));
            ChatTemplateException deep = assertThrows(ChatTemplateException.class,
                    () -> ChatTemplate.of(model, TemplateLimits.defaults().withMaxNestingDepth(2)));
            assertEquals(ChatTemplateException.Kind.LIMIT, deep.kind());
        }
    }

    @Test
    void namedTemplatesAndModelsWithoutOne() {
        try (Model commandR = vocab("ggml-vocab-command-r.gguf")) {
            assertTrue(commandR.chatTemplate("tool_use").orElseThrow().contains("tools"));
            assertTrue(commandR.chatTemplate("rag").orElseThrow().contains("documents"));
            assertEquals(Optional.empty(), commandR.chatTemplate("nope"));
        }
        try (Model llama = vocab("ggml-vocab-llama-spm.gguf")) {
            assertEquals(Optional.empty(), llama.chatTemplate());
            ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of(llama));
            assertEquals(ChatTemplateException.Kind.MISSING, e.kind());
            assertEquals("model ggml-vocab-llama-spm.gguf has no chat template (tokenizer.chat_template) in its metadata", e.getMessage());
        }
    }

    /** Every template in the source's vocabulary GGUFs, with each model's BOS/EOS text, as Python's Jinja2 renders it. */
    @TestFactory
    Stream<DynamicTest> everyTemplateInTheVocabularyModelsMatchesPythonJinja2() {
        List<Goldens.Golden> goldens = Goldens.read("gguf");
        assertEquals(7, goldens.size());
        return goldens.stream().map(g -> DynamicTest.dynamicTest(g.name(), () -> {
            String[] parts = g.name().split(":");
            try (Model model = vocab(parts[0])) {
                ChatTemplate fromModel = ChatTemplate.of(model);
                ChatTemplate template = (parts.length == 1 ? fromModel
                        : ChatTemplate.of(model.chatTemplate(parts[1]).orElseThrow(), fromModel.bosToken(), fromModel.eosToken()))
                        .withClock(Goldens.CLOCK);
                if (g.expected() == null) {
                    assertThrows(ChatTemplateException.class, () -> template.render(Goldens.scenarios().get("conversation")));
                } else {
                    assertEquals(g.expected(), template.render(Goldens.scenarios().get("conversation")));
                }
            }
        }));
    }

    /**
     * The cases of test-chat-template.cpp whose Jinja rendering llama.cpp expects to equal its built-in one:
     * ours (with llama.cpp's system-message fallback) equals what llama_chat_apply_template gives here.
     */
    @TestFactory
    Stream<DynamicTest> ourRenderingEqualsLlamaCppBuiltInWhereTheyShouldAgree() {
        NativeLibraryLoader.ensureLoaded();
        List<LlamaCppChatCases.Case> cases = LlamaCppChatCases.load().stream()
                .filter(c -> c.supportedWithJinja() && c.jinjaSameAsBuiltin()).toList();
        assertEquals(18, cases.size());
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            String builtIn = builtIn(c.template(), c.messages(), true);
            assertNotNull(builtIn, "llama.cpp recognises the template");
            ChatTemplate template = ChatTemplate.of(c.template(), c.bos(), c.eos()).withSystemRoleFallback(true);
            assertEquals(builtIn, template.render(c.messages(), true));
        }));
    }

    @Test
    void llamaCppRejectsWhatItDoesNotKnowWhereJinjaRendersIt() {
        NativeLibraryLoader.ensureLoaded();
        String custom = "{% for m in messages %}[{{ m.role | upper }}] {{ m.content }}\n{% endfor %}";
        assertNull(builtIn(custom, THREE, false));
        assertEquals("[USER] Hello\n[ASSISTANT] Hi there\n[USER] Who are you\n", ChatTemplate.of(custom).render(THREE, false));
    }

    /** llama_chat_apply_template with a template (or built-in name); null when llama.cpp does not recognise it. */
    private static String builtIn(String template, List<ChatMessage> messages, boolean addAssistant) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chat = arena.allocate(llama_chat_message.layout(), messages.size());
            for (int k = 0; k < messages.size(); k++) {
                MemorySegment m = llama_chat_message.asSlice(chat, k);
                llama_chat_message.role(m, arena.allocateFrom(messages.get(k).role()));
                llama_chat_message.content(m, arena.allocateFrom(messages.get(k).content()));
            }
            MemorySegment tmpl = arena.allocateFrom(template);
            int capacity = 4096;
            MemorySegment buf = arena.allocate(capacity);
            int n = LlamaH.llama_chat_apply_template(tmpl, chat, messages.size(), addAssistant, buf, capacity);
            if (n > capacity) {
                buf = arena.allocate(n);
                n = LlamaH.llama_chat_apply_template(tmpl, chat, messages.size(), addAssistant, buf, n);
            }
            return n < 0 ? null : new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }
}
