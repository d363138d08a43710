package io.llamaffm.internal;

import io.llamaffm.Configuration;

/**
 * How big and how costly a grammar may be: the four {@code llamaffm.grammar.max.*} properties of
 * {@link Configuration}, read once per grammar.
 *
 * @param maxChars    most characters of the grammar text ({@link Configuration#GRAMMAR_MAX_CHARS})
 * @param maxRules    most rules llama.cpp builds from it ({@link Configuration#GRAMMAR_MAX_RULES})
 * @param maxElements most elements llama.cpp holds for it ({@link Configuration#GRAMMAR_MAX_ELEMENTS})
 * @param maxSteps    most steps of a conversion, or of llama.cpp's left-recursion check ({@link Configuration#GRAMMAR_MAX_STEPS})
 */
public record GrammarLimits(int maxChars, int maxRules, int maxElements, int maxSteps) {
    /** Checks that every limit is positive. */
    public GrammarLimits {
        if (maxChars < 1 || maxRules < 1 || maxElements < 1 || maxSteps < 1) {
            throw new IllegalArgumentException("grammar limits must be positive");
        }
    }

    /** {@return the limits as configured now (system properties, then environment variables, then the defaults)} */
    public static GrammarLimits configured() {
        return new GrammarLimits(Configuration.grammarMaxChars(), Configuration.grammarMaxRules(),
                Configuration.grammarMaxElements(), Configuration.grammarMaxSteps());
    }

    /** {@return how to raise the limit {@code option} sets, for the end of a message} */
    public static String raise(Configuration.Option option) {
        return " (raise it with -D" + option.property() + ")";
    }
}
