package io.llamaffm.grammar;

import io.llamaffm.TestEnv;
import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The converter against llama.cpp's own: every case of json-schema-cases.txt (llama.cpp's test cases and extra
 * schemas, with the grammar its converter produced) must give exactly the same grammar and warnings, or be rejected
 * when the reference rejects it. Then the places where this converter deliberately does better, and the errors.
 */
class JsonSchemaToGrammarTest {
    private static final String SPACE = "space ::= | \" \" | \"\\n\"{1,2} [ \\t]{0,20}\n";

    @TestFactory
    Stream<DynamicTest> sameGrammarAsTheReference() {
        return SchemaCases.all().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    private static void check(SchemaCases.Case c) {
        if (!c.succeeds()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> JsonSchemaToGrammar.convert(c.schema(), c.options()), "the reference rejects it: " + c.error());
            assertTrue(!e.getMessage().isBlank());
            return;
        }
        JsonSchemaToGrammar.Result result = JsonSchemaToGrammar.convertWithWarnings(c.schema(), c.options());
        assertEquals(c.grammar(), result.grammar());
        assertEquals(c.warnings(), result.warnings());
    }

    @Test
    void casesCoverTheReferenceTestsAndMore() {
        List<SchemaCases.Case> cases = SchemaCases.all();
        assertEquals(159, cases.size());
        assertEquals(79, cases.stream().filter(c -> c.origin().startsWith("llama.cpp")).count());
        assertEquals(148, cases.stream().filter(SchemaCases.Case::succeeds).count());
        assertEquals(3, cases.stream().filter(c -> c.reference().equals("python")).count());
    }

    @Test
    void casesWereGeneratedFromThePinnedSource() {
        assertEquals(TestEnv.sourceDir().getFileName().toString(), SchemaCases.source(),
                "the llama.cpp pin changed: run scripts/json-schema-cases/generate.py");
    }

    @Test
    void convertWithDefaultsIsTheReferenceGrammar() {
        assertEquals("root ::= (\"true\" | \"false\")\n" + SPACE, JsonSchemaToGrammar.convert("{\"type\": \"boolean\"}"));
        assertEquals(JsonSchemaToGrammar.convert("{\"type\": \"string\", \"pattern\": \"^a.b$\"}"),
                JsonSchemaToGrammar.convert("{\"type\": \"string\", \"pattern\": \"^a.b$\"}", JsonSchemaToGrammar.Options.defaults()));
        assertEquals(List.of(), JsonSchemaToGrammar.convertWithWarnings("{}", JsonSchemaToGrammar.Options.defaults()).warnings());
    }

    // ---- where the reference is wrong and this converter is not

    @Test
    void refInsideADefinitionReachedThroughARefResolves() {
        // the reference never registers refs under a top-level $ref's siblings and makes ref-definitions-b an object
        String grammar = JsonSchemaToGrammar.convert("""
                {"$ref": "#/definitions/a", "definitions": {
                  "a": {"type": "object", "properties": {"b": {"$ref": "#/definitions/b"}}},
                  "b": {"type": "integer"}}}""");
        assertEquals("""
                integer ::= ("-"? integral-part)
                integral-part ::= [0] | [1-9] [0-9]{0,15}
                ref-definitions-a ::= "{" space  (ref-definitions-a-b-kv )? space "}"
                ref-definitions-a-b ::= integer
                ref-definitions-a-b-kv ::= "\\"b\\"" space ":" space ref-definitions-a-b
                root ::= ref-definitions-a
                """ + SPACE, grammar);
    }

    @Test
    void fractionalIntegerBoundsRoundInwards() {
        // the reference truncates: minimum 1.5 would allow 1
        assertEquals("root ::= ([2-9] | \"1\" [0-2])\n" + SPACE,
                JsonSchemaToGrammar.convert("{\"type\": \"integer\", \"minimum\": 1.5, \"maximum\": 12.9}"));
        assertEquals(JsonSchemaToGrammar.convert("{\"type\": \"integer\", \"minimum\": 2, \"maximum\": 12}"),
                JsonSchemaToGrammar.convert("{\"type\": \"integer\", \"minimum\": 1.5, \"maximum\": 12.9}"));
        assertEquals(JsonSchemaToGrammar.convert("{\"type\": \"integer\", \"minimum\": 2, \"maximum\": 11}"),
                JsonSchemaToGrammar.convert("{\"type\": \"integer\", \"exclusiveMinimum\": 1.5, \"exclusiveMaximum\": 11.5}"));
    }

    @Test
    void integralFloatCountsAreHonoured() {
        // the reference ignores a maxItems that is not written as an integer
        assertEquals(JsonSchemaToGrammar.convert("{\"items\": {\"type\": \"null\"}, \"maxItems\": 2}"),
                JsonSchemaToGrammar.convert("{\"items\": {\"type\": \"null\"}, \"maxItems\": 2.0}"));
    }

    @Test
    void excludedKeysWithSpecialCharactersAreEscapedInClasses() {
        String grammar = JsonSchemaToGrammar.convert("""
                {"properties": {"a-b": {"type": "null"}, "a_c": {"type": "null"}, "q\\"": {"type": "null"},
                 "é": {"type": "null"}}, "additionalProperties": {"type": "null"}}""");
        String keyRule = grammar.lines().filter(l -> l.startsWith("additional-k ::= ")).findFirst().orElseThrow();
        // a - between two other characters of a class would make a range: [^"-_] is not [^"\x2D_]
        assertEquals("additional-k ::= [\"] ( [a] ([-] ([b] char+ | [^\"b] char*) | [_] ([c] char+ | [^\"c] char*)"
                + " | [^\"\\x2D_] char*) | [q] ([\\\\] ([\"] char+ | [^\"\"] char*) | [^\"\\\\] char*) | [é] char+"
                + " | [^\"aqé] char* )? [\"]", keyRule);
    }

