package io.llamaffm.chat;

import java.util.ArrayList;
import java.util.List;

/** Scanning JSON text in place, for readers of replies that may be cut anywhere: where a value ends, its members. */
final class JsonText {
    private JsonText() {}

    /** Thrown when the text is not JSON at the position scanned. */
    static final class Invalid extends RuntimeException {
        Invalid(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Where the JSON value that starts at {@code i} ends.
     *
     * @return the index after the value, or -1 when the text ends before the value does
     * @throws Invalid if the text is not a JSON value there
     */
    static int valueEnd(String s, int i) {
        int n = s.length();
        if (i >= n) {
            return -1;
        }
        char c = s.charAt(i);
        if (c == '"') {
            return stringEnd(s, i);
        }
        if (c == '{' || c == '[') {
            int depth = 0;
            for (int k = i; k < n; k++) {
                char d = s.charAt(k);
                if (d == '"') {
                    k = stringEnd(s, k);
                    if (k < 0) {
                        return -1;
                    }
                    k--;
                } else if (d == '{' || d == '[') {
                    depth++;
                } else if (d == '}' || d == ']') {
                    if (--depth == 0) {
                        return k + 1;
                    }
                }
            }
            return -1;
        }
        if (c == '-' || Character.isDigit(c) || Character.isLetter(c)) { // number, true, false, null
            int k = i;
            while (k < n && (Character.isLetterOrDigit(s.charAt(k)) || "+-.".indexOf(s.charAt(k)) >= 0)) {
                k++;
            }
            return k == n ? -1 : k;
        }
        throw new Invalid("no JSON value at '" + s.substring(i, Math.min(n, i + 20)) + "'");
    }

    /** The index after the string that starts at {@code i} (a quote), or -1 when it is not closed yet. */
    static int stringEnd(String s, int i) {
        for (int k = i + 1; k < s.length(); k++) {
            char d = s.charAt(k);
            if (d == '\\') {
                k++;
            } else if (d == '"') {
                return k + 1;
            }
        }
        return -1;
    }

    /** The text between {@code from} and {@code to} without the whitespace outside strings (a prefix stays a prefix). */
    static String compact(String s, int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        boolean inString = false;
        boolean escape = false;
        for (int k = from; k < to; k++) {
            char c = s.charAt(k);
            if (inString) {
                if (escape) {
                    escape = false;
                } else if (c == '\\') {
                    escape = true;
                } else if (c == '"') {
                    inString = false;
                }
                sb.append(c);
            } else if (c == '"') {
                inString = true;
                sb.append(c);
            } else if (!Character.isWhitespace(c)) {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /**
     * A member of an object: its key and where its value lies.
     *
     * @param key   the key, decoded
     * @param start where the value starts (-1 when the text ends before it)
     * @param end   where it ends (-1 when the text ends inside it)
     */
    record Member(String key, int start, int end) {}

    /**
     * The members of the object that starts at {@code i} (a brace), in order, up to the end of the text: the last one
     * may be incomplete.
     *
     * @throws Invalid if the text is not an object there
     */
    static List<Member> members(String s, int i) {
        List<Member> out = new ArrayList<>();
        int n = s.length();
        int k = skipWs(s, i + 1);
        if (k < n && s.charAt(k) == '}') {
            return out;
        }
        while (k < n) {
            if (s.charAt(k) != '"') {
                throw new Invalid("expected a key");
            }
            int keyEnd = stringEnd(s, k);
            if (keyEnd < 0) {
                return out;
            }
            String key = (String) io.llamaffm.internal.JsonParser.parse(s.substring(k, keyEnd));
            k = skipWs(s, keyEnd);
            if (k >= n) {
                out.add(new Member(key, -1, -1));
                return out;
            }
            if (s.charAt(k) != ':') {
                throw new Invalid("expected ':'");
            }
            k = skipWs(s, k + 1);
            if (k >= n) {
                out.add(new Member(key, -1, -1));
                return out;
            }
            int end = valueEnd(s, k);
            out.add(new Member(key, k, end));
            if (end < 0) {
                return out;
            }
            k = skipWs(s, end);
            if (k >= n || s.charAt(k) == '}') {
                return out;
            }
            if (s.charAt(k) != ',') {
                throw new Invalid("expected ','");
            }
            k = skipWs(s, k + 1);
        }
        return out;
    }

    static int skipWs(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }
}
