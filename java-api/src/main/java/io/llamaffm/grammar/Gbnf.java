package io.llamaffm.grammar;

import java.util.regex.Pattern;

/** Small pieces of GBNF syntax shared by the converter's parts. */
final class Gbnf {
    private Gbnf() {}

    /** Stands for "no upper bound" in a repetition. */
    static final int UNBOUNDED = Integer.MAX_VALUE;

    /** Runs of characters a rule name may not contain; each run becomes one {@code -}. */
    static final Pattern INVALID_RULE_CHARS = Pattern.compile("[^a-zA-Z0-9-]+");

    /** A GBNF string literal matching exactly {@code text}. */
    static String literal(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** A rule name with every run of characters outside {@code [a-zA-Z0-9-]} replaced by {@code -}. */
    static String ruleName(String name) {
        return INVALID_RULE_CHARS.matcher(name).replaceAll("-");
    }

    /**
     * llama.cpp repeats a part fewer times than this: its parser refuses {@code {m,n}} that would make it write a part
     * 2000 times or more ({@code MAX_REPETITION_THRESHOLD}), and reads a maximum above 2000 as none.
     */
    static final int REPETITION_THRESHOLD = io.llamaffm.internal.GbnfLimits.MAX_REPETITIONS;

    /** Whether {@link #repetition} of {@code min} items would make llama.cpp repeat a part too often (it refuses that). */
    static boolean repeatsTooOften(int min, boolean separated) {
        return (separated ? min - 1 : min) >= REPETITION_THRESHOLD;
    }

    /** Whether {@link #repetition} keeps the maximum {@code max}: llama.cpp cannot enforce one of 2000 or more. */
    static boolean keepsMaximum(int max, boolean separated) {
        return max == UNBOUNDED || (separated ? max - 1 : max) < REPETITION_THRESHOLD;
    }

    /**
     * {@code item} repeated {@code min} to {@code max} times ({@link #UNBOUNDED} for no limit); with a separator, the
     * separator goes between the items. A maximum that llama.cpp cannot enforce ({@link #keepsMaximum}) is written as
     * none: llama.cpp reads one above 2000 as none and refuses 2000 itself.
     */
    static String repetition(String item, int min, int max, String separator) {
        if (separator.isEmpty() && max != UNBOUNDED && max >= REPETITION_THRESHOLD) {
            max = UNBOUNDED;
        }
        boolean hasMax = max != UNBOUNDED;
        if (max == 0) {
            return "";
        }
        if (min == 0 && max == 1) {
            return item + "?";
        }
        if (separator.isEmpty()) {
            if (min == 1 && !hasMax) {
                return item + "+";
            }
            if (min == 0 && !hasMax) {
                return item + "*";
            }
            return item + "{" + min + "," + (hasMax ? Integer.toString(max) : "") + "}";
        }
        String rest = repetition("(" + separator + " " + item + ")", min == 0 ? 0 : min - 1, hasMax ? max - 1 : max, "");
        String result = item + " " + rest;
        return min == 0 ? "(" + result + ")?" : result;
    }
}
