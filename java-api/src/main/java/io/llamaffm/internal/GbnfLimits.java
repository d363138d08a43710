package io.llamaffm.internal;

/**
 * What llama.cpp's GBNF parser does not survive, checked before it sees a grammar. The parser recurses once per nested
 * group, and its left-recursion check and its sampler once per rule reference in a chain, all on the calling thread's
 * native stack: a grammar nested a few thousand levels deep, or with a chain of some ten thousand rules, overflows the
 * stack and crashes the JVM. Real grammars (JSON Schema conversions included) stay far below both bounds. A repetition
 * {@code {m,n}} with {@code n < m} makes the parser generate rules without end (2^64 of them).
 */
public final class GbnfLimits {
    /** Most nested groups: {@code (} inside {@code (}. */
    public static final int MAX_NESTING = 256;
    /** Most rules and groups together (each group is a rule of its own inside llama.cpp). */
    public static final int MAX_RULES = 2048;

    private GbnfLimits() {}

    /**
     * Checks the nesting depth and the number of rules and groups of {@code gbnf}, skipping comments, string
     * literals, character classes and token references.
     *
     * @throws IllegalArgumentException if a bound is exceeded
     */
    public static void check(String gbnf) {
        int depth = 0;
        int maxDepth = 0;
        int rules = 0;
        int n = gbnf.length();
        for (int i = 0; i < n; i++) {
            char c = gbnf.charAt(i);
            switch (c) {
                case '#' -> i = skipTo(gbnf, i, '\n', false);
                case '"' -> i = skipTo(gbnf, i, '"', true);
                case '[' -> i = skipTo(gbnf, i, ']', true);
                case '<' -> i = skipTo(gbnf, i, '>', false);
                case '(' -> {
                    rules++;
                    maxDepth = Math.max(maxDepth, ++depth);
                }
                case ')' -> depth--;
                case '{' -> checkRepetition(gbnf, i);
                case ':' -> {
                    if (gbnf.startsWith("::=", i)) {
                        rules++;
                        i += 2;
                    }
                }
                default -> { }
            }
        }
        if (maxDepth > MAX_NESTING) {
            throw new IllegalArgumentException("the grammar nests groups " + maxDepth + " deep; at most " + MAX_NESTING
                    + " (llama.cpp's parser recurses once per level on the thread's stack)");
        }
        if (rules > MAX_RULES) {
            throw new IllegalArgumentException("the grammar has " + rules + " rules and groups; at most " + MAX_RULES
                    + " (llama.cpp recurses along chains of rules on the thread's stack)");
        }
    }

    /** Refuses {@code {m,n}} with {@code n < m} (spaces allowed around the numbers, as llama.cpp allows them). */
    private static void checkRepetition(String s, int open) {
        java.util.regex.Matcher m = REPETITION.matcher(s).region(open, s.length());
        if (m.lookingAt() && new java.math.BigInteger(m.group(2)).compareTo(new java.math.BigInteger(m.group(1))) < 0) {
            throw new IllegalArgumentException("the repetition " + m.group().replaceAll("\\s+", "") + " of the grammar has "
                    + "its maximum below its minimum");
        }
    }

    private static final java.util.regex.Pattern REPETITION = java.util.regex.Pattern.compile("\\{\\s*(\\d+)\\s*,\\s*(\\d+)\\s*}");

    /** The index of the closing {@code end} after {@code start} (past escaped characters when asked), or the last index. */
    private static int skipTo(String s, int start, char end, boolean escapes) {
        for (int i = start + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (escapes && c == '\\') {
                i++;
            } else if (c == end) {
                return i;
            }
        }
        return s.length() - 1;
    }
}
