package io.llamaffm.chat;

import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our tool formats against llama.cpp's own chat code (native/harness/chat.cpp, built from the pinned source), case by
 * case over tool-cases.json: the prompt rendered with the tools, and each model output taken apart into content,
 * reasoning and calls (names and arguments compared as JSON values). Each output is also read split at every
 * character: the final reading must equal the whole reading, and the streamed pieces must add up to it. The per-family
 * counts go to target/tool-format-differential.md; the differences we keep on purpose are listed in KNOWN with why.
 */
class ToolFormatDifferentialIT {
    /**
     * Where we differ from llama.cpp on purpose, or have not followed it yet: a prefix of the difference's key (case id,
     * then '#' and the output index or "prompt") → why.
     */
    static final Map<String, String> KNOWN = Map.of(
            "deepseek-r1/llama-cpp-deepseek-r1", "the template pipes map() into tojson: Jinja2, as Hugging Face renders, "
                    + "refuses a generator there and so does our engine; llama.cpp's engine accepts it (a template written for it)",
            "firefunction/", "prompt: the template lists the tools from a 'functions' variable; we supply it (the tools' "
                    + "JSON, as FireFunction's own code does), llama.cpp leaves it undefined and renders nothing there",
            "functionary-v3.1/", "prompt: the template applies |e to the tool list; Jinja2 HTML-escapes (as Hugging Face "
                    + "renders it, and as the model was trained), llama.cpp's engine does not",
            "gpt-oss/openai-gpt-oss-120b#prompt", "the template writes today's date: llama.cpp's engine reads the wall "
                    + "clock whatever the input says, we render with the clock given (the test's fixed one)",
            "gpt-oss/openai-gpt-oss-120b/followup#prompt", "the same date as above",
            "kimi-k2/Kimi-K2-", "follow-up prompts: the template calls list.append, which Hugging Face's sandboxed Jinja "
                    + "refuses as unsafe and so do we; llama.cpp's engine allows it",
            "smollm3/", "the pinned template renders no tools at all: the JSON format is used (tools in the system "
                    + "message), so prompt and replies differ by design");

    record Outcome(String family, String format, boolean prompt, int outputs, int parsed, List<String> diffs) {}

    @Test
    void formatsMatchLlamaCpp() throws Exception {
        List<ChatHarness.Compared> corpus = ChatHarness.runCorpus();
        List<Outcome> outcomes = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        for (ChatHarness.Compared c : corpus) {
            Outcome o = compare(c);
            outcomes.add(o);
            for (String d : o.diffs()) {
                String key = d.substring(0, d.indexOf(':'));
                if (KNOWN.keySet().stream().noneMatch(key::startsWith)) {
                    unexpected.add(d);
                }
            }
        }
        Files.writeString(Path.of("target/tool-format-differential.md"), report(outcomes, corpus));
        assertTrue(unexpected.isEmpty(), unexpected.size() + " differences:\n" + String.join("\n", unexpected));
        long parsedEqual = outcomes.stream().mapToInt(Outcome::parsed).sum();
        assertTrue(parsedEqual >= 132, "outputs read as llama.cpp reads them: " + parsedEqual);
    }

    private static Outcome compare(ChatHarness.Compared c) {
        ChatHarness.Case in = c.input();
        ChatHarness.Result ref = c.llamaCpp();
        List<String> diffs = new ArrayList<>();
        ChatTemplate template = ChatTemplate.of(in.template()).withClock(Goldens.CLOCK).withSystemRoleFallback(true);
        NativeToolFormat nat = NativeToolFormat.detect(template).orElse(null);
        boolean separate = in.reasoningFormat() == null || !in.reasoningFormat().equals("none");
        ToolFormat format = nat == null ? new JsonToolFormat(new TemplateChatFormat(template))
                : nat.withSeparateReasoning(separate).withTemplateVariables(variables(in));
        Tools tools = new Tools(in.tools(), choice(in.toolChoice()),
                in.parallelToolCalls() != null && in.parallelToolCalls());
        String prompt;
        try {
            prompt = format.render(in.messages(), tools);
        } catch (RuntimeException e) {
            prompt = "<error " + e.getMessage() + ">";
        }
        boolean promptOk = prompt.equals(ref.prompt());
        if (!promptOk) {
            diffs.add(in.id() + "#prompt: " + firstDifference(prompt, ref.prompt()));
        }
        int parsedOk = 0;
        for (int i = 0; i < in.outputs().size(); i++) {
            String output = in.outputs().get(i);
            ChatHarness.Parsed want = ref.parsed().get(i);
            ParsedReply got = format.parse(ref.prompt(), output, tools, () -> "id");
            String d = parseDifference(got, want);
            String split = splitDifference(format, ref.prompt(), output, tools, got);
            if (d == null && split == null) {
                parsedOk++;
            } else {
                diffs.add(in.id() + "#" + i + ": " + (d != null ? d : split) + " | output " + quote(output));
            }
        }
        return new Outcome(in.family(), format.name(), promptOk, in.outputs().size(), parsedOk, diffs);
    }

    private static Map<String, Object> variables(ChatHarness.Case in) {
        Map<String, Object> v = new LinkedHashMap<>(ChatHarness.DATE_KWARGS);
        if (in.enableThinking() != null) {
            v.put("enable_thinking", in.enableThinking());
        }
        return v;
    }

    private static ToolChoice choice(String c) {
        return c == null || c.equals("auto") ? ToolChoice.AUTO : c.equals("required") ? ToolChoice.REQUIRED : ToolChoice.NONE;
    }

