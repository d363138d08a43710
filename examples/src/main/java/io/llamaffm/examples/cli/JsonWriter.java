package io.llamaffm.examples.cli;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A minimal JSON writer (RFC 8259) for the CLI's {@code --json} output: objects, arrays, strings, numbers,
 * booleans and null, written compactly in call order. Strings are escaped so the output is always valid JSON,
 * unpaired surrogates included ({@code \\uXXXX}). Misuse (a value without a name inside an object, an unclosed
 * container) throws {@link IllegalStateException}.
 */
final class JsonWriter {
    private enum Scope { OBJECT, ARRAY }

    private final StringBuilder out = new StringBuilder();
    private final Deque<Scope> scopes = new ArrayDeque<>();
    private boolean first = true;       // no element yet in the innermost container
    private boolean nameWritten;        // inside an object: a name waits for its value
    private boolean done;               // the top-level value is complete

    JsonWriter beginObject() {
        beforeValue();
        out.append('{');
        scopes.push(Scope.OBJECT);
        first = true;
        return this;
    }

    JsonWriter endObject() {
        end(Scope.OBJECT, '}');
        return this;
    }

    JsonWriter beginArray() {
        beforeValue();
        out.append('[');
        scopes.push(Scope.ARRAY);
        first = true;
        return this;
    }

    JsonWriter endArray() {
        end(Scope.ARRAY, ']');
        return this;
    }

    /** The name of the next member of the current object. */
    JsonWriter name(String name) {
        if (scopes.peek() != Scope.OBJECT || nameWritten) {
            throw new IllegalStateException("a name is only allowed inside an object, before a value");
        }
        if (!first) {
            out.append(',');
        }
        first = false;
        string(name);
        out.append(':');
        nameWritten = true;
        return this;
    }

    JsonWriter value(String s) {
        if (s == null) {
            return nullValue();
        }
        beforeValue();
        string(s);
        return this;
    }

    JsonWriter value(long n) {
        beforeValue();
        out.append(n);
        return this;
    }

    /** A number; NaN and infinities, which JSON cannot represent, become null. */
    JsonWriter value(double d) {
        if (!Double.isFinite(d)) {
            return nullValue();
        }
        beforeValue();
        out.append(d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d));
        return this;
    }

    /** A float in its shortest decimal form (0.95, not 0.949999988079071); NaN and infinities become null. */
    JsonWriter value(float f) {
        if (!Float.isFinite(f)) {
            return nullValue();
        }
        beforeValue();
        out.append(f == Math.rint(f) && Math.abs(f) < 1e7f ? Long.toString((long) f) : Float.toString(f));
        return this;
    }

    JsonWriter value(boolean b) {
        beforeValue();
        out.append(b);
        return this;
    }

    JsonWriter nullValue() {
        beforeValue();
        out.append("null");
        return this;
    }

    /** Shorthand for {@code name(name).value(s)}. */
    JsonWriter field(String name, String s) {
        return name(name).value(s);
    }

    JsonWriter field(String name, long n) {
        return name(name).value(n);
    }

    JsonWriter field(String name, double d) {
        return name(name).value(d);
    }

    JsonWriter field(String name, float f) {
        return name(name).value(f);
    }

    JsonWriter field(String name, boolean b) {
        return name(name).value(b);
    }

    /** The document; throws if a container is still open. */
    @Override
    public String toString() {
        if (!done || !scopes.isEmpty()) {
            throw new IllegalStateException("the JSON document is incomplete");
        }
        return out.toString();
    }

    private void beforeValue() {
        if (done && scopes.isEmpty()) {
            throw new IllegalStateException("the JSON document already has its top-level value");
        }
        Scope scope = scopes.peek();
        if (scope == Scope.OBJECT) {
            if (!nameWritten) {
                throw new IllegalStateException("a value inside an object needs a name first");
            }
            nameWritten = false;
        } else if (scope == Scope.ARRAY) {
            if (!first) {
                out.append(',');
            }
            first = false;
        }
        if (scope == null) {
            done = true; // a scalar at top level, or a container that the matching end() completes
        }
    }

    private void end(Scope expected, char close) {
        if (scopes.peek() != expected || nameWritten) {
            throw new IllegalStateException("no open " + expected.name().toLowerCase() + " to close here");
        }
        scopes.pop();
        out.append(close);
        first = false;
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    boolean unpaired = Character.isHighSurrogate(c)
                            ? i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))
                            : Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
                    if (c < 0x20 || c == '\u2028' || c == '\u2029' || unpaired) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
