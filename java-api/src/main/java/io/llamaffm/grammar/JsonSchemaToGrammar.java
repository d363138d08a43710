package io.llamaffm.grammar;

import io.llamaffm.internal.GbnfLimits;
import io.llamaffm.internal.GrammarLimits;

import java.util.List;

/**
 * Converts a JSON Schema into a GBNF grammar that constrains generation to JSON matching the schema, producing the
 * same grammar text as llama.cpp's own converter ({@code json_schema_to_grammar} in common/, which the server and
 * the tools use) of the pinned release: same rule names, same rule order (sorted by name), same formatting, one
 * {@code name ::= rule} line per rule. The grammar's start rule is {@code root}.
 *
 * <p>Supported, as in the reference: {@code type} (a name or a list of names), {@code properties},
 * {@code required}, {@code additionalProperties}, {@code enum}, {@code const}, {@code anyOf}, {@code oneOf},
 * {@code allOf} (merged properties, or the values common to {@code enum}s), local {@code $ref}s to anywhere in the
 * schema ({@code #/definitions/...}, {@code #/$defs/...}, recursive ones included), {@code items},
 * {@code prefixItems}, {@code minItems}, {@code maxItems}, {@code minLength}, {@code maxLength}, the string formats
 * {@code date}, {@code time}, {@code date-time} and {@code uuid}, anchored {@code pattern}s and {@code minimum},
 * {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum} on integers. Other keywords are ignored. A
 * pattern that GBNF cannot express (lookarounds, {@code \d}, unanchored, ...) accepts any string instead and adds a
 * warning ({@link #convertWithWarnings}).
 *
 * <p>Where the reference produces a wrong grammar, this class does the right thing instead (these are the only
 * differences): a {@code $ref} inside a definition reached only through another {@code $ref} resolves to its
 * target (the reference makes it an object); fractional integer bounds round inwards ({@code minimum: 1.5} means
 * 2, the reference truncates to 1); a count such as {@code maxItems: 2.0} is honoured; non-ASCII characters in
 * patterns and in the names excluded from additional properties are handled as characters (the reference splits
 * their UTF-8 bytes); such names with {@code "}, {@code \}, {@code ]} or {@code -} are escaped in character
 * classes; JSON-pointer escapes ({@code ~0}, {@code ~1}) in {@code $ref}s are understood; a remote {@code $ref} is
 * an error (the reference, which cannot fetch either, silently makes some of them an object). Known gaps in
 * {@code const}/{@code enum} values, as numbers are parsed exactly: a number written with an exponent that makes
 * it whole, such as {@code 2.5e1}, is written {@code 25} (the reference writes {@code 25.0}), and {@code -0.0} is
 * written {@code 0.0}.
 *
 * <p>Also unlike the reference, a maximum count ({@code maxLength}, {@code maxItems}, a pattern's {@code {m,n}}) that
 * llama.cpp cannot enforce, 2000 repetitions or more (its parser refuses exactly 2000 and reads more as none), is
 * written as no maximum and reported as a warning; a minimum that would make llama.cpp repeat a part 2000 times or
 * more is an error.
 *
 * <p>A schema is untrusted input: the conversion is bounded by the {@code llamaffm.grammar.max.*} limits of
 * {@link io.llamaffm.Configuration} (the grammar's characters, the rules and elements llama.cpp would expand it into,
 * the conversion's steps; the schema may have twice the grammar's characters) and nests at most 128 schemas deep,
 * {@code $ref}s followed included; the grammar is then checked as {@link io.llamaffm.SamplerChain.Grammar} checks a
 * grammar (left recursion, such as mutual {@code $ref}s, included). Past a bound the conversion stops with an
 * {@link IllegalArgumentException} that names it, in time proportional to the bound.
 *
 * <p>Thread-safe: every call is independent.
 */
public final class JsonSchemaToGrammar {
    private JsonSchemaToGrammar() {}

