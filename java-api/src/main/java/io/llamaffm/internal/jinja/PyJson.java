package io.llamaffm.internal.jinja;

import io.llamaffm.internal.jinja.Py.Undefined;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(value, ensure_ascii, indent, separators, sort_keys)}, the {@code tojson} filter of
 * Hugging Face's chat templates (defaults: {@code ensure_ascii=False}, no indent, {@code ", "} and {@code ": "}).
 * Each value written takes a step of the render's {@link Budget} and each list or dict a level of its nesting; the text
 * may not grow past the longest value allowed (an indent is checked before it is written).
 */
final class PyJson {
    private final boolean ensureAscii;
    private final String indent; // null: single line
    private final String itemSeparator;
    private final String keySeparator;
    private final boolean sortKeys;
    private final Budget budget = Budget.current();

    private PyJson(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
        this.ensureAscii = ensureAscii;
        this.indent = indent;
        this.itemSeparator = itemSeparator;
        this.keySeparator = keySeparator;
        this.sortKeys = sortKeys;
    }

    /** The tojson filter; positional arguments follow Hugging Face's signature (ensure_ascii, indent, separators, sort_keys). */
    static String dumps(Object value, List<Object> a, Map<String, Object> kw) {
        boolean ascii = Py.truthy(Builtins.arg(a, kw, 0, "ensure_ascii", false));
        Object ind = Builtins.arg(a, kw, 1, "indent", null);
        Object seps = Builtins.arg(a, kw, 2, "separators", null);
        boolean sort = Py.truthy(Builtins.arg(a, kw, 3, "sort_keys", false));
        String indent = ind == null ? null : ind instanceof String s ? s
                : " ".repeat((int) Budget.current().length(Math.max(0, Py.asLong(ind))));
        String item = indent == null ? ", " : ",";
        String key = ": ";
        if (seps instanceof List<?> l && l.size() == 2) {
            item = Py.str(l.get(0));
            key = Py.str(l.get(1));
        }
        StringBuilder sb = new StringBuilder();
        new PyJson(ascii, indent, item, key, sort).write(value, sb, 0);
        return sb.toString();
    }

    private void write(Object v, StringBuilder sb, int level) {
        budget.step();
        budget.check(sb);
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case String s -> string(s, sb);
            case Py.Markup m -> string(m.text(), sb);
            case Double d -> sb.append(number(d));
            case Float f -> sb.append(number(f.doubleValue()));
            case List<?> l -> list(l, sb, level);
            case Map<?, ?> m -> map(m, sb, level);
            default -> {
                if (!Py.isInt(v)) {
                    String type = v instanceof Undefined ? "Undefined" : Py.typeName(v);
                    throw JinjaException.render("Object of type " + type + " is not JSON serializable");
                }
                sb.append(((Number) v).longValue());
            }
        }
    }

    private static String number(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        return Py.floatRepr(d);
    }

    private void list(List<?> l, StringBuilder sb, int level) {
        if (l.isEmpty()) {
            sb.append("[]");
            return;
        }
        budget.enter();
        sb.append('[');
        for (int k = 0; k < l.size(); k++) {
            if (k > 0) {
                sb.append(itemSeparator);
            }
            newline(sb, level + 1);
            write(l.get(k), sb, level + 1);
        }
        newline(sb, level);
        sb.append(']');
        budget.exit();
    }

    private void map(Map<?, ?> m, StringBuilder sb, int level) {
        if (m.isEmpty()) {
            sb.append("{}");
            return;
        }
        budget.enter();
        List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
        if (sortKeys) {
            entries.sort((x, y) -> {
                budget.step();
                return Py.compare(x.getKey(), y.getKey());
            });
        }
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : entries) {
            if (!first) {
                sb.append(itemSeparator);
            }
            first = false;
            newline(sb, level + 1);
            string(key(e.getKey()), sb);
            sb.append(keySeparator);
            write(e.getValue(), sb, level + 1);
        }
        newline(sb, level);
        sb.append('}');
        budget.exit();
    }

    private static String key(Object k) {
        return switch (k) {
            case null -> "null";
            case String s -> s;
            case Boolean b -> b ? "true" : "false";
            case Double d -> number(d);
            default -> {
                if (!Py.isInt(k)) {
                    throw JinjaException.render("keys must be str, int, float, bool or None, not " + Py.typeName(k));
                }
                yield String.valueOf(((Number) k).longValue());
            }
        };
    }

    private void newline(StringBuilder sb, int level) {
        if (indent != null) {
            budget.length(sb.length() + 1 + Budget.times(indent.length(), level));
            sb.append('\n').append(indent.repeat(level));
        }
    }

    private void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        sb.append("\\u").append(Py.HEX[c >> 12]).append(Py.HEX[(c >> 8) & 0xF]).append(Py.HEX[(c >> 4) & 0xF])
                                .append(Py.HEX[c & 0xF]);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
