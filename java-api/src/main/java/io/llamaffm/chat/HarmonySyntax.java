package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;
import io.llamaffm.grammar.GrammarBuilder;
import io.llamaffm.internal.JsonParser;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.llamaffm.grammar.GrammarBuilder.literal;

/**
 * gpt-oss's harmony format: a reply is a run of messages, each a header ({@code <|channel|>analysis},
 * {@code <|channel|>final}, or {@code <|channel|>commentary to=functions.NAME <|constrain|>json}) then
 * {@code <|message|>} and the body, ended by {@code <|end|>} (another message follows after
 * {@code <|start|>assistant}), {@code <|call|>} or {@code <|return|>}. The analysis channel is the reasoning, the final
 * channel (and commentary without a recipient) the answer, a message to {@code functions.NAME} a call whose body is
 * its JSON arguments.
 */
final class HarmonySyntax implements CallSyntax {
    static final HarmonySyntax INSTANCE = new HarmonySyntax(true);

    private static final String MESSAGE = "<|message|>";
    private static final String ANALYSIS = "<|channel|>analysis" + MESSAGE;
    private static final List<String> ENDS = List.of("<|end|>", "<|call|>", "<|return|>");
    private static final String NEXT = "<|start|>assistant";
    private static final Pattern RECIPIENT = Pattern.compile("to=functions\\.([A-Za-z0-9_.\\-]+)");
    private static final Pattern CHANNEL = Pattern.compile("<\\|channel\\|>(\\w+)");

    private final boolean separateReasoning;

    private HarmonySyntax(boolean separateReasoning) {
        this.separateReasoning = separateReasoning;
    }

    @Override
    public String name() {
        return "gpt-oss";
    }

    @Override
    public String reasoningStart() {
        return separateReasoning ? ANALYSIS : null;
    }

    @Override
    public CallSyntax withoutReasoning() {
        return new HarmonySyntax(false);
    }

    @Override
    public SyntaxParser.Result parse(Tools tools, String text, boolean partial, boolean startsInReasoning) {
        StringBuilder content = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        List<SyntaxParser.Call> calls = new ArrayList<>();
        boolean complete = true;
        int pos = 0;
        int n = text.length();
        while (pos < n) {
            int m = text.indexOf(MESSAGE, pos);
            if (m < 0) {
                if (!partial && pos == 0) { // no harmony structure at all: plain text
                    content.append(text);
                } else if (!partial && !text.substring(pos).isBlank()) {
                    complete = false;
                }
                break;
            }
            String header = text.substring(pos, m);
            int b = m + MESSAGE.length();
            int e = n;
            String end = null;
            for (String candidate : ENDS) {
                int k = text.indexOf(candidate, b);
                if (k >= 0 && k < e) {
                    e = k;
                    end = candidate;
                }
            }
            String body = text.substring(b, e);
            Matcher recipient = RECIPIENT.matcher(header);
            Matcher channel = CHANNEL.matcher(header);
            String channelName = channel.find() ? channel.group(1) : "";
            if (recipient.find() && tools.active()) {
                String name = recipient.group(1);
                String trimmed = body.strip();
                if (end != null || !partial) {
                    try {
                        if (!(JsonParser.parse(trimmed) instanceof Map<?, ?>)) {
                            throw new IllegalArgumentException("not an object");
                        }
                        calls.add(new SyntaxParser.Call(name, null, JsonText.compact(trimmed, 0, trimmed.length()), true));
                    } catch (IllegalArgumentException ex) {
                        complete = false;
                    }
                } else if (trimmed.startsWith("{")) {
                    calls.add(new SyntaxParser.Call(name, null, JsonText.compact(body, 0, body.length()), false));
                }
            } else if (channelName.equals("analysis") && separateReasoning) {
                append(reasoning, end == null && partial ? SyntaxParser.holdBack(body, ENDS) : body.strip());
            } else {
                append(content, end == null && partial ? SyntaxParser.holdBack(body, ENDS) : body.strip());
            }
            if (end == null) {
                if (!partial && channelName.equals("analysis")) {
                    complete = false; // cut inside the reasoning (the final and call messages end with end-of-generation)
                }
                break;
            }
            pos = e + end.length();
            if (text.startsWith(NEXT, pos)) {
                pos += NEXT.length();
            } else if (partial && NEXT.startsWith(text.substring(pos))) {
                break;
            }
        }
        return new SyntaxParser.Result(content.toString(), reasoning.toString(), List.copyOf(calls), complete);
    }

    private static void append(StringBuilder sb, String text) {
        if (text.isEmpty()) {
            return;
        }
        if (!sb.isEmpty()) {
            sb.append('\n');
        }
        sb.append(text);
    }

    /**
     * Reasoning in the analysis channel first (optional), then the answer in the final channel or, with REQUIRED or a
     * named tool, a call: {@code <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>} and arguments by
     * the tool's schema. The whole reply is held to it, so the grammar is not lazy.
     */
    @Override
    public SamplerChain.Stage grammar(Tools tools, Tokenizer tokenizer, boolean startsInReasoning) {
        GrammarBuilder g = new GrammarBuilder();
        String call = SyntaxGrammar.jsonCalls(g, tools, t -> "<|channel|>commentary to=functions." + t.name()
                + " <|constrain|>json" + MESSAGE);
        String analysis = g.rule("analysis", literal(ANALYSIS) + " " + g.textUntil("analysis-text", "<|end|>", "")
                + " " + literal(NEXT));
        String answer = tools.choice().mode() == ToolChoice.Mode.AUTO
                ? "( " + call + " | " + literal("<|channel|>final" + MESSAGE) + " .* )" : call;
        g.rule("root", analysis + "? " + answer);
        return SamplerChain.Grammar.of(g.build());
    }
}
