package io.llamaffm.grammar;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds one GBNF grammar out of parts: JSON values held to JSON Schemas (converted as {@link JsonSchemaToGrammar}
 * converts them, several schemas side by side), free text that stops before a marker, literals and rules of your
 * own. Tool-call grammars are built this way: a call's marker, the tool's name, then its arguments by its schema.
 *
 * <pre>{@code
 * GrammarBuilder g = new GrammarBuilder();
 * String args = g.schema("weather-args", "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
 * g.rule("root", GrammarBuilder.literal("<call>") + " " + args + " " + GrammarBuilder.literal("</call>"));
 * String gbnf = g.build();
 * }</pre>
 *
 * <p>Rule names are made of {@code [a-zA-Z0-9-]}; a name already taken by a different rule gets a numeric suffix, so
 * use the names the methods return. The builder stops with an {@link IllegalArgumentException} once the grammar passes
 * the {@code llamaffm.grammar.max.*} limits of {@link io.llamaffm.Configuration} (characters, the conversions' steps);
 * the whole grammar is checked when it is given to {@link io.llamaffm.SamplerChain.Grammar}. Not thread-safe.
 */
public final class GrammarBuilder {
    private final Rules rules = new Rules();
    private final List<String> warnings = new ArrayList<>();
    private int documents;

    /** An empty grammar (only the {@code space} rule every JSON grammar uses). */
    public GrammarBuilder() {}

    /**
     * Adds the rules for JSON that matches a schema.
     *
     * @param name       the name for the value's rule (the schema's parts get names that start with it)
     * @param schemaJson the JSON Schema, as JSON text; its local {@code $ref}s resolve within it
     * @return the name of the rule that matches the value
     * @throws IllegalArgumentException as {@link JsonSchemaToGrammar#convert(String)}
     */
    public String schema(String name, String schemaJson) {
        Object document = SchemaConverter.parse(schemaJson, rules.limits());
        SchemaConverter converter = new SchemaConverter(document, JsonSchemaToGrammar.Options.defaults(), rules,
                "d" + (documents++) + "-");
        String rule = converter.convertAs(checkName(name));
        warnings.addAll(converter.warnings());
        return rule;
    }

    /**
     * Adds rules for any text (possibly empty) that does not contain {@code stop}; the text may end anywhere. Built
     * as the automaton that tracks how much of {@code stop} the text ends with (Knuth-Morris-Pratt), one rule per state.
     *
     * @param name the name for the text's rule
     * @param stop the text it must not contain, not empty
     * @return the name of the rule
     */
    public String textWithout(String name, String stop) {
        return textUntil(name, stop, null);
    }

    /**
     * Adds rules for any text that does not contain {@code stop}, followed by {@code stop} and then {@code next}: the
     * text ends exactly where {@code stop} first occurs. With {@code next} null, the text may also end anywhere without
     * {@code stop} (as {@link #textWithout}).
     *
     * @param name the name for the rule
     * @param stop the marker that ends the text, not empty
     * @param next the rule that follows the marker, empty for none, or null to let the text end without the marker
     * @return the name of the rule
     */
    public String textUntil(String name, String stop, String next) {
        checkName(name);
        int[] codePoints = stop.codePoints().toArray();
        if (codePoints.length == 0) {
            throw new IllegalArgumentException("empty stop text");
        }
        int m = codePoints.length;
        int[] failure = new int[m]; // KMP failure function over code points
        for (int i = 1, k = 0; i < m; i++) {
            while (k > 0 && codePoints[i] != codePoints[k]) {
                k = failure[k - 1];
            }
            if (codePoints[i] == codePoints[k]) {
                k++;
            }
            failure[i] = k;
        }
        Set<Integer> alphabet = new LinkedHashSet<>();
        for (int cp : codePoints) {
            alphabet.add(cp);
        }
        StringBuilder others = new StringBuilder("[^");
        for (int cp : alphabet) {
            others.append(classChar(cp));
        }
        others.append(']');
        String[] names = new String[m];
        for (int state = 0; state < m; state++) {
            names[state] = state == 0 ? Gbnf.ruleName(name) : Gbnf.ruleName(name) + "-s" + state;
        }
        String first = null;
        for (int state = 0; state < m; state++) {
            rules.step(alphabet.size());
            List<String> alternatives = new ArrayList<>();
            alternatives.add(others + " " + names[0]);
            for (int cp : alphabet) {
                int k = state;
                while (k > 0 && codePoints[k] != cp) {
                    k = failure[k - 1];
                }
                if (codePoints[k] == cp) {
                    k++;
                }
                String literal = Gbnf.literal(new String(Character.toChars(cp)));
                if (k == m) {
                    if (next != null) {
                        alternatives.add(next.isEmpty() ? literal : literal + " " + next);
                    }
                } else {
                    alternatives.add(literal + " " + names[k]);
                }
            }
            String body = "(" + String.join(" | ", alternatives) + ")" + (next == null ? "?" : "");
            String added = rules.add(names[state], body);
            if (!added.equals(names[state])) {
                throw new IllegalArgumentException("the rule name " + names[state] + " is taken");
            }
            if (first == null) {
                first = added;
            }
        }
        return first;
    }

    /**
     * Adds a rule of your own.
     *
     * @param name the rule's name
     * @param body the rule's body in GBNF
     * @return the name the rule got
     */
    public String rule(String name, String body) {
        return rules.add(checkName(name), body);
    }

    /**
     * A GBNF string literal.
     *
     * @param text the text it matches exactly
     * @return the literal, quoted and escaped
     */
    public static String literal(String text) {
        return Gbnf.literal(text);
    }

    /** {@return the grammar text: one {@code name ::= body} line per rule} */
    public String build() {
        return rules.format();
    }

    /** {@return the parts of the schemas that the grammar could not enforce (see {@link JsonSchemaToGrammar})} */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    private static String checkName(String name) {
        if (name.isEmpty() || Gbnf.INVALID_RULE_CHARS.matcher(name).find()) {
            throw new IllegalArgumentException("a rule name is made of [a-zA-Z0-9-]: '" + name + "'");
        }
        return name;
    }

    private static String classChar(int cp) {
        return switch (cp) {
            case '\\', ']', '[', '^', '-', '"' -> "\\" + (char) cp;
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            default -> new String(Character.toChars(cp));
        };
    }
}
