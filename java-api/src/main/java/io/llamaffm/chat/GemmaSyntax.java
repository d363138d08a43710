package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;
import io.llamaffm.grammar.GrammarBuilder;
import io.llamaffm.internal.NlohmannJson;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.llamaffm.grammar.GrammarBuilder.literal;

/**
 * Gemma 4: reasoning in {@code <|channel>thought ... <channel|>}, calls as
 * {@code <|tool_call>call:NAME{key:value,...}<tool_call|>}, where a string is written between {@code <|"|>} marks and
 * keys are bare (or marked); numbers, booleans, lists and objects as in JSON. Arguments are read into JSON.
 */
final class GemmaSyntax implements CallSyntax {
    static final GemmaSyntax INSTANCE = new GemmaSyntax(true);

    private static final String THOUGHT = "<|channel>thought";
    private static final String THOUGHT_END = "<channel|>";
    private static final String CALL = "<|tool_call>";
    private static final String CALL_NAME = "call:";
    private static final String CALL_END = "<tool_call|>";
    private static final String QUOTE = "<|\"|>";

    private final boolean separateReasoning;

    private GemmaSyntax(boolean separateReasoning) {
        this.separateReasoning = separateReasoning;
    }

    @Override
    public String name() {
        return "gemma4";
    }

    @Override
    public String reasoningStart() {
        return separateReasoning ? THOUGHT : null;
    }

    @Override
    public CallSyntax withoutReasoning() {
        return new GemmaSyntax(false);
    }

    /** The text ended inside a value. */
    private static final class Cut extends RuntimeException {
        Cut() {
            super(null, null, false, false);
        }
    }

    @Override
    public SyntaxParser.Result parse(Tools tools, String text, boolean partial, boolean startsInReasoning) {
        int i = 0;
        String reasoning = "";
        if (separateReasoning) {
            int j = JsonText.skipWs(text, 0);
            if (startsInReasoning || text.startsWith(THOUGHT, j)) {
                int from = startsInReasoning ? 0 : j + THOUGHT.length();
                int end = text.indexOf(THOUGHT_END, from);
                if (end < 0) {
                    String r = text.substring(from);
                    return new SyntaxParser.Result("", partial ? SyntaxParser.holdBack(r, List.of(THOUGHT_END)) : r.strip(),
                            List.of(), false);
                }
                reasoning = text.substring(from, end).strip();
                i = end + THOUGHT_END.length();
            } else if (partial && j < text.length() && THOUGHT.startsWith(text.substring(j))) {
                return new SyntaxParser.Result("", "", List.of(), false);
            }
        }
        int t = tools.active() ? text.indexOf(CALL, i) : -1;
        if (t < 0) {
            String c = text.substring(i);
            return new SyntaxParser.Result(partial ? SyntaxParser.holdBack(c, tools.active() ? List.of(CALL) : List.of())
                    : c.strip(), reasoning, List.of(), true);
        }
        StringBuilder content = new StringBuilder(text.substring(i, t));
        List<SyntaxParser.Call> calls = new ArrayList<>();
        boolean complete = true;
        int k = t;
        while (true) {
            k = JsonText.skipWs(text, k);
            if (k >= text.length()) {
                break;
            }
            if (!text.startsWith(CALL + CALL_NAME, k)) {
                if (partial && (CALL + CALL_NAME).startsWith(text.substring(k))) {
                    complete = false;
                    break;
                }
                if (calls.isEmpty()) {
                    content.append(text.substring(k));
                    complete = false;
                } else {
                    content.append(text.substring(k)); // text after the calls belongs to the answer
                }
                break;
            }
            int nameStart = k + CALL.length() + CALL_NAME.length();
            int brace = text.indexOf('{', nameStart);
            if (brace < 0) {
                complete = false;
                break;
            }
            String name = text.substring(nameStart, brace).strip();
            try {
                int[] end = new int[1];
                String json = value(text, brace, end);
                int close = JsonText.skipWs(text, end[0]);
                if (!text.startsWith(CALL_END, close)) {
                    if (close < text.length() || !partial) {
                        complete = false;
                    }
                    break;
                }
                calls.add(new SyntaxParser.Call(name, null, json, true));
                k = close + CALL_END.length();
            } catch (Cut e) {
                complete = false;
                break;
            } catch (IllegalArgumentException e) {
                complete = false;
                if (calls.isEmpty() && !partial) {
                    content.append(text.substring(t));
                }
                break;
            }
        }
        String c = content.toString();
        return new SyntaxParser.Result(partial ? SyntaxParser.holdBack(c, List.of()) : c.strip(), reasoning,
                List.copyOf(calls), complete);
    }

