package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;
import io.llamaffm.grammar.GrammarBuilder;
import io.llamaffm.internal.NlohmannJson;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.llamaffm.grammar.GrammarBuilder.literal;

/**
 * The grammar of a reply in a {@link ToolSyntax}: calls of the offered tools only, each with arguments by its tool's
 * JSON Schema, in the family's markers. With {@link ToolChoice#AUTO} the reply may be text until the first call's
 * marker: when that marker is one token of the model's vocabulary the grammar is lazy and switches on at that token
 * (nothing is checked before it, as in llama.cpp); otherwise the grammar itself admits any text that does not contain
 * the marker, then the calls.
 */
final class SyntaxGrammar {
    private static final String OWS = "ows";

    private final ToolSyntax syntax;
    private final Tools tools;
    private final GrammarBuilder g = new GrammarBuilder();
    private int alternativeRules;

    private SyntaxGrammar(ToolSyntax syntax, Tools tools) {
        this.syntax = syntax;
        this.tools = tools;
        ows(g);
    }

    /**
     * The grammar stage for a reply.
     *
     * @param startsInReasoning whether the prompt opened a reasoning block the reply continues
     */
    static SamplerChain.Stage stage(ToolSyntax syntax, Tools tools, Tokenizer tokenizer, boolean startsInReasoning) {
        return new SyntaxGrammar(syntax, tools).build(tokenizer, startsInReasoning);
    }

    private SamplerChain.Stage build(Tokenizer tokenizer, boolean startsInReasoning) {
        String call = callRule();
        boolean auto = tools.choice().mode() == ToolChoice.Mode.AUTO;
        String reasoning = reasoningRule(startsInReasoning);
        if (syntax.anchored()) {
            String calls = g.rule("calls", call);
            String body = auto ? "( " + calls + " | [^{ \\t\\n] .* )" : calls;
            g.rule("root", (reasoning == null ? "" : reasoning + " ") + OWS + " " + body);
            return SamplerChain.Grammar.of(g.build());
        }
        return root(g, tools, tokenizer, firstPart(syntax.trigger()), reasoning, withTrigger -> callsBody(call, withTrigger));
    }

    /**
     * The grammar's root for calls that start with a trigger marker: with REQUIRED or a named tool, only calls (after
     * the optional reasoning); with AUTO, free text until the trigger, then calls: lazily at the trigger's token when it
     * is one token of the vocabulary, else as a grammar of text without the trigger.
     *
     * @param calls the calls' rule body, starting with the trigger (true) or with what follows it (false)
     */
    static SamplerChain.Stage root(GrammarBuilder g, Tools tools, Tokenizer tokenizer, String trigger, String reasoning,
                                   java.util.function.Function<Boolean, String> calls) {
        if (tools.choice().mode() != ToolChoice.Mode.AUTO) {
            g.rule("root", (reasoning == null ? "" : reasoning + " ") + OWS + " " + g.rule("calls", calls.apply(true)));
            return SamplerChain.Grammar.of(g.build());
        }
        int token = singleToken(tokenizer, trigger);
        if (token >= 0) {
            g.rule("root", g.rule("calls", calls.apply(true)));
            return new SamplerChain.LazyGrammar(g.build(), "root", List.of(), List.of(token));
        }
        String rest = g.rule("calls-rest", calls.apply(false));
        String text = g.textUntil("content", trigger, rest);
        g.rule("root", (reasoning == null ? "" : reasoning + " ") + text);
        return SamplerChain.Grammar.of(g.build());
    }

    /** The rule for optional whitespace between markers, added to {@code g}; returns its name. */
    static String ows(GrammarBuilder g) {
        return g.rule(OWS, "[ \\t\\n]{0,4}");
    }

    /** The reasoning block a reply may open with, or null when the family has none. */
    private String reasoningRule(boolean startsInReasoning) {
        return syntax.reasoningStart() == null ? null
                : reasoningRule(g, syntax.reasoningStart(), syntax.reasoningEnd(), startsInReasoning);
    }

    /** An optional reasoning block between its tags (only its text and end tag when the prompt opened it). */
    static String reasoningRule(GrammarBuilder g, String start, String end, boolean startsInReasoning) {
        String body = g.textUntil("reasoning", end, "");
        return startsInReasoning ? body : "( " + literal(start) + " " + body + " )?";
    }

