package io.llamaffm.grammar;

import java.util.List;
import java.util.function.Supplier;

/**
 * Hostile JSON schemas and GBNF grammars, each with what it must be refused with: an
 * {@link IllegalArgumentException} (the class named) whose message contains a fragment. Generated here rather than
 * stored, as several are megabytes. Run by {@link HostileGrammarsTest} in a child JVM with a 256 MB heap, each within
 * {@value #MAX_MILLIS} ms; the server's hostile requests ({@code HostileSchemaServerIT}) take some of them.
 */
public final class HostileGrammars {
    /** The most milliseconds one case may take, its text built beforehand. */
    public static final long MAX_MILLIS = 2000;

    private static final String IAE = IllegalArgumentException.class.getName();
    private static final String PARSE = "io.llamaffm.internal.JsonParser$ParseException";

    private HostileGrammars() {}

    /**
     * One hostile input.
     *
     * @param name      what it is
     * @param text      builds the schema (JSON) or the grammar (GBNF)
     * @param exception the class of the exception it must be refused with
     * @param fragment  a part of the exception's message
     */
    public record Case(String name, Supplier<String> text, String exception, String fragment) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Case iae(String name, Supplier<String> text, String fragment) {
        return new Case(name, text, IAE, fragment);
    }

    private static Case parse(String name, Supplier<String> text, String fragment) {
        return new Case(name, text, PARSE, fragment);
    }

