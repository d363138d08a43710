package io.llamaffm.internal.jinja;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A compiled Jinja2 template, rendered with the semantics Hugging Face's {@code apply_chat_template} uses:
 * Python values and methods, Jinja2 scoping, {@code trim_blocks} and {@code lstrip_blocks}, an immutable sandbox,
 * and the globals {@code raise_exception} and {@code strftime_now}. Immutable and safe to share between threads.
 */
public final class Template {
    private final List<Node.Stmt> body;

    private Template(List<Node.Stmt> body) {
        this.body = body;
    }

    /**
     * Parses a template.
     *
     * @throws JinjaException of kind SYNTAX with the line of the error
     */
    public static Template parse(String source) {
        try {
            return new Template(Parser.parse(source));
        } catch (StackOverflowError e) {
            throw new JinjaException(JinjaException.Kind.SYNTAX, 0, "the template nests too deeply");
        }
    }

    /**
     * Renders with the given variables: null, Boolean, Integer/Long, Float/Double, String, List and Map values
     * (nested freely); a Map given here is never modified.
     *
     * @param clock the time {@code strftime_now} reads
     * @throws JinjaException if rendering fails or the template raises
     */
    public String render(Map<String, ?> variables, Clock clock) {
        Builtins builtins = new Builtins(clock);
        Interpreter.Scope globals = new Interpreter.Scope(null);
        builtins.globals().forEach(globals::set);
        variables.forEach((k, v) -> globals.set(k, toValue(v)));
        return new Interpreter(builtins).render(body, globals);
    }

    /**
     * A dict that records whether the template read one of its keys (by {@code m.key}, {@code m['key']} or
     * {@code m.get('key')}); passed through {@link #render} as it is.
     */
    public static final class WatchedMap extends LinkedHashMap<Object, Object> {
        private final Object watchedKey;
        private volatile boolean read;

        /** Watches reads of {@code watchedKey}; fill the map with template values. */
        public WatchedMap(Object watchedKey) {
            this.watchedKey = watchedKey;
        }

        @Override
        public Object get(Object key) {
            if (watchedKey.equals(key)) {
                read = true;
            }
            return super.get(key);
        }

        /** Whether the watched key was read. */
        public boolean wasRead() {
            return read;
        }
    }

    /** Converts Java data to template values: integers to Long, floats to Double (BigDecimal by its scale), collections copied. */
    public static Object toValue(Object v) {
        return switch (v) {
            case null -> null;
            case WatchedMap w -> w;
            case String s -> s;
            case Boolean b -> b;
            case Long l -> l;
            case Integer i -> i.longValue();
            case Short s -> s.longValue();
            case Byte b -> b.longValue();
            case Double d -> d;
            case Float f -> f.doubleValue();
            case java.math.BigDecimal d -> { // parsed JSON: whole numbers that fit are integers, as Python reads them
                try {
                    yield d.scale() <= 0 ? (Object) d.longValueExact() : (Object) d.doubleValue();
                } catch (ArithmeticException e) {
                    yield d.doubleValue();
                }
            }
            case java.math.BigInteger i -> i.bitLength() < 64 ? (Object) i.longValue() : (Object) i.doubleValue();
            case Map<?, ?> m -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                m.forEach((k, val) -> out.put(toValue(k), toValue(val)));
                yield out;
            }
            case Iterable<?> it -> {
                List<Object> out = new ArrayList<>();
                it.forEach(x -> out.add(toValue(x)));
                yield out;
            }
            case Object[] arr -> toValue(java.util.Arrays.asList(arr));
            default -> throw new IllegalArgumentException("a template value must be null, a Boolean, a number, a String, "
                    + "a List or a Map, not " + v.getClass().getName());
        };
    }
}