    private static String parseDifference(ParsedReply got, ChatHarness.Parsed want) {
        if (!want.ok()) {
            return "llama.cpp failed: " + want.error();
        }
        if (!got.content().strip().equals(want.content().strip())) {
            return "content " + quote(got.content()) + " vs " + quote(want.content());
        }
        if (!got.reasoning().strip().equals(want.reasoningContent().strip())) {
            return "reasoning " + quote(got.reasoning()) + " vs " + quote(want.reasoningContent());
        }
        if (got.calls().size() != want.toolCalls().size()) {
            return got.calls().size() + " calls vs " + want.toolCalls().size() + ": " + got.calls() + " vs " + want.toolCalls();
        }
        for (int k = 0; k < got.calls().size(); k++) {
            ToolCall g = got.calls().get(k);
            ChatHarness.ParsedCall w = want.toolCalls().get(k);
            if (!g.name().equals(w.name()) || !Objects.equals(JsonParser.parse(g.arguments()), JsonParser.parse(w.arguments()))) {
                return "call " + k + " " + g.name() + g.arguments() + " vs " + w.name() + w.arguments();
            }
            if (!w.id().isEmpty() && !g.id().equals(w.id())) {
                return "call " + k + " id " + g.id() + " vs " + w.id();
            }
        }
        return null;
    }

    /** Reads the output in pieces split at every character; null when the result and the streamed pieces agree. */
    private static String splitDifference(ToolFormat format, String prompt, String output, Tools tools, ParsedReply whole) {
        for (int cut = 0; cut <= output.length(); cut++) {
            StringBuilder content = new StringBuilder();
            StringBuilder reasoning = new StringBuilder();
            Map<Integer, StringBuilder> args = new TreeMap<>();
            Map<Integer, String> names = new LinkedHashMap<>();
            ReplyReader r = format.reader(prompt, tools, () -> "id", new ReplyReader.Listener() {
                @Override
                public void content(String text) {
                    content.append(text);
                }

                @Override
                public void reasoning(String text) {
                    reasoning.append(text);
                }

                @Override
                public void callStarted(int index, String id, String name) {
                    names.put(index, name);
                    args.put(index, new StringBuilder());
                }

                @Override
                public void arguments(int index, String fragment) {
                    args.get(index).append(fragment);
                }
            });
            for (int k = 0; k < output.length(); k += Math.max(1, cut)) {
                r.push(output.substring(k, Math.min(output.length(), k + Math.max(1, cut))));
            }
            ParsedReply p = r.finish();
            if (!p.equals(whole)) {
                return "split " + cut + ": " + p + " vs " + whole;
            }
            if (!content.toString().strip().equals(p.content().strip())) {
                return "split " + cut + ": streamed content " + quote(content.toString()) + " vs " + quote(p.content());
            }
            if (!reasoning.toString().strip().equals(p.reasoning().strip())) {
                return "split " + cut + ": streamed reasoning " + quote(reasoning.toString()) + " vs " + quote(p.reasoning());
            }
            if (names.size() != p.calls().size()) {
                return "split " + cut + ": streamed " + names.size() + " calls vs " + p.calls().size();
            }
            for (int k = 0; k < p.calls().size(); k++) {
                if (!p.calls().get(k).arguments().equals(args.get(k).toString())) {
                    return "split " + cut + ": streamed arguments " + args.get(k) + " vs " + p.calls().get(k).arguments();
                }
            }
        }
        return null;
    }

    private static String report(List<Outcome> outcomes, List<ChatHarness.Compared> corpus) {
        Map<String, int[]> byFamily = new TreeMap<>(); // cases, prompts ok, outputs, outputs ok
        Map<String, String> formats = new TreeMap<>();
        for (Outcome o : outcomes) {
            int[] n = byFamily.computeIfAbsent(o.family(), f -> new int[4]);
            n[0]++;
            n[1] += o.prompt() ? 1 : 0;
            n[2] += o.outputs();
            n[3] += o.parsed();
            formats.merge(o.family(), o.format(), (a, b) -> a.contains(b) ? a : a + "," + b);
        }
        StringBuilder sb = new StringBuilder("| family | our format | prompts equal | outputs read equal |\n|---|---|---|---|\n");
        int[] total = new int[4];
        byFamily.forEach((f, n) -> {
            sb.append("| ").append(f).append(" | ").append(formats.get(f)).append(" | ").append(n[1]).append('/').append(n[0])
                    .append(" | ").append(n[3]).append('/').append(n[2]).append(" |\n");
            for (int k = 0; k < 4; k++) {
                total[k] += n[k];
            }
        });
        sb.append("| all | | ").append(total[1]).append('/').append(total[0]).append(" | ").append(total[3]).append('/')
                .append(total[2]).append(" |\n\n");
        for (Outcome o : outcomes) {
            o.diffs().forEach(d -> sb.append("- ").append(d).append('\n'));
        }
        return sb.toString();
    }

    private static String firstDifference(String a, String b) {
        int i = 0;
        while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return "at " + i + ": ours " + quote(a.substring(i, Math.min(a.length(), i + (a.startsWith("<error") ? 300 : 60)))) + " vs llama.cpp "
                + quote(b.substring(i, Math.min(b.length(), i + 60)));
    }

    private static String quote(String s) {
        return "\"" + s.replace("\n", "\\n") + "\"";
    }

    @Test
    void everyFamilyOfTheCorpusIsDetected() {
        for (ChatHarness.Case c : ChatHarness.corpus()) {
            if (c.family().equals("smollm3")) {
                continue;
            }
            assertTrue(NativeToolFormat.detect(ChatTemplate.of(c.template())).isPresent(), c.id());
        }
        assertEquals("hermes", NativeToolFormat.detect(ChatTemplate.of(ChatHarness.corpus().stream()
                .filter(c -> c.templateFile().equals("Qwen-Qwen2.5-7B-Instruct.jinja")).findFirst().orElseThrow().template()))
                .orElseThrow().name());
    }
}