    /** Schemas for {@link JsonSchemaToGrammar#convert(String)}. */
    public static List<Case> schemas() {
        return List.of(
                // ---- nesting
                parse("items nested 100000 deep", () -> "{\"items\":".repeat(100_000) + "{}" + "}".repeat(100_000),
                        "nesting deeper than 512 levels"),
                parse("properties nested 50000 deep", () -> "{\"properties\":{\"a\":".repeat(50_000) + "{}" + "}}".repeat(50_000),
                        "nesting deeper than 512 levels"),
                parse("anyOf nested 20000 deep", () -> "{\"anyOf\":[".repeat(20_000) + "{}" + "]}".repeat(20_000),
                        "nesting deeper than 512 levels"),
                iae("$ref chain of 10000 definitions", () -> refChain(10_000, "{\"items\":{\"$ref\":\"#/$defs/d%d\"}}"),
                        "the schema nests more than 128 levels deep"),
                iae("$ref chain of 100000 definitions", () -> refChain(100_000, "{\"items\":{\"$ref\":\"#/$defs/d%d\"}}"),
                        "characters; at most 2097152, 2 times the most characters of a grammar"),
                iae("$ref chain through properties, 300 definitions", () -> refChain(300,
                        "{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#/$defs/d%d\"}},\"required\":[\"next\"]}"),
                        "the schema nests more than 128 levels deep"),
                iae("property names 10000 characters long nested 120 deep", () -> {
                    String key = "k".repeat(10_000);
                    return ("{\"properties\":{\"" + key + "\":").repeat(120) + "{\"type\":\"null\"}" + "}}".repeat(120);
                }, "the names of the nested schemas (property names joined) take more than 1048576 characters"),
                // ---- recursive $ref
                iae("definition referring to itself", () -> "{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}}}",
                        "left-recursive"),
                iae("mutual $refs through $defs", () -> "{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
                        + "\"b\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"},{\"type\":\"null\"}]}}}", "left-recursive"),
                iae("mutual $refs through definitions, three long", () -> "{\"$ref\":\"#/definitions/a\",\"definitions\":{"
                        + "\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":\"#/definitions/c\"},\"c\":{\"$ref\":\"#/definitions/a\"}}}",
                        "left-recursive"),
                iae("definition whose allOf refers to itself", () -> "{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"properties\":"
                        + "{\"child\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}}}}}", "the schema nests more than 128 levels deep"),
                iae("allOf of $refs doubling 30 times", HostileGrammars::allOfDoubling, "converting the schema takes more than 10000000 steps"),
                iae("anyOf of $refs doubling 40 times", HostileGrammars::anyOfDoubling,
                        "llama.cpp's left-recursion check would read"),
                iae("allOf of 2000 $refs to an object of 1000 properties", () -> {
                    StringBuilder props = new StringBuilder();
                    for (int i = 0; i < 1000; i++) {
                        props.append(i == 0 ? "" : ",").append("\"p").append(i).append("\":{\"type\":\"integer\"}");
                    }
                    return "{\"allOf\":[" + "{\"$ref\":\"#/$defs/o\"},".repeat(1999) + "{\"$ref\":\"#/$defs/o\"}],"
                            + "\"$defs\":{\"o\":{\"properties\":{" + props + "}}}}";
                }, "converting the schema takes more than 10000000 steps"),
                iae("remote $ref", () -> "{\"$ref\":\"https://example.com/schema.json\"}", "remote $ref"),
                iae("$ref into nothing", () -> "{\"$ref\":\"#/$defs/missing\",\"$defs\":{}}", "cannot resolve $ref"),
                // ---- size: enums, constants, properties
                iae("enum of 200000 values", () -> "{\"enum\":[" + "\"abcd\",".repeat(199_999) + "\"abcd\"]}",
                        "the grammar would have more than 1048576 characters"),
                iae("const string of 1500000 characters", () -> "{\"const\":\"" + "x".repeat(1_500_000) + "\"}",
                        "the grammar would have more than 1048576 characters"),
                iae("const array of 600000 numbers", () -> "{\"const\":[" + "1,".repeat(599_999) + "1]}",
                        "the grammar would have more than 1048576 characters"),
                iae("schema of 3 MB", () -> "{\"description\":\"" + "d".repeat(3_000_000) + "\"}",
                        "the schema has 3000018 characters; at most 2097152"),
                iae("40000 required properties", () -> properties(40_000, true), "the grammar would have more than 1048576 characters"),
                iae("30000 optional properties", () -> properties(30_000, false), "the grammar would have more than 1048576 characters"),
                iae("8000 property names that become the same rule name", HostileGrammars::collidingNames,
                        "the grammar would have more than 1048576 characters"),
                iae("additionalProperties beside a property name of 600000 characters", () -> "{\"properties\":{\""
                        + "n".repeat(600_000) + "\":{}},\"additionalProperties\":{\"type\":\"integer\"}}",
                        "the grammar would have more than 1048576 characters"),
                iae("additionalProperties that is not a schema, beside patternProperties", () -> "{\"properties\":{\"a\":{}},"
                        + "\"patternProperties\":{\"^x\":{}},\"additionalProperties\":[1]}", "\"additionalProperties\" must be a boolean or a schema"),
                iae("oneOf of 100000 alternatives", () -> "{\"oneOf\":[" + "{\"const\":1},".repeat(99_999) + "{\"const\":1}]}",
                        "the grammar would have more than 1048576 characters"),
                iae("type list of 200000 types", () -> "{\"type\":[" + "\"null\",".repeat(199_999) + "\"null\"]}",
                        "the grammar would have more than 1048576 characters"),
                iae("prefixItems of 200000 schemas", () -> "{\"prefixItems\":[" + "{},".repeat(199_999) + "{}]}",
                        "the grammar would have more than 1048576 characters"),
                // ---- counts
                iae("minItems 1000000", () -> "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1000000}",
                        "\"minItems\" 1000000 would make llama.cpp repeat a part 999999 times"),
                iae("minLength 2147483647", () -> "{\"type\":\"string\",\"minLength\":2147483647}",
                        "\"minLength\" 2147483647 would make llama.cpp repeat a part 2147483647 times"),
                iae("maxLength 10^10", () -> "{\"type\":\"string\",\"maxLength\":10000000000}",
                        "\"maxLength\" must be a non-negative integer up to 2147483647"),
                iae("maxItems 1e999999999", () -> "{\"type\":\"array\",\"items\":{},\"maxItems\":1e999999999}",
                        "\"maxItems\" must be a non-negative integer up to 2147483647"),
                iae("minItems above maxItems in the millions", () -> "{\"items\":{},\"minItems\":5000000,\"maxItems\":3000000}",
                        "\"minItems\" 5000000 is greater than \"maxItems\" 3000000"),
                // ---- numbers
                parse("minimum of 20000 digits", () -> "{\"type\":\"integer\",\"minimum\":" + "9".repeat(20_000) + "}",
                        "a number longer than 10000 characters"),
                iae("minimum 1e999999999", () -> "{\"type\":\"integer\",\"minimum\":1e999999999}",
                        "out of the supported range of 64-bit integers"),
                iae("maximum of 30 digits", () -> "{\"type\":\"integer\",\"maximum\":-123456789012345678901234567890}",
                        "out of the supported range of 64-bit integers"),
                iae("bounds 1e-999999999 and -1e-999999999", () -> "{\"type\":\"integer\",\"minimum\":1e-999999999,"
                        + "\"maximum\":-1e-999999999}", "no integer satisfies the bounds"),
                // ---- patterns
                iae("pattern a{5000}", () -> "{\"type\":\"string\",\"pattern\":\"^a{5000}$\"}",
                        "the repetition {5000} would make llama.cpp repeat a part 5000 times"),
                iae("pattern ((a{1000}){1000}){5000}", () -> "{\"type\":\"string\",\"pattern\":\"^((a{1000}){1000}){5000}$\"}",
                        "the repetition {5000} would make llama.cpp repeat a part 5000 times"),
                iae("pattern of 1000 repetitions {0,1999}", () -> "{\"type\":\"string\",\"pattern\":\"^" + "a{0,1999}".repeat(1000) + "$\"}",
                        "llama.cpp would build more than 65536 rules"),
                iae("pattern of 5000 nested groups", () -> "{\"type\":\"string\",\"pattern\":\"^" + "(".repeat(5000) + "a"
                        + ")".repeat(5000) + "$\"}", "nests groups more than 100 deep"),
                iae("pattern with 100000 quantifiers in a row", () -> "{\"type\":\"string\",\"pattern\":\"^a" + "?".repeat(100_000) + "$\"}",
                        "converting the schema takes more than 10000000 steps"),
                iae("pattern with a class of 1500000 characters", () -> "{\"type\":\"string\",\"pattern\":\"^[" + "ab".repeat(750_000)
                        + "]$\"}", "the grammar would have more than 1048576 characters"),
                iae("pattern {5,2}", () -> "{\"type\":\"string\",\"pattern\":\"^a{5,2}$\"}", "numbers out of order in {5,2}"),
                iae("pattern with an unclosed group", () -> "{\"type\":\"string\",\"pattern\":\"^(a$\"}", "unbalanced parentheses"),
                iae("pattern with an unclosed class", () -> "{\"type\":\"string\",\"pattern\":\"^[a$\"}", "unterminated character class"),
                iae("pattern repeating nothing", () -> "{\"type\":\"string\",\"pattern\":\"^*a$\"}", "nothing to repeat"));
    }

