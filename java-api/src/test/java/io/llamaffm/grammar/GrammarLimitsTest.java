package io.llamaffm.grammar;

import io.llamaffm.Configuration;
import io.llamaffm.LlamaException;
import io.llamaffm.SamplerChain;
import io.llamaffm.internal.GbnfLimits;
import io.llamaffm.internal.GrammarLimits;
import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The grammar limits: far above what real schemas need (measured on every schema of json-schema-cases.txt, llama.cpp's
 * test schemas and ours), configurable through {@link Configuration}, and what a maximum llama.cpp does not enforce
 * gives (a warning).
 */
class GrammarLimitsTest {

    /** The largest of each measure over the schema cases, and the case it comes from. */
    private record Maxima(long[] values, String[] cases) {}

    private static final String[] MEASURES = {"schema characters", "schema nesting", "conversion steps", "grammar characters",
            "groups nested", "llama.cpp rules", "llama.cpp elements", "left-recursion steps", "rule chain"};

    private static Maxima measureCases() {
        GrammarLimits limits = GrammarLimits.configured();
        long[] max = new long[MEASURES.length];
        String[] where = new String[MEASURES.length];
        for (SchemaCases.Case c : SchemaCases.all()) {
            if (!c.succeeds()) {
                continue;
            }
            Rules rules = new Rules(limits);
            SchemaConverter converter = new SchemaConverter(JsonParser.parse(c.schema()), c.options(), rules, "");
            GbnfLimits.Measure m = GbnfLimits.measure(converter.convert().grammar(), "root", limits);
            long[] v = {c.schema().length(), converter.maxDepth(), rules.steps(), m.chars(), m.nesting(), m.rules(),
                    m.elements(), m.steps(), m.chain()};
            for (int i = 0; i < v.length; i++) {
                if (v[i] > max[i]) {
                    max[i] = v[i];
                    where[i] = c.name();
                }
            }
        }
        return new Maxima(max, where);
    }

    @Test
    void theDefaultLimitsAreFarAboveWhatTheSchemaCasesNeed() {
        assertEquals(148, SchemaCases.all().stream().filter(SchemaCases.Case::succeeds).count());
        Maxima m = measureCases();
        // limit, and the margin it keeps over the largest case: limit >= margin x largest
        long[][] limitAndMargin = {
                {2L * Configuration.DEFAULT_GRAMMAR_MAX_CHARS, 1000}, // schema characters
                {SchemaConverter.MAX_DEPTH, 20},                      // schema nesting (the conversion's recursion)
                {Configuration.DEFAULT_GRAMMAR_MAX_STEPS, 1000},      // conversion steps
                {Configuration.DEFAULT_GRAMMAR_MAX_CHARS, 500},       // grammar characters
                {GbnfLimits.MAX_NESTING, 30},                         // groups nested (llama.cpp's parser recursion)
                {Configuration.DEFAULT_GRAMMAR_MAX_RULES, 500},       // rules llama.cpp builds
                {Configuration.DEFAULT_GRAMMAR_MAX_ELEMENTS, 5000},   // elements llama.cpp holds
                {Configuration.DEFAULT_GRAMMAR_MAX_STEPS, 10_000},    // steps of llama.cpp's left-recursion check
                {GbnfLimits.MAX_CHAIN, 500}};                         // rules chained (that check's recursion)
        StringBuilder report = new StringBuilder("largest over the schema cases:");
        for (int i = 0; i < MEASURES.length; i++) {
            report.append("\n  ").append(MEASURES[i]).append(' ').append(m.values()[i]).append(" (").append(m.cases()[i])
                    .append("), limit ").append(limitAndMargin[i][0]).append(", ")
                    .append(limitAndMargin[i][0] / Math.max(1, m.values()[i])).append("x");
        }
        System.out.println(report);
        for (int i = 0; i < MEASURES.length; i++) {
            assertTrue(m.values()[i] > 0, MEASURES[i]);
            assertTrue(limitAndMargin[i][0] >= limitAndMargin[i][1] * m.values()[i], MEASURES[i] + ": the limit keeps less than "
                    + limitAndMargin[i][1] + "x over the cases\n" + report);
        }
    }

