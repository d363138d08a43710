package io.llamaffm.chat;

import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Takes a reply apart by its family's {@link ToolSyntax}: reasoning, answer text, tool calls. Reads a whole reply, or
 * (partial) a reply cut anywhere, where it reports only what the rest of the reply cannot change: text that could be
 * the start of a marker, and trailing whitespace, are held back; a call's arguments come as compact JSON text that
 * only grows. Stateless; one call per reading.
 */
final class SyntaxParser {
    /** A call read from the reply. {@code id} is null when the reply names none; {@code done} when its end was read. */
    record Call(String name, String id, String args, boolean done) {}

    /** What the reply says so far. */
    record Result(String content, String reasoning, List<Call> calls, boolean complete) {}

    /** The text ended before the reading could go on (partial readings only). */
    private static final class Incomplete extends RuntimeException {
        Incomplete() {
            super(null, null, false, false);
        }
    }

    /** The text breaks the syntax. */
    private static final class Malformed extends RuntimeException {
        Malformed() {
            super(null, null, false, false);
        }
    }

    private static final Incomplete INCOMPLETE = new Incomplete();
    private static final Malformed MALFORMED = new Malformed();

    private final ToolSyntax syntax;
    private final Tools tools;
    private final String text;
    private final boolean partial;
    private final List<Call> calls = new ArrayList<>();

    private SyntaxParser(ToolSyntax syntax, Tools tools, String text, boolean partial) {
        this.syntax = syntax;
        this.tools = tools;
        this.text = text;
        this.partial = partial;
    }

    /**
     * Reads a reply.
     *
     * @param syntax            the family's syntax
     * @param tools             the tools on offer (their schemas type XML-like parameter values); with none active,
     *                          the reply has no calls and call syntax is text
     * @param text              the reply so far
     * @param partial           whether more may follow
     * @param startsInReasoning whether the prompt opened a reasoning block the reply continues
     */
    static Result parse(ToolSyntax syntax, Tools tools, String text, boolean partial, boolean startsInReasoning) {
        return new SyntaxParser(syntax, tools, text, partial).run(startsInReasoning);
    }

    private Result run(boolean startsInReasoning) {
        int i = 0;
        String reasoning = "";
        if (syntax.reasoningStart() != null) {
            int j = JsonText.skipWs(text, 0);
            boolean open = startsInReasoning;
            if (!open && text.startsWith(syntax.reasoningStart(), j)) {
                open = true;
                j += syntax.reasoningStart().length();
            } else if (!open && partial && j < text.length() && syntax.reasoningStart().startsWith(text.substring(j))) {
                return new Result("", "", List.of(), false); // maybe the start of the tag
            } else if (!open) {
                j = 0;
            }
            if (open) {
                int end = text.indexOf(syntax.reasoningEnd(), j);
                if (end < 0) {
                    String r = text.substring(j);
                    return new Result("", partial ? holdBack(r, List.of(syntax.reasoningEnd())) : r.strip(), List.of(), false);
                }
                reasoning = text.substring(j, end).strip();
                i = end + syntax.reasoningEnd().length();
            }
        }
        StringBuilder content = new StringBuilder();
        boolean complete = true;
        int t = !tools.active() ? -1 : syntax.anchored() ? anchoredCallStart(i) : callStart(i);
        int tag = syntax.anchored() && tools.active() ? pythonTag(i) : -1;
        if (partial && tag >= 0 && t < 0 && text.substring(tag).isBlank()) {
            return new Result(holdBack(text.substring(i, tag - PYTHON_TAG.length()), List.of()), reasoning, List.of(), false);
        }
        if (tag >= 0 && t < 0 && tools.find(PYTHON).isPresent()) { // <|python_tag|> then code: a call of the python tool
            return pythonCall(text.substring(tag), text.substring(i, tag - PYTHON_TAG.length()), reasoning);
        }
        if (t < 0) {
            content.append(text, i, text.length());
        } else {
            content.append(text, i, tag >= 0 ? tag - PYTHON_TAG.length() : t); // the tag itself is neither text nor call
            try {
                int after = readCalls(t);
                String rest = text.substring(after);
                if (!rest.isBlank()) { // text after the calls belongs to the answer
                    content.append(rest);
                }
            } catch (Incomplete e) {
                complete = false;
            } catch (Malformed | JsonText.Invalid | IllegalArgumentException e) {
                complete = false;
                calls.removeIf(c -> !c.done());
                if (partial) {
                    // the call syntax broke: the rest of the reply is shown as text once it is whole
                    return new Result(cleanContent(content.toString(), true), reasoning, List.copyOf(calls), false);
                }
                if (calls.isEmpty()) { // no call survived: the reply's text is the answer, as written
                    content.append(text, t, text.length());
                }
            }
        }
        if (!partial) {
            calls.removeIf(c -> !c.done());
        }
        return new Result(cleanContent(content.toString(), partial && t < 0), reasoning, List.copyOf(calls), complete);
    }