    /** Grammars for {@link io.llamaffm.SamplerChain.Grammar#of(String)}. */
    public static List<Case> gbnf() {
        return List.of(
                iae("repetition {1000000}", () -> "root ::= \"x\"{1000000}", "repeats a part 1000000 times; llama.cpp repeats one fewer than 2000 times"),
                iae("repetition count beyond 2^64", () -> "root ::= \"x\"{0,99999999999999999999999}", "is out of range"),
                iae("repetition of a repetition", () -> "root ::= (\"x\"{0,1999}){0,1999}",
                        "llama.cpp allows fewer than 2000 rules repeated"),
                iae("literal of 3000 characters repeated 1999 times", () -> "root ::= \"" + "a".repeat(3000) + "\"{1999}",
                        "llama.cpp would expand the grammar into more than 4194304 elements"),
                iae("70000 rules", () -> {
                    StringBuilder g = new StringBuilder("root ::= r0\n");
                    for (int i = 0; i < 70_000; i++) {
                        g.append('r').append(i).append(" ::= \"x\"\n");
                    }
                    return g.toString();
                }, "llama.cpp would build more than 65536 rules"),
                iae("2000 rules of 1999 optional repetitions", () -> {
                    StringBuilder g = new StringBuilder("root ::= r0\n");
                    for (int i = 0; i < 2000; i++) {
                        g.append('r').append(i).append(" ::= \"x\"{0,1999}\n");
                    }
                    return g.toString();
                }, "llama.cpp would build more than 65536 rules"),
                iae("groups nested 100000 deep", () -> "root ::= " + "(".repeat(100_000) + "\"a\"" + ")".repeat(100_000),
                        "the grammar nests groups 100000 deep; at most 256"),
                iae("chain of 5000 rules", () -> chain(5000), "rules each starting with the next; at most 4096"),
                iae("rules starting twice with the next, 40 deep", () -> {
                    StringBuilder g = new StringBuilder("root ::= r0\n");
                    for (int i = 0; i < 40; i++) {
                        g.append('r').append(i).append(" ::= r").append(i + 1).append(" \"a\" | r").append(i + 1).append(" \"b\"\n");
                    }
                    return g.append("r40 ::= \"x\"\n").toString();
                }, "llama.cpp's left-recursion check would read"),
                iae("empty-able repetitions of empty-able repetitions", () -> {
                    StringBuilder g = new StringBuilder("root ::= r4\nr0 ::= (\"x\" | \"\"){0,1999} | \"\"\n");
                    for (int i = 1; i < 5; i++) {
                        g.append('r').append(i).append(" ::= r").append(i - 1).append("{0,1999} | \"\"\n");
                    }
                    return g.toString();
                }, "llama.cpp's left-recursion check"),
                iae("literal of 2000000 characters", () -> "root ::= \"" + "a".repeat(2_000_000) + "\"",
                        "the grammar has 2000011 characters; at most 1048576"),
                iae("unterminated literal", () -> "root ::= \"abc", "unexpected end of input in a string literal"),
                iae("unterminated group", () -> "root ::= (\"a\" | \"b\"", "'(' is not closed"),
                iae("unterminated class", () -> "root ::= [a-", "unexpected end of input in a character class"),
                iae("unterminated repetition", () -> "root ::= \"a\"{2,", "expecting '}'"),
                iae("unterminated token", () -> "root ::= <think", "expecting '>'"),
                iae("unknown escape", () -> "root ::= \"\\q\"", "unknown escape \\q"),
                iae("short hex escape", () -> "root ::= \"\\x4\"", "expecting 2 hex digits"),
                iae("unpaired surrogate", () -> "root ::= \"\ud800\"", "unpaired surrogate at line 1, column 11"),
                iae("NUL", () -> "root ::= \"a\u0000b\"", "grammar contains NUL"),
                iae("direct left recursion", () -> "root ::= root \"a\" | \"a\"", "the rule 'root' can start with itself (root -> root)"),
                iae("left recursion behind an empty-able rule", () -> "root ::= a\na ::= b\nb ::= c? a\nc ::= \"x\"",
                        "the rule 'a' can start with itself (a -> b -> a)"),
                iae("undefined rule", () -> "root ::= \"a\" missing", "the rule 'missing' is used but not defined"),
                iae("maximum below minimum", () -> "root ::= \"a\"{5,2}", "the repetition {5,2} of the grammar has its maximum below its minimum"),
                iae("token id beyond 2^64", () -> "root ::= <[99999999999999999999999]>", "is out of range"),
                iae("comments only", () -> "# nothing but a comment\n", "it has no rules"),
                iae("no root rule", () -> "start ::= \"a\"", "it has no rule 'root' to start from"));
    }