    @Test
    void theLimitsAreSystemProperties() {
        String schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":100}}}";
        String grammar = JsonSchemaToGrammar.convert(schema);
        GbnfLimits.Measure m = GbnfLimits.measure(grammar, "root", GrammarLimits.configured());
        withProperty(Configuration.GRAMMAR_MAX_CHARS, m.chars() - 1, () -> {
            assertEquals("the grammar would have more than " + (m.chars() - 1) + " characters (raise it with "
                    + "-Dllamaffm.grammar.max.chars)", assertThrows(IllegalArgumentException.class,
                    () -> JsonSchemaToGrammar.convert(schema)).getMessage());
            assertEquals("the grammar has " + m.chars() + " characters; at most " + (m.chars() - 1) + " (raise it with "
                    + "-Dllamaffm.grammar.max.chars)", assertThrows(IllegalArgumentException.class,
                    () -> SamplerChain.Grammar.of(grammar)).getMessage());
        });
        withProperty(Configuration.GRAMMAR_MAX_RULES, m.rules() - 1, () -> assertEquals("llama.cpp would build more than "
                + (m.rules() - 1) + " rules from the grammar (one per rule, group and repeated part) (raise it with "
                + "-Dllamaffm.grammar.max.rules)", assertThrows(IllegalArgumentException.class,
                () -> SamplerChain.Grammar.of(grammar)).getMessage()));
        withProperty(Configuration.GRAMMAR_MAX_ELEMENTS, (int) m.elements() - 1, () -> assertTrue(assertThrows(
                IllegalArgumentException.class, () -> JsonSchemaToGrammar.convert(schema)).getMessage()
                .startsWith("llama.cpp would expand the grammar into more than " + (m.elements() - 1) + " elements")));
        withProperty(Configuration.GRAMMAR_MAX_STEPS, 50, () -> assertEquals("converting the schema takes more than 50 steps "
                + "(about one per character of the names and rules it builds) (raise it with -Dllamaffm.grammar.max.steps)",
                assertThrows(IllegalArgumentException.class, () -> JsonSchemaToGrammar.convert(schema)).getMessage()));
        // at the limits, accepted
        for (var limit : List.of(Configuration.GRAMMAR_MAX_CHARS, Configuration.GRAMMAR_MAX_RULES)) {
            withProperty(limit, limit == Configuration.GRAMMAR_MAX_CHARS ? m.chars() : m.rules(),
                    () -> assertEquals(grammar, SamplerChain.Grammar.of(JsonSchemaToGrammar.convert(schema)).gbnf()));
        }
        // a limit that is not a positive whole number is a configuration error
        withProperty(Configuration.GRAMMAR_MAX_RULES, 0, () -> assertEquals("llamaffm.grammar.max.rules='0' is not a whole "
                + "number from 1 to 2147483647", assertThrows(LlamaException.class, () -> JsonSchemaToGrammar.convert(schema))
                .getMessage()));
    }

    private static void withProperty(Configuration.Option option, long value, Runnable body) {
        String before = System.getProperty(option.property());
        System.setProperty(option.property(), Long.toString(value));
        try {
            body.run();
        } finally {
            if (before == null) {
                System.clearProperty(option.property());
            } else {
                System.setProperty(option.property(), before);
            }
        }
    }

