package io.llamaffm.internal.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python value semantics for template values. Values are {@code null} (None), {@link Boolean}, {@link Long},
 * {@link Double}, {@link String}, {@link List}, {@link Map}, {@link Undefined}, {@link Namespace} and
 * {@link Callable}s. Called while rendering only: what they create and the work they do in proportion to a value's size
 * are charged to the render's {@link Budget}, and what walks nested values takes a level of its nesting per level.
 */
final class Py {
    private Py() {}

    /** A missing value: renders as empty, is false, iterates as empty; most other uses fail with its hint. */
    record Undefined(String hint) {
        JinjaException error() {
            return JinjaException.render(hint);
        }
    }

    /**
     * Jinja2's Markup (from the {@code safe} and {@code escape} filters): {@code +} with it HTML-escapes the other
     * operand, as Python's markupsafe does. Every other use sees its plain text.
     */
    record Markup(String text) {
        static String escape(String s) {
            Budget budget = Budget.current();
            budget.work(s.length());
            long length = s.length();
            for (int k = 0; k < s.length(); k++) {
                length += switch (s.charAt(k)) {
                    case '&', '"', '\'' -> 4;
                    case '<', '>' -> 3;
                    default -> 0;
                };
            }
            if (length == s.length()) {
                return s;
            }
            StringBuilder sb = new StringBuilder((int) budget.length(length));
            for (int k = 0; k < s.length(); k++) {
                char c = s.charAt(k);
                switch (c) {
                    case '&' -> sb.append("&amp;");
                    case '<' -> sb.append("&lt;");
                    case '>' -> sb.append("&gt;");
                    case '"' -> sb.append("&#34;");
                    case '\'' -> sb.append("&#39;");
                    default -> sb.append(c);
                }
            }
            return sb.toString();
        }
    }

    /**
     * What Python's map/select filters return: a one-shot generator. It is always true, has no length, is not
     * JSON-serialisable and yields its items once; {@code |list} turns it into a list.
     */
    static final class Generator {
        private List<Object> items;

        Generator(List<Object> items) {
            this.items = items;
        }

        List<Object> consume() {
            List<Object> out = items;
            items = List.of();
            return out;
        }
    }

    /** A Python tuple: an immutable list that prints as {@code (a, b)} and never equals a list. */
    static final class Tuple extends java.util.AbstractList<Object> {
        private final List<Object> items;

        Tuple(List<?> items) {
            this.items = new ArrayList<>(items);
        }

        static Tuple of(Object... items) {
            return new Tuple(java.util.Arrays.asList(items));
        }

        @Override
        public Object get(int index) {
            return items.get(index);
        }

        @Override
        public int size() {
            return items.size();
        }
    }

    /** Lower-case hex digits, as Python's escapes write them. */
    static final char[] HEX = "0123456789abcdef".toCharArray();

    /** The plain text of a Markup, any other value unchanged. */
    static Object plain(Object v) {
        return v instanceof Markup m ? m.text() : v;
    }

    /** Jinja2's {@code namespace()}: the one object whose attributes a template may assign. */
    static final class Namespace {
        final Map<String, Object> attributes = new LinkedHashMap<>();
    }

    /** Something a template can call: macros, global functions, bound methods. */
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    static Undefined undefinedName(String name) {
        return new Undefined("'" + name + "' is undefined");
    }

    static Undefined noAttribute(Object obj, Object attr) {
        return new Undefined("'" + typeName(obj) + " object' has no attribute '" + str(attr) + "'");
    }

    static boolean isUndefined(Object v) {
        return v instanceof Undefined;
    }

    /**
     * Whether {@code v} can be a dict key: lists and dicts cannot (Python's "unhashable type"), nor, here, tuples of
     * anything but strings, numbers, booleans and None, whose hash would walk nested values without bound.
     */
    static boolean isHashable(Object v) {
        return switch (v) {
            case null -> true;
            case Tuple t -> t.items.stream().allMatch(x -> x == null || x instanceof String || x instanceof Boolean || isNumber(x));
            case List<?> l -> false;
            case Map<?, ?> m -> false;
            default -> true;
        };
    }

    /** {@code v} when it can be a dict key, else Python's TypeError. */
    static Object hashable(Object v) {
        if (!isHashable(v)) {
            throw JinjaException.render("unhashable type: '" + typeName(v) + "'" + (v instanceof Tuple
                    ? " (a tuple key may hold only strings, numbers, booleans and None)" : ""));
        }
        return normalize(v);
    }

