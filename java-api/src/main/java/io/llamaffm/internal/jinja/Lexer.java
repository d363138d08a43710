package io.llamaffm.internal.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into tokens with Jinja2's whitespace rules as Hugging Face configures them:
 * {@code trim_blocks} (the first newline after a block or comment tag is dropped), {@code lstrip_blocks}
 * (spaces and tabs before a block or comment tag at the start of a line are dropped), {@code -}/{@code +}
 * modifiers, and {@code keep_trailing_newline=false} (one final newline of the source is dropped).
 * Line endings are normalised to {@code \n} first, as Jinja2 does.
 */
final class Lexer {
    enum Kind { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    record Token(Kind kind, String text, int line) {
        boolean is(Kind k, String t) {
            return kind == k && text.equals(t);
        }

        boolean isOp(String t) {
            return is(Kind.OP, t);
        }

        boolean isName(String t) {
            return is(Kind.NAME, t);
        }
    }

    private static final Pattern RAW_START = Pattern.compile("\\{%([-+]?)\\s*raw\\s*(-?)%}");
    private static final Pattern RAW_END = Pattern.compile("\\{%([-+]?)\\s*endraw\\s*(?:(\\+)%}|(-)%}|%})");
    private static final List<String> OPERATORS = List.of("//", "**", "==", "!=", "<=", ">=",
            "+", "-", "*", "/", "%", "~", "<", ">", "=", ".", ",", ":", "|", "(", ")", "[", "]", "{", "}");

    private final String src;
    private final int maxDepth;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private int line = 1;
    private boolean lineStarting = true;