    /** The calls: the section's markers around one call, or several with separators when parallel calls are on. */
    private String callsBody(String call, boolean withTrigger) {
        String sep = syntax.separator() != null ? OWS + " " + marker(syntax.separator()) + " " + OWS : OWS;
        String calls = tools.parallelCalls() ? call + " ( " + sep + " " + call + " )*" : call;
        String start = syntax.sectionStart() != null ? syntax.sectionStart() : syntax.callStart();
        StringBuilder body = new StringBuilder();
        if (syntax.sectionStart() != null) {
            body.append(withTrigger ? marker(start) : markerAfterFirstPart(start)).append(' ').append(OWS).append(' ');
            body.append(calls);
            if (syntax.sectionEnd() != null) {
                body.append(' ').append(OWS).append(' ').append(marker(syntax.sectionEnd()));
            }
            return body.toString();
        }
        if (withTrigger) {
            return calls;
        }
        // the content rule consumed the first call's opening: the first call continues after it
        String firstCall = g.rule("call-cont", callAlternatives(markerAfterFirstPart(syntax.callStart())));
        return tools.parallelCalls() ? firstCall + " ( " + sep + " " + call + " )*" : firstCall;
    }

    private String callRule() {
        return g.rule("call", callAlternatives(syntax.callStart() == null ? "" : marker(syntax.callStart())));
    }

    /** One alternative per allowed tool, each starting with {@code opening}. */
    private String callAlternatives(String opening) {
        List<String> alternatives = new ArrayList<>();
        int i = 0;
        for (Tool t : callable(tools)) {
            String body = syntax.jsonCall() ? jsonCall(t, i) : namedCall(t, i);
            alternatives.add(g.rule("call" + (alternativeRules++),
                    (opening.isEmpty() ? "" : opening + " " + OWS + " ") + body));
            i++;
        }
        return String.join(" | ", alternatives);
    }

    private String jsonCall(Tool t, int i) {
        String args = argsRule(t, i);
        StringBuilder b = new StringBuilder("\"{\" space ");
        b.append(literal(NlohmannJson.dump(syntax.nameKeys().getFirst()))).append(" space \":\" space ")
                .append(literal(NlohmannJson.dump(t.name()))).append(" space \",\" space ")
                .append(literal(NlohmannJson.dump(syntax.argsKeys().getFirst()))).append(" space \":\" space ").append(args);
        if (syntax.idKey() != null) {
            b.append(" \",\" space ").append(literal(NlohmannJson.dump(syntax.idKey())))
                    .append(" space \":\" space \"\\\"\" [a-zA-Z0-9]{9} \"\\\"\" space");
        }
        b.append(" \"}\"");
        if (syntax.callEnd() != null) {
            b.append(' ').append(OWS).append(' ').append(marker(syntax.callEnd()));
        }
        return b.toString();
    }

    private String namedCall(Tool t, int i) {
        StringBuilder b = new StringBuilder();
        if (syntax.namePrefix() != null) {
            b.append(marker(syntax.namePrefix())).append(' ');
        }
        b.append(literal(t.name()));
        if (syntax.indexedName()) {
            b.append(" \":\" [0-9]{1,3}");
        }
        if (syntax.nameEnd() != null) {
            b.append(' ').append(marker(syntax.nameEnd()));
        } else {
            b.append(" \"\\n\"");
        }
        b.append(' ').append(syntax.paramStart() == null ? OWS + " " + argsRule(t, i) : xmlArguments(t, i));
        if (syntax.callEnd() != null) {
            b.append(' ').append(OWS).append(' ').append(marker(syntax.callEnd()));
        }
        return b.toString();
    }

    private String argsRule(Tool t, int i) {
        return argsRule(g, t, i);
    }