    @Test
    void nonAsciiInPatternsIsHandledByCharacter() {
        // the reference cuts the last literal before the quantifier inside the UTF-8 bytes of the é
        assertEquals("root ::= \"\\\"\" (\"caf\" \"é\"+ [ü]) \"\\\"\"\n" + SPACE,
                JsonSchemaToGrammar.convert("{\"type\": \"string\", \"pattern\": \"^café+[ü]$\"}"));
    }

    // ---- errors

    @Test
    void remoteAndRelativeRefsAreRejected() {
        IllegalArgumentException remote = assertThrows(IllegalArgumentException.class,
                () -> JsonSchemaToGrammar.convert("{\"$ref\": \"https://example.com/schema.json\"}"));
        assertEquals("remote $ref \"https://example.com/schema.json\": only local references into the same schema"
                + " (\"#/...\") are supported", remote.getMessage());
        IllegalArgumentException relative = assertThrows(IllegalArgumentException.class,
                () -> JsonSchemaToGrammar.convert("{\"items\": {\"$ref\": \"defs.json#/a\"}}"));
        assertEquals("unsupported $ref \"defs.json#/a\": only local references into the same schema (\"#/...\") are"
                + " supported", relative.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> JsonSchemaToGrammar.convert("{\"$ref\": \"#/$defs/a/b\", \"$defs\": {\"a\": {\"c\": 1}}}"));
        assertEquals("cannot resolve $ref \"#/$defs/a/b\": \"b\" is not in {\"c\":1}", missing.getMessage());
    }

    @Test
    void invalidSchemasAreRejectedWithTheReason() {
        assertMessage("{\"type\": \"kaboom\"}", "unrecognized schema {\"type\":\"kaboom\"}: \"type\" must be one of"
                + " \"string\", \"number\", \"integer\", \"boolean\", \"object\", \"array\", \"null\" or a list of them");
        assertMessage("{\"items\": true}", "unsupported schema true: a schema must be a JSON object");
        assertMessage("[1]", "unsupported schema [1]: a schema must be a JSON object");
        assertMessage("{\"type\": \"string\", \"minLength\": 3, \"maxLength\": 2}", "\"minLength\" 3 is greater than \"maxLength\" 2");
        assertMessage("{\"items\": {}, \"minItems\": -1}", "\"minItems\" must be a non-negative integer up to 2147483647, got -1");
        assertMessage("{\"items\": {}, \"maxItems\": 1.5}", "\"maxItems\" must be a non-negative integer up to 2147483647, got 1.5");
        assertMessage("{\"items\": {}, \"maxItems\": 1e999999}", "\"maxItems\" must be a non-negative integer up to 2147483647, got 1E+999999");
        assertMessage("{\"const\": 1e999}", "number 1E+999 is beyond the range of a double");
        assertMessage("{\"type\": \"integer\", \"minimum\": 5, \"maximum\": 4}",
                "no integer satisfies the bounds of {\"type\":\"integer\",\"minimum\":5,\"maximum\":4} (lowest 5, highest 4)");
        assertMessage("{\"type\": \"integer\", \"minimum\": 1e30}",
                "\"minimum\" 1E+30 is out of the supported range of 64-bit integers");
        assertMessage("{\"type\": \"integer\", \"maximum\": \"9\"}", "\"maximum\" must be a number, got \"9\"");
        assertMessage("{\"properties\": {\"a\": {}}, \"required\": \"a\"}", "\"required\" must be an array, got \"a\"");
        assertMessage("{\"properties\": [1]}", "\"properties\" must be an object, got [1]");
        assertMessage("{\"properties\": {}, \"additionalProperties\": 1}",
                "\"additionalProperties\" must be a boolean or a schema, got 1");
        assertMessage("{\"anyOf\": {}}", "\"anyOf\" must be an array, got {}");
        assertMessage("{\"format\": 5}", "\"format\" must be a string, got 5");
        assertMessage("{\"$ref\": 5}", "\"$ref\" must be a string, got 5");
        assertMessage("{\"type\": \"string\", \"pattern\": \"^(a$\"}", "invalid pattern ^(a$: unbalanced parentheses");
        assertMessage("{\"allOf\": [{\"$ref\": \"#/$defs/a\"}], \"$defs\": {\"a\": {\"$ref\": \"#/$defs/a\"}}}",
                "circular $ref in allOf: #/$defs/a");
    }

    @Test
    void invalidJsonIsRejectedWithItsPosition() {
        JsonParser.ParseException e = assertThrows(JsonParser.ParseException.class,
                () -> JsonSchemaToGrammar.convert("{\"type\":\n  \"string\",}"));
        assertEquals("invalid JSON at line 2, column 12 (offset 20): unexpected '}', expected a string key", e.getMessage());
    }

    @Test
    void optionsCopyThePropertyOrder() {
        java.util.ArrayList<String> order = new java.util.ArrayList<>(List.of("b"));
        JsonSchemaToGrammar.Options options = JsonSchemaToGrammar.Options.defaults().withPropertyOrder(order);
        order.add("a");
        assertEquals(List.of("b"), options.propertyOrder());
        assertThrows(NullPointerException.class, () -> JsonSchemaToGrammar.Options.defaults().withPropertyOrder(null));
    }

    private static void assertMessage(String schema, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonSchemaToGrammar.convert(schema));
        assertEquals(message, e.getMessage());
    }
}