    /** The Gemma value at {@code i} as compact JSON; {@code end[0]} is set to the index after it. */
    private static String value(String s, int i, int[] end) {
        i = JsonText.skipWs(s, i);
        if (i >= s.length()) {
            throw new Cut();
        }
        char c = s.charAt(i);
        if (s.startsWith(QUOTE, i)) {
            int close = s.indexOf(QUOTE, i + QUOTE.length());
            if (close < 0) {
                throw new Cut();
            }
            end[0] = close + QUOTE.length();
            return NlohmannJson.dump(s.substring(i + QUOTE.length(), close));
        }
        if (c == '{' || c == '[') {
            boolean object = c == '{';
            StringBuilder out = new StringBuilder().append(c);
            int k = JsonText.skipWs(s, i + 1);
            boolean first = true;
            while (true) {
                if (k >= s.length()) {
                    throw new Cut();
                }
                if (s.charAt(k) == (object ? '}' : ']')) {
                    end[0] = k + 1;
                    return out.append(object ? '}' : ']').toString();
                }
                if (!first) {
                    if (s.charAt(k) != ',') {
                        throw new IllegalArgumentException("expected ','");
                    }
                    k = JsonText.skipWs(s, k + 1);
                    out.append(',');
                }
                first = false;
                if (object) {
                    String key;
                    if (s.startsWith(QUOTE, k)) {
                        int close = s.indexOf(QUOTE, k + QUOTE.length());
                        if (close < 0) {
                            throw new Cut();
                        }
                        key = s.substring(k + QUOTE.length(), close);
                        k = close + QUOTE.length();
                    } else {
                        int colon = s.indexOf(':', k);
                        if (colon < 0) {
                            throw new Cut();
                        }
                        key = s.substring(k, colon).strip();
                        k = colon;
                    }
                    k = JsonText.skipWs(s, k);
                    if (k >= s.length()) {
                        throw new Cut();
                    }
                    if (s.charAt(k) != ':') {
                        throw new IllegalArgumentException("expected ':'");
                    }
                    out.append(NlohmannJson.dump(key)).append(':');
                    k++;
                }
                int[] e = new int[1];
                out.append(value(s, k, e));
                k = JsonText.skipWs(s, e[0]);
            }
        }
        int k = i;
        while (k < s.length() && ",}]<".indexOf(s.charAt(k)) < 0 && !Character.isWhitespace(s.charAt(k))) {
            k++;
        }
        if (k >= s.length()) {
            throw new Cut();
        }
        String bare = s.substring(i, k);
        Object v = io.llamaffm.internal.JsonParser.parse(bare); // a number, true, false or null
        end[0] = k;
        return NlohmannJson.dump(v);
    }

    /**
     * Calls of the offered tools, each {@code <|tool_call>call:NAME{...}<tool_call|>} with its arguments' keys in
     * sorted order (as the template writes them), required ones always; string values between quote marks (an enum's
     * values exactly), other values by their schema in JSON syntax, which Gemma shares for numbers and booleans.
     */
    @Override
    public SamplerChain.Stage grammar(Tools tools, Tokenizer tokenizer, boolean startsInReasoning) {
        GrammarBuilder g = new GrammarBuilder();
        String ows = SyntaxGrammar.ows(g);
        List<String> withCall = new ArrayList<>();
        List<String> afterCall = new ArrayList<>();
        int i = 0;
        for (Tool t : SyntaxGrammar.callable(tools)) {
            String body = g.rule("call-body" + i, literal(CALL_NAME + t.name()) + " " + object(g, t, i) + " "
                    + literal(CALL_END));
            withCall.add(literal(CALL) + " " + body);
            afterCall.add(body);
            i++;
        }
        String call = g.rule("call", String.join(" | ", withCall));
        String cont = g.rule("call-cont", String.join(" | ", afterCall));
        String reasoning = separateReasoning
                ? SyntaxGrammar.reasoningRule(g, THOUGHT, THOUGHT_END, startsInReasoning) : null;
        String more = tools.parallelCalls() ? " ( " + ows + " " + call + " )*" : "";
        return SyntaxGrammar.root(g, tools, tokenizer, CALL, reasoning, withTrigger -> (withTrigger ? call : cont) + more);
    }

    private static String object(GrammarBuilder g, Tool t, int i) {
        Map<?, ?> schema = t.schema();
        Map<String, Object> properties = new TreeMap<>();
        if (schema.get("properties") instanceof Map<?, ?> p) {
            p.forEach((k, v) -> properties.put(String.valueOf(k), v));
        }
        List<?> required = schema.get("required") instanceof List<?> r ? r : List.of();
        List<String> mandatory = new ArrayList<>();
        List<String> optional = new ArrayList<>();
        int k = 0;
        for (Map.Entry<String, Object> e : properties.entrySet()) {
            String member = literal(e.getKey() + ":") + " " + value(g, e.getValue(), "v" + i + "-" + (k++));
            (required.contains(e.getKey()) ? mandatory : optional).add(member);
        }
        // the required members (in key order), then each optional one; with none required, the optional ones as a run
        StringBuilder b = new StringBuilder(literal("{"));
        if (!mandatory.isEmpty()) {
            b.append(' ').append(String.join(" " + literal(",") + " ", mandatory));
            optional.forEach(m -> b.append(" ( ").append(literal(",")).append(' ').append(m).append(" )?"));
        } else if (!optional.isEmpty()) {
            b.append(" ( ").append(optional.getFirst());
            optional.subList(1, optional.size()).forEach(m -> b.append(" ( ").append(literal(",")).append(' ').append(m).append(" )?"));
            b.append(" )?");
        }
        return g.rule("obj" + i, b.append(' ').append(literal("}")).toString());
    }

    private static String value(GrammarBuilder g, Object schema, String name) {
        if (schema instanceof Map<?, ?> m && SyntaxGrammar.isString(m)) {
            return literal(QUOTE) + " " + SyntaxGrammar.stringUntil(g, m, name, QUOTE);
        }
        return g.schema(name, NlohmannJson.dump(schema));
    }
}