    @Test
    void aMaximumLlamaCppCannotEnforceIsWrittenAsNoneWithAWarning() {
        // llama.cpp refuses {m,2000} and reads {m,n} with n above 2000 as {m,}: the grammar says that, and the warning
        JsonSchemaToGrammar.Result text = JsonSchemaToGrammar.convertWithWarnings(
                "{\"type\":\"string\",\"maxLength\":1000000}", JsonSchemaToGrammar.Options.defaults());
        assertTrue(text.grammar().startsWith("char ::= ") && text.grammar().contains("root ::= \"\\\"\" char* \"\\\"\""),
                text.grammar());
        assertEquals(List.of("\"maxLength\" 1000000 is beyond what llama.cpp's grammars enforce (a part repeated at most 1999 "
                + "times): not enforced"), text.warnings());
        JsonSchemaToGrammar.Result items = JsonSchemaToGrammar.convertWithWarnings(
                "{\"items\":{\"type\":\"null\"},\"minItems\":2000,\"maxItems\":2001}", JsonSchemaToGrammar.Options.defaults());
        assertTrue(items.grammar().contains("null (\",\" space null){1999,}"), items.grammar());
        assertEquals(List.of("\"maxItems\" 2001 is beyond what llama.cpp's grammars enforce (a part repeated at most 1999 "
                + "times): not enforced"), items.warnings());
        JsonSchemaToGrammar.Result pattern = JsonSchemaToGrammar.convertWithWarnings(
                "{\"type\":\"string\",\"pattern\":\"^a{1,2000}$\"}", JsonSchemaToGrammar.Options.defaults());
        assertTrue(pattern.grammar().contains("\"a\"+"), pattern.grammar());
        assertEquals(List.of("pattern ^a{1,2000}$: the repetition {1,2000} is beyond what llama.cpp's grammars enforce (a part "
                + "repeated at most 1999 times): its maximum is not enforced"), pattern.warnings());
        // 1999 is enforced, without a warning, and llama.cpp builds it (the grammar passes the check of what it takes)
        JsonSchemaToGrammar.Result exact = JsonSchemaToGrammar.convertWithWarnings("{\"type\":\"string\",\"minLength\":1999,"
                + "\"maxLength\":1999}", JsonSchemaToGrammar.Options.defaults());
        assertEquals(List.of(), exact.warnings());
        assertTrue(exact.grammar().contains("char{1999,1999}"), exact.grammar());
        assertEquals(List.of(), JsonSchemaToGrammar.convertWithWarnings("{\"items\":{},\"minItems\":2000,\"maxItems\":2000}",
                JsonSchemaToGrammar.Options.defaults()).warnings());
        // a minimum llama.cpp cannot repeat
        assertEquals("\"minLength\" 2000 would make llama.cpp repeat a part 2000 times; it repeats one at most 1999 times",
                assertThrows(IllegalArgumentException.class, () -> JsonSchemaToGrammar.convert("{\"type\":\"string\","
                        + "\"minLength\":2000}")).getMessage());
        assertEquals("\"minItems\" 2001 would make llama.cpp repeat a part 2000 times; it repeats one at most 1999 times",
                assertThrows(IllegalArgumentException.class, () -> JsonSchemaToGrammar.convert("{\"items\":{},\"minItems\":2001}"))
                        .getMessage());
        // in GBNF given directly, what llama.cpp does: {0,2000} refused, {0,2001} read as {0,}
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SamplerChain.Grammar.of("root ::= \"a\"{0,2000}"))
                .getMessage().endsWith("repeats a part of 1 rules 2000 times; llama.cpp allows fewer than 2000 rules repeated in all"));
        assertEquals(2, GbnfLimits.measure("root ::= \"a\"{0,2001}", "root", GrammarLimits.configured()).rules());
    }

    @Test
    void manyPropertiesAndCollidingNamesCostLinearly() {
        // 2000 optional properties: each -rest rule once (the reference builds them again for every choice)
        StringBuilder b = new StringBuilder("{\"type\":\"object\",\"properties\":{");
        for (int i = 0; i < 2000; i++) {
            b.append(i == 0 ? "" : ",").append("\"p").append(i).append("\":{\"type\":\"integer\"}");
        }
        Rules rules = new Rules(GrammarLimits.configured());
        String grammar = new SchemaConverter(JsonParser.parse(b.append("}}").toString()), JsonSchemaToGrammar.Options.defaults(),
                rules, "").convert().grammar();
        assertEquals(2000 - 1, grammar.lines().filter(l -> l.matches("p\\d+-rest ::= .*")).count());
        assertTrue(rules.steps() < 300_000, "steps " + rules.steps());
        // 3000 rules under one name: each probes the names taken once
        Rules same = new Rules(GrammarLimits.configured());
        for (int i = 0; i < 3000; i++) {
            assertEquals(i == 0 ? "x" : "x" + (i - 1), same.add("x", "\"" + i + "\""));
        }
        assertEquals("x41", same.add("x", "\"42\""), "the same rule again: its name");
        assertTrue(same.steps() < 100_000, "steps " + same.steps());
    }
}