    /** {@code root ::= r0; r0 ::= r1; ...; r(n-1) ::= "a"}. */
    static String chain(int n) {
        StringBuilder g = new StringBuilder("root ::= r0\n");
        for (int i = 0; i < n; i++) {
            g.append('r').append(i).append(" ::= ").append(i + 1 < n ? "r" + (i + 1) : "\"a\"").append('\n');
        }
        return g.toString();
    }

    /** {@code n} definitions {@code d0 ... d(n-1)}, each {@code body} formatted with the next one's number. */
    private static String refChain(int n, String body) {
        StringBuilder b = new StringBuilder("{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
        for (int i = 0; i < n; i++) {
            b.append("\"d").append(i).append("\":").append(String.format(body, i + 1)).append(',');
        }
        return b.append("\"d").append(n).append("\":{\"type\":\"string\"}}}").toString();
    }

    /** Each definition's property is the allOf of the next definition twice: 2^30 visits, each definition once. */
    private static String allOfDoubling() {
        StringBuilder b = new StringBuilder("{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
        for (int i = 0; i < 30; i++) {
            String next = "{\"$ref\":\"#/$defs/d" + (i + 1) + "\"}";
            b.append("\"d").append(i).append("\":{\"properties\":{\"a\":{\"allOf\":[").append(next).append(',').append(next)
                    .append("]}}},");
        }
        return b.append("\"d30\":{\"properties\":{\"x\":{\"type\":\"string\"}}}}}").toString();
    }

    /** Each definition is anyOf the next twice: a small grammar whose rules llama.cpp's left-recursion check walks 2^40 times. */
    private static String anyOfDoubling() {
        StringBuilder b = new StringBuilder("{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
        for (int i = 0; i < 40; i++) {
            String next = "{\"$ref\":\"#/$defs/d" + (i + 1) + "\"}";
            b.append("\"d").append(i).append("\":{\"anyOf\":[").append(next).append(',').append(next).append("]},");
        }
        return b.append("\"d40\":{\"type\":\"string\"}}}").toString();
    }

    private static String properties(int n, boolean required) {
        StringBuilder b = new StringBuilder("{\"type\":\"object\",\"properties\":{");
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append("\"p").append(i).append("\":{\"type\":\"integer\"}");
            names.append(i == 0 ? "" : ",").append("\"p").append(i).append('"');
        }
        return b.append("}").append(required ? ",\"required\":[" + names + "]" : "").append("}").toString();
    }

    /** Property names {@code x} and 1 to 3 punctuation characters: every one becomes the rule name {@code x-}. */
    private static String collidingNames() {
        String punctuation = "!#$%&'()*+,./:;<=>?@[]^_`{|}~";
        StringBuilder b = new StringBuilder("{\"type\":\"object\",\"properties\":{");
        int count = 0;
        outer:
        for (int a = 0; a < punctuation.length(); a++) {
            for (int c = 0; c < punctuation.length(); c++) {
                for (int d = 0; d < punctuation.length(); d++) {
                    if (count == 8000) {
                        break outer;
                    }
                    String name = "x" + punctuation.charAt(a) + punctuation.charAt(c) + punctuation.charAt(d);
                    b.append(count++ == 0 ? "" : ",").append('"').append(name).append("\":{\"const\":").append(count).append('}');
                }
            }
        }
        return b.append("}}").toString();
    }
}