    /**
     * How to convert. Start from {@link #defaults()}.
     *
     * @param dotall        {@code .} in a pattern also matches line breaks (by default it matches any character but
     *                      CR and LF)
     * @param propertyOrder property names that come first in generated objects, in this order; the others follow
     *                      in schema order (required properties still come before optional ones). From the
     *                      reference's Python converter ({@code --prop-order})
     * @param rawPattern    a {@code pattern} matches raw text rather than a JSON string: no quotes around it. From
     *                      the reference's Python converter ({@code --raw-pattern})
     */
    public record Options(boolean dotall, List<String> propertyOrder, boolean rawPattern) {
        /** Copies the property order and rejects nulls. */
        public Options {
            propertyOrder = List.copyOf(propertyOrder);
        }

        /** {@return what llama.cpp uses: {@code .} excludes line breaks, properties in schema order, patterns as strings} */
        public static Options defaults() {
            return new Options(false, List.of(), false);
        }

        /**
         * These options with {@code .} in patterns matching line breaks too, or not.
         *
         * @param dotall whether {@code .} matches line breaks
         * @return a copy with that change
         */
        public Options withDotall(boolean dotall) {
            return new Options(dotall, propertyOrder, rawPattern);
        }

        /**
         * These options with properties named here placed first, in this order.
         *
         * @param propertyOrder the property names that come first
         * @return a copy with that change
         */
        public Options withPropertyOrder(List<String> propertyOrder) {
            return new Options(dotall, propertyOrder, rawPattern);
        }

        /**
         * These options with patterns matching raw text (no JSON string quotes), or not.
         *
         * @param rawPattern whether patterns match raw text
         * @return a copy with that change
         */
        public Options withRawPattern(boolean rawPattern) {
            return new Options(dotall, propertyOrder, rawPattern);
        }
    }

    /**
     * A converted grammar and what the conversion could not honour.
     *
     * @param grammar  the GBNF text, start rule {@code root}
     * @param warnings one message per part of the schema that was loosened, such as an unsupported pattern that
     *                 now accepts any string; empty when the grammar enforces the whole schema as the reference does
     */
    public record Result(String grammar, List<String> warnings) {
        /** Copies the warnings. */
        public Result {
            warnings = List.copyOf(warnings);
        }
    }

    /**
     * Converts a schema with {@link Options#defaults()}.
     *
     * @param schemaJson the JSON Schema as JSON text
     * @return the GBNF grammar, start rule {@code root}
     * @throws IllegalArgumentException if the text is not JSON, the schema is invalid or uses something the
     *                                  converter does not support (a remote {@code $ref}, an unknown type, ...), or
     *                                  the schema or its grammar exceeds a limit (see the class description)
     */
    public static String convert(String schemaJson) {
        return convert(schemaJson, Options.defaults());
    }

    /**
     * Converts a schema.
     *
     * @param schemaJson the JSON Schema as JSON text
     * @param options    how patterns and property order are handled
     * @return the GBNF grammar, start rule {@code root}
     * @throws IllegalArgumentException as {@link #convert(String)}
     */
    public static String convert(String schemaJson, Options options) {
        return convertWithWarnings(schemaJson, options).grammar();
    }

    /**
     * Converts a schema and reports the parts it could not enforce.
     *
     * @param schemaJson the JSON Schema as JSON text
     * @param options    how patterns and property order are handled
     * @return the grammar and the parts of the schema it could not enforce
     * @throws IllegalArgumentException as {@link #convert(String)}
     */
    public static Result convertWithWarnings(String schemaJson, Options options) {
        GrammarLimits limits = GrammarLimits.configured();
        Object schema = SchemaConverter.parse(schemaJson, limits);
        Result result = new SchemaConverter(schema, options, new Rules(limits), "").convert();
        GbnfLimits.measure(result.grammar(), "root", limits);
        return result;
    }
}
