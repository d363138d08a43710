package io.llamaffm.internal;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON parser (RFC 8259). Values come back as plain Java objects:
 * <ul>
 *   <li>object: an unmodifiable {@code Map<String, Object>} that keeps the order of the keys in the text</li>
 *   <li>array: an unmodifiable {@code List<Object>}</li>
 *   <li>string: {@link String}</li>
 *   <li>number: {@link BigDecimal}, exactly as written ({@code 2} has scale 0, {@code 2.0} has scale 1)</li>
 *   <li>{@code true}/{@code false}: {@link Boolean}; {@code null}: {@code null}</li>
 * </ul>
 * Strict means: no comments, no trailing commas, no leading zeros, no {@code NaN}, no unescaped control
 * characters in strings, no unpaired surrogate escapes, no duplicate keys in an object, nothing after the value.
 * Nesting deeper than {@value #MAX_DEPTH} levels is refused rather than overflowing the stack, and a number longer
 * than {@value #MAX_NUMBER_LENGTH} characters rather than spending seconds reading it. Every error is a
 * {@link ParseException} that says what was expected and where (line, column, offset). Thread-safe (stateless).
 */
public final class JsonParser {
    /** The deepest nesting of arrays and objects accepted. */
    public static final int MAX_DEPTH = 512;
    /** The longest number accepted, in characters. */
    public static final int MAX_NUMBER_LENGTH = 10_000;

    private final String text;
    private int pos;
    private int depth;

    private JsonParser(String text) {
        this.text = text;
    }

    /**
     * Parses one JSON value (surrounding whitespace allowed).
     *
     * @throws ParseException if the text is not valid JSON
     */
    public static Object parse(String text) {
        JsonParser parser = new JsonParser(text);
        parser.skipWhitespace();
        Object value = parser.value();
        parser.skipWhitespace();
        if (parser.pos < text.length()) {
            throw parser.error("unexpected " + parser.describeCurrent() + " after the JSON value");
        }
        return value;
    }

    /** A JSON text that could not be parsed: the message names the problem, line, column and offset. */
    public static final class ParseException extends IllegalArgumentException {
        private final int offset;
        private final int line;
        private final int column;

        ParseException(String problem, int offset, int line, int column) {
            super("invalid JSON at line " + line + ", column " + column + " (offset " + offset + "): " + problem);
            this.offset = offset;
            this.line = line;
            this.column = column;
        }

        /** Index of the offending character in the text (0-based, in UTF-16 units). */
        public int offset() {
            return offset;
        }

        /** Line of the offending character (1-based). */
        public int line() {
            return line;
        }

        /** Column of the offending character (1-based, in UTF-16 units). */
        public int column() {
            return column;
        }
    }

    private Object value() {
        if (pos >= text.length()) {
            throw error("unexpected end of input, expected a value");
        }
        char c = text.charAt(pos);
        return switch (c) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> keyword("true", Boolean.TRUE);
            case 'f' -> keyword("false", Boolean.FALSE);
            case 'n' -> keyword("null", null);
            default -> {
                if (c == '-' || isDigit(c)) {
                    yield number();
                }
                throw error("unexpected " + describeCurrent() + ", expected a value");
            }
        };
    }

    private Map<String, Object> object() {
        enter();
        pos++; // '{'
        Map<String, Object> map = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            depth--;
            return Collections.unmodifiableMap(map);
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw error("unexpected " + describeCurrent() + ", expected a string key");
            }
            int keyStart = pos;
            String key = string();
            if (map.containsKey(key)) {
                throw errorAt(keyStart, "duplicate key " + quoted(key));
            }
            skipWhitespace();
            expect(':', "after an object key");
            skipWhitespace();
            map.put(key, value());
            skipWhitespace();
            if (peek() == ',') {
                pos++;
                continue;
            }
            expect('}', "or ',' in an object");
            depth--;
            return Collections.unmodifiableMap(map);
        }
    }

    private List<Object> array() {
        enter();
        pos++; // '['
        List<Object> list = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            depth--;
            return Collections.unmodifiableList(list);
        }
        while (true) {
            skipWhitespace();
            list.add(value());
            skipWhitespace();
            if (peek() == ',') {
                pos++;
                continue;
            }
            expect(']', "or ',' in an array");
            depth--;
            return Collections.unmodifiableList(list);
        }
    }

    private String string() {
        pos++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw error("unterminated string");
            }
            char c = text.charAt(pos);
            if (c == '"') {
                pos++;
                return sb.toString();
            }
            if (c < 0x20) {
                throw error("unescaped control character U+" + hex4(c) + " in a string");
            }
            if (c == '\\') {
                escape(sb);
            } else {
                sb.append(c);
                pos++;
            }
        }
    }

    private void escape(StringBuilder sb) {
        int start = pos;
        pos++; // backslash
        if (pos >= text.length()) {
            throw error("unterminated string");
        }
        char c = text.charAt(pos++);
        switch (c) {
            case '"', '\\', '/' -> sb.append(c);
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'u' -> sb.append(unicodeEscape(start));
            default -> throw errorAt(start, "invalid escape \\" + c);
        }
    }

    /** The character(s) of a backslash-u escape; the second half of a surrogate pair is read here too. */
    private String unicodeEscape(int start) {
        char c = hexChar(start);
        if (Character.isLowSurrogate(c)) {
            throw errorAt(start, "unpaired surrogate \\u" + hex4(c));
        }
        if (!Character.isHighSurrogate(c)) {
            return String.valueOf(c);
        }
        int lowStart = pos;
        if (!text.startsWith("\\u", pos)) {
            throw errorAt(start, "unpaired surrogate \\u" + hex4(c) + " (no low surrogate follows)");
        }
        pos += 2;
        char low = hexChar(lowStart);
        if (!Character.isLowSurrogate(low)) {
            throw errorAt(lowStart, "\\u" + hex4(low) + " is not the low surrogate that \\u" + hex4(c) + " needs");
        }
        return new String(new char[] {c, low});
    }

    private char hexChar(int escapeStart) {
        if (pos + 4 > text.length()) {
            throw errorAt(escapeStart, "\\u escape needs 4 hex digits");
        }
        int value = 0;
        for (int i = 0; i < 4; i++) {
            int digit = hexValue(text.charAt(pos + i));
            if (digit < 0) {
                throw errorAt(escapeStart, "\\u escape needs 4 hex digits");
            }
            value = value * 16 + digit;
        }
        pos += 4;
        return (char) value;
    }

    private BigDecimal number() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
            if (isDigit(peek())) {
                throw errorAt(start, "leading zeros are not allowed in a number");
            }
        } else {
            digits("a digit");
        }
        if (peek() == '.') {
            pos++;
            digits("a digit after the decimal point");
        }
        if (peek() == 'e' || peek() == 'E') {
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            digits("a digit in the exponent");
        }
        if (pos - start > MAX_NUMBER_LENGTH) { // BigDecimal reads digits in quadratic time: a million take seconds
            throw errorAt(start, "a number longer than " + MAX_NUMBER_LENGTH + " characters");
        }
        String literal = text.substring(start, pos);
        try {
            return new BigDecimal(literal);
        } catch (NumberFormatException e) { // exponent beyond the int range
            throw errorAt(start, "number " + literal + " is out of range");
        }
    }

    private void digits(String what) {
        if (!isDigit(peek())) {
            throw error("unexpected " + describeCurrent() + ", expected " + what);
        }
        while (isDigit(peek())) {
            pos++;
        }
    }

    private Object keyword(String word, Object value) {
        if (!text.startsWith(word, pos)) {
            throw error("unexpected " + describeCurrent() + ", expected a value");
        }
        pos += word.length();
        return value;
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH + " levels");
        }
    }

    private void expect(char c, String context) {
        if (peek() != c) {
            throw error("unexpected " + describeCurrent() + ", expected '" + c + "' " + context);
        }
        pos++;
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    /** The current character, or 0 at the end of the text. */
    private char peek() {
        return pos < text.length() ? text.charAt(pos) : 0;
    }

    private static int hexValue(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private String describeCurrent() {
        if (pos >= text.length()) {
            return "end of input";
        }
        char c = text.charAt(pos);
        return c < 0x20 || c == 0x7F ? "character U+" + hex4(c) : "'" + c + "'";
    }

    private ParseException error(String problem) {
        return errorAt(pos, problem);
    }

    private ParseException errorAt(int offset, String problem) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < offset && i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new ParseException(problem, offset, line, offset - lineStart + 1);
    }

    private static String hex4(char c) {
        return String.format("%04X", (int) c);
    }

    private static String quoted(String s) {
        return '"' + s + '"';
    }
}
