package io.llamaffm.grammar;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The fixed rules the converter adds by name (the same text as llama.cpp's converter), with their dependencies. */
final class BuiltinRules {
    private BuiltinRules() {}

    /** A rule's right-hand side and the names of the builtin rules it refers to. */
    record BuiltinRule(String content, List<String> deps) {}

    /** Whitespace between tokens, bounded so that a model cannot run away emitting blanks. */
    static final String SPACE = "| \" \" | \"\\n\"{1,2} [ \\t]{0,20}";

    /** Any character but CR and LF: the meaning of {@code .} in a pattern. */
    static final String DOT = "[^\\x0A\\x0D]";

    /** Any character: the meaning of {@code .} in a pattern with {@code dotall}. */
    static final String DOT_ALL = "[\\U00000000-\\U0010FFFF]";

    static final Map<String, BuiltinRule> PRIMITIVES = Map.ofEntries(
            rule("boolean", "(\"true\" | \"false\")"),
            rule("decimal-part", "[0-9]{1,16}"),
            rule("integral-part", "[0] | [1-9] [0-9]{0,15}"),
            rule("number", "(\"-\"? integral-part) (\".\" decimal-part)? ([eE] [-+]? integral-part)?",
                    "integral-part", "decimal-part"),
            rule("integer", "(\"-\"? integral-part)", "integral-part"),
            rule("value", "object | array | string | number | boolean | null",
                    "object", "array", "string", "number", "boolean", "null"),
            rule("object", "\"{\" space ( string \":\" space value (\",\" space string \":\" space value)* )? space \"}\"",
                    "string", "value"),
            rule("array", "\"[\" space ( value (\",\" space value)* )? space \"]\"", "value"),
            rule("uuid", "\"\\\"\" [0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" "
                    + "[0-9a-fA-F]{12} \"\\\"\""),
            rule("char", "[^\"\\\\\\x7F\\x00-\\x1F] | [\\\\] ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4})"),
            rule("string", "\"\\\"\" char* \"\\\"\"", "char"),
            rule("null", "\"null\""));

    static final Map<String, BuiltinRule> STRING_FORMATS = Map.ofEntries(
            rule("date", "[0-9]{4} \"-\" ( \"0\" [1-9] | \"1\" [0-2] ) \"-\" ( \"0\" [1-9] | [1-2] [0-9] | \"3\" [0-1] )"),
            rule("time", "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{3} )? "
                    + "( \"Z\" | ( \"+\" | \"-\" ) ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )"),
            rule("date-time", "date \"T\" time", "date", "time"),
            rule("date-string", "\"\\\"\" date \"\\\"\"", "date"),
            rule("time-string", "\"\\\"\" time \"\\\"\"", "time"),
            rule("date-time-string", "\"\\\"\" date-time \"\\\"\"", "date-time"));

    /** Names a schema-derived rule may not take as they are (it gets a {@code -} suffix instead). */
    static final Set<String> RESERVED_NAMES = Stream.of(Stream.of("root"), PRIMITIVES.keySet().stream(),
            STRING_FORMATS.keySet().stream()).flatMap(s -> s).collect(Collectors.toUnmodifiableSet());

    /** A primitive or string-format rule by name. */
    static BuiltinRule lookup(String name) {
        BuiltinRule rule = PRIMITIVES.get(name);
        return rule != null ? rule : STRING_FORMATS.get(name);
    }

    private static Map.Entry<String, BuiltinRule> rule(String name, String content, String... deps) {
        return Map.entry(name, new BuiltinRule(content, List.of(deps)));
    }
}