    /** The answer's text without its wrapper tags; while partial, without what could be the start of a marker. */
    private String cleanContent(String c, boolean holdMarkers) {
        if (syntax.contentStart() != null) {
            c = c.replace(syntax.contentStart(), "").replace(syntax.contentEnd(), "");
        }
        if (!partial) {
            return c.strip();
        }
        List<String> markers = new ArrayList<>();
        if (holdMarkers && syntax.trigger() != null && tools.active()) {
            markers.add(firstPart(syntax.trigger()));
        }
        if (holdMarkers && syntax.anchored() && tools.active()) {
            markers.add(PYTHON_TAG);
        }
        if (holdMarkers && syntax.bareCallStart() != null && tools.active()) {
            markers.add(syntax.bareCallStart());
        }
        if (syntax.contentStart() != null) {
            markers.add(syntax.contentStart());
            markers.add(syntax.contentEnd());
        }
        return holdBack(c, markers);
    }

    /** Drops leading whitespace, trailing whitespace and a trailing part that could be the start of a marker. */
    static String holdBack(String s, List<String> markers) {
        int cut = s.length();
        for (String m : markers) {
            for (int k = Math.min(m.length() - 1, s.length()); k > 0; k--) {
                if (s.endsWith(m.substring(0, k))) {
                    cut = Math.min(cut, s.length() - k);
                    break;
                }
            }
        }
        return s.substring(0, cut).strip();
    }

    /** Where an anchored JSON call starts: the reply's first non-space character (after Llama's python tag), a brace. */
    private int anchoredCallStart(int i) {
        int tag = pythonTag(i);
        int j = JsonText.skipWs(text, tag >= 0 ? tag : i);
        return j < text.length() && text.charAt(j) == '{' ? j : -1;
    }

    private static final String PYTHON_TAG = "<|python_tag|>";
    private static final String PYTHON = "python";

    /** Where the text after a leading {@code <|python_tag|>} starts, or -1 when the reply does not start with it. */
    private int pythonTag(int i) {
        int j = JsonText.skipWs(text, i);
        return text.startsWith(PYTHON_TAG, j) ? j + PYTHON_TAG.length() : -1;
    }

    /** Llama 3.x's code interpreter call: the code after the python tag, as {@code {"code": ...}}. */
    private Result pythonCall(String code, String before, String reasoning) {
        String args = NlohmannJson.dump(java.util.Map.of("code", partial ? code : code.strip()));
        if (partial) { // the code may grow: its JSON without the closing quote and brace only grows
            args = args.substring(0, args.length() - 2);
        }
        return new Result(partial ? holdBack(before, List.of()) : before.strip(), reasoning,
                List.of(new Call(PYTHON, null, args, !partial)), true);
    }

    /** Reads the calls from {@code i}; returns where they end. */
    private int readCalls(int i) {
        if (syntax.sectionStart() != null) {
            i = expect(i, syntax.sectionStart());
        }
        for (int k = 0; ; k++) {
            if (k > 0) {
                if (syntax.sectionEnd() != null && at(i, syntax.sectionEnd())) {
                    return expect(i, syntax.sectionEnd());
                }
                if (syntax.separator() != null) {
                    i = expect(i, syntax.separator());
                } else if (syntax.anchored() || !at(i, syntax.callStart())
                        && (syntax.bareCallStart() == null || !at(i, syntax.bareCallStart()))) {
                    if (syntax.sectionEnd() != null) {
                        return expect(i, syntax.sectionEnd());
                    }
                    return i;
                }
            }
            i = syntax.jsonCall() ? jsonCall(i) : namedCall(i);
            if (syntax.sectionEnd() == null && syntax.callStart() != null && JsonText.skipWs(text, i) >= text.length()) {
                if (partial) {
                    throw INCOMPLETE; // another call may follow
                }
                return i;
            }
            if (syntax.anchored()) {
                return i;
            }
        }
    }

