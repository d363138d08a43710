package io.llamaffm.grammar;

import io.llamaffm.Configuration;
import io.llamaffm.grammar.BuiltinRules.BuiltinRule;
import io.llamaffm.internal.GrammarLimits;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The grammar being built: rules by name, written out sorted by name. A name that is taken by a different rule
 * gets the first free numeric suffix ({@code name0}, {@code name1}, ...); adding the same rule twice is a no-op.
 *
 * <p>Also the budget of one grammar's conversion ({@link GrammarLimits}): the characters of the rules so far, and
 * the steps spent (schemas visited, names probed, text built), so that a hostile schema is refused with an
 * {@link IllegalArgumentException} as soon as its grammar outgrows the limits, before it costs more.
 */
final class Rules {
    private final TreeMap<String, String> rules = new TreeMap<>();
    private final List<String> added = new ArrayList<>(); // names in the order they were added, for rollback
    private final Map<String, Suffixes> suffixes = new HashMap<>();
    private final GrammarLimits limits;
    private long chars;
    private long steps;

    Rules() {
        this(GrammarLimits.configured());
    }

    Rules(GrammarLimits limits) {
        this.limits = limits;
        put("space", BuiltinRules.SPACE);
    }

    GrammarLimits limits() {
        return limits;
    }

    /** {@return the steps counted so far} */
    long steps() {
        return steps;
    }

    /** Adds {@code name ::= rule} and returns the name it got; a step per character of both, and per suffix probed. */
    String add(String name, String rule) {
        step(name.length() + rule.length());
        String escaped = Gbnf.ruleName(name);
        String existing = rules.get(escaped);
        if (existing == null || existing.equals(rule)) {
            if (existing == null) {
                put(escaped, rule);
            }
            return escaped;
        }
        // the first of escaped0, escaped1, ... that is free or holds this rule; the suffixes probed so far are
        // remembered with their rules, so that many rules under one name cost one probe each, not one per earlier rule
        Suffixes known = suffixes.computeIfAbsent(escaped, k -> new Suffixes());
        Integer first = known.firstWith.get(rule);
        if (first != null) {
            return escaped + first;
        }
        while (true) {
            step(escaped.length() + rule.length());
            String key = escaped + known.probed;
            existing = rules.get(key);
            if (existing == null) {
                put(key, rule);
            }
            known.firstWith.putIfAbsent(existing == null ? rule : existing, known.probed++);
            if (existing == null || existing.equals(rule)) {
                return key;
            }
        }
    }

    /** The suffixes 0 to {@code probed - 1} of a name, all taken, and the first of them holding each rule. */
    private static final class Suffixes {
        final Map<String, Integer> firstWith = new HashMap<>();
        int probed;
    }

    private void put(String key, String rule) {
        checkChars(key.length() + rule.length() + 6); // "name ::= rule\n"
        chars += key.length() + rule.length() + 6;
        rules.put(key, rule);
        added.add(key);
    }

    /** Adds a builtin rule under {@code name}, and the builtin rules it needs under their own names. */
    String addPrimitive(String name, BuiltinRule rule) {
        String added = add(name, rule.content());
        for (String dep : rule.deps()) {
            if (!rules.containsKey(dep)) {
                addPrimitive(dep, BuiltinRules.lookup(dep));
            }
        }
        return added;
    }

    /** Adds the builtin primitive named {@code name} under that name. */
    String addPrimitive(String name) {
        return addPrimitive(name, BuiltinRules.PRIMITIVES.get(name));
    }

    boolean contains(String name) {
        return rules.containsKey(name);
    }

    /** A mark to {@link #rollback} to when a conversion step is abandoned. */
    int mark() {
        return added.size();
    }

    /** Removes the rules added since {@code mark}. */
    void rollback(int mark) {
        suffixes.clear(); // probed again when needed
        while (added.size() > mark) {
            String key = added.removeLast();
            chars -= key.length() + rules.remove(key).length() + 6;
        }
    }

    /**
     * Counts {@code n} steps of work (about one per character handled: a name, a rule added or compared, text
     * copied) against
     * {@link GrammarLimits#maxSteps()}.
     *
     * @throws IllegalArgumentException past the limit
     */
    void step(long n) {
        steps += n;
        if (steps > limits.maxSteps()) {
            throw new IllegalArgumentException("converting the schema takes more than " + limits.maxSteps() + " steps "
                    + "(about one per character of the names and rules it builds)" + GrammarLimits.raise(Configuration.GRAMMAR_MAX_STEPS));
        }
    }

    /**
     * Refuses a rule of {@code more} characters that would take the grammar past {@link GrammarLimits#maxChars()}.
     *
     * @throws IllegalArgumentException past the limit
     */
    void checkChars(long more) {
        if (chars + more > limits.maxChars()) {
            throw new IllegalArgumentException("the grammar would have more than " + limits.maxChars() + " characters"
                    + GrammarLimits.raise(Configuration.GRAMMAR_MAX_CHARS));
        }
    }

    /** The grammar text: one {@code name ::= rule} line per rule, sorted by name, each ending with a newline. */
    String format() {
        StringBuilder sb = new StringBuilder((int) Math.min(chars, Integer.MAX_VALUE - 8));
        rules.forEach((name, rule) -> sb.append(name).append(" ::= ").append(rule).append('\n'));
        return sb.toString();
    }
}
