package io.llamaffm.chat;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every native family end to end on stories260K: the family's real template (from the pinned source) renders the
 * prompt, the family's grammar holds the reply and the family's reader takes it apart. Stories260K knows none of these
 * formats, so only the grammar makes its replies calls: with REQUIRED every seeded reply must read as a valid call of an
 * offered tool; with AUTO every reply must read without error, its calls valid.
 */
class ToolFamiliesIT {
    private static final GenerationParams PARAMS = GenerationParams.defaults().withMaxTokens(300);
    private static Model model;
    private static Context ctx;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
        ctx = model.newContext(ContextParams.defaults().withContextLength(8192));
    }

    @AfterAll
    static void close() {
        ctx.close();
        model.close();
    }

    /** One template per family of the corpus. */
    private static Map<String, ChatTemplate> families() {
        Map<String, ChatTemplate> out = new LinkedHashMap<>();
        for (ChatHarness.Case c : ChatHarness.corpus()) {
            ChatTemplate t = ChatTemplate.of(c.template()).withSystemRoleFallback(true);
            NativeToolFormat.detect(t).ifPresent(f -> out.putIfAbsent(f.name(), t));
        }
        return out;
    }

    @Test
    void everyFamilyYieldsValidCallsUnderItsGrammar() {
        Map<String, ChatTemplate> families = families();
        assertTrue(families.keySet().containsAll(List.of("hermes", "llama3", "qwen3-coder", "mistral-nemo", "mistral",
                "functionary-v3.1", "functionary-v3.2", "command-r7b", "deepseek-r1", "deepseek-v3.1", "granite", "kimi-k2",
                "glm4", "gpt-oss", "gemma4")), families.keySet().toString());
        List<String> failures = new ArrayList<>();
        for (Map.Entry<String, ChatTemplate> e : families.entrySet()) {
            ChatFormat format = new TemplateChatFormat(e.getValue());
            Set<String> cities = new HashSet<>();
            int reasoned = 0;
            for (int seed = 0; seed < 4; seed++) {
                boolean parallel = seed % 2 == 1;
                Tools tools = Tools.of(NativeToolCallingIT.WEATHER, NativeToolCallingIT.TIME)
                        .withChoice(ToolChoice.REQUIRED).withParallelCalls(parallel);
                String where = e.getKey() + " seed " + seed;
                try {
                    ChatResult r = new ChatSession(ctx, format, "You help with the weather.")
                            .send("What is the weather in Paris?", tools, PARAMS, SamplerChain.sampling(1.0f, 0, 1.0f, 0, seed), null);
                    if (r.toolCalls().isEmpty() && r.finishReason() == ChatResult.FinishReason.LENGTH
                            && !r.reasoning().isEmpty() && r.content().isEmpty()) {
                        reasoned++; // the grammar lets reasoning come first, and stories260K never closes it
                        continue;
                    }
                    if (r.toolCalls().isEmpty() || !(r.finishReason() == ChatResult.FinishReason.TOOL_CALLS
                            || parallel && r.finishReason() == ChatResult.FinishReason.LENGTH)) {
                        failures.add(where + ": " + r.finishReason() + " " + r.completion().text().replace("\n", "\\n"));
                        continue;
                    }
                    assertTrue(parallel || r.toolCalls().size() == 1, where + ": " + r.toolCalls());
                    r.toolCalls().forEach(c -> NativeToolCallingIT.checkCall(c, cities));
                } catch (RuntimeException | AssertionError ex) {
                    failures.add(where + ": " + ex);
                }
            }
            if (reasoned == 4 && !e.getKey().startsWith("deepseek")) { // their prompts open the reasoning block
                failures.add(e.getKey() + ": every reply stayed in its reasoning");
            }
            for (int seed = 0; seed < 2; seed++) {
                String where = e.getKey() + " AUTO seed " + seed;
                try {
                    ChatResult r = new ChatSession(ctx, format, "You help with the weather.").send("Hello",
                            Tools.of(NativeToolCallingIT.WEATHER), PARAMS, SamplerChain.sampling(1.0f, 0, 1.0f, 0, seed), null);
                    r.toolCalls().forEach(c -> NativeToolCallingIT.checkCall(c, new HashSet<>()));
                } catch (RuntimeException | AssertionError ex) {
                    failures.add(where + ": " + ex);
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    /** stories260K with a chat template written into its metadata by the GGUF writer. */
    private static java.nio.file.Path storiesWithTemplate(java.nio.file.Path dir, String template) {
        java.nio.file.Path out = dir.resolve("stories-" + Integer.toHexString(template.hashCode()) + ".gguf");
        io.llamaffm.gguf.GgufWriter w = new io.llamaffm.gguf.GgufWriter();
        try (io.llamaffm.gguf.GgufFile in = io.llamaffm.gguf.GgufFile.open(TestEnv.stories())) {
            in.metadata().forEach((k, v) -> {
                if (!k.equals("tokenizer.chat_template") && !k.startsWith("general.alignment")) {
                    w.put(k, v);
                }
            });
            w.putString("tokenizer.chat_template", template);
            for (io.llamaffm.gguf.TensorInfo t : in.tensors()) {
                w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
            w.write(out);
        }
        return out;
    }

    @Test
    void aTemplateInTheModelFileSelectsItsFamily(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Map<String, ChatTemplate> families = families();
        for (String family : List.of("hermes", "mistral", "gpt-oss", "gemma4")) {
            try (Model m = Model.load(storiesWithTemplate(dir, families.get(family).source()));
                 Context c = m.newContext(ContextParams.defaults().withContextLength(8192))) {
                ChatFormat format = ChatFormat.forModel(m);
                assertEquals(family, format.toolFormat().name());
                for (int seed = 0; seed < 3; seed++) {
                    ChatResult r = new ChatSession(c, format, "You help with the weather.").send("Weather in Rome?",
                            Tools.of(NativeToolCallingIT.WEATHER).withChoice(ToolChoice.REQUIRED).withParallelCalls(false),
                            PARAMS, SamplerChain.sampling(1.0f, 0, 1.0f, 0, seed), null);
                    if (r.toolCalls().isEmpty()) {
                        assertTrue(!r.reasoning().isEmpty(), family + " seed " + seed + ": " + r.completion().text());
                        continue; // the reply stayed in its reasoning (allowed before the call)
                    }
                    assertEquals(ChatResult.FinishReason.TOOL_CALLS, r.finishReason(), r.completion().text());
                    NativeToolCallingIT.checkCall(r.toolCalls().getFirst(), new HashSet<>());
                }
            }
        }
    }

    @Test
    void everyFamilysGrammarCompilesForEveryChoice() {
        for (Map.Entry<String, ChatTemplate> e : families().entrySet()) {
            ToolFormat f = new TemplateChatFormat(e.getValue()).toolFormat();
            for (Tools tools : List.of(Tools.of(NativeToolCallingIT.WEATHER, NativeToolCallingIT.TIME),
                    Tools.of(NativeToolCallingIT.WEATHER).withChoice(ToolChoice.REQUIRED).withParallelCalls(false),
                    Tools.of(NativeToolCallingIT.WEATHER, NativeToolCallingIT.TIME).withChoice(ToolChoice.named("get_time")))) {
                SamplerChain chain = f.constrain(SamplerChain.greedy(), tools, model.tokenizer(), "");
                try (io.llamaffm.Sampler s = io.llamaffm.Sampler.create(model, chain)) {
                    assertFalse(s.chain().stages().isEmpty(), e.getKey());
                }
            }
        }
    }
}