    /** The rule for a tool's JSON arguments, held to its schema. */
    static String argsRule(GrammarBuilder g, Tool t, int i) {
        try {
            return g.schema("args" + i, t.parameters());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the schema of tool " + t.name() + " cannot be turned into a grammar: "
                    + e.getMessage(), e);
        }
    }

    /**
     * The rule {@code call}: one alternative per tool the reply may call, its opening text then its JSON arguments.
     *
     * @param opening the text before a tool's arguments
     * @return the rule's name
     */
    static String jsonCalls(GrammarBuilder g, Tools tools, java.util.function.Function<Tool, String> opening) {
        List<String> alternatives = new ArrayList<>();
        int i = 0;
        for (Tool t : callable(tools)) {
            String args = argsRule(g, t, i);
            alternatives.add(g.rule("call" + i, literal(opening.apply(t)) + " " + args));
            i++;
        }
        return g.rule("call", String.join(" | ", alternatives));
    }

    /** The tools a reply may call: all of them, or the one the choice names. */
    static List<Tool> callable(Tools tools) {
        return tools.choice().mode() == ToolChoice.Mode.NAMED
                ? tools.tools().stream().filter(t -> t.name().equals(tools.choice().name())).toList() : tools.tools();
    }

    /** XML-like parameters: the required ones in schema order, then the optional ones, each optional. */
    private String xmlArguments(Tool t, int i) {
        Map<?, ?> schema = t.schema();
        Map<?, ?> properties = schema.get("properties") instanceof Map<?, ?> p ? p : Map.of();
        List<?> required = schema.get("required") instanceof List<?> r ? r : List.of();
        List<String> parts = new ArrayList<>();
        int k = 0;
        for (boolean req : new boolean[] {true, false}) {
            for (Map.Entry<?, ?> e : properties.entrySet()) {
                String name = String.valueOf(e.getKey());
                if (required.contains(name) != req) {
                    continue;
                }
                String open = marker(syntax.paramStart()) + " " + literal(name) + " " + marker(syntax.paramNameEnd());
                String value;
                String prefix = "p" + i + "-" + (k++);
                if (e.getValue() instanceof Map<?, ?> ps && isString(ps)) {
                    value = stringUntil(g, ps, prefix, firstPart(syntax.paramEnd()));
                } else {
                    String json;
                    try {
                        json = g.schema(prefix + "-v", NlohmannJson.dump(e.getValue()));
                    } catch (IllegalArgumentException ex) {
                        throw new IllegalArgumentException("the schema of parameter " + name + " of tool " + t.name()
                                + " cannot be turned into a grammar: " + ex.getMessage(), ex);
                    }
                    value = json + " " + OWS + " " + marker(syntax.paramEnd());
                }
                String param = g.rule(prefix, open + " " + value);
                parts.add(req ? OWS + " " + param : "( " + OWS + " " + param + " )?");
            }
        }
        return parts.isEmpty() ? OWS : String.join(" ", parts);
    }

    /** Whether a schema is a string's, written raw (not as JSON) by XML-like and Gemma arguments. */
    static boolean isString(Map<?, ?> schema) {
        return "string".equals(schema.get("type"))
                || schema.get("enum") instanceof List<?> values && !values.isEmpty() && values.stream().allMatch(v -> v instanceof String);
    }

    /**
     * A raw string value by its schema, then the marker that ends it: one of an enum's values exactly; at most
     * {@code maxLength} characters (none of them '<', so the marker cannot start inside); else any text without the
     * marker.
     */
    static String stringUntil(GrammarBuilder g, Map<?, ?> schema, String name, String stop) {
        if (schema.get("enum") instanceof List<?> values && !values.isEmpty()) {
            List<String> alternatives = new ArrayList<>();
            values.forEach(v -> alternatives.add(literal(v + stop)));
            return "( " + String.join(" | ", alternatives) + " )";
        }
        if (schema.get("maxLength") instanceof Number) {
            long min = schema.containsKey("minLength") ? length(schema, "minLength") : 0;
            long max = length(schema, "maxLength");
            if (min > max) {
                throw new IllegalArgumentException("\"minLength\" " + min + " is greater than \"maxLength\" " + max);
            }
            int threshold = io.llamaffm.internal.GbnfLimits.MAX_REPETITIONS; // llama.cpp repeats a part fewer times
            if (min >= threshold) {
                throw new IllegalArgumentException("\"minLength\" " + min + " would make llama.cpp repeat a part " + min
                        + " times; it repeats one at most " + (threshold - 1) + " times");
            }
            return g.rule(name, "[^<]{" + min + "," + (max >= threshold ? "" : Long.toString(max)) + "} " + literal(stop));
        }
        return g.textUntil(name, stop, "");
    }

    /** A string length of a schema: a whole number from 0 to {@link Integer#MAX_VALUE} (GBNF takes it as written). */
    private static long length(Map<?, ?> schema, String key) {
        if (schema.get(key) instanceof java.math.BigDecimal n && n.signum() >= 0 && n.compareTo(INT_MAX) <= 0
                && n.stripTrailingZeros().scale() <= 0) {
            return n.longValueExact();
        }
        throw new IllegalArgumentException("\"" + key + "\" must be a non-negative integer up to " + Integer.MAX_VALUE
                + ", got " + schema.get(key));
    }

    private static final java.math.BigDecimal INT_MAX = java.math.BigDecimal.valueOf(Integer.MAX_VALUE);

    /** A marker in the grammar: its parts as literals, optional whitespace where it has line breaks. */
    private static String marker(String m) {
        List<String> parts = new ArrayList<>();
        for (String p : m.split("\n", -1)) {
            if (!p.isEmpty()) {
                parts.add(literal(p));
            }
        }
        return String.join(" " + OWS + " ", parts);
    }

    /** The marker without its first part (what finding the trigger already consumed). */
    private static String markerAfterFirstPart(String m) {
        String first = firstPart(m);
        String rest = m.substring(m.indexOf(first) + first.length());
        return rest.replace("\n", "").isEmpty() ? OWS : OWS + " " + marker(rest);
    }

    private static String firstPart(String marker) {
        for (String p : marker.split("\n")) {
            if (!p.isEmpty()) {
                return p;
            }
        }
        return marker;
    }

    /** The token that is exactly {@code text} in the model's vocabulary, or -1. */
    private static int singleToken(Tokenizer tokenizer, String text) {
        int[] ids = tokenizer.encode(text, false, true);
        if (ids.length != 1) {
            return -1;
        }
        String piece = new String(tokenizer.pieceBytes(ids[0], true), StandardCharsets.UTF_8);
        return piece.equals(text) ? ids[0] : -1;
    }
}
