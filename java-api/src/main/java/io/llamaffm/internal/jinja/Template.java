package io.llamaffm.internal.jinja;

import io.llamaffm.chat.TemplateLimits;

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
    private final int depth;

    private Template(List<Node.Stmt> body, int depth) {
        this.body = body;
        this.depth = depth;
    }

    /**
     * Parses a template within the source length and nesting depth of {@code limits}.
     *
     * @throws JinjaException of kind SYNTAX with the line of the error, or LIMIT if the source is too long or nests too deeply
     */
    public static Template parse(String source, TemplateLimits limits) {
        if (source.length() > limits.maxSourceChars()) {
            throw new JinjaException(JinjaException.Kind.LIMIT, 0, "the template has " + source.length() + " chars, more than "
                    + limits.maxSourceChars() + Budget.raise("maxSourceChars", "withMaxSourceChars", "source"));
        }
        try {
            Parser.Parsed parsed = Parser.parse(source, limits.maxNestingDepth());
            return new Template(parsed.body(), parsed.depth());
        } catch (JinjaException e) {
            throw e;
        } catch (RuntimeException e) { // an input the parser did not foresee: report it, never crash
            throw new JinjaException(JinjaException.Kind.SYNTAX, 0, "unsupported template: " + e);
        } catch (StackOverflowError e) { // the last resort: the depth limit is set to stop well before
            throw new JinjaException(JinjaException.Kind.LIMIT, 0, "the template nests too deeply for this thread's stack"
                    + Budget.raise("maxNestingDepth", "withMaxNestingDepth", "depth") + " lower, or give the thread a larger stack");
        }
    }

    /** {@return how deeply the template nests (blocks, brackets, operators and filters)} */
    public int depth() {
        return depth;
    }

    /**
     * Renders with the given variables: null, Boolean, Integer/Long, Float/Double, String, List and Map values
     * (nested freely); a Map given here is never modified.
     *
     * @param clock  the time {@code strftime_now} reads
     * @param budget what the render may use (one per render); it tells afterwards what the render used
     * @throws JinjaException if rendering fails, the template raises, or it reaches a limit (kind LIMIT)
     */
    public String render(Map<String, ?> variables, Clock clock, Budget budget) {
        Builtins builtins = new Builtins(clock, budget);
        Interpreter.Scope globals = new Interpreter.Scope(null);
        builtins.globals().forEach(globals::set);
        variables.forEach((k, v) -> globals.set(k, toValue(v)));
        Interpreter interpreter = new Interpreter(builtins, budget);
        return ScopedValue.where(Budget.CURRENT, budget).call(() -> interpreter.render(body, globals));
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
