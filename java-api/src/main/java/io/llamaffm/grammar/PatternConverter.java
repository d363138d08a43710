package io.llamaffm.grammar;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates an anchored regular expression ({@code ^...$}) into a GBNF rule, as llama.cpp's converter does:
 * mostly one to one (GBNF's syntax is close to regular expressions), merging adjacent literals and giving the
 * target of each {@code {m,n}} quantifier its own rule. Works on code points. One instance per pattern.
 */
final class PatternConverter {
    private static final int MAX_DEPTH = 100;
    private static final String NON_LITERAL = "|.()[]{}*+?^$";
    private static final String ESCAPED_IN_REGEX_NOT_IN_LITERAL = "^$.[]()|{}*+?";

    /** A valid regular expression that GBNF cannot express (the caller falls back to any string). */
    static final class Unsupported extends RuntimeException {
        Unsupported(String message) {
            super(message, null, false, false);
        }
    }

    /** Text that is not a regular expression at all (the caller reports an error). */
    static final class Invalid extends RuntimeException {
        Invalid(String message) {
            super(message, null, false, false);
        }
    }

    /** One element of a sequence: a literal's text (unquoted) or a rule expression. */
    private record Item(String text, boolean literal) {
        String toRule() {
            return literal ? "\"" + text + "\"" : text;
        }
    }

    private final Rules rules;
    private final boolean dotall;
    private final Map<String, String> subRuleIds = new HashMap<>();
    private final List<String> loosened = new ArrayList<>();
    private String pattern;
    private String name;
    private int[] p;
    private int i;
    private int parenDepth;

    PatternConverter(Rules rules, boolean dotall) {
        this.rules = rules;
        this.dotall = dotall;
    }

    /**
     * Adds the rule for {@code pattern} under {@code name} and returns its name; rules for the repeated parts are
     * added as {@code name-1}, {@code name-2}, ...
     *
     * @param raw without the JSON string quotes around the match
     * @throws Unsupported if GBNF cannot express the pattern (the rules may then hold partial work)
     * @throws Invalid     if the pattern is not a valid regular expression
     */
    String convert(String pattern, String name, boolean raw) {
        if (pattern.length() < 2 || !pattern.startsWith("^") || !pattern.endsWith("$")) {
            throw new Unsupported("not anchored with '^' and '$'");
        }
        this.pattern = pattern;
        this.name = name;
        this.p = pattern.substring(1, pattern.length() - 1).codePoints().toArray();
        String rule = sequence().toRule();
        if (parenDepth != 0) {
            throw new Invalid("unbalanced parentheses");
        }
        return rules.add(name, raw ? rule : "\"\\\"\" (" + rule + ") \"\\\"\"");
    }

    private String shortPattern() {
        return pattern.length() <= 200 ? pattern : pattern.substring(0, 200) + "...";
    }

    /** What the rule does not enforce of the pattern (a maximum of 2000 repetitions or more: see {@link Gbnf#repetition}). */
    List<String> loosened() {
        return loosened;
    }

    /** Reads up to the end of the pattern or of the current group, returning the sequence as one rule. */
    private Item sequence() {
        List<Item> seq = new ArrayList<>();
        while (i < p.length) {
            rules.step(1);
            int c = p[i];
            switch (c) {
                case '.' -> {
                    seq.add(new Item(rules.add("dot", dotall ? BuiltinRules.DOT_ALL : BuiltinRules.DOT), false));
                    i++;
                }
                case '(' -> seq.add(group());
                case ')' -> {
                    i++;
                    if (parenDepth == 0) {
                        throw new Invalid("unbalanced parentheses");
                    }
                    parenDepth--;
                    return join(seq);
                }
                case '^', '$' -> throw new Unsupported("anchor inside the pattern");
                case '[' -> seq.add(new Item(characterClass(), false));
                case '|' -> {
                    seq.add(new Item("|", false));
                    i++;
                }
                case '*', '+', '?' -> {
                    if (seq.isEmpty()) {
                        throw new Invalid("nothing to repeat");
                    }
                    String repeated = seq.removeLast().toRule();
                    rules.step(repeated.length()); // copied: a run of quantifiers would otherwise copy quadratically
                    seq.add(new Item(repeated + (char) c, false));
                    i++;
                }
                case '{' -> repeat(seq);
                default -> seq.add(literal(c));
            }
        }
        return join(seq);
    }

    private Item group() {
        i++; // '('
        if (i < p.length && p[i] == '?') {
            if (i + 1 < p.length && p[i + 1] == ':') {
                i += 2; // a non-capturing group is a plain group here
            } else {
                throw new Unsupported("unsupported group syntax");
            }
        }
        if (++parenDepth > MAX_DEPTH) { // the conversion recurses once per level
            throw new IllegalArgumentException("pattern " + shortPattern() + " nests groups more than " + MAX_DEPTH
                    + " deep; at most " + MAX_DEPTH);
        }
        return new Item("(" + sequence().toRule() + ")", false);
    }

    private String characterClass() {
        StringBuilder sb = new StringBuilder("[");
        i++;
        while (i < p.length && p[i] != ']') {
            if (p[i] == '\\') {
                int length = escapeLength(i);
                if (length == 0) {
                    throw new Unsupported("unsupported escape in character class: " + text(i, 2));
                }
                sb.append(text(i, length));
                i += length;
            } else {
                sb.appendCodePoint(p[i++]);
            }
        }
        if (i >= p.length) {
            throw new Invalid("unterminated character class");
        }
        i++;
        return sb.append(']').toString();
    }

    /** A {@code {n}}, {@code {m,}} or {@code {m,n}} quantifier applied to the last item of {@code seq}. */
    private void repeat(List<Item> seq) {
        int start = ++i;
        while (i < p.length && p[i] != '}') {
            i++;
        }
        if (i >= p.length) {
            throw new Unsupported("unterminated curly brackets");
        }
        String[] bounds = text(start, i - start).split(",", -1);
        i++;
        if (bounds.length != 1 && bounds.length != 2) {
            throw new Unsupported("wrong number of values in curly brackets");
        }
        int min = bounds.length == 1 || !bounds[0].isEmpty() ? count(bounds[0]) : 0;
        int max = bounds.length == 1 ? min : bounds[1].isEmpty() ? Gbnf.UNBOUNDED : count(bounds[1]);
        if (seq.isEmpty()) {
            throw new Invalid("nothing to repeat");
        }
        String written = text(start - 1, i - start + 1);
        if (max != Gbnf.UNBOUNDED && max < min) {
            throw new Invalid("numbers out of order in " + written);
        }
        if (Gbnf.repeatsTooOften(min, false)) {
            throw new IllegalArgumentException("pattern " + shortPattern() + ": the repetition " + written + " would make "
                    + "llama.cpp repeat a part " + min + " times; it repeats one at most " + (Gbnf.REPETITION_THRESHOLD - 1) + " times");
        }
        if (!Gbnf.keepsMaximum(max, false)) {
            loosened.add("the repetition " + written + " is beyond what llama.cpp's grammars enforce (a part repeated at most "
                    + (Gbnf.REPETITION_THRESHOLD - 1) + " times): its maximum is not enforced");
        }
        Item last = seq.removeLast();
        rules.step(last.text().length());
        String item = last.literal() ? last.toRule() : subRule(last.text());
        seq.add(new Item(Gbnf.repetition(item, min, max, ""), false));
    }

    /** The rule name for a repeated sub-expression; the same expression shares one rule. */
    private String subRule(String expression) {
        String id = subRuleIds.get(expression);
        if (id == null) {
            id = rules.add(name + "-" + (subRuleIds.size() + 1), expression);
            subRuleIds.put(expression, id);
        }
        return id;
    }

    /**
     * A quantifier bound the way the reference reads it ({@code std::stoi}): leading blanks, digits, anything after
     * the digits ignored.
     */
    private static int count(String text) {
        int j = 0;
        while (j < text.length() && " \t\n\u000B\f\r".indexOf(text.charAt(j)) >= 0) {
            j++;
        }
        if (j < text.length() && text.charAt(j) == '+') {
            j++;
        }
        int digitsStart = j;
        while (j < text.length() && text.charAt(j) >= '0' && text.charAt(j) <= '9') {
            j++;
        }
        if (j == digitsStart) {
            throw new Unsupported("invalid number in curly brackets");
        }
        try {
            return Integer.parseInt(text, digitsStart, j, 10);
        } catch (NumberFormatException e) {
            throw new Unsupported("invalid number in curly brackets");
        }
    }

    /**
     * Reads literal characters: as many as possible, except that a character followed by a quantifier is left
     * for the next item so that the quantifier applies to it alone.
     */
    private Item literal(int first) {
        StringBuilder literal = new StringBuilder();
        while (i < p.length) {
            int c = p[i];
            if (c == '\\') {
                escapeInLiteral(literal);
            } else if (c == '"') {
                literal.append("\\\"");
                i++;
            } else if (!isNonLiteral(c) && (i == p.length - 1 || literal.isEmpty() || p[i + 1] == '.'
                    || !isNonLiteral(p[i + 1]))) {
                literal.appendCodePoint(c);
                i++;
            } else {
                break;
            }
        }
        if (literal.isEmpty()) { // a stray ']' or '}'
            throw new Unsupported("unsupported character: " + Character.toString(first));
        }
        return new Item(literal.toString(), true);
    }

    private void escapeInLiteral(StringBuilder literal) {
        if (i == p.length - 1) {
            throw new Invalid("trailing backslash");
        }
        int next = p[i + 1];
        if (ESCAPED_IN_REGEX_NOT_IN_LITERAL.indexOf(next) >= 0) {
            literal.appendCodePoint(next);
            i += 2;
            return;
        }
        int length = escapeLength(i);
        if (length == 0) {
            throw new Unsupported("unsupported escape: " + text(i, 2));
        }
        literal.append(text(i, length));
        i += length;
    }

    /** Length of the GBNF escape sequence starting at {@code at}, or 0 if there is none GBNF understands. */
    private int escapeLength(int at) {
        if (at + 1 >= p.length || p[at] != '\\') {
            return 0;
        }
        int hexDigits;
        switch (p[at + 1]) {
            case 'x' -> hexDigits = 2;
            case 'u' -> hexDigits = 4;
            case 'U' -> hexDigits = 8;
            case 't', 'r', 'n', '\\', '"', '[', ']' -> {
                return 2;
            }
            default -> {
                return 0;
            }
        }
        if (at + 2 + hexDigits > p.length) {
            return 0;
        }
        for (int j = at + 2; j < at + 2 + hexDigits; j++) {
            if (!isHexDigit(p[j])) {
                return 0;
            }
        }
        return 2 + hexDigits;
    }

    /** Merges adjacent literals and joins the sequence with spaces into one rule expression. */
    private Item join(List<Item> seq) {
        List<String> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        for (Item item : seq) {
            if (item.literal()) {
                literal.append(item.text());
                continue;
            }
            if (!literal.isEmpty()) {
                parts.add(new Item(literal.toString(), true).toRule());
                literal.setLength(0);
            }
            parts.add(item.text());
        }
        if (!literal.isEmpty()) {
            parts.add(new Item(literal.toString(), true).toRule());
        }
        Item joined = new Item(String.join(" ", parts), false);
        rules.step(joined.text().length());
        rules.checkChars(joined.text().length());
        return joined;
    }

    private static boolean isHexDigit(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static boolean isNonLiteral(int c) {
        return NON_LITERAL.indexOf(c) >= 0;
    }

    private String text(int from, int length) {
        int end = Math.min(p.length, from + length);
        return new String(p, from, end - from);
    }
}
