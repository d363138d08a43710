package io.llamaffm.internal;

import io.llamaffm.Configuration;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GBNF grammar as llama.cpp's parser (src/llama-grammar.cpp of the pinned release) will, before it sees it,
 * and refuses what llama.cpp would not survive, would spend unbounded time or memory on, or would refuse itself:
 * <ul>
 *   <li>syntax errors, undefined rules, a missing start rule and left recursion, each with its line and column or
 *       its rule (llama.cpp logs only "failed to parse grammar");</li>
 *   <li>more than {@value #MAX_NESTING} nested groups: the parser recurses once per level on the thread's stack;</li>
 *   <li>a chain of more than {@value #MAX_CHAIN} rules each starting with the next: llama.cpp's left-recursion
 *       check recurses once per rule of the chain on the thread's stack;</li>
 *   <li>a repetition {@code {m,n}} with {@code n < m}: the parser would generate rules without end (2^64 of them),
 *       and one that makes llama.cpp repeat a part {@value #MAX_REPETITIONS} times or more (llama.cpp refuses it);</li>
 *   <li>a grammar of more characters, or that llama.cpp would expand into more rules or elements, than
 *       {@link GrammarLimits} allow: it copies a repeated part {@code m} times and adds {@code n - m} rules for
 *       {@code {m,n}};</li>
 *   <li>a grammar whose left-recursion check would take more than {@link GrammarLimits#maxSteps()} steps: the check
 *       reads a rule again each time another rule starts with it, so rules that start with the same rule twice,
 *       chained a few dozen times, cost billions of steps.</li>
 * </ul>
 * Linear in the grammar's expanded size. Thread-safe (stateless).
 */
public final class GbnfLimits {
    /** Most nested groups: {@code (} inside {@code (}. */
    public static final int MAX_NESTING = 256;
    /** Most rules in a chain of rules each starting with the next (llama.cpp's left-recursion check recurses along it). */
    public static final int MAX_CHAIN = 4096;
    /**
     * llama.cpp repeats a part fewer times than this ({@code MAX_REPETITION_THRESHOLD}): it refuses {@code {m,n}} that
     * makes it write a part this many times or more, and reads a maximum above it as no maximum.
     */
    public static final int MAX_REPETITIONS = 2000;

    private GbnfLimits() {}

    /**
     * What llama.cpp will build from a grammar.
     *
     * @param chars    characters of the text
     * @param nesting  deepest nesting of groups
     * @param rules    rules llama.cpp builds (groups and expanded repetitions included)
     * @param elements elements of those rules
     * @param steps    elements llama.cpp's left-recursion check reads
     * @param chain    longest chain of rules each starting with the next
     */
    public record Measure(int chars, int nesting, int rules, long elements, long steps, int chain) {}

    /**
     * Checks {@code gbnf} with start rule {@code root} against the configured {@link GrammarLimits}.
     *
     * @throws IllegalArgumentException if llama.cpp would refuse the grammar or a bound is exceeded
     */
    public static void check(String gbnf, String root) {
        measure(gbnf, root, GrammarLimits.configured());
    }

    /**
     * Checks {@code gbnf} with start rule {@code root} against {@code limits} and says what llama.cpp will build.
     *
     * @throws IllegalArgumentException if llama.cpp would refuse the grammar or a bound is exceeded
     */
    public static Measure measure(String gbnf, String root, GrammarLimits limits) {
        if (gbnf.length() > limits.maxChars()) {
            throw new IllegalArgumentException("the grammar has " + gbnf.length() + " characters; at most " + limits.maxChars()
                    + GrammarLimits.raise(Configuration.GRAMMAR_MAX_CHARS));
        }
        int nesting = checkText(gbnf);
        Parser parser = new Parser(gbnf, limits);
        parser.parse();
        parser.checkDefined(root);
        Graph graph = new Graph(parser);
        graph.analyse(limits);
        return new Measure(gbnf.length(), nesting, parser.symbolIds.size(), parser.elements, graph.steps, graph.chain);
    }

    /**
     * Refuses NUL and unpaired surrogates (llama.cpp reads the grammar as a C string of UTF-8) and groups nested too
     * deep; returns the nesting depth. Skips comments, string literals, character classes and token references.
     */
    private static int checkText(String gbnf) {
        int depth = 0;
        int maxDepth = 0;
        int n = gbnf.length();
        for (int i = 0; i < n; i++) {
            char c = gbnf.charAt(i);
            if (c == 0) {
                throw new IllegalArgumentException("the grammar contains NUL at " + where(gbnf, i));
            }
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(gbnf.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw new IllegalArgumentException("the grammar contains an unpaired surrogate at " + where(gbnf, i));
            }
        }
        for (int i = 0; i < n; i++) {
            switch (gbnf.charAt(i)) {
                case '#' -> i = skipTo(gbnf, i, '\n', false);
                case '"' -> i = skipTo(gbnf, i, '"', true);
                case '[' -> i = skipTo(gbnf, i, ']', true);
                case '<' -> i = skipTo(gbnf, i, '>', false);
                case '(' -> maxDepth = Math.max(maxDepth, ++depth);
                case ')' -> depth--;
                default -> { }
            }
        }
        if (maxDepth > MAX_NESTING) {
            throw new IllegalArgumentException("the grammar nests groups " + maxDepth + " deep; at most " + MAX_NESTING
                    + " (llama.cpp's parser recurses once per level on the thread's stack)");
        }
        return maxDepth;
    }

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

    /** {@code line L, column C} of index {@code pos} (1-based, columns in UTF-16 units). */
    private static String where(String s, int pos) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < Math.min(pos, s.length()); i++) {
            if (s.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return "line " + line + ", column " + (pos - lineStart + 1);
    }

    /** A rule being built: llama.cpp's elements in short (a terminal is one entry however many characters it has). */
    private static final class Rule {
        static final int TERMINAL = -1;
        static final int ALT = -2;

        int[] items = new int[8];
        int size;
        long elements; // llama.cpp's elements, END included once the rule is complete

        void add(int item) {
            if (size == items.length) {
                items = Arrays.copyOf(items, Math.max(8, size * 2));
            }
            items[size++] = item;
        }

        void addAll(int[] from, int start, int end) {
            int count = end - start;
            if (size + count > items.length) {
                items = Arrays.copyOf(items, Math.max(size + count, size * 2));
            }
            System.arraycopy(from, start, items, size, count);
            size += count;
        }

        int[] toArray() {
            return Arrays.copyOf(items, size);
        }
    }

    /** llama.cpp's grammar parser ({@code llama_grammar_parser}), step for step, counting what it would build. */
    private static final class Parser {
        private static final long UNBOUNDED = -1;

        final String s;
        final int n;
        final GrammarLimits limits;
        final Map<String, Integer> symbolIds = new HashMap<>();
        final List<int[]> rules = new ArrayList<>();
        final List<Long> ruleElements = new ArrayList<>();
        long elements;
        int pos;

        Parser(String s, GrammarLimits limits) {
            this.s = s;
            this.n = s.length();
            this.limits = limits;
        }

        char at(int i) {
            return i < n ? s.charAt(i) : 0;
        }

        IllegalArgumentException syntax(int at, String reason) {
            return new IllegalArgumentException("invalid GBNF grammar at " + where(s, at) + ": " + reason);
        }

        void parse() {
            pos = parseSpace(0, true);
            while (pos < n) {
                parseRule();
            }
            if (rules.isEmpty()) {
                throw new IllegalArgumentException("invalid GBNF grammar: it has no rules");
            }
        }

        /** Every rule referred to is defined, and so is {@code root}. */
        void checkDefined(String root) {
            for (int id : symbolIds.values()) {
                if (id >= rules.size() || rules.get(id) == null) {
                    throw new IllegalArgumentException("invalid GBNF grammar: the rule '" + name(id) + "' is used but not defined");
                }
            }
            for (int id = 0; id < rules.size(); id++) {
                if (rules.get(id) == null) {
                    throw new IllegalArgumentException("invalid GBNF grammar: the rule '" + name(id) + "' is used but not defined");
                }
            }
            if (!symbolIds.containsKey(root)) {
                throw new IllegalArgumentException("invalid GBNF grammar: it has no rule '" + root + "' to start from");
            }
        }

        /** The name of rule {@code id} (llama.cpp names a group or a repeated part after its rule: {@code root_3}). */
        String name(int id) {
            for (Map.Entry<String, Integer> e : symbolIds.entrySet()) {
                if (e.getValue() == id) {
                    return e.getKey();
                }
            }
            return "#" + id;
        }

        int symbolId(String name) {
            Integer id = symbolIds.get(name);
            if (id == null) {
                id = symbolIds.size();
                symbolIds.put(name, id);
                checkRuleCount();
            }
            return id;
        }

        int generateSymbolId(String base) {
            int id = symbolIds.size();
            symbolIds.put(base + '_' + id, id);
            checkRuleCount();
            return id;
        }

        void checkRuleCount() {
            if (symbolIds.size() > limits.maxRules()) {
                throw new IllegalArgumentException("llama.cpp would build more than " + limits.maxRules() + " rules from the "
                        + "grammar (one per rule, group and repeated part)" + GrammarLimits.raise(Configuration.GRAMMAR_MAX_RULES));
            }
        }

        void addRule(int id, Rule rule) {
            while (rules.size() <= id) {
                rules.add(null);
                ruleElements.add(0L);
            }
            rules.set(id, rule.toArray());
            ruleElements.set(id, rule.elements);
        }

        void countElements(long more) {
            elements += more;
            if (elements > limits.maxElements()) {
                throw new IllegalArgumentException("llama.cpp would expand the grammar into more than " + limits.maxElements()
                        + " elements (characters, references, alternatives; repeated parts copied)"
                        + GrammarLimits.raise(Configuration.GRAMMAR_MAX_ELEMENTS));
            }
        }

        int parseSpace(int p, boolean newlineOk) {
            while (true) {
                char c = at(p);
                if (c == '#') {
                    while (p < n && at(p) != '\r' && at(p) != '\n') {
                        p++;
                    }
                } else if (c == ' ' || c == '\t' || (newlineOk && (c == '\r' || c == '\n'))) {
                    p++;
                } else {
                    return p;
                }
            }
        }

        static boolean isWordChar(char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || (c >= '0' && c <= '9');
        }

        static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        int parseName(int p) {
            int q = p;
            while (isWordChar(at(q))) {
                q++;
            }
            if (q == p) {
                throw syntax(p, "expecting a name");
            }
            return q;
        }

        int parseInt(int p) {
            int q = p;
            while (isDigit(at(q))) {
                q++;
            }
            if (q == p) {
                throw syntax(p, "expecting an integer");
            }
            return q;
        }

        /** The value of the digits {@code [p, end)} as {@code std::stoull} reads them, or a syntax error past 2^64-1. */
        long unsignedValue(int p, int end) {
            int first = p;
            while (first < end - 1 && s.charAt(first) == '0') {
                first++;
            }
            String digits = s.substring(first, end);
            if (digits.length() > 20 || (digits.length() == 20 && digits.compareTo("18446744073709551615") > 0)) {
                throw syntax(p, "the number " + abbreviated(s.substring(p, end)) + " is out of range");
            }
            return digits.length() >= 19 ? Long.MAX_VALUE : Long.parseLong(digits); // only compared with 2000 beyond
        }

        /** Past one character of a literal or class, an escape included. */
        int parseChar(int p) {
            char c = at(p);
            if (c == '\\') {
                return switch (at(p + 1)) {
                    case 'x' -> parseHex(p + 2, 2);
                    case 'u' -> parseHex(p + 2, 4);
                    case 'U' -> parseHex(p + 2, 8);
                    case 't', 'r', 'n', '\\', '"', '[', ']', '-' -> p + 2;
                    default -> throw syntax(p, "unknown escape " + abbreviated(s.substring(p, Math.min(n, p + 2))));
                };
            }
            if (p < n) {
                return p + Character.charCount(s.codePointAt(p));
            }
            throw syntax(p, "unexpected end of input");
        }

        int parseHex(int p, int size) {
            for (int i = 0; i < size; i++) {
                char c = at(p + i);
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
                    throw syntax(p - 2, "expecting " + size + " hex digits");
                }
            }
            return p + size;
        }

        void parseRule() {
            int nameEnd = parseName(pos);
            String name = s.substring(pos, nameEnd);
            int p = parseSpace(nameEnd, false);
            int id = symbolId(name);
            if (!(at(p) == ':' && at(p + 1) == ':' && at(p + 2) == '=')) {
                throw syntax(p, "expecting ::=");
            }
            pos = parseSpace(p + 3, true);
            parseAlternates(name, id, false, 0);
            if (at(pos) == '\r') {
                pos += at(pos + 1) == '\n' ? 2 : 1;
            } else if (at(pos) == '\n') {
                pos++;
            } else if (pos < n) {
                throw syntax(pos, "expecting a newline or the end");
            }
            pos = parseSpace(pos, true);
        }

        void parseAlternates(String ruleName, int ruleId, boolean nested, int depth) {
            Rule rule = new Rule();
            parseSequence(ruleName, rule, nested, depth);
            while (at(pos) == '|') {
                rule.add(Rule.ALT);
                rule.elements++;
                countElements(1);
                pos = parseSpace(pos + 1, true);
                parseSequence(ruleName, rule, nested, depth);
            }
            rule.elements++; // END
            countElements(1);
            addRule(ruleId, rule);
        }

        /** Where the last symbol of a sequence starts (what a repetition repeats), and how many rules it made. */
        private static final class Symbol {
            int start;
            long elements;
            long prevRules = 1;

            void start(Rule rule) {
                start = rule.size;
                elements = rule.elements;
                prevRules = 1;
            }
        }

        private void addTerminal(Rule rule, long count) {
            if (count > 0) {
                rule.add(Rule.TERMINAL);
                rule.elements += count;
                countElements(count);
            }
        }

        void parseSequence(String ruleName, Rule rule, boolean nested, int depth) {
            Symbol last = new Symbol();
            last.start(rule);
            while (pos < n) {
                char c = at(pos);
                if (c == '"') {
                    pos++;
                    last.start(rule);
                    long count = 0;
                    while (at(pos) != '"') {
                        if (pos >= n) {
                            throw syntax(pos, "unexpected end of input in a string literal");
                        }
                        pos = parseChar(pos);
                        count++;
                    }
                    addTerminal(rule, count);
                    pos = parseSpace(pos + 1, nested);
                } else if (c == '[') {
                    int open = pos;
                    pos++;
                    if (at(pos) == '^') {
                        pos++;
                    }
                    last.start(rule);
                    long count = 0;
                    while (at(pos) != ']') {
                        if (pos >= n) {
                            throw syntax(open, "unexpected end of input in a character class");
                        }
                        pos = parseChar(pos);
                        count++;
                        if (at(pos) == '-' && at(pos + 1) != ']') {
                            if (pos + 1 >= n) {
                                throw syntax(pos, "unexpected end of input in a character class");
                            }
                            pos = parseChar(pos + 1);
                            count++;
                        }
                    }
                    addTerminal(rule, count);
                    pos = parseSpace(pos + 1, nested);
                } else if (c == '<' || c == '!') {
                    pos = parseToken(c == '!' ? pos + 1 : pos);
                    last.start(rule);
                    addTerminal(rule, 1);
                    pos = parseSpace(pos, nested);
                } else if (isWordChar(c)) {
                    int nameEnd = parseName(pos);
                    int id = symbolId(s.substring(pos, nameEnd));
                    pos = parseSpace(nameEnd, nested);
                    last.start(rule);
                    rule.add(id);
                    rule.elements++;
                    countElements(1);
                } else if (c == '(') {
                    int open = pos;
                    if (depth + 1 > MAX_NESTING) {
                        throw new IllegalArgumentException("the grammar nests groups more than " + MAX_NESTING
                                + " deep; at most " + MAX_NESTING + " (llama.cpp's parser recurses once per level on the thread's stack)");
                    }
                    pos = parseSpace(pos + 1, true);
                    int before = symbolIds.size();
                    int subId = generateSymbolId(ruleName);
                    parseAlternates(ruleName, subId, true, depth + 1);
                    long created = Math.max(1, symbolIds.size() - before);
                    last.start(rule);
                    last.prevRules = created;
                    rule.add(subId);
                    rule.elements++;
                    countElements(1);
                    if (at(pos) != ')') {
                        throw syntax(pos >= n ? open : pos, pos >= n ? "unexpected end of input: '(' is not closed" : "expecting ')'");
                    }
                    pos = parseSpace(pos + 1, nested);
                } else if (c == '.') {
                    last.start(rule);
                    addTerminal(rule, 1);
                    pos = parseSpace(pos + 1, nested);
                } else if (c == '*' || c == '+' || c == '?') {
                    int at = pos;
                    pos = parseSpace(pos + 1, nested);
                    repeat(ruleName, rule, last, at, c == '+' ? 1 : 0, c == '?' ? 1 : UNBOUNDED);
                } else if (c == '{') {
                    int open = pos;
                    pos = parseSpace(pos + 1, nested);
                    if (!isDigit(at(pos))) {
                        throw syntax(pos, "expecting an integer after '{'");
                    }
                    int intEnd = parseInt(pos);
                    long min = unsignedValue(pos, intEnd);
                    pos = parseSpace(intEnd, nested);
                    long max = UNBOUNDED;
                    if (at(pos) == '}') {
                        max = min;
                        pos = parseSpace(pos + 1, nested);
                    } else if (at(pos) == ',') {
                        pos = parseSpace(pos + 1, nested);
                        if (isDigit(at(pos))) {
                            int maxEnd = parseInt(pos);
                            max = unsignedValue(pos, maxEnd);
                            pos = parseSpace(maxEnd, nested);
                        }
                        if (at(pos) != '}') {
                            throw syntax(pos, "expecting '}'");
                        }
                        pos = parseSpace(pos + 1, nested);
                    } else {
                        throw syntax(pos, "expecting ',' or '}'");
                    }
                    String written = s.substring(open, pos).strip().replaceAll("\\s+", "");
                    if (min > MAX_REPETITIONS) {
                        throw new IllegalArgumentException("the repetition " + abbreviated(written) + " at " + where(s, open)
                                + " repeats a part " + (min == Long.MAX_VALUE ? "more than 2^63" : min) + " times; llama.cpp "
                                + "repeats one fewer than " + MAX_REPETITIONS + " times");
                    }
                    if (max != UNBOUNDED && max > MAX_REPETITIONS) {
                        max = UNBOUNDED; // as llama.cpp: a maximum it would not expand is no maximum
                    }
                    if (max != UNBOUNDED && max < min) {
                        throw new IllegalArgumentException("the repetition " + written + " of the grammar has its maximum "
                                + "below its minimum");
                    }
                    repeat(ruleName, rule, last, open, min, max);
                } else {
                    break;
                }
            }
        }

        int parseToken(int p) {
            if (at(p) != '<') {
                throw syntax(p, "expecting '<'");
            }
            p++;
            if (at(p) == '[') {
                p++;
                int intEnd = parseInt(p);
                unsignedValue(p, intEnd);
                p = intEnd;
                if (at(p) != ']') {
                    throw syntax(p, "expecting ']'");
                }
                p++;
                if (at(p) != '>') {
                    throw syntax(p, "expecting '>'");
                }
                return p + 1;
            }
            while (p < n && at(p) != '>') { // a token by its text: llama.cpp checks it against the vocabulary
                p++;
            }
            if (p >= n) {
                throw syntax(p, "unexpected end of input: expecting '>'");
            }
            return p + 1;
        }

        /**
         * llama.cpp's {@code handle_repetitions}: the last symbol {@code S} becomes {@code S} {@code min} times, then
         * {@code max - min} nested optional rules (one recursive rule when there is no maximum).
         */
        void repeat(String ruleName, Rule rule, Symbol last, int at, long min, long max) {
            if (last.start == rule.size) {
                throw syntax(at, "expecting something before " + s.charAt(at) + " to repeat");
            }
            boolean noMax = max == UNBOUNDED;
            long totalRules = !noMax && max > 0 ? max : min > 0 ? min : 1;
            if (last.prevRules * totalRules >= MAX_REPETITIONS) {
                throw new IllegalArgumentException("the repetition at " + where(s, at) + " repeats a part of " + last.prevRules
                        + " rules " + totalRules + " times; llama.cpp allows fewer than " + MAX_REPETITIONS
                        + " rules repeated in all");
            }
            int[] symbol = Arrays.copyOfRange(rule.items, last.start, rule.size);
            long symbolElements = rule.elements - last.elements;
            long optional = noMax ? 1 : max - min;
            // check before building: the copies, then per optional rule the symbol, a reference, ALT and END
            countElements((min == 0 ? -symbolElements : (min - 1) * symbolElements) + optional * (symbolElements + 3)
                    + (optional > 0 ? 1 : 0));
            if (min == 0) {
                rule.size = last.start;
                rule.elements -= symbolElements;
            } else {
                for (long i = 1; i < min; i++) {
                    rule.addAll(symbol, 0, symbol.length);
                }
                rule.elements += (min - 1) * symbolElements;
            }
            int lastRecRuleId = 0;
            for (long i = 0; i < optional; i++) {
                Rule rec = new Rule();
                rec.addAll(symbol, 0, symbol.length);
                rec.elements = symbolElements + 2;
                int recRuleId = generateSymbolId(ruleName);
                if (i > 0 || noMax) {
                    rec.add(noMax ? recRuleId : lastRecRuleId);
                    rec.elements++;
                }
                rec.add(Rule.ALT);
                addRule(recRuleId, rec);
                lastRecRuleId = recRuleId;
            }
            if (optional > 0) {
                rule.add(lastRecRuleId);
                rule.elements++;
            }
            last.prevRules *= totalRules;
        }
    }

    /**
     * The rules as llama.cpp's left-recursion check walks them: from each rule to every rule its alternatives start
     * with (or start with after rules that have an empty alternative).
     */
    private static final class Graph {
        private static final long CAP = Long.MAX_VALUE / 4;

        final Parser parser;
        final int[][] edges;
        long steps;
        int chain;

        Graph(Parser parser) {
            this.parser = parser;
            int count = parser.rules.size();
            boolean[] mayBeEmpty = new boolean[count];
            for (int r = 0; r < count; r++) {
                boolean atStart = true;
                for (int item : parser.rules.get(r)) {
                    if (item == Rule.ALT) {
                        if (atStart) {
                            mayBeEmpty[r] = true;
                        }
                        atStart = true;
                    } else {
                        atStart = false;
                    }
                }
                if (atStart) {
                    mayBeEmpty[r] = true;
                }
            }
            edges = new int[count][];
            for (int r = 0; r < count; r++) {
                int[] items = parser.rules.get(r);
                int[] out = new int[items.length];
                int k = 0;
                boolean recurse = true;
                for (int item : items) {
                    if (item >= 0 && recurse) {
                        out[k++] = item;
                        recurse = mayBeEmpty[item];
                    } else {
                        recurse = item == Rule.ALT;
                    }
                }
                edges[r] = Arrays.copyOf(out, k);
            }
        }

        /**
         * Refuses a cycle (left recursion), a chain longer than {@link #MAX_CHAIN}, and a check costing more than
         * {@code limits.maxSteps()}: llama.cpp walks the rules from each rule not yet visited, in order, without
         * remembering what it found below a rule, so a rule costs its elements plus the cost of every rule it starts
         * with, each time.
         */
        void analyse(GrammarLimits limits) {
            int count = edges.length;
            long[] cost = new long[count];
            int[] depth = new int[count];
            byte[] state = new byte[count]; // 0 new, 1 on the walk, 2 done
            int[] stack = new int[count];
            int[] next = new int[count];
            for (int root = 0; root < count; root++) {
                if (state[root] != 0) {
                    continue;
                }
                int top = 0;
                stack[0] = root;
                state[root] = 1;
                while (top >= 0) {
                    int r = stack[top];
                    if (next[r] < edges[r].length) {
                        int child = edges[r][next[r]++];
                        if (state[child] == 1) {
                            throw leftRecursion(stack, top, child);
                        }
                        if (state[child] == 0) {
                            state[child] = 1;
                            stack[++top] = child;
                        }
                        continue;
                    }
                    long c = parser.ruleElements.get(r);
                    int d = 0;
                    for (int child : edges[r]) {
                        c = saturatedAdd(c, cost[child]);
                        d = Math.max(d, depth[child]);
                    }
                    cost[r] = c;
                    depth[r] = d + 1;
                    chain = Math.max(chain, depth[r]);
                    state[r] = 2;
                    top--;
                }
                steps = saturatedAdd(steps, cost[root]);
                if (chain > MAX_CHAIN) {
                    throw new IllegalArgumentException("the grammar has a chain of " + chain + " rules each starting with the next; "
                            + "at most " + MAX_CHAIN + " (llama.cpp's left-recursion check recurses once per rule on the thread's stack)");
                }
                if (steps > limits.maxSteps()) {
                    throw new IllegalArgumentException("llama.cpp's left-recursion check would read "
                            + (steps >= CAP ? "more than 2^61" : Long.toString(steps)) + " elements of the grammar (it reads "
                            + "a rule again each time another rule starts with it); at most " + limits.maxSteps()
                            + GrammarLimits.raise(Configuration.GRAMMAR_MAX_STEPS));
                }
            }
        }

        private IllegalArgumentException leftRecursion(int[] stack, int top, int child) {
            int from = top;
            while (stack[from] != child) {
                from--;
            }
            StringBuilder cycle = new StringBuilder();
            for (int i = from; i <= top && cycle.length() < 300; i++) {
                cycle.append(parser.name(stack[i])).append(" -> ");
            }
            cycle.append(parser.name(child));
            return new IllegalArgumentException("invalid GBNF grammar: it is left-recursive, the rule '" + parser.name(child)
                    + "' can start with itself (" + cycle + "); llama.cpp refuses left recursion");
        }

        private static long saturatedAdd(long a, long b) {
            long sum = a + b;
            return sum < 0 || sum > CAP ? CAP : sum;
        }
    }

    private static String abbreviated(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }
}