    static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte;
    }

    static boolean isNumber(Object v) {
        return isInt(v) || v instanceof Double || v instanceof Float || v instanceof Boolean;
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case String s -> "str";
            case Boolean b -> "bool";
            case Double d -> "float";
            case Float f -> "float";
            case Tuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Undefined u -> "Undefined";
            case Namespace n -> "Namespace";
            case Callable c -> "function";
            case Generator g -> "generator";
            default -> isInt(v) ? "int" : v.getClass().getSimpleName();
        };
    }

    // ---- truth, str, repr ---------------------------------------------------------------------------------

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case String s -> !s.isEmpty();
            case Double d -> d != 0.0;
            case Float f -> f != 0.0f;
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            case Undefined u -> false;
            case Markup m -> !m.text().isEmpty();
            case Generator g -> true;
            default -> !isInt(v) || ((Number) v).longValue() != 0;
        };
    }

    /** Python's {@code str(v)}, as {@code {{ v }}} prints it. */
    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case String s -> s;
            case Boolean b -> b ? "True" : "False";
            case Double d -> floatRepr(d);
            case Float f -> floatRepr(f.doubleValue());
            case Undefined u -> "";
            case Markup m -> m.text();
            default -> repr(v);
        };
    }

    /** Python's {@code repr(v)}. */
    static String repr(Object v) {
        return switch (v) {
            case null -> "None";
            case String s -> Budget.current().string(stringRepr(s, new StringBuilder()).toString());
            case List<?> l -> reprOf(l);
            case Map<?, ?> m -> reprOf(m);
            case Namespace n -> reprOf(n);
            case Callable c -> "<function>";
            case Generator g -> "<generator object>";
            case Undefined u -> "Undefined";
            case Boolean b -> str(b);
            case Double d -> str(d);
            case Float f -> str(f);
            default -> isInt(v) ? String.valueOf(((Number) v).longValue()) : String.valueOf(v);
        };
    }

    private static String reprOf(Object container) {
        Budget budget = Budget.current();
        StringBuilder sb = new StringBuilder();
        repr(container, sb, budget);
        return budget.string(sb.toString());
    }

    /** Appends {@code repr(v)}: a step for each value, a level of nesting for each list or dict, the length checked. */
    private static void repr(Object v, StringBuilder sb, Budget budget) {
        budget.step();
        switch (v) {
            case null -> sb.append("None");
            case String s -> stringRepr(s, sb);
            case List<?> l -> {
                budget.enter();
                sb.append(v instanceof Tuple ? '(' : '[');
                for (int k = 0; k < l.size(); k++) {
                    sb.append(k == 0 ? "" : ", ");
                    repr(l.get(k), sb, budget);
                    budget.check(sb);
                }
                sb.append(v instanceof Tuple ? (l.size() == 1 ? ",)" : ")") : "]");
                budget.exit();
            }
            case Map<?, ?> m -> {
                budget.enter();
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append(first ? "" : ", ");
                    repr(e.getKey(), sb, budget);
                    sb.append(": ");
                    repr(e.getValue(), sb, budget);
                    budget.check(sb);
                    first = false;
                }
                sb.append('}');
                budget.exit();
            }
            case Namespace n -> {
                sb.append("<Namespace ");
                repr(n.attributes, sb, budget);
                sb.append('>');
            }
            default -> sb.append(repr(v));
        }
        budget.check(sb);
    }

    private static StringBuilder stringRepr(String s, StringBuilder sb) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(quote);
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (cp == quote) {
                        sb.append('\\').appendCodePoint(cp);
                    } else if (cp < 0x20 || cp == 0x7f) {
                        sb.append("\\x").append(HEX[cp >> 4]).append(HEX[cp & 0xF]);
                    } else {
                        sb.appendCodePoint(cp);
                    }
                }
            }
        });
        return sb.append(quote);
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = bd.unscaledValue().abs().toString();
        int exponent = digits.length() - bd.scale() - 1;
        String sign = d < 0 ? "-" : "";
        if (exponent >= -5 + 1 && exponent < 16) {
            String plain = bd.abs().toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        String exp = String.format("%02d", Math.abs(exponent));
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + exp;
    }

    // ---- equality and ordering ----------------------------------------------------------------------------

    /** Python's {@code ==}. */
    static boolean eq(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (a instanceof String sa && b instanceof String sb) {
            if (sa.length() == sb.length()) {
                Budget.current().work(sa.length());
            }
            return sa.equals(sb);
        }
        if (a instanceof List<?> || a instanceof Map<?, ?>) {
            Budget budget = Budget.current();
            budget.step();
            budget.enter();
            try {
                return deepEq(a, b);
            } finally {
                budget.exit();
            }
        }
        return deepEq(a, b);
    }

    private static boolean deepEq(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            if (isIntegral(a) && isIntegral(b)) {
                return asLong(a) == asLong(b);
            }
            return asDouble(a) == asDouble(b);
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            if ((a instanceof Tuple) != (b instanceof Tuple) || la.size() != lb.size()) {
                return false;
            }
            for (int k = 0; k < la.size(); k++) {
                if (!eq(la.get(k), lb.get(k))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            if (ma.size() != mb.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : ma.entrySet()) {
                if (!mb.containsKey(e.getKey()) || !eq(e.getValue(), mb.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Undefined && b instanceof Undefined) {
            return true;
        }
        return a.equals(b);
    }

    /** Python's ordering ({@code <} and friends): numbers, strings, lists; anything else fails. */
    static int compare(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            if (isIntegral(a) && isIntegral(b)) {
                return Long.compare(asLong(a), asLong(b));
            }
            return Double.compare(asDouble(a), asDouble(b));
        }
        if (a instanceof String sa && b instanceof String sb) {
            Budget.current().work(Math.min(sa.length(), sb.length()));
            return compareCodePoints(sa, sb);
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            Budget budget = Budget.current();
            budget.step();
            budget.enter();
            try {
                for (int k = 0; k < Math.min(la.size(), lb.size()); k++) {
                    if (!eq(la.get(k), lb.get(k))) {
                        return compare(la.get(k), lb.get(k));
                    }
                }
                return Integer.compare(la.size(), lb.size());
            } finally {
                budget.exit();
            }
        }
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        throw JinjaException.render("'<' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** Python's {@code needle in haystack}. */
    static boolean contains(Object haystack, Object needle) {
        Budget budget = Budget.current();
        switch (haystack) {
            case String s -> budget.work(s.length());
            case List<?> l -> budget.work(l.size());
            case Map<?, ?> m -> budget.work(m.size());
            case null, default -> { }
        }
        return switch (haystack) {
            case null -> throw JinjaException.render("argument of type 'NoneType' is not iterable");
            case String s -> {
                if (!(needle instanceof String n)) {
                    throw JinjaException.render("'in <string>' requires string as left operand, not " + typeName(needle));
                }
                yield s.contains(n);
            }
            case List<?> l -> l.stream().anyMatch(x -> eq(x, needle));
            case Map<?, ?> m -> m.keySet().stream().anyMatch(k -> eq(k, needle));
            case Generator g -> g.consume().stream().anyMatch(x -> eq(x, needle));
            case Undefined u -> false;
            case Namespace n -> n.attributes.containsKey(needle);
            default -> throw JinjaException.render("argument of type '" + typeName(haystack) + "' is not iterable");
        };
    }

    // ---- numbers ------------------------------------------------------------------------------------------

    static boolean isIntegral(Object v) {
        return isInt(v) || v instanceof Boolean;
    }

    static long asLong(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return ((Number) v).longValue();
    }

    static double asDouble(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return ((Number) v).doubleValue();
    }

    /** Normalises Java numbers from user input to Long or Double. */
    static Object normalize(Object v) {
        if (isInt(v)) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        return v;
    }

    static Object arithmetic(String op, Object a, Object b) {
        if (op.equals("+") && (a instanceof Markup || b instanceof Markup)) {
            String left = markupText(a);
            String right = markupText(b);
            Budget.current().length((long) left.length() + right.length());
            return new Markup(Budget.current().string(left + right));
        }
        a = plain(a);
        b = plain(b);
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        if (isNumber(a) && isNumber(b)) {
            return numeric(op, a, b);
        }
        switch (op) {
            case "+" -> {
                if (a instanceof String sa && b instanceof String sb) {
                    Budget.current().length((long) sa.length() + sb.length());
                    return Budget.current().string(sa + sb);
                }
                if (a instanceof List<?> la && b instanceof List<?> lb) {
                    if ((a instanceof Tuple) != (b instanceof Tuple)) {
                        throw JinjaException.render("can only concatenate " + typeName(a) + " (not \"" + typeName(b) + "\") to " + typeName(a));
                    }
                    Budget.current().length((long) la.size() + lb.size());
                    List<Object> out = new ArrayList<>(la);
                    out.addAll(lb);
                    return Budget.current().list(a instanceof Tuple ? new Tuple(out) : out);
                }
            }
            case "*" -> {
                if (a instanceof String s && isIntegral(b)) {
                    return Budget.current().string(s.repeat(repeatCount(s.length(), asLong(b))));
                }
                if (isIntegral(a) && b instanceof String s) {
                    return Budget.current().string(s.repeat(repeatCount(s.length(), asLong(a))));
                }
                if (a instanceof List<?> l && isIntegral(b)) {
                    int times = repeatCount(l.size(), asLong(b));
                    List<Object> out = new ArrayList<>(l.size() * times);
                    for (long k = 0; k < times; k++) {
                        out.addAll(l);
                    }
                    return Budget.current().list(a instanceof Tuple ? new Tuple(out) : out);
                }
            }
            case "%" -> {
                if (a instanceof String s) {
                    return Builtins.percentFormat(s, b);
                }
            }
            default -> { }
        }
        throw JinjaException.render("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    /** How many times to repeat a string or list of {@code size}: none for a count below one; the result's length checked. */
    private static int repeatCount(int size, long times) {
        if (times <= 0) {
            return 0;
        }
        Budget.current().length(Budget.times(size, times));
        return size == 0 ? 1 : (int) times;
    }

    private static String markupText(Object v) {
        if (v instanceof Markup m) {
            return m.text();
        }
        if (!(v instanceof String)) {
            throw JinjaException.render("unsupported operand type(s) for +: 'Markup' and '" + typeName(v) + "'");
        }
        return Markup.escape((String) v);
    }

    private static Object numeric(String op, Object a, Object b) {
        boolean ints = isIntegral(a) && isIntegral(b);
        if (ints) {
            try {
                return integer(op, asLong(a), asLong(b));
            } catch (ArithmeticException e) {
                throw JinjaException.render("integer result of " + op + " is out of range: template integers are 64-bit");
            }
        }
        double x = asDouble(a);
        double y = asDouble(b);
        return switch (op) {
            case "+" -> x + y;
            case "-" -> x - y;
            case "*" -> x * y;
            case "/" -> {
                checkZero(y);
                yield x / y;
            }
            case "//" -> {
                checkZero(y);
                yield Math.floor(x / y);
            }
            case "%" -> {
                checkZero(y);
                double r = x % y;
                yield (r != 0 && (r < 0) != (y < 0)) ? r + y : r;
            }
            case "**" -> Math.pow(x, y);
            default -> throw JinjaException.render("unknown operator " + op);
        };
    }

    private static Object integer(String op, long x, long y) {
        switch (op) {
            case "+" -> { return Math.addExact(x, y); }
            case "-" -> { return Math.subtractExact(x, y); }
            case "*" -> { return Math.multiplyExact(x, y); }
            case "/" -> {
                checkZero(y);
                return (double) x / y;
            }
            case "//" -> {
                checkZero(y);
                return Math.floorDiv(x, y);
            }
            case "%" -> {
                checkZero(y);
                return Math.floorMod(x, y);
            }
            case "**" -> {
                if (y < 0) {
                    return Math.pow(x, y);
                }
                if (x == 0 || x == 1) {
                    return y == 0 ? 1L : x;
                }
                if (x == -1) {
                    return y % 2 == 0 ? 1L : -1L;
                }
                long r = 1; // |x| >= 2: overflows within 64 steps
                for (long k = 0; k < y; k++) {
                    r = Math.multiplyExact(r, x);
                }
                return r;
            }
            default -> throw JinjaException.render("unknown operator " + op);
        }
    }

    private static void checkZero(double y) {
        if (y == 0) {
            throw JinjaException.render("division by zero");
        }
    }

    // ---- sequences ----------------------------------------------------------------------------------------

    /** Python's {@code len()}; strings count code points. */
    static long len(Object v) {
        return switch (v) {
            case null -> throw JinjaException.render("object of type 'NoneType' has no len()");
            case String s -> {
                Budget.current().work(s.length());
                yield s.codePointCount(0, s.length());
            }
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            case Namespace n -> n.attributes.size();
            default -> throw JinjaException.render("object of type '" + typeName(v) + "' has no len()");
        };
    }

    /** Iterates like Python's {@code for}: lists, dict keys, string characters; undefined is empty. */
    static List<Object> iterate(Object v) {
        Budget budget = Budget.current();
        return switch (v) {
            case List<?> l -> budget.list(new ArrayList<>(l));
            case Map<?, ?> m -> budget.list(new ArrayList<>(m.keySet()));
            case String s -> chars(s);
            case Generator g -> budget.list(new ArrayList<>(g.consume()));
            case Undefined u -> new ArrayList<>();
            case Namespace n -> budget.list(new ArrayList<>(n.attributes.keySet()));
            case null -> throw JinjaException.render("'NoneType' object is not iterable");
            default -> throw JinjaException.render("'" + typeName(v) + "' object is not iterable");
        };
    }

    /** The characters of a string, each a string of one code point (the Latin-1 ones shared). */
    static List<Object> chars(String s) {
        Budget budget = Budget.current();
        budget.perChar(s.length());
        budget.strings(s.length(), s.length());
        List<Object> out = new ArrayList<>(s.length());
        s.codePoints().forEach(cp -> out.add(character(cp)));
        return budget.list(out);
    }

    private static final String[] LATIN1 = new String[256];

    static {
        for (int c = 0; c < LATIN1.length; c++) {
            LATIN1[c] = String.valueOf((char) c);
        }
    }

    /** The one-character string of {@code cp}. */
    static String character(int cp) {
        return cp < LATIN1.length ? LATIN1[cp] : new String(Character.toChars(cp));
    }

    /** {@code obj[index]} for lists and strings with Python's negative indices; null when out of range. */
    static Object index(Object obj, long index) {
        if (obj instanceof List<?> l) {
            long k = index < 0 ? index + l.size() : index;
            return k >= 0 && k < l.size() ? l.get((int) k) : new Undefined("list index out of range");
        }
        if (obj instanceof String s) {
            int n = (int) len(s);
            long k = index < 0 ? index + n : index;
            if (k < 0 || k >= n) {
                return new Undefined("string index out of range");
            }
            Budget.current().work(s.length());
            int at = s.offsetByCodePoints(0, (int) k);
            return character(s.codePointAt(at));
        }
        return noAttribute(obj, index);
    }

    /** Python slicing of lists and strings. */
    static Object slice(Object obj, Object start, Object stop, Object step) {
        int[] codePoints = null;
        List<?> items = null;
        if (obj instanceof String s) {
            Budget.current().perChar(s.length());
            codePoints = s.codePoints().toArray();
        } else if (obj instanceof List<?> l) {
            items = l;
        } else if (obj instanceof Undefined u) {
            throw u.error();
        } else {
            throw JinjaException.render("'" + typeName(obj) + "' object is not subscriptable");
        }
        int n = codePoints != null ? codePoints.length : items.size();
        long st = step == null ? 1 : asLong(step);
        if (st == 0) {
            throw JinjaException.render("slice step cannot be zero");
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clampIndex(asLong(start), n, 0, n);
            hi = stop == null ? n : clampIndex(asLong(stop), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clampIndex(asLong(start), n, -1, n - 1);
            hi = stop == null ? -1 : clampIndex(asLong(stop), n, -1, n - 1);
        }
        if (codePoints != null) {
            StringBuilder sb = new StringBuilder();
            for (long k = lo; st > 0 ? k < hi : k > hi; k += st) {
                sb.appendCodePoint(codePoints[(int) k]);
            }
            return Budget.current().string(sb.toString());
        }
        List<Object> out = new ArrayList<>();
        for (long k = lo; st > 0 ? k < hi : k > hi; k += st) {
            out.add(items.get((int) k));
        }
        return Budget.current().list(out);
    }

    private static long clampIndex(long index, int n, long min, long max) {
        long k = index < 0 ? index + n : index;
        return Math.max(min, Math.min(max, k));
    }

    /** Iterates an iterator into a list. */
    static List<Object> toList(Iterator<?> it) {
        List<Object> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