    private Lexer(String source, int maxDepth) {
        this.maxDepth = maxDepth;
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);
        }
        this.src = s;
    }

    /** The tokens of {@code source}; brackets may nest {@code maxDepth} deep inside one tag. */
    static List<Token> tokenize(String source, int maxDepth) {
        Lexer lexer = new Lexer(source, maxDepth);
        lexer.run();
        return lexer.tokens;
    }

    private void run() {
        while (pos < src.length()) {
            int start = nextTagStart(pos);
            if (start < 0) {
                emitText(src.substring(pos));
                pos = src.length();
                break;
            }
            char kind = src.charAt(start + 1);
            char modifier = start + 2 < src.length() ? src.charAt(start + 2) : ' ';
            String text = src.substring(pos, start);
            Matcher raw = RAW_START.matcher(src).region(start, src.length());
            boolean isRaw = kind == '%' && raw.lookingAt();
            if (modifier == '-') {
                text = stripTrailing(text);
            } else if (modifier != '+' && kind != '{') {
                text = lstripBlock(text);
            }
            emitText(text);
            advanceTo(start);
            if (isRaw) {
                lexRaw(raw);
            } else if (kind == '#') {
                lexComment();
            } else {
                lexTag(kind == '{');
            }
        }
        tokens.add(new Token(Kind.EOF, "", line));
    }

    private int nextTagStart(int from) {
        int i = src.indexOf('{', from);
        while (i >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i = src.indexOf('{', i + 1);
        }
        return -1;
    }

    /** lstrip_blocks: drops the spaces before a tag when nothing but them stands between the line start and the tag. */
    private String lstripBlock(String text) {
        int lineStart = text.lastIndexOf('\n') + 1;
        if (lineStart == 0 && !lineStarting) {
            return text;
        }
        for (int i = lineStart; i < text.length(); i++) {
            if (!Character.isWhitespace(text.charAt(i))) {
                return text;
            }
        }
        return text.substring(0, lineStart);
    }

    private void emitText(String text) {
        if (!text.isEmpty()) {
            tokens.add(new Token(Kind.TEXT, text, line));
        }
    }

    private void advanceTo(int newPos) {
        for (int i = pos; i < newPos; i++) {
            if (src.charAt(i) == '\n') {
                line++;
            }
        }
        lineStarting = newPos > 0 && src.charAt(newPos - 1) == '\n';
        pos = newPos;
    }

    private void lexRaw(Matcher start) {
        boolean stripAfterStart = !start.group(2).isEmpty();
        advanceTo(start.end());
        Matcher end = RAW_END.matcher(src).region(pos, src.length());
        if (!end.find()) {
            throw new JinjaException(JinjaException.Kind.SYNTAX, line, "missing endraw for a raw block");
        }
        String body = src.substring(pos, end.start());
        if (stripAfterStart) {
            body = body.stripLeading();
        }
        if (end.group(1).equals("-")) {
            body = stripTrailing(body);
        }
        emitText(body);
        advanceTo(end.end());
        afterBlockEnd(end.group(3) != null, end.group(2) != null);
    }

    private void lexComment() {
        int end = src.indexOf("#}", pos + 2);
        if (end < 0) {
            throw new JinjaException(JinjaException.Kind.SYNTAX, line, "unclosed comment: missing #}");
        }
        char before = src.charAt(end - 1);
        boolean strip = before == '-' && end - 1 >= pos + 2;
        boolean keep = before == '+' && end - 1 >= pos + 2;
        advanceTo(end + 2);
        afterBlockEnd(strip, keep);
    }

    /** After a block or comment end: '-' strips all following whitespace, otherwise trim_blocks drops one newline. */
    private void afterBlockEnd(boolean strip, boolean keep) {
        int p = pos;
        if (strip) {
            while (p < src.length() && Character.isWhitespace(src.charAt(p))) {
                p++;
            }
        } else if (!keep && p < src.length() && src.charAt(p) == '\n') {
            p++;
        }
        advanceTo(p);
    }

    private void lexTag(boolean variable) {
        tokens.add(new Token(variable ? Kind.VAR_BEGIN : Kind.BLOCK_BEGIN, variable ? "{{" : "{%", line));
        int p = pos + 2;
        if (p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+')) {
            p++;
        }
        advanceTo(p);
        int depth = 0;
        String close = variable ? "}}" : "%}";
        while (true) {
            skipSpaces();
            if (pos >= src.length()) {
                throw new JinjaException(JinjaException.Kind.SYNTAX, line, "unexpected end of template: missing " + close);
            }
            if (depth == 0) {
                for (char m : new char[] {'-', '+', ' '}) {
                    String end = m == ' ' ? close : m + close;
                    if (src.startsWith(end, pos)) {
                        tokens.add(new Token(variable ? Kind.VAR_END : Kind.BLOCK_END, close, line));
                        advanceTo(pos + end.length());
                        if (variable) {
                            if (m == '-') {
                                afterBlockEnd(true, false);
                            }
                        } else {
                            afterBlockEnd(m == '-', m == '+');
                        }
                        return;
                    }
                }
            }
            depth += lexExpressionToken();
            if (depth > maxDepth) {
                throw Parser.tooDeep(line, maxDepth);
            }
        }
    }

    private void skipSpaces() {
        int p = pos;
        while (p < src.length() && Character.isWhitespace(src.charAt(p))) {
            p++;
        }
        advanceTo(p);
    }

    /** Lexes one expression token; returns the change in bracket depth. */
    private int lexExpressionToken() {
        char c = src.charAt(pos);
        if (c == '\'' || c == '"') {
            lexString(c);
            return 0;
        }
        if (isDigit(pos)) {
            lexNumber();
            return 0;
        }
        if (Character.isLetter(c) || c == '_') {
            int p = pos;
            while (p < src.length() && (Character.isLetterOrDigit(src.charAt(p)) || src.charAt(p) == '_')) {
                p++;
            }
            tokens.add(new Token(Kind.NAME, src.substring(pos, p), line));
            advanceTo(p);
            return 0;
        }
        for (String op : OPERATORS) {
            if (src.startsWith(op, pos)) {
                tokens.add(new Token(Kind.OP, op, line));
                advanceTo(pos + op.length());
                return switch (op) {
                    case "(", "[", "{" -> 1;
                    case ")", "]", "}" -> -1;
                    default -> 0;
                };
            }
        }
        throw new JinjaException(JinjaException.Kind.SYNTAX, line, "unexpected character '" + c + "'");
    }

    /** A number as Python writes it: digits with single underscores between them, a fraction, an exponent. */
    private void lexNumber() {
        int end = digits(pos);
        boolean isFloat = false;
        if (end < src.length() && src.charAt(end) == '.' && isDigit(end + 1)) {
            end = digits(end + 1);
            isFloat = true;
        }
        if (end < src.length() && (src.charAt(end) == 'e' || src.charAt(end) == 'E')) {
            int p = end + 1;
            if (p < src.length() && (src.charAt(p) == '+' || src.charAt(p) == '-')) {
                p++;
            }
            if (isDigit(p)) {
                end = digits(p);
                isFloat = true;
            }
        }
        tokens.add(new Token(isFloat ? Kind.FLOAT : Kind.INT, src.substring(pos, end).replace("_", ""), line));
        advanceTo(end);
    }

    /** The end of a run of digits starting at {@code p}, single underscores allowed between digits. */
    private int digits(int p) {
        p++;
        while (true) {
            if (isDigit(p)) {
                p++;
            } else if (p < src.length() && src.charAt(p) == '_' && isDigit(p + 1)) {
                p += 2;
            } else {
                return p;
            }
        }
    }

    private boolean isDigit(int p) {
        return p < src.length() && src.charAt(p) >= '0' && src.charAt(p) <= '9';
    }

    private void lexString(char quote) {
        StringBuilder sb = new StringBuilder();
        int p = pos + 1;
        while (true) {
            if (p >= src.length()) {
                throw new JinjaException(JinjaException.Kind.SYNTAX, line, "unterminated string literal");
            }
            char c = src.charAt(p);
            if (c == quote) {
                break;
            }
            if (c == '\\' && p + 1 < src.length()) {
                p = unescape(p + 1, sb);
            } else {
                sb.append(c);
                p++;
            }
        }
        tokens.add(new Token(Kind.STRING, sb.toString(), line));
        advanceTo(p + 1);
    }

    /** Python string escapes; returns the index after the escape. */
    private int unescape(int p, StringBuilder sb) {
        char e = src.charAt(p);
        switch (e) {
            case 'n' -> sb.append('\n');
            case 't' -> sb.append('\t');
            case 'r' -> sb.append('\r');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'v' -> sb.append('\u000B');
            case 'a' -> sb.append('\u0007');
            case '0' -> sb.append('\0');
            case '\n' -> { } // line continuation
            case 'x', 'u', 'U' -> {
                int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                String hex = p + 1 + len <= src.length() ? src.substring(p + 1, p + 1 + len) : "";
                if (!hex.matches("[0-9a-fA-F]{" + len + "}") || Integer.parseUnsignedInt(hex, 16) > Character.MAX_CODE_POINT) {
                    throw new JinjaException(JinjaException.Kind.SYNTAX, line, "truncated or invalid \\" + e + " escape in a string");
                }
                sb.appendCodePoint(Integer.parseUnsignedInt(hex, 16));
                return p + 1 + len;
            }
            case '\\', '\'', '"' -> sb.append(e);
            default -> sb.append('\\').append(e);
        }
        return p + 1;
    }

    private static String stripTrailing(String s) {
        int end = s.length();
        while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }
}
