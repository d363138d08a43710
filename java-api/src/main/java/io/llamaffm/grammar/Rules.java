package io.llamaffm.grammar;

import io.llamaffm.grammar.BuiltinRules.BuiltinRule;

import java.util.Map;
import java.util.TreeMap;

/**
 * The grammar being built: rules by name, written out sorted by name. A name that is taken by a different rule
 * gets the first free numeric suffix ({@code name0}, {@code name1}, ...); adding the same rule twice is a no-op.
 */
final class Rules {
    private TreeMap<String, String> rules = new TreeMap<>();

    Rules() {
        rules.put("space", BuiltinRules.SPACE);
    }

    /** Adds {@code name ::= rule} and returns the name it got. */
    String add(String name, String rule) {
        String escaped = Gbnf.ruleName(name);
        String key = escaped;
        if (rules.containsKey(escaped) && !rules.get(escaped).equals(rule)) {
            int i = 0;
            while (rules.containsKey(escaped + i) && !rules.get(escaped + i).equals(rule)) {
                i++;
            }
            key = escaped + i;
        }
        rules.put(key, rule);
        return key;
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

    /** A copy of the rules, to {@link #restore} when a conversion step is abandoned. */
    Map<String, String> snapshot() {
        return new TreeMap<>(rules);
    }

    void restore(Map<String, String> snapshot) {
        rules = new TreeMap<>(snapshot);
    }

    /** The grammar text: one {@code name ::= rule} line per rule, sorted by name, each ending with a newline. */
    String format() {
        StringBuilder sb = new StringBuilder();
        rules.forEach((name, rule) -> sb.append(name).append(" ::= ").append(rule).append('\n'));
        return sb.toString();
    }
}
