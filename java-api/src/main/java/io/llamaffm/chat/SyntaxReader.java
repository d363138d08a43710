package io.llamaffm.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A {@link ReplyReader} for a {@link CallSyntax}: after each piece it reads the reply so far again (partially) and
 * passes on what grew since the last piece; {@link #finish()} reads the whole reply. Because a partial
 * reading reports only what the rest of the reply cannot change, what the listener received always begins what the
 * whole reading says, and the final reading is the same for every split.
 */
final class SyntaxReader implements ReplyReader {
    /** Reads the reply so far: whole ({@code partial} false) or cut anywhere. */
    interface Parser {
        SyntaxParser.Result parse(String text, boolean partial);
    }

    private final Parser parser;
    private final Tools tools;
    private final String inlinePrefix; // reasoning kept inline: the tag the prompt opened, shown as content
    private final Supplier<String> idSource;
    private final Listener listener;
    private final StringBuilder all = new StringBuilder();
    private final List<String> ids = new ArrayList<>();        // by call index
    private final List<String> sentArgs = new ArrayList<>();   // by call index, once the call was reported
    private String sentContent = "";
    private String sentReasoning = "";

    SyntaxReader(Parser parser, Tools tools, String inlinePrefix, Supplier<String> ids, Listener listener) {
        this.parser = parser;
        this.tools = tools;
        this.inlinePrefix = inlinePrefix;
        this.idSource = ids;
        this.listener = listener;
    }

    @Override
    public void push(CharSequence text) {
        all.append(text);
        if (listener != null) {
            emit(read(true));
        }
    }

    @Override
    public ParsedReply finish() {
        SyntaxParser.Result r = read(false);
        if (listener != null) {
            emit(r);
        }
        List<ToolCall> calls = new ArrayList<>();
        boolean complete = r.complete();
        for (int k = 0; k < r.calls().size(); k++) {
            SyntaxParser.Call c = r.calls().get(k);
            if (tools.find(c.name()).isEmpty()) {
                complete = false; // a call of a tool not on offer is not a call
                continue;
            }
            calls.add(new ToolCall(id(k, c), c.name(), c.args()));
        }
        return new ParsedReply(r.content(), r.reasoning(), calls, complete);
    }

    private SyntaxParser.Result read(boolean partial) {
        SyntaxParser.Result r = parser.parse(all.toString(), partial);
        if (inlinePrefix.isEmpty()) {
            return r;
        }
        String content = inlinePrefix + r.content();
        return new SyntaxParser.Result(content, r.reasoning(), r.calls(), r.complete());
    }

    private String id(int index, SyntaxParser.Call c) {
        while (ids.size() <= index) {
            ids.add(null);
        }
        if (ids.get(index) == null) {
            ids.set(index, c.id() != null && !c.id().isEmpty() ? c.id() : idSource.get());
        }
        return ids.get(index);
    }

    private void emit(SyntaxParser.Result r) {
        if (r.reasoning().length() > sentReasoning.length() && r.reasoning().startsWith(sentReasoning)) {
            listener.reasoning(r.reasoning().substring(sentReasoning.length()));
            sentReasoning = r.reasoning();
        }
        if (r.content().length() > sentContent.length() && r.content().startsWith(sentContent)) {
            listener.content(r.content().substring(sentContent.length()));
            sentContent = r.content();
        }
        for (int k = 0; k < r.calls().size(); k++) {
            SyntaxParser.Call c = r.calls().get(k);
            if (tools.find(c.name()).isEmpty()) {
                continue;
            }
            if (k >= sentArgs.size()) {
                if (k > sentArgs.size()) {
                    break; // an earlier call was not a call of an offered tool: indexes stay dense
                }
                listener.callStarted(k, id(k, c), c.name());
                sentArgs.add("");
            }
            String sent = sentArgs.get(k);
            if (c.args().length() > sent.length() && c.args().startsWith(sent)) {
                listener.arguments(k, c.args().substring(sent.length()));
                sentArgs.set(k, c.args());
            }
        }
    }
}
