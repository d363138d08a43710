package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;
import io.llamaffm.grammar.GrammarBuilder;
import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.llamaffm.grammar.GrammarBuilder.literal;

/**
 * Functionary v3.2: the prompt ends with {@code >>>} and the reply names a recipient on its first line, then the
 * message: {@code all} for the answer, or a tool's name and its JSON arguments; more messages follow, each after
 * {@code >>>}. The {@code python} tool may take its code as it is, which is read as {@code {"code": ...}}.
 */
final class RecipientSyntax implements CallSyntax {
    static final RecipientSyntax INSTANCE = new RecipientSyntax();
    private static final String NEXT = ">>>";
    private static final String ALL = "all";

    private RecipientSyntax() {}

    @Override
    public String name() {
        return "functionary-v3.2";
    }

    @Override
    public String reasoningStart() {
        return null;
    }

    @Override
    public CallSyntax withoutReasoning() {
        return this;
    }

    @Override
    public SyntaxParser.Result parse(Tools tools, String text, boolean partial, boolean startsInReasoning) {
        StringBuilder content = new StringBuilder();
        List<SyntaxParser.Call> calls = new ArrayList<>();
        boolean complete = true;
        int pos = 0;
        while (pos <= text.length()) {
            int nl = text.indexOf('\n', pos);
            int next = text.indexOf(NEXT, pos);
            if (nl < 0 || (next >= 0 && next < nl)) { // no complete recipient line
                if (!partial && !text.substring(pos).isBlank()) {
                    if (calls.isEmpty()) {
                        content.append(text.substring(pos)); // not the format: the text as it is
                    } else {
                        complete = false;
                    }
                }
                break;
            }
            String recipient = text.substring(pos, nl).strip();
            int end = next < 0 ? text.length() : next;
            String body = text.substring(nl + 1, end);
            boolean last = next < 0;
            if (recipient.equals(ALL) || !tools.active()) {
                String part = last && partial ? SyntaxParser.holdBack(body, List.of(NEXT)) : body.strip();
                if (!part.isEmpty()) {
                    content.append(content.isEmpty() ? "" : "\n").append(part);
                }
            } else if (!last || !partial) {
                String args = arguments(recipient, body.strip());
                if (args == null) {
                    complete = false;
                    break;
                }
                calls.add(new SyntaxParser.Call(recipient, null, args, true));
            } else if (body.stripLeading().startsWith("{")) {
                calls.add(new SyntaxParser.Call(recipient, null, JsonText.compact(body, 0, body.length()), false));
            }
            if (last) {
                break;
            }
            pos = next + NEXT.length();
        }
        return new SyntaxParser.Result(content.toString(), "", List.copyOf(calls), complete);
    }

    /** A call's arguments as compact JSON, or null when they are not a JSON object (python's raw code aside). */
    private static String arguments(String name, String body) {
        try {
            if (JsonParser.parse(body) instanceof Map<?, ?>) {
                return JsonText.compact(body, 0, body.length());
            }
        } catch (IllegalArgumentException e) {
            // not JSON
        }
        return name.equals("python") ? NlohmannJson.dump(Map.of("code", body)) : null;
    }

    /** An answer ({@code all}) that may end in calls, or (REQUIRED, a named tool) calls only. */
    @Override
    public SamplerChain.Stage grammar(Tools tools, Tokenizer tokenizer, boolean startsInReasoning) {
        GrammarBuilder g = new GrammarBuilder();
        String call = SyntaxGrammar.jsonCalls(g, tools, t -> t.name() + "\n");
        String calls = g.rule("calls", tools.parallelCalls() ? call + " ( " + literal(NEXT) + " " + call + " )*" : call);
        if (tools.choice().mode() != ToolChoice.Mode.AUTO) {
            g.rule("root", calls);
        } else {
            String answer = literal(ALL + "\n") + " ( " + g.textWithout("text", NEXT) + " | "
                    + g.textUntil("text-then-calls", NEXT, calls) + " )";
            g.rule("root", answer + " | " + calls);
        }
        return SamplerChain.Grammar.of(g.build());
    }
}
