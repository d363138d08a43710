package io.llamaffm.chat;

import io.llamaffm.LlamaException;
import io.llamaffm.TestEnv;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.internal.jinja.Budget;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The margins of {@link TemplateLimits}: every real template (llama.cpp's models/templates, the templates of
 * test-chat-template.cpp and those in the source's vocabulary GGUFs) rendering a conversation of 50 messages with tools and
 * tool calls uses less than a tenth of each default limit; and each limit, when reached, ends the render with a
 * {@link ChatTemplateException} of kind LIMIT that names the limit and how to raise it. Needs no natives.
 */
class TemplateLimitsTest {
    /** The most of each default limit a real template may use. */
    private static final double MARGIN = 0.1;

    /** What one real template used for the largest conversation it renders. */
    record Use(String template, String scenario, int sourceChars, int sourceDepth, long steps, long outputChars,
               long allocatedBytes, long largestValue, int renderDepth) {}

    @Test
    void everyRealTemplateUsesLessThanATenthOfEachDefaultLimit() throws IOException {
        TemplateLimits limits = TemplateLimits.defaults();
        assertEquals(new TemplateLimits(TemplateLimits.DEFAULT_MAX_SOURCE_CHARS, TemplateLimits.DEFAULT_MAX_NESTING_DEPTH,
                TemplateLimits.DEFAULT_MAX_STEPS, TemplateLimits.DEFAULT_MAX_OUTPUT_CHARS, TemplateLimits.DEFAULT_MAX_VALUE_LENGTH,
                TemplateLimits.DEFAULT_MAX_ALLOCATED_BYTES), limits, "the tests run with the built-in defaults");
        List<String> refused = new ArrayList<>();
        List<Use> uses = measureAll(scenarios(), refused);
        Use max = max(uses);
        String table = table(uses, max, limits, refused);
        System.out.println("[template limits]\n" + table);

        // every template renders one of the large conversations: the measurement covers them all
        assertEquals(List.of(), refused, table);
        assertTrue(uses.size() >= 100, table);
        assertTrue(max.sourceChars() < MARGIN * limits.maxSourceChars(), table);
        assertTrue(max.sourceDepth() < MARGIN * limits.maxNestingDepth(), table);
        assertTrue(max.renderDepth() < MARGIN * limits.maxNestingDepth(), table);
        assertTrue(max.steps() < MARGIN * limits.maxSteps(), table);
        assertTrue(max.outputChars() < MARGIN * limits.maxOutputChars(), table);
        assertTrue(max.largestValue() < MARGIN * limits.maxValueLength(), table);
        assertTrue(max.allocatedBytes() < MARGIN * limits.maxAllocatedBytes(), table);
        // the measurement is not vacuous: the conversation is large and the templates do real work on it
        assertTrue(max.outputChars() > 20_000 && max.steps() > 10_000, table);
    }

    /**
     * A conversation twice as long with texts ten times as long (98 messages, about 147 000 chars of prompt, some 37 000
     * tokens): every real template still renders it within the default limits. (Reka-Edge, which rebuilds the whole
     * prompt at every message, uses allocation in proportion to messages × prompt length: 41 MB here, 158 MB at twice
     * the length; RELIABILITY.md.)
     */
    @Test
    void everyRealTemplateRendersALongConversationWithinTheDefaults() throws IOException {
        List<String> refused = new ArrayList<>();
        List<Use> uses = measureAll(scenarios(24, 10), refused);
        Use max = max(uses);
        String table = table(uses, max, TemplateLimits.defaults(), refused);
        System.out.println("[template limits, long conversation]\n" + table);
        assertEquals(List.of(), refused, table);
        assertTrue(uses.size() >= 100, table);
        assertTrue(max.outputChars() > 140_000, table);
    }

    /** Each real template measured on the first of {@code scenarios} it renders; those that render none in {@code refused}. */
    private static List<Use> measureAll(Map<String, Map<String, Object>> scenarios, List<String> refused) throws IOException {
        List<Use> uses = new ArrayList<>();
        for (Map.Entry<String, String[]> t : realTemplates().entrySet()) {
            Use use = measure(t.getKey(), ChatTemplate.of(t.getValue()[0], t.getValue()[1], t.getValue()[2]).withClock(Goldens.CLOCK),
                    scenarios);
            if (use == null) {
                refused.add(t.getKey());
            } else {
                uses.add(use);
            }
        }
        return uses;
    }

    private static Use max(List<Use> uses) {
        return new Use("max", "", uses.stream().mapToInt(Use::sourceChars).max().orElseThrow(),
                uses.stream().mapToInt(Use::sourceDepth).max().orElseThrow(), uses.stream().mapToLong(Use::steps).max().orElseThrow(),
                uses.stream().mapToLong(Use::outputChars).max().orElseThrow(), uses.stream().mapToLong(Use::allocatedBytes).max().orElseThrow(),
                uses.stream().mapToLong(Use::largestValue).max().orElseThrow(), uses.stream().mapToInt(Use::renderDepth).max().orElseThrow());
    }

    private static String table(List<Use> uses, Use max, TemplateLimits limits, List<String> refused) {
        StringBuilder table = new StringBuilder(String.format("%-70s %-16s %7s %5s %8s %8s %10s %8s %5s%n", "template",
                "scenario", "source", "depth", "steps", "output", "allocated", "value", "depth"));
        uses.forEach(u -> table.append(String.format("%-70s %-16s %7d %5d %8d %8d %10d %8d %5d%n", u.template(), u.scenario(),
                u.sourceChars(), u.sourceDepth(), u.steps(), u.outputChars(), u.allocatedBytes(), u.largestValue(), u.renderDepth())));
        table.append(String.format("%-70s %-16s %7d %5d %8d %8d %10d %8d %5d%n", "MAX of " + uses.size(), "", max.sourceChars(),
                max.sourceDepth(), max.steps(), max.outputChars(), max.allocatedBytes(), max.largestValue(), max.renderDepth()));
        table.append(String.format("%-70s %-16s %7d %5d %8d %8d %10d %8d %5d%n", "default limit", "", limits.maxSourceChars(),
                limits.maxNestingDepth(), limits.maxSteps(), limits.maxOutputChars(), limits.maxAllocatedBytes(),
                limits.maxValueLength(), limits.maxNestingDepth()));
        table.append("refused every scenario: ").append(refused);
        return table.toString();
    }

    /** The first of the scenarios (largest first) the template renders, with what it used; null if it refuses all. */
    private static Use measure(String name, ChatTemplate template, Map<String, Map<String, Object>> scenarios) {
        for (Map.Entry<String, Map<String, Object>> s : scenarios.entrySet()) {
            ChatTemplate.Measured m;
            try {
                m = template.measure(s.getValue());
            } catch (ChatTemplateException e) {
                if (e.kind() == ChatTemplateException.Kind.LIMIT) {
                    throw e;
                }
                continue; // this template does not take this conversation (roles, tools): the next, smaller one
            }
            Budget.Usage u = m.usage();
            return new Use(name, s.getKey(), template.source().length(), template.sourceDepth(), u.steps(), m.text().length(),
                    u.allocatedBytes(), u.largestValue(), u.deepestNesting());
        }
        return null;
    }

    /** Every real template the tests use, by name: source, BOS and EOS text. */
    static Map<String, String[]> realTemplates() throws IOException {
        Map<String, String[]> out = new LinkedHashMap<>();
        Path dir = TestEnv.sourceDir().resolve("models/templates");
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".jinja")).sorted().toList()) {
                out.put(f.getFileName().toString(), new String[] {Files.readString(f), "<s>", "</s>"});
            }
        }
        for (LlamaCppChatCases.Case c : LlamaCppChatCases.load()) {
            if (c.supportedWithJinja()) {
                out.put("test-chat-template.cpp: " + c.name(), new String[] {c.template(), c.bos(), c.eos()});
            }
        }
        try (Stream<Path> files = Files.list(TestEnv.sourceDir().resolve("models"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("ggml-vocab-.*\\.gguf")).sorted().toList()) {
                try (GgufFile g = GgufFile.open(f)) {
                    g.metadata().forEach((k, v) -> {
                        if (k.startsWith("tokenizer.chat_template") && v instanceof GgufValue.Str s) {
                            out.put(f.getFileName() + ":" + k, new String[] {s.value(), "<s>", "</s>"});
                        }
                    });
                }
            }
        }
        return out;
    }

    // ---- the conversation ---------------------------------------------------------------------------------------

    /**
     * The conversations measured, largest first: 50 messages (a system message, twelve rounds of a question, a tool
     * call, its result and an answer, and a last question) with five tools; the same without the system message; then
     * without tools (the calls and results become plain turns); then neither.
     */
    static Map<String, Map<String, Object>> scenarios() {
        return scenarios(12, 1);
    }

    /** {@link #scenarios()} with {@code rounds} rounds, texts {@code repeat} times as long. */
    static Map<String, Map<String, Object>> scenarios(int rounds, int repeat) {
        Map<String, Map<String, Object>> s = new LinkedHashMap<>();
        int n = 4 * rounds + 2;
        s.put(n + "+tools", variables(conversation(true, true, rounds, repeat), true));
        s.put(n - 1 + "+tools", variables(conversation(false, true, rounds, repeat), true));
        s.put(String.valueOf(n), variables(conversation(true, false, rounds, repeat), false));
        s.put(String.valueOf(n - 1), variables(conversation(false, false, rounds, repeat), false));
        // the inputs of two families' own: Command-R's tools and documents, Firefunction's functions (JSON text) and date
        Map<String, Object> cohere = variables(conversation(true, false, rounds, repeat), false);
        cohere.put("tools", tools().stream().map(TemplateLimitsTest::cohereTool).toList());
        cohere.put("documents", List.of(Goldens.map("title", "Packing list", "text", "Layers, rain jacket, sun cream."),
                Goldens.map("title", "Spring weather", "text", "Lisbon is the warmest of the six cities in April.")));
        s.put(n + "+cohere-tools", cohere);
        Map<String, Object> functions = variables(conversation(true, true, rounds, repeat), true);
        functions.put("functions", ChatTemplate.of("{{ tools | tojson }}").render(Map.of("tools", tools())));
        functions.put("datetime", "2026-01-15");
        s.put(n + "+functions", functions);
        return s;
    }

    /** A tool as Command-R's tool-use template takes it: name, description and parameter definitions. */
    @SuppressWarnings("unchecked")
    private static Object cohereTool(Object openAiTool) {
        Map<String, Object> f = (Map<String, Object>) ((Map<String, Object>) openAiTool).get("function");
        Map<String, Object> parameters = (Map<String, Object>) f.get("parameters");
        List<String> required = (List<String>) parameters.get("required");
        Map<String, Object> definitions = new LinkedHashMap<>();
        ((Map<String, Object>) parameters.get("properties")).forEach((name, schema) -> definitions.put(name, Goldens.map(
                "description", ((Map<String, Object>) schema).getOrDefault("description", name),
                "type", ((Map<String, Object>) schema).get("type"), "required", required.contains(name))));
        return Goldens.map("name", f.get("name"), "description", f.get("description"), "parameter_definitions", definitions);
    }

    private static Map<String, Object> variables(List<Object> messages, boolean tools) {
        Map<String, Object> v = Goldens.map("messages", messages, "add_generation_prompt", true);
        if (tools) {
            v.put("tools", tools());
        }
        return v;
    }

    private static final String[] CITIES = {"Zürich", "Lisbon", "Tokyo", "Nairobi", "Montréal", "Reykjavík"};

    static List<Object> conversation(boolean system, boolean tools) {
        return conversation(system, tools, 12, 1);
    }

    /**
     * A system message (or none), {@code rounds} rounds of a question, a tool call (or a plain turn), its result and an
     * answer, and a last question; the question and answer texts {@code repeat} times as long.
     */
    static List<Object> conversation(boolean system, boolean tools, int rounds, int repeat) {
        List<Object> m = new ArrayList<>();
        if (system) {
            m.add(Goldens.message("system", "You are a careful travel assistant. Answer briefly, in the user's language, and use "
                    + "the tools whenever a fact about weather, flights or dates is needed; never invent numbers. When a tool "
                    + "fails, say so and suggest what the user can do instead."));
        }
        for (int round = 1; round <= rounds; round++) {
            String city = CITIES[round % CITIES.length];
            String id = String.format("call%05d", round);
            m.add(Goldens.message("user", ("Round " + round + ": I am planning a trip to " + city + " next week with two children "
                    + "and an elderly parent. What will the weather be like, and is there anything we should pack that we "
                    + "might not think of? Please keep it short, we are reading this on a phone. ").repeat(repeat).strip()));
            String result = "{\"city\": \"" + city + "\", \"days\": [{\"day\": 1, \"temp_c\": " + (10 + round)
                    + ", \"rain_mm\": 2.5}, {\"day\": 2, \"temp_c\": " + (12 + round) + ", \"rain_mm\": 0}]}";
            String answer = ("In " + city + " it will be " + (10 + round) + " to " + (12 + round) + " °C with a little rain on "
                    + "the first day. Pack layers, a light rain jacket for everyone, sun cream (the UV index is high even when "
                    + "it is cool), comfortable shoes for cobbled streets, and a small first-aid kit with the children's usual "
                    + "medicine. A folding stool can help your parent in long queues. ").repeat(repeat).strip();
            if (tools) {
                Map<String, Object> arguments = Goldens.map("city", city, "days", 2L, "units", "metric");
                Map<String, Object> call = Goldens.map("id", id, "type", "function",
                        "function", Goldens.map("name", "get_forecast", "arguments", arguments));
                m.add(Goldens.map("role", "assistant", "content", "", "tool_calls", List.of(call)));
                m.add(Goldens.map("role", "tool", "tool_call_id", id, "name", "get_forecast", "content", result));
                m.add(Goldens.message("assistant", answer));
            } else {
                m.add(Goldens.message("assistant", "Let me look at the forecast for " + city + "."));
                m.add(Goldens.message("user", "The forecast service says: " + result));
                m.add(Goldens.message("assistant", answer));
            }
        }
        m.add(Goldens.message("user", "Thank you! Last question: which of these cities is warmest in spring?"));
        return m;
    }

    static List<Object> tools() {
        Map<String, Object> forecast = function("get_forecast", "The daily forecast of a city: temperature and rain.",
                Goldens.map("city", Goldens.map("type", "string", "description", "City name, in English or the local language"),
                        "days", Goldens.map("type", "integer", "description", "How many days, 1 to 14", "minimum", 1L, "maximum", 14L),
                        "units", Goldens.map("type", "string", "enum", List.of("metric", "imperial"))),
                List.of("city"));
        Map<String, Object> flights = function("search_flights", "Flights between two airports on a date.",
                Goldens.map("from", Goldens.map("type", "string", "description", "IATA code of the departure airport"),
                        "to", Goldens.map("type", "string", "description", "IATA code of the arrival airport"),
                        "date", Goldens.map("type", "string", "description", "Departure date, YYYY-MM-DD"),
                        "passengers", Goldens.map("type", "array", "items", Goldens.map("type", "object", "properties",
                                Goldens.map("age", Goldens.map("type", "integer"), "seat", Goldens.map("type", "string",
                                        "enum", List.of("aisle", "window", "any")))))),
                List.of("from", "to", "date"));
        Map<String, Object> convert = function("convert_currency", "Converts an amount between currencies at today's rate.",
                Goldens.map("amount", Goldens.map("type", "number"), "from", Goldens.map("type", "string"),
                        "to", Goldens.map("type", "string")), List.of("amount", "from", "to"));
        Map<String, Object> holidays = function("public_holidays", "Public holidays of a country in a month.",
                Goldens.map("country", Goldens.map("type", "string", "description", "ISO 3166 code"),
                        "month", Goldens.map("type", "integer")), List.of("country"));
        Map<String, Object> note = function("save_note", "Saves a note to the user's trip plan.",
                Goldens.map("title", Goldens.map("type", "string"), "text", Goldens.map("type", "string"),
                        "tags", Goldens.map("type", "array", "items", Goldens.map("type", "string"))), List.of("title", "text"));
        return List.of(forecast, flights, convert, holidays, note);
    }

    private static Map<String, Object> function(String name, String description, Map<String, Object> properties, List<String> required) {
        return Goldens.map("type", "function", "function", Goldens.map("name", name, "description", description,
                "parameters", Goldens.map("type", "object", "properties", properties, "required", required)));
    }

    // ---- the limits themselves ----------------------------------------------------------------------------------

    @Test
    void limitsAreCheckedAndCopiedByTheWithMethods() {
        TemplateLimits d = TemplateLimits.defaults();
        assertEquals(123, d.withMaxSourceChars(123).maxSourceChars());
        assertEquals(7, d.withMaxNestingDepth(7).maxNestingDepth());
        assertEquals(9L, d.withMaxSteps(9).maxSteps());
        assertEquals(10L, d.withMaxOutputChars(10).maxOutputChars());
        assertEquals(11L, d.withMaxValueLength(11).maxValueLength());
        assertEquals(12L, d.withMaxAllocatedBytes(12).maxAllocatedBytes());
        assertEquals(d.maxSteps(), d.withMaxOutputChars(10).maxSteps(), "one change at a time");
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> d.withMaxSteps(0));
        assertEquals("maxSteps must be positive, got 0", zero.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> d.withMaxNestingDepth(-1));
        assertEquals("maxNestingDepth must be positive, got -1", negative.getMessage());
    }

    /** A template over one lowered limit: refused with kind LIMIT, the limit named; under the defaults it renders. */
    private static void overOnly(String source, TemplateLimits lowered, String expected, String reason) {
        Map<String, Object> variables = Goldens.map("messages", List.of(Goldens.message("user", "hi")));
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of(source, "", "", lowered).render(variables));
        assertEquals(ChatTemplateException.Kind.LIMIT, e.kind(), e.getMessage());
        assertEquals(reason, e.reason());
        assertEquals(expected, ChatTemplate.of(source).render(variables));
    }

    @Test
    void eachLimitWhenReachedIsNamedWithHowToRaiseIt() {
        TemplateLimits d = TemplateLimits.defaults();
        overOnly("x".repeat(101), d.withMaxSourceChars(100), "x".repeat(101), "the template has 101 chars, more than 100; raise "
                + "TemplateLimits.maxSourceChars with TemplateLimits.withMaxSourceChars(..) or -Dllamaffm.template.max.source");
        overOnly("{{ ((((1)))) }}", d.withMaxNestingDepth(3), "1", "the template nests deeper than 3 levels (blocks, brackets, "
                + "operators and filters); raise TemplateLimits.maxNestingDepth with TemplateLimits.withMaxNestingDepth(..) or "
                + "-Dllamaffm.template.max.depth");
        overOnly("{% macro f(n) %}{{ f(n - 1) if n > 0 }}{% endmacro %}{{ f(20) }}", d.withMaxNestingDepth(30), "",
                "the template nests deeper than 30 levels while rendering (blocks, expressions and macro calls, recursion "
                        + "included); raise TemplateLimits.maxNestingDepth with TemplateLimits.withMaxNestingDepth(..) or "
                        + "-Dllamaffm.template.max.depth");
        overOnly("{% for i in range(1000) %}{% endfor %}.", d.withMaxSteps(500), ".", "the template took more than 500 steps "
                + "(loop iterations, statements, expressions and calls, and work in proportion to the size of values); raise "
                + "TemplateLimits.maxSteps with TemplateLimits.withMaxSteps(..) or -Dllamaffm.template.max.steps");
        overOnly("{{ 'x' * 60 }}{{ 'y' * 60 }}", d.withMaxOutputChars(100), "x".repeat(60) + "y".repeat(60),
                "the rendered text would exceed 100 chars; raise TemplateLimits.maxOutputChars with "
                        + "TemplateLimits.withMaxOutputChars(..) or -Dllamaffm.template.max.output");
        overOnly("{% set s = 'x' * 200 %}{{ s|length }}", d.withMaxValueLength(100), "200", "a value of 200 chars or items "
                + "would be longer than 100, the most one string, list or dict may have; raise TemplateLimits.maxValueLength "
                + "with TemplateLimits.withMaxValueLength(..) or -Dllamaffm.template.max.value");
        overOnly("{% for i in range(100) %}{% set s = 'x' * 90 %}{% endfor %}.", d.withMaxAllocatedBytes(10_000), ".",
                "the values created while rendering exceeded 10000 bytes (estimated: 2 a char, 8 a list item, 48 a dict entry, "
                        + "40 a value); raise TemplateLimits.maxAllocatedBytes with TemplateLimits.withMaxAllocatedBytes(..) or "
                        + "-Dllamaffm.template.max.allocation");
        // the message names the kind and the template line where the limit was reached
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("a\n{% for i in range(10) %}"
                + "\n{{ i }}{% endfor %}", "", "", d.withMaxOutputChars(5)).render(Map.of()));
        assertTrue(e.getMessage().startsWith("chat template stopped at a limit (template line 3): the rendered text would exceed 5 "
                + "chars"), e.getMessage());
        assertEquals(3, e.line());
    }

    @Test
    void aRenderCountsOnlyItsOwnUse() {
        // each render has a budget of its own: many renders of a template never add up to a limit
        ChatTemplate t = ChatTemplate.of("{% for i in range(300) %}{% endfor %}ok", "", "", TemplateLimits.defaults().withMaxSteps(1000));
        for (int k = 0; k < 100; k++) {
            assertEquals("ok", t.render(Map.of()));
        }
        assertTrue(t.measure(Map.of()).usage().steps() > 300, "the loop's iterations are counted");
    }

    @Test
    void defaultsComeFromTheProperties() {
        System.setProperty("llamaffm.template.max.steps", "2M");
        System.setProperty("llamaffm.template.max.depth", "64");
        try {
            TemplateLimits l = TemplateLimits.defaults();
            assertEquals(2L << 20, l.maxSteps());
            assertEquals(64, l.maxNestingDepth());
            assertEquals(TemplateLimits.DEFAULT_MAX_OUTPUT_CHARS, l.maxOutputChars());
            assertEquals(l, ChatTemplate.of("x").limits(), "a template made without limits takes the defaults");
            System.setProperty("llamaffm.template.max.depth", "lots");
            LlamaException bad = assertThrows(LlamaException.class, TemplateLimits::defaults);
            assertEquals("llamaffm.template.max.depth='lots' is not a positive number (such as 100000, 512K, 4M)", bad.getMessage());
            System.clearProperty("llamaffm.template.max.depth");
            System.setProperty("llamaffm.template.max.source", "4G");
            LlamaException big = assertThrows(LlamaException.class, TemplateLimits::defaults);
            assertEquals("llamaffm.template.max.source='4G' is more than the largest allowed, 2147483647", big.getMessage());
        } finally {
            System.clearProperty("llamaffm.template.max.steps");
            System.clearProperty("llamaffm.template.max.depth");
            System.clearProperty("llamaffm.template.max.source");
        }
    }
}