    private int jsonCall(int i) {
        if (syntax.callStart() != null) {
            i = expect(i, syntax.callStart());
        }
        i = JsonText.skipWs(text, i);
        if (i >= text.length()) {
            throw partial ? INCOMPLETE : MALFORMED;
        }
        if (text.charAt(i) != '{') {
            throw MALFORMED;
        }
        List<JsonText.Member> members = JsonText.members(text, i);
        int end = JsonText.valueEnd(text, i);
        String name = null;
        String id = null;
        String args = null;
        boolean argsDone = false;
        for (JsonText.Member m : members) {
            if (syntax.nameKeys().contains(m.key()) && m.end() > 0 && JsonParser.parse(text.substring(m.start(), m.end())) instanceof String s) {
                name = s;
            } else if (syntax.argsKeys().contains(m.key()) && m.start() >= 0) {
                if (m.end() > 0) {
                    if (!(JsonParser.parse(text.substring(m.start(), m.end())) instanceof Map<?, ?>)) {
                        throw MALFORMED;
                    }
                    args = JsonText.compact(text, m.start(), m.end());
                    argsDone = true;
                } else {
                    args = JsonText.compact(text, m.start(), text.length());
                }
            } else if (m.key().equals(syntax.idKey()) && m.end() > 0) {
                Object v = JsonParser.parse(text.substring(m.start(), m.end()));
                id = v instanceof String s ? s : NlohmannJson.dump(v);
            }
        }
        if (end < 0) {
            if (!partial) {
                throw MALFORMED;
            }
            if (name != null && (syntax.idKey() == null || id != null)) { // a call with an id is reported with it
                calls.add(new Call(name, id, args == null ? "" : args, false));
            }
            throw INCOMPLETE;
        }
        if (name == null || !argsDone && args != null) {
            throw MALFORMED;
        }
        i = end;
        if (syntax.callEnd() != null) {
            calls.add(new Call(name, id, args == null ? "{}" : args, false));
            i = expect(i, syntax.callEnd());
            calls.removeLast();
        }
        calls.add(new Call(name, id, args == null ? "{}" : args, true));
        return i;
    }

    private int namedCall(int i) {
        i = callOpening(i);
        if (syntax.namePrefix() != null) {
            i = expect(i, syntax.namePrefix());
        }
        i = JsonText.skipWs(text, i);
        int start = i;
        while (i < text.length() && nameChar(text.charAt(i)) && !(syntax.indexedName() && text.charAt(i) == ':')) {
            i++;
        }
        if (i >= text.length()) {
            throw partial ? INCOMPLETE : MALFORMED;
        }
        String name = text.substring(start, i);
        if (name.isEmpty()) {
            throw MALFORMED;
        }
        String id = null;
        if (syntax.indexedName()) {
            i = expect(i, ":");
            int d = i;
            while (i < text.length() && Character.isDigit(text.charAt(i))) {
                i++;
            }
            if (i >= text.length()) {
                throw partial ? INCOMPLETE : MALFORMED;
            }
            id = syntax.namePrefix() + name + ":" + text.substring(d, i);
        }
        if (syntax.idMarker() != null && at(i, syntax.idMarker())) {
            i = expect(i, syntax.idMarker());
            int idEnd = find(syntax.nameEnd(), i);
            if (idEnd < 0) {
                throw partial ? INCOMPLETE : MALFORMED;
            }
            id = text.substring(i, idEnd).strip();
            i = idEnd;
        }
        if (syntax.nameEnd() != null) {
            i = expect(i, syntax.nameEnd());
        }
        if (syntax.paramStart() != null) {
            i = xmlArguments(i, name, id);
        } else {
            i = JsonText.skipWs(text, i);
            int end = JsonText.valueEnd(text, i);
            if (end < 0) {
                if (!partial) {
                    throw MALFORMED;
                }
                if (i < text.length() && text.charAt(i) != '{') {
                    throw MALFORMED;
                }
                calls.add(new Call(name, id, JsonText.compact(text, i, text.length()), false));
                throw INCOMPLETE;
            }
            if (!(JsonParser.parse(text.substring(i, end)) instanceof Map<?, ?>)) {
                throw MALFORMED;
            }
            String args = JsonText.compact(text, i, end);
            i = end;
            if (syntax.callEnd() != null) {
                calls.add(new Call(name, id, args, false));
                i = expect(i, syntax.callEnd());
                calls.removeLast();
            }
            calls.add(new Call(name, id, args, true));
        }
        return i;
    }

