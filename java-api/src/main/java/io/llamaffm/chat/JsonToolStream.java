package io.llamaffm.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Reads a reply of the {@link JsonToolFormat} as it is generated, piece by piece: the text of a
 * {@code {"response": "..."}} reply goes out decoded, as it comes; each call of a {@code {"tool_calls": [...]}} reply
 * goes out once with its index, id and name, then its arguments in fragments (compact JSON text: the whitespace the
 * grammar allows between tokens is left out). The envelope's own syntax never reaches the listener. {@link #finish()}
 * returns exactly what {@link JsonToolFormat#parse} gives for the whole reply, however it was split; a call whose name
 * is not an offered tool is not reported. Not thread-safe: one per reply.
 */
public final class JsonToolStream implements ReplyReader {
    private enum Part { NONE, RESPONSE, CALLS }

    private final Tools tools;
    private final ReplyReader.Listener listener; // may be null
    private final List<String> ids = new ArrayList<>();
    private final Supplier<String> idSource;
    private final StringBuilder all = new StringBuilder();
    // the scanner's state
    private final List<Character> stack = new ArrayList<>(); // '{' and '[' of the containers we are in
    private boolean inString;
    private boolean escape;
    private final StringBuilder string = new StringBuilder(); // the current string's raw text (escapes kept)
    private String lastKey;              // the last complete key at the current object level
    private boolean expectKey;           // inside an object, before ':' of the next member
    private Part part = Part.NONE;
    // a call being read
    private int callIndex = -1;
    private String callName;
    private boolean callReported;
    private int argsDepth = -1;          // stack depth of the arguments object, -1 when not inside it
    private final StringBuilder pendingArgs = new StringBuilder(); // arguments read before the name was known
    // a response being read
    private boolean inResponse;
    private int responseDecoded;         // chars of the response string's raw text already decoded and emitted

    /**
     * A reader for one reply.
     *
     * @param tools    the tools on offer
     * @param ids      makes an id for each call, as for {@link JsonToolFormat#parse}
     * @param listener receives what the reply says; may be null
     */
    public JsonToolStream(Tools tools, Supplier<String> ids, ReplyReader.Listener listener) {
        this.tools = tools;
        this.idSource = ids;
        this.listener = listener;
    }

    /**
     * Reads more of the reply.
     *
     * @param text the next piece of generated text
     */
    @Override
    public void push(CharSequence text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            all.append(c);
            scan(c);
        }
    }

    /** {@return what the whole reply says: {@link JsonToolFormat#parse} of it, with the ids already reported} */
    @Override
    public ParsedReply finish() {
        int[] next = {0};
        return JsonToolFormat.parse(all.toString(), tools, () -> next[0] < ids.size() ? ids.get(next[0]++) : idSource.get());
    }

    private void scan(char c) {
        boolean inArgs = argsDepth >= 0;
        if (inString) {
            if (inArgs) {
                args(String.valueOf(c));
            }
            if (escape) {
                escape = false;
                string.append(c);
            } else if (c == '\\') {
                escape = true;
                string.append(c);
            } else if (c == '"') {
                inString = false;
                stringEnded();
                return;
            } else {
                string.append(c);
            }
            if (inResponse) {
                emitResponse(false);
            }
            return;
        }
        if (Character.isWhitespace(c)) {
            return; // between tokens: left out of argument fragments too
        }
        if (inArgs) {
            args(String.valueOf(c));
        }
        switch (c) {
            case '"' -> {
                inString = true;
                string.setLength(0);
                responseDecoded = 0;
                inResponse = !expectKey && part == Part.RESPONSE && stack.size() == 1;
            }
            case '{', '[' -> {
                if (stack.size() == 1 && c == '[' && "tool_calls".equals(lastKey)) {
                    part = Part.CALLS;
                } else if (part == Part.CALLS && stack.size() == 2 && c == '{') {
                    callIndex++;
                    callName = null;
                    callReported = false;
                    pendingArgs.setLength(0);
                } else if (part == Part.CALLS && stack.size() == 3 && c == '{' && "arguments".equals(lastKey)) {
                    argsDepth = stack.size();
                    args("{");
                }
                stack.add(c);
                expectKey = c == '{';
            }
            case '}', ']' -> {
                if (!stack.isEmpty()) {
                    stack.removeLast();
                }
                if (argsDepth >= 0 && stack.size() == argsDepth) {
                    argsDepth = -1;
                }
                expectKey = false;
            }
            case ':' -> expectKey = false;
            case ',' -> expectKey = !stack.isEmpty() && stack.getLast() == '{';
            default -> { } // a number, true, false or null
        }
    }

    private void stringEnded() {
        if (inResponse) {
            emitResponse(true);
            inResponse = false;
            return;
        }
        String raw = string.toString();
        if (expectKey) {
            lastKey = decode(raw);
            if (stack.size() == 1 && lastKey.equals("response")) {
                part = Part.RESPONSE;
            }
            return;
        }
        if (part == Part.CALLS && stack.size() == 3 && "name".equals(lastKey) && argsDepth < 0) {
            callName = decode(raw);
            if (tools.find(callName).isPresent()) {
                String id = idSource.get();
                ids.add(id);
                callReported = true;
                out().callStarted(callIndex, id, callName);
                if (!pendingArgs.isEmpty()) {
                    out().arguments(callIndex, pendingArgs.toString());
                    pendingArgs.setLength(0);
                }
            }
        }
    }

    private void args(String fragment) {
        if (callReported) {
            out().arguments(callIndex, fragment);
        } else {
            pendingArgs.append(fragment);
        }
    }

    /** Emits the response text decoded so far; an escape not complete yet (or half a surrogate pair) waits. */
    private void emitResponse(boolean end) {
        String raw = string.toString();
        int upTo = end ? raw.length() : completePrefix(raw, responseDecoded);
        if (upTo > responseDecoded) {
            String text = decode(raw.substring(responseDecoded, upTo));
            responseDecoded = upTo;
            if (!text.isEmpty()) {
                out().content(text);
            }
        }
    }

    /** The end of the longest run of whole characters and escapes of {@code raw} from {@code from}. */
    private static int completePrefix(String raw, int from) {
        int i = from;
        while (i < raw.length()) {
            if (raw.charAt(i) != '\\') {
                i++;
                continue;
            }
            if (i + 1 >= raw.length()) {
                return i;
            }
            if (raw.charAt(i + 1) != 'u') {
                i += 2;
                continue;
            }
            if (i + 6 > raw.length()) {
                return i;
            }
            char unit = (char) Integer.parseInt(raw.substring(i + 2, i + 6), 16);
            if (Character.isHighSurrogate(unit)) { // the low half follows as a second escape
                if (i + 12 > raw.length()) {
                    return i;
                }
                i += 12;
            } else {
                i += 6;
            }
        }
        return i;
    }

    /** The text of a JSON string's raw contents (its escapes resolved). */
    private static String decode(String raw) {
        Object v = io.llamaffm.internal.JsonParser.parse("\"" + raw + "\"");
        return (String) v;
    }

    private ReplyReader.Listener out() {
        return listener == null ? text -> { } : listener;
    }
}
