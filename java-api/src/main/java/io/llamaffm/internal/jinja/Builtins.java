package io.llamaffm.internal.jinja;

import io.llamaffm.internal.jinja.Py.Callable;
import io.llamaffm.internal.jinja.Py.Namespace;
import io.llamaffm.internal.jinja.Py.Undefined;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jinja2's filters, tests and globals as chat templates use them, Python's str/dict/list methods, and Hugging
 * Face's additions: {@code raise_exception}, {@code strftime_now} and a {@code tojson} that is Python's
 * {@code json.dumps(ensure_ascii=False)}. Methods that would mutate a value are refused as in Jinja2's
 * immutable sandbox. What they create, compare and visit is charged to the render's {@link Budget}.
 */
final class Builtins {
    private static final long MAX_RANGE = 100_000;
    private static final Set<String> UNSAFE_LIST = Set.of("append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear");
    private static final Set<String> UNSAFE_DICT = Set.of("update", "pop", "popitem", "setdefault", "clear");
    private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");

    private final Clock clock;
    private final Budget budget;

    Builtins(Clock clock, Budget budget) {
        this.clock = clock;
        this.budget = budget;
    }

    /** The global functions every template sees. */
    Map<String, Object> globals() {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("range", (Callable) (args, kwargs) -> range(args));
        g.put("namespace", (Callable) (args, kwargs) -> {
            Namespace ns = new Namespace();
            for (Object a : args) {
                if (a instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> ns.attributes.put(Py.str(k), v));
                }
            }
            ns.attributes.putAll(kwargs);
            budget.map(ns.attributes);
            return ns;
        });
        g.put("dict", (Callable) (args, kwargs) -> {
            Map<Object, Object> m = new LinkedHashMap<>();
            if (!args.isEmpty() && args.getFirst() instanceof Map<?, ?> src) {
                m.putAll(src);
            }
            m.putAll(kwargs);
            return budget.map(m);
        });
        g.put("raise_exception", (Callable) (args, kwargs) -> {
            throw new JinjaException(JinjaException.Kind.RAISED, 0, args.isEmpty() ? "" : Py.str(args.getFirst()));
        });
        g.put("strftime_now", (Callable) (args, kwargs) -> budget.string(Strftime.format(Py.str(arg(args, kwargs, 0, "format", "")),
                ZonedDateTime.now(clock))));
        g.put("joiner", (Callable) (args, kwargs) -> {
            String sep = Py.str(arg(args, kwargs, 0, "sep", ", "));
            boolean[] used = {false};
            return (Callable) (a, k) -> {
                if (used[0]) {
                    return sep;
                }
                used[0] = true;
                return "";
            };
        });
        return g;
    }

    private List<Object> range(List<Object> args) {
        if (args.isEmpty() || args.size() > 3) {
            throw JinjaException.render("range expected 1 to 3 arguments, got " + args.size());
        }
        long start = args.size() == 1 ? 0 : intArg(args.get(0));
        long stop = intArg(args.get(args.size() == 1 ? 0 : 1));
        long step = args.size() == 3 ? intArg(args.get(2)) : 1;
        if (step == 0) {
            throw JinjaException.render("range() arg 3 must not be zero");
        }
        long count = step > 0 ? Math.max(0, (stop - start + step - 1) / step) : Math.max(0, (start - stop - step - 1) / -step);
        if (count > MAX_RANGE) {
            throw JinjaException.render("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + MAX_RANGE + ").");
        }
        budget.length(count);
        budget.strings(count, 0); // a boxed number each
        List<Object> out = new ArrayList<>((int) count);
        for (long k = 0; k < count; k++) {
            out.add(start + k * step);
        }
        return budget.list(out);
    }

    private static long intArg(Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (!Py.isIntegral(v)) {
            throw JinjaException.render("'" + Py.typeName(v) + "' object cannot be interpreted as an integer");
        }
        return Py.asLong(v);
    }

    /** Positional argument {@code index} or keyword {@code name}, else {@code def}. */
    static Object arg(List<Object> args, Map<String, Object> kwargs, int index, String name, Object def) {
        if (index >= 0 && index < args.size()) {
            return args.get(index);
        }
        return kwargs.getOrDefault(name, def);
    }

    // ---- filters ------------------------------------------------------------------------------------------

    Object filter(String name, Object v, List<Object> a, Map<String, Object> kw, Interpreter in) {
        if (v instanceof String s) { // most filters read all of a string
            budget.work(s.length());
        }
        switch (name) {
            case "default", "d" -> {
                boolean bool = Py.truthy(arg(a, kw, 1, "boolean", false));
                boolean useDefault = v instanceof Undefined || (bool && !Py.truthy(v));
                return useDefault ? arg(a, kw, 0, "default_value", "") : v;
            }
            case "length", "count" -> {
                return Py.len(v);
            }
            case "string" -> {
                return Py.str(v);
            }
            case "safe" -> {
                return new Py.Markup(Py.str(v));
            }
            case "tojson" -> {
                return budget.string(PyJson.dumps(v, a, kw));
            }
            case "pprint" -> {
                return Py.repr(v);
            }
            case "list" -> {
                return Py.iterate(v);
            }
            case "items" -> {
                return items(v);
            }
            case "abs" -> {
                return Py.isIntegral(v) ? (Object) Math.abs(Py.asLong(v)) : (Object) Math.abs(Py.asDouble(number(v)));
            }
            case "attr" -> {
                return in.getAttr(v, Py.str(arg(a, kw, 0, "name", "")));
            }
            case "first" -> {
                List<Object> l = Py.iterate(v);
                return l.isEmpty() ? new Undefined("No first item, sequence was empty.") : l.getFirst();
            }
            case "last" -> {
                if (v instanceof Py.Generator) {
                    throw JinjaException.render("'generator' object is not reversible");
                }
                List<Object> l = Py.iterate(v);
                return l.isEmpty() ? new Undefined("No last item, sequence was empty.") : l.getLast();
            }
            case "join" -> {
                return join(v, Py.str(arg(a, kw, 0, "d", "")), arg(a, kw, 1, "attribute", null), in);
            }
            case "int" -> {
                if (v instanceof String s) { // parsed twice (as an integer, then as a float) at worst
                    budget.perChar(s.length());
                }
                return toInt(v, arg(a, kw, 0, "default", 0L));
            }
            case "float" -> {
                if (v instanceof String s) {
                    budget.perChar(s.length());
                }
                return toFloat(v, arg(a, kw, 0, "default", 0.0));
            }
            case "round" -> {
                return round(v, Py.asLong(arg(a, kw, 0, "precision", 0L)), Py.str(arg(a, kw, 1, "method", "common")));
            }
            case "upper", "lower", "capitalize", "title", "trim", "replace", "indent", "center", "wordcount", "truncate",
                 "format", "escape", "e" -> {
                return stringFilter(name, v, a, kw);
            }
            case "reverse" -> {
                if (v instanceof String s) {
                    return budget.string(new StringBuilder(s).reverse().toString());
                }
                List<Object> l = Py.iterate(v);
                java.util.Collections.reverse(l);
                return l;
            }
            case "sort" -> {
                return sort(Py.iterate(v), Py.truthy(arg(a, kw, 0, "reverse", false)),
                        Py.truthy(arg(a, kw, 1, "case_sensitive", false)), arg(a, kw, 2, "attribute", null), in);
            }
            case "dictsort" -> {
                return dictsort(v, Py.truthy(arg(a, kw, 0, "case_sensitive", false)), Py.str(arg(a, kw, 1, "by", "key")),
                        Py.truthy(arg(a, kw, 2, "reverse", false)));
            }
            case "unique" -> {
                return unique(Py.iterate(v), Py.truthy(arg(a, kw, 0, "case_sensitive", false)), arg(a, kw, 1, "attribute", null), in);
            }
            case "min", "max" -> {
                List<Object> l = sort(Py.iterate(v), name.equals("max"), Py.truthy(arg(a, kw, 0, "case_sensitive", false)),
                        arg(a, kw, 1, "attribute", null), in);
                return l.isEmpty() ? new Undefined("No aggregated item, sequence was empty.") : l.getFirst();
            }
            case "sum" -> {
                Object attribute = arg(a, kw, 0, "attribute", null);
                Object total = arg(a, kw, 1, "start", 0L);
                for (Object x : Py.iterate(v)) {
                    budget.step();
                    total = Py.arithmetic("+", total, attribute == null ? x : attribute(x, attribute, in));
                }
                return total;
            }
            case "map" -> {
                return new Py.Generator(map(iterateIfTruthy(v), a, kw, in));
            }
            case "select", "reject" -> {
                return new Py.Generator(select(iterateIfTruthy(v), null, a, name.equals("select"), in));
            }
            case "selectattr", "rejectattr" -> {
                if (a.isEmpty()) {
                    throw JinjaException.render(name + " needs an attribute name");
                }
                return new Py.Generator(select(iterateIfTruthy(v), a.getFirst(), a.subList(1, a.size()), name.equals("selectattr"), in));
            }
            case "batch" -> {
                long linecount = intArg(arg(a, kw, 0, "linecount", 1L));
                List<Object> items = Py.iterate(v);
                // Jinja2 fills a batch until it has linecount items: below one, never, so one batch holds them all
                int size = linecount < 1 || linecount > items.size() ? Math.max(1, items.size()) : (int) linecount;
                List<Object> out = new ArrayList<>();
                for (int k = 0; k < items.size(); k += size) {
                    out.add(budget.list(new ArrayList<>(items.subList(k, Math.min(items.size(), k + size)))));
                }
                return budget.list(out);
            }
            case "groupby" -> {
                return groupby(Py.iterate(v), arg(a, kw, 0, "attribute", null), in);
            }
            default -> throw JinjaException.render("no filter named '" + name + "'");
        }
    }

    /** map, select and their kin yield nothing for a false value (None, undefined, empty) instead of failing. */
    private static List<Object> iterateIfTruthy(Object v) {
        return Py.truthy(v) ? Py.iterate(v) : List.of();
    }

    private Object stringFilter(String name, Object v, List<Object> a, Map<String, Object> kw) {
        String s = Py.str(v);
        return switch (name) {
            case "upper" -> budget.string(Strings.upper(s));
            case "lower" -> budget.string(Strings.lower(s));
            case "capitalize" -> budget.string(Strings.capitalize(s));
            case "title" -> {
                budget.perChar(s.length());
                StringBuilder sb = new StringBuilder();
                for (String item : Strings.splitKeepingSeparators(WORD_BEGINNING, s)) {
                    if (!item.isEmpty()) {
                        sb.append(Strings.capitalizeFirst(item));
                    }
                }
                yield budget.string(sb.toString());
            }
            case "trim" -> Strings.strip(s, arg(a, kw, 0, "chars", null), true, true);
            case "replace" -> Strings.replace(s, Py.str(arg(a, kw, 0, "old", "")), Py.str(arg(a, kw, 1, "new", "")),
                    arg(a, kw, 2, "count", null));
            case "indent" -> Strings.indent(s, arg(a, kw, 0, "width", 4L), Py.truthy(arg(a, kw, 1, "first", false)),
                    Py.truthy(arg(a, kw, 2, "blank", false)));
            case "center" -> Strings.center(s, intArg(arg(a, kw, 0, "width", 80L)), " ");
            case "wordcount" -> {
                budget.work(s.length());
                yield (long) Strings.split(s, null, -1).size();
            }
            case "truncate" -> Strings.truncate(s, intArg(arg(a, kw, 0, "length", 255L)),
                    Py.truthy(arg(a, kw, 1, "killwords", false)), Py.str(arg(a, kw, 2, "end", "...")), arg(a, kw, 3, "leeway", 5L));
            case "format" -> percentFormat(s, a.size() == 1 ? a.getFirst() : new ArrayList<>(a));
            case "escape", "e" -> new Py.Markup(budget.string(Py.Markup.escape(s)));
            default -> throw JinjaException.render("no filter named '" + name + "'");
        };
    }

    private static Object number(Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (!Py.isNumber(v)) {
            throw JinjaException.render("bad operand type: '" + Py.typeName(v) + "'");
        }
        return v;
    }

    private List<Object> items(Object v) {
        if (v instanceof Undefined) {
            return new ArrayList<>();
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw JinjaException.render("Can only get item pairs from a mapping.");
        }
        budget.length(m.size());
        budget.strings(m.size(), 0); // the tuples
        budget.work(m.size() * 2L);
        List<Object> out = new ArrayList<>(m.size());
        m.forEach((k, val) -> out.add(Py.Tuple.of(k, val)));
        return budget.list(out);
    }

    private String join(Object v, String sep, Object attribute, Interpreter in) {
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object x : Py.iterate(v)) {
            budget.step();
            sb.append(first ? "" : sep).append(Py.str(attribute == null ? x : attribute(x, attribute, in)));
            budget.check(sb);
            first = false;
        }
        return budget.string(sb.toString());
    }

    private static Object toInt(Object v, Object def) {
        if (Py.isIntegral(v)) {
            return Py.asLong(v);
        }
        if (v instanceof Double d) {
            return (long) d.doubleValue();
        }
        if (v instanceof String s) {
            try {
                return Long.parseLong(s.strip().replace("_", ""));
            } catch (NumberFormatException e) {
                try {
                    return (long) Double.parseDouble(s.strip());
                } catch (NumberFormatException e2) {
                    return def;
                }
            }
        }
        return def;
    }

    private static Object toFloat(Object v, Object def) {
        if (Py.isNumber(v)) {
            return Py.asDouble(v);
        }
        if (v instanceof String s) {
            try {
                return Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                return def;
            }
        }
        return def;
    }

    private static Object round(Object v, long precision, String method) {
        double d = Py.asDouble(number(v));
        if (Double.isNaN(d) || Double.isInfinite(d) || precision > 1100) { // a double has at most 1074 digits after the point
            return d;
        }
        if (precision < -330) { // past the largest double's digits: nothing is left
            return d < 0 ? -0.0 : 0.0;
        }
        double scale = Math.pow(10, precision);
        return switch (method) {
            // Python's round(): correctly rounded from the exact binary value, ties to even
            case "common" -> new BigDecimal(d).setScale((int) precision, RoundingMode.HALF_EVEN).doubleValue();
            case "ceil" -> Math.ceil(d * scale) / scale;
            case "floor" -> Math.floor(d * scale) / scale;
            default -> throw JinjaException.render("method must be common, ceil or floor");
        };
    }

    private Object attribute(Object item, Object attribute, Interpreter in) {
        budget.step();
        if (Py.isIntegral(attribute)) {
            return in.getItem(item, attribute);
        }
        Object cur = item;
        String path = Py.str(attribute);
        budget.work(path.length());
        for (String part : path.split("\\.")) {
            cur = part.matches("\\d+") ? in.getItem(cur, Long.parseLong(part)) : in.getItem(cur, part);
        }
        return cur;
    }

    private static Object sortKey(Object x, boolean caseSensitive) {
        if (!caseSensitive && x instanceof String s) {
            Budget.current().work(s.length());
            return Strings.lower(s);
        }
        return x;
    }

    private List<Object> sort(List<Object> items, boolean reverse, boolean caseSensitive, Object attribute, Interpreter in) {
        List<Object> out = budget.list(new ArrayList<>(items));
        Comparator<Object> cmp = (x, y) -> {
            budget.step();
            return Py.compare(sortKey(attribute == null ? x : attribute(x, attribute, in), caseSensitive),
                    sortKey(attribute == null ? y : attribute(y, attribute, in), caseSensitive));
        };
        out.sort(reverse ? cmp.reversed() : cmp);
        return out;
    }

    private List<Object> dictsort(Object v, boolean caseSensitive, String by, boolean reverse) {
        if (!(v instanceof Map<?, ?>)) {
            throw JinjaException.render("You can only sort by either \"key\" or \"value\" of a mapping");
        }
        int pos = switch (by) {
            case "key" -> 0;
            case "value" -> 1;
            default -> throw JinjaException.render("You can only sort by either \"key\" or \"value\"");
        };
        List<Object> out = items(v);
        Comparator<Object> cmp = (x, y) -> {
            budget.step();
            return Py.compare(sortKey(((List<?>) x).get(pos), caseSensitive), sortKey(((List<?>) y).get(pos), caseSensitive));
        };
        out.sort(reverse ? cmp.reversed() : cmp);
        return out;
    }

    private List<Object> unique(List<Object> items, boolean caseSensitive, Object attribute, Interpreter in) {
        List<Object> out = new ArrayList<>();
        List<Object> seen = new ArrayList<>();
        for (Object x : items) {
            Object key = sortKey(attribute == null ? x : attribute(x, attribute, in), caseSensitive);
            budget.steps(seen.size());
            if (seen.stream().noneMatch(s -> Py.eq(s, key))) {
                seen.add(key);
                out.add(x);
            }
        }
        return budget.list(out);
    }

    private List<Object> map(List<Object> items, List<Object> a, Map<String, Object> kw, Interpreter in) {
        List<Object> out = new ArrayList<>();
        if (kw.containsKey("attribute")) {
            Object attribute = kw.get("attribute");
            for (Object x : items) {
                Object val = attribute(x, attribute, in);
                out.add(val instanceof Undefined && kw.containsKey("default") ? kw.get("default") : val);
            }
            return budget.list(out);
        }
        if (a.isEmpty()) {
            throw JinjaException.render("map requires a filter argument");
        }
        String filterName = Py.str(a.getFirst());
        for (Object x : items) {
            budget.step();
            out.add(filter(filterName, x, a.subList(1, a.size()), kw, in));
        }
        return budget.list(out);
    }

    private List<Object> select(List<Object> items, Object attribute, List<Object> a, boolean keep, Interpreter in) {
        List<Object> out = new ArrayList<>();
        for (Object x : items) {
            budget.step();
            Object val = attribute == null ? x : attribute(x, attribute, in);
            boolean ok = a.isEmpty() ? Py.truthy(val)
                    : test(Py.str(a.getFirst()), val, a.subList(1, a.size()), in);
            if (ok == keep) {
                out.add(x);
            }
        }
        return budget.list(out);
    }

    /** Jinja2's groupby: sorted by the attribute, then runs of equal keys (itertools.groupby), each a (key, list) tuple. */
    private List<Object> groupby(List<Object> items, Object attribute, Interpreter in) {
        List<Object> out = new ArrayList<>();
        Object key = null;
        List<Object> group = null;
        for (Object x : sort(items, false, true, attribute, in)) {
            Object k = attribute(x, attribute, in);
            if (group == null || !Py.eq(key, k)) {
                key = k;
                group = new ArrayList<>();
                out.add(Py.Tuple.of(key, group));
            }
            group.add(x);
        }
        budget.strings(out.size(), 0);
        out.forEach(t -> budget.list((List<?>) ((List<?>) t).get(1)));
        return budget.list(out);
    }

    // ---- tests --------------------------------------------------------------------------------------------

    boolean test(String name, Object v, List<Object> a, Interpreter in) {
        if (v instanceof String s) {
            budget.work(s.length());
        }
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "integer" -> Py.isInt(v);
            case "float" -> v instanceof Double || v instanceof Float;
            case "number" -> Py.isNumber(v);
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map<?, ?>;
            case "iterable" -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String || v instanceof Undefined;
            case "sequence" -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String;
            case "callable" -> v instanceof Callable;
            case "odd" -> Py.asLong(number(v)) % 2 != 0;
            case "even" -> Py.asLong(number(v)) % 2 == 0;
            case "divisibleby" -> Py.asLong(number(v)) % Py.asLong(number(a.getFirst())) == 0;
            case "eq", "equalto", "==" -> Py.eq(v, a.getFirst());
            case "ne", "!=" -> !Py.eq(v, a.getFirst());
            case "lt", "lessthan", "<" -> Py.compare(v, a.getFirst()) < 0;
            case "le", "<=" -> Py.compare(v, a.getFirst()) <= 0;
            case "gt", "greaterthan", ">" -> Py.compare(v, a.getFirst()) > 0;
            case "ge", ">=" -> Py.compare(v, a.getFirst()) >= 0;
            case "in" -> Py.contains(a.getFirst(), v);
            case "sameas" -> v == a.getFirst() || (v != null && Py.isIntegral(v) == Py.isIntegral(a.getFirst()) && Py.eq(v, a.getFirst())
                    && v.getClass() == a.getFirst().getClass() && !(v instanceof String) && !(v instanceof List<?>) && !(v instanceof Map<?, ?>));
            case "lower" -> v instanceof String s && s.equals(Strings.lower(s));
            case "upper" -> v instanceof String s && s.equals(Strings.upper(s));
            case "escaped" -> false;
            case "filter" -> Set.of("default", "d", "length", "count", "string", "safe", "tojson", "list", "items", "abs", "attr",
                    "first", "last", "join", "int", "float", "round", "upper", "lower", "capitalize", "title", "trim", "replace",
                    "indent", "reverse", "sort", "dictsort", "unique", "min", "max", "sum", "map", "select", "reject",
                    "selectattr", "rejectattr", "batch", "groupby", "center", "wordcount", "truncate", "format", "escape", "e",
                    "pprint").contains(Py.str(v));
            case "test" -> Set.of("defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
                    "string", "mapping", "iterable", "sequence", "callable", "odd", "even", "divisibleby", "eq", "equalto",
                    "ne", "lt", "le", "gt", "ge", "in", "sameas", "lower", "upper", "escaped", "filter", "test").contains(Py.str(v));
            default -> throw JinjaException.render("no test named '" + name + "'");
        };
    }

    // ---- methods ------------------------------------------------------------------------------------------

    /** The bound method {@code obj.name}, or null when {@code obj} has no such method. */
    Callable method(Object obj, String name, Interpreter in) {
        if (obj instanceof String s) {
            return Strings.method(s, name);
        }
        if (obj instanceof Map<?, ?> m) {
            if (UNSAFE_DICT.contains(name)) {
                return unsafe(name, "dict");
            }
            return switch (name) {
                case "items" -> (a, kw) -> items(m);
                case "keys" -> (a, kw) -> budget.list(new ArrayList<>(m.keySet()));
                case "values" -> (a, kw) -> budget.list(new ArrayList<>(m.values()));
                case "get" -> (a, kw) -> {
                    Object key = Py.normalize(arg(a, kw, 0, "key", null));
                    return Py.isHashable(key) && m.containsKey(key) ? m.get(key) : arg(a, kw, 1, "default", null);
                };
                case "copy" -> (a, kw) -> budget.map(new LinkedHashMap<>(m));
                default -> null;
            };
        }
        if (obj instanceof List<?> l) {
            if (UNSAFE_LIST.contains(name)) {
                return unsafe(name, "list");
            }
            return switch (name) {
                case "index" -> (a, kw) -> {
                    for (int k = 0; k < l.size(); k++) {
                        budget.step();
                        if (Py.eq(l.get(k), a.getFirst())) {
                            return (long) k;
                        }
                    }
                    throw JinjaException.render(Py.repr(a.getFirst()) + " is not in list");
                };
                case "count" -> (a, kw) -> {
                    budget.steps(l.size());
                    return l.stream().filter(x -> Py.eq(x, a.getFirst())).count();
                };
                case "copy" -> (a, kw) -> budget.list(new ArrayList<>(l));
                default -> null;
            };
        }
        return null;
    }

    private static Callable unsafe(String name, String type) {
        return (a, kw) -> {
            throw JinjaException.render("access to attribute '" + name + "' of '" + type + "' object is unsafe.");
        };
    }

    /** A conversion of {@code format % args}; possessive, so that no input makes the search backtrack. */
    private static final Pattern PERCENT = Pattern.compile("%([-+ 0#]*+)(\\d*+)(?:\\.(\\d++))?([sridfx%])");

    /** Python's {@code format % args} for %s, %r, %d, %i, %f, %x and %%. */
    static String percentFormat(String format, Object args) {
        List<Object> values = args instanceof List<?> l ? new ArrayList<>(l) : new ArrayList<>(java.util.Collections.singletonList(args));
        Budget budget = Budget.current();
        budget.perChar(format.length());
        Matcher m = PERCENT.matcher(format);
        StringBuilder sb = new StringBuilder();
        int next = 0;
        while (m.find()) {
            budget.steps(Budget.FIELD_STEPS);
            String conv = m.group(4);
            String rendered;
            if (conv.equals("%")) {
                rendered = "%";
            } else {
                if (next >= values.size()) {
                    throw JinjaException.render("not enough arguments for format string");
                }
                Object v = values.get(next++);
                long width = m.group(2).isEmpty() ? 0 : budget.length(m.group(2).length() > 18 ? Long.MAX_VALUE : Long.parseLong(m.group(2)));
                long precision = m.group(3) == null ? 6 : budget.length(m.group(3).length() > 18 ? Long.MAX_VALUE : Long.parseLong(m.group(3)));
                budget.length(width + precision + 320); // the digits of the largest double, padded
                String spec = "%" + m.group(1) + m.group(2);
                rendered = switch (conv) {
                    case "s" -> String.format(spec + "s", Py.str(v));
                    case "r" -> String.format(spec + "s", Py.repr(v));
                    case "d", "i" -> String.format(spec + "d", Py.isIntegral(v) ? Py.asLong(v) : (long) Py.asDouble(number(v)));
                    case "x" -> String.format(spec + "x", Py.asLong(number(v)));
                    default -> String.format(spec + "." + (m.group(3) == null ? "6" : m.group(3)) + "f", Py.asDouble(number(v)));
                };
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(rendered));
            budget.check(sb);
        }
        m.appendTail(sb);
        return budget.string(budget.check(sb).toString());
    }
}