    /** XML-like parameters, one per marker pair, turned into a JSON object in the order written. */
    private int xmlArguments(int i, String name, String id) {
        Map<?, ?> properties = tools.find(name).map(t -> t.schema().get("properties") instanceof Map<?, ?> p ? p : Map.of())
                .orElse(Map.of());
        StringBuilder args = new StringBuilder("{");
        while (true) {
            boolean more;
            try {
                more = at(i, syntax.paramStart());
            } catch (Incomplete e) {
                calls.add(new Call(name, id, args.toString(), false));
                throw e;
            }
            if (!more) {
                break;
            }
            i = expect(i, syntax.paramStart());
            String nameEndPart = firstPart(syntax.paramNameEnd());
            int keyEnd = text.indexOf(nameEndPart, i);
            if (keyEnd < 0) {
                calls.add(new Call(name, id, args.toString(), false));
                throw partial ? INCOMPLETE : MALFORMED;
            }
            String key = text.substring(i, keyEnd).strip();
            i = expect(keyEnd, syntax.paramNameEnd());
            int valueEnd = text.indexOf(firstPart(syntax.paramEnd()), i);
            if (valueEnd < 0) {
                calls.add(new Call(name, id, args.toString(), false));
                throw partial ? INCOMPLETE : MALFORMED;
            }
            String raw = text.substring(i, valueEnd);
            if (raw.startsWith("\n")) {
                raw = raw.substring(1);
            }
            if (raw.endsWith("\n")) {
                raw = raw.substring(0, raw.length() - 1);
            }
            if (args.length() > 1) {
                args.append(',');
            }
            args.append(NlohmannJson.dump(key)).append(':').append(xmlValue(raw, properties.get(key)));
            i = expect(valueEnd, syntax.paramEnd());
        }
        args.append('}');
        calls.add(new Call(name, id, args.toString(), false));
        i = expect(i, syntax.callEnd());
        calls.removeLast();
        calls.add(new Call(name, id, args.toString(), true));
        return i;
    }

    /** A parameter's value as JSON: a string parameter's text as it is, any other value as JSON when it is JSON. */
    private static String xmlValue(String raw, Object schema) {
        boolean string = schema instanceof Map<?, ?> m && SyntaxGrammar.isString(m);
        if (!string) {
            try {
                Object v = JsonParser.parse(raw);
                return JsonText.compact(NlohmannJson.dump(v), 0, NlohmannJson.dump(v).length());
            } catch (IllegalArgumentException e) {
                // not JSON: a string
            }
        }
        return NlohmannJson.dump(raw);
    }

    private static boolean nameChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.' || c == ':';
    }

    /** The first non-empty line of a marker: what finding it looks for. */
    private static String firstPart(String marker) {
        for (String p : marker.split("\n")) {
            if (!p.isEmpty()) {
                return p;
            }
        }
        return marker;
    }

    /** Where {@code marker} (its first part) occurs from {@code i}, or -1. */
    private int find(String marker, int i) {
        return text.indexOf(firstPart(marker), i);
    }

    /** Where the first call starts: at its trigger marker, or at a bare call's start when that comes first. */
    private int callStart(int i) {
        int t = find(syntax.trigger(), i);
        String bare = syntax.bareCallStart();
        int b = bare == null ? -1 : text.indexOf(bare, i);
        return b >= 0 && (t < 0 || b < t) ? b : t;
    }

    /** After the call's opening marker, or after a bare call's start. */
    private int callOpening(int i) {
        String bare = syntax.bareCallStart();
        if (bare != null && !at(i, syntax.callStart()) && at(i, bare)) {
            return expect(i, bare);
        }
        return expect(i, syntax.callStart());
    }

    /** Whether {@code marker} is at {@code i} (after optional whitespace where it has line breaks, and before it). */
    private boolean at(int i, String marker) {
        return match(i, marker) >= 0;
    }

    private int expect(int i, String marker) {
        int end = match(i, marker);
        if (end < 0) {
            throw MALFORMED;
        }
        return end;
    }

    /** The end of {@code marker} at {@code i}, or -1 if another text is there; the text ending first is incomplete. */
    private int match(int i, String marker) {
        for (String part : marker.split("\n")) {
            if (part.isEmpty()) {
                continue;
            }
            i = JsonText.skipWs(text, i);
            int n = Math.min(part.length(), text.length() - i);
            if (!text.regionMatches(i, part, 0, n)) {
                return -1;
            }
            if (n < part.length()) {
                if (partial) {
                    throw INCOMPLETE;
                }
                return -1;
            }
            i += part.length();
        }
        return i;
    }
}
