package io.llamaffm.chat;

import io.llamaffm.TestEnv;
import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp's own chat-template rendering and tool-call parsing, run through {@code llamaffm-chat}
 * (native/harness/chat.cpp, built from the pinned source): what our tool formats are compared with.
 * <p>
 * {@link #corpus()} reads {@code tool-cases.json} (template file names under the pinned source's
 * {@code models/templates}, conversations, tools, model outputs) into {@link Case}s whose messages and tools are
 * our own {@link ChatMessage} and {@link Tool} values; {@link #run(List)} sends exactly those values to the harness
 * (so both sides render the same input) and returns llama.cpp's {@link Result} per case; {@link #runCorpus()} pairs
 * each case with its result. Rendering is deterministic: every case renders at {@link #NOW}, and the
 * {@code date_string}/{@code datetime} variables llama.cpp adds from the wall clock are pinned to the same day
 * through {@code chat_template_kwargs} (see {@link #DATE_KWARGS}).
 */
final class ChatHarness {
    /** The instant every case renders at (the same as {@link Goldens#CLOCK}). */
    static final Instant NOW = Instant.parse("2026-01-15T10:30:00Z");
    /** llama.cpp sets these from the real clock (common_chat_extra_context); the cases pin them to {@link #NOW}. */
    static final Map<String, Object> DATE_KWARGS = java.util.Collections.unmodifiableMap(ordered("date_string", "15 Jan 2026", "datetime", "Jan 15 2026"));
    private static final long TIMEOUT_SECONDS = 60;
    private static final String CORPUS = "tool-cases.json";

    private ChatHarness() {}

    /**
     * One input: a template (by file name, with its text), a conversation, the tools offered, the request's
     * options and the model outputs to parse.
     */
    record Case(String id, String family, String templateFile, String template, String conversation,
                List<ChatMessage> messages, List<Tool> tools, String toolChoice, Boolean parallelToolCalls,
                Boolean enableThinking, String reasoningFormat, List<String> outputs, String notes) {
        /** The case as llamaffm-chat reads it (OpenAI-style messages and tools). */
        Map<String, Object> request() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("template", template);
            m.put("messages", messages.stream().map(ChatHarness::openAi).toList());
            if (!tools.isEmpty()) {
                m.put("tools", tools.stream().map(ChatHarness::openAi).toList());
            }
            if (toolChoice != null) {
                m.put("tool_choice", toolChoice);
            }
            if (parallelToolCalls != null) {
                m.put("parallel_tool_calls", parallelToolCalls);
            }
            if (enableThinking != null) {
                m.put("enable_thinking", enableThinking);
            }
            if (reasoningFormat != null) {
                m.put("reasoning_format", reasoningFormat);
            }
            m.put("now", BigDecimal.valueOf(NOW.getEpochSecond()));
            m.put("chat_template_kwargs", DATE_KWARGS);
            m.put("outputs", outputs);
            return m;
        }

        @Override
        public String toString() {
            return id;
        }
    }

    /** A tool call as llama.cpp parsed it (the id is empty when the format carries none). */
    record ParsedCall(String id, String name, String arguments) {}

    /** One output as llama.cpp parsed it, or the error it raised ({@code error} non-null, the rest empty). */
    record Parsed(String content, String reasoningContent, List<ParsedCall> toolCalls, String error) {
        boolean ok() {
            return error == null;
        }
    }

    /**
     * llama.cpp's answer for one case: the rendered prompt, the chat format and grammar it chose, and each
     * output parsed; or {@code ok == false} with the error (the template failed to render, ...).
     * {@code raw} is the harness's whole JSON object for the case.
     */
    record Result(String id, boolean ok, String error, String prompt, String format, String generationPrompt,
                  String grammar, boolean grammarLazy, List<Map<String, Object>> grammarTriggers,
                  List<String> preservedTokens, boolean supportsThinking, String thinkingStartTag,
                  List<String> thinkingEndTags, List<Parsed> parsed, Map<String, Object> raw) {}

    /** A case and what llama.cpp made of it. */
    record Compared(Case input, Result llamaCpp) {
        @Override
        public String toString() {
            return input.id();
        }
    }

    /** The harness executable; skips the test when the natives were not built from source here. */
    static Path executable() {
        Path exe = TestEnv.toolsDir().resolve("llamaffm-chat");
        Assumptions.assumeTrue(Files.isExecutable(exe),
                exe + " is absent: rebuild the natives from source (native/scripts/build.sh) with LLAMAFFM_TOOLS=ON");
        return exe;
    }

    /** The pinned source's folder of chat templates. */
    static Path templatesDir() {
        return TestEnv.sourceDir().resolve("models/templates");
    }

    /** Every case of tool-cases.json, with its template's text read from the pinned source. */
    static List<Case> corpus() {
        Map<String, Object> doc = object(JsonParser.parse(resource(CORPUS)));
        Map<String, Tool> tools = new LinkedHashMap<>();
        object(doc.get("tools")).forEach((name, t) -> tools.put(name, tool(object(t))));
        Map<String, List<ChatMessage>> conversations = new LinkedHashMap<>();
        object(doc.get("conversations")).forEach((name, msgs) ->
                conversations.put(name, list(msgs).stream().map(m -> message(object(m))).toList()));
        List<Case> cases = new ArrayList<>();
        for (Object o : list(doc.get("cases"))) {
            Map<String, Object> c = object(o);
            String file = (String) c.get("template");
            String conversation = (String) c.get("conversation");
            List<ChatMessage> messages = conversations.get(conversation);
            if (messages == null) {
                throw new IllegalStateException(c.get("id") + ": no conversation " + conversation);
            }
            List<Tool> offered = c.containsKey("tools")
                    ? list(c.get("tools")).stream().map(n -> tools.get((String) n)).toList()
                    : List.copyOf(tools.values());
            cases.add(new Case((String) c.get("id"), (String) c.get("family"), file, templateText(file), conversation,
                    messages, offered, (String) c.get("tool_choice"), (Boolean) c.get("parallel_tool_calls"),
                    (Boolean) c.get("enable_thinking"), (String) c.get("reasoning_format"),
                    list(c.get("outputs")).stream().map(String.class::cast).toList(), (String) c.get("notes")));
        }
        return cases;
    }

    /** Runs the whole corpus: each case with llama.cpp's result. */
    static List<Compared> runCorpus() {
        List<Case> cases = corpus();
        List<Result> results = run(cases);
        List<Compared> out = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            out.add(new Compared(cases.get(i), results.get(i)));
        }
        return out;
    }

    /** Runs the cases through llamaffm-chat, one result per case in order. */
    static List<Result> run(List<Case> cases) {
        Map<String, Object> request = Map.of("cases", cases.stream().map(Case::request).toList());
        List<Object> results = list(runRaw(request).get("results"));
        if (results.size() != cases.size()) {
            throw new AssertionError("llamaffm-chat answered " + results.size() + " results for " + cases.size() + " cases");
        }
        return results.stream().map(r -> result(object(r))).toList();
    }

    /** Sends one cases document to llamaffm-chat and returns its whole answer ({@code {"results": [...]}}). */
    static Map<String, Object> runRaw(Map<String, Object> document) {
        Path exe = executable();
        Path stderr = null;
        try {
            stderr = Files.createTempFile("llamaffm-chat", ".stderr");
            Process p = new ProcessBuilder(exe.toString()).redirectError(stderr.toFile()).start();
            byte[] in = NlohmannJson.dump(document).getBytes(StandardCharsets.UTF_8);
            // the harness reads all of stdin before it writes: no need for a second thread
            try (OutputStream os = p.getOutputStream()) {
                os.write(in);
            }
            byte[] out;
            try (InputStream is = p.getInputStream()) {
                out = is.readAllBytes();
            }
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("llamaffm-chat did not finish within " + TIMEOUT_SECONDS + " s");
            }
            if (p.exitValue() != 0) {
                throw new AssertionError("llamaffm-chat exited with " + p.exitValue() + ": " + tail(stderr));
            }
            return object(JsonParser.parse(new String(out, StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("running " + exe, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running llamaffm-chat", e);
        } finally {
            if (stderr != null) {
                try {
                    Files.deleteIfExists(stderr);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    /** An OpenAI chat message for one of ours. */
    static Map<String, Object> openAi(ChatMessage m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("role", m.role());
        out.put("content", m.content());
        if (!m.toolCalls().isEmpty()) {
            out.put("tool_calls", m.toolCalls().stream().map(tc -> ordered(
                    "id", tc.id(), "type", "function",
                    "function", ordered("name", tc.name(), "arguments", tc.arguments()))).toList());
        }
        if (m.toolCallId() != null) {
            out.put("tool_call_id", m.toolCallId());
        }
        return out;
    }

    /** An OpenAI tool object for one of ours. */
    static Map<String, Object> openAi(Tool t) {
        Map<String, Object> fn = new LinkedHashMap<>();
        fn.put("name", t.name());
        fn.put("description", t.description());
        fn.put("parameters", JsonParser.parse(t.parameters()));
        return ordered("type", "function", "function", fn);
    }

    /** A map that keeps the order of its keys (templates that dump a tool or call as JSON show that order). */
    private static Map<String, Object> ordered(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private static ChatMessage message(Map<String, Object> m) {
        String role = (String) m.get("role");
        String content = m.get("content") == null ? "" : (String) m.get("content");
        List<ToolCall> calls = new ArrayList<>();
        if (m.get("tool_calls") != null) {
            for (Object o : list(m.get("tool_calls"))) {
                Map<String, Object> tc = object(o);
                Map<String, Object> fn = object(tc.get("function"));
                calls.add(new ToolCall((String) tc.get("id"), (String) fn.get("name"), (String) fn.get("arguments")));
            }
        }
        return new ChatMessage(role, content, calls, (String) m.get("tool_call_id"));
    }

    private static Tool tool(Map<String, Object> t) {
        Map<String, Object> fn = object(t.get("function"));
        return new Tool((String) fn.get("name"), (String) fn.get("description"), NlohmannJson.dump(fn.get("parameters")));
    }

    private static Result result(Map<String, Object> r) {
        String id = (String) r.get("id");
        if (!Boolean.TRUE.equals(r.get("ok"))) {
            return new Result(id, false, (String) r.get("error"), null, null, null, null, false, List.of(), List.of(),
                    false, null, List.of(), List.of(), r);
        }
        List<Parsed> parsed = new ArrayList<>();
        for (Object o : list(r.get("parsed"))) {
            Map<String, Object> p = object(o);
            if (p.containsKey("error")) {
                parsed.add(new Parsed(null, null, List.of(), (String) p.get("error")));
                continue;
            }
            List<ParsedCall> calls = list(p.get("tool_calls")).stream().map(c -> {
                Map<String, Object> call = object(c);
                return new ParsedCall((String) call.get("id"), (String) call.get("name"), (String) call.get("arguments"));
            }).toList();
            parsed.add(new Parsed((String) p.get("content"), (String) p.get("reasoning_content"), calls, null));
        }
        return new Result(id, true, null, (String) r.get("prompt"), (String) r.get("format"),
                (String) r.get("generation_prompt"), (String) r.get("grammar"), Boolean.TRUE.equals(r.get("grammar_lazy")),
                list(r.get("grammar_triggers")).stream().map(ChatHarness::object).toList(),
                strings(r.get("preserved_tokens")), Boolean.TRUE.equals(r.get("supports_thinking")),
                (String) r.get("thinking_start_tag"), strings(r.get("thinking_end_tags")), parsed, r);
    }

    private static String templateText(String file) {
        try {
            return Files.readString(templatesDir().resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException("template " + file + " of the pinned source", e);
        }
    }

    private static String resource(String name) {
        try (InputStream in = ChatHarness.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + name + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String tail(Path file) throws IOException {
        String s = Files.readString(file);
        return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
    }

    private static List<String> strings(Object o) {
        return o == null ? List.of() : list(o).stream().map(String.class::cast).toList();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }
}
