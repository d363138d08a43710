package io.llamaffm.internal.jinja;

import io.llamaffm.chat.TemplateLimits;

import java.util.Collection;
import java.util.Map;

/**
 * What one render may still use, and what it has used: steps (time), output, the length of each value created, the
 * bytes of all values created (memory) and nesting (stack). Every loop iteration, statement, expression and call takes
 * a step, and work in proportion to a value's size takes steps in proportion ({@link #work}); every string, list and
 * dict the render creates is checked against the value length and charged to the allocation ({@link #string},
 * {@link #list}), and operations that multiply a size check the size before they allocate ({@link #length}).
 * Reaching a limit throws {@link JinjaException} of kind {@link JinjaException.Kind#LIMIT}.
 *
 * <p>One per render, used by the rendering thread only; the engine's static helpers find it as {@link #current()}.
 * The counters are plain longs: the cost on the hot path is an increment and a compare.
 */
public final class Budget {
    /** The budget of the render running on this thread. */
    static final ScopedValue<Budget> CURRENT = ScopedValue.newInstance();

    /** Chars or items read or written per step of {@link #work}. */
    static final int WORK_PER_STEP = 64;
    /** How much slower a regular expression, or a loop over code points, reads a char than a plain scan or copy. */
    static final int PER_CHAR_COST = 8;
    /** Steps a call costs beyond its own (a macro's scope and buffer, a builtin's arguments copied). */
    static final int CALL_STEPS = 4;
    /** Steps a formatted field costs ({@code %d}, {@code {0}}: a format call, a replacement appended). */
    static final int FIELD_STEPS = 16;
    /**
     * Estimated bytes, at least what the JVM takes (64-bit, compressed references): a char (two in a UTF-16 string), a
     * list item (a reference, with room for the list's growth), a dict entry (a linked hash map's entry and its slot
     * in the table), a value (the headers of a string and its array, of a list and its array, of a boxed number).
     */
    static final int CHAR_BYTES = 2;
    static final int ITEM_BYTES = 8;
    static final int ENTRY_BYTES = 48;
    static final int VALUE_BYTES = 40;

    private final long maxSteps;
    private final long maxValueLength;
    private final long maxAllocated;
    private final long maxOutput;
    private final int maxDepth;
    private long steps;
    private long allocated;
    private long largestValue;
    private int depth;
    private int deepest;

    /** A budget with these limits, nothing used yet. */
    public Budget(TemplateLimits limits) {
        this.maxSteps = limits.maxSteps();
        this.maxValueLength = limits.maxValueLength();
        this.maxAllocated = limits.maxAllocatedBytes();
        this.maxOutput = limits.maxOutputChars();
        this.maxDepth = limits.maxNestingDepth();
    }

    /** The budget of the render on this thread. */
    static Budget current() {
        return CURRENT.get();
    }

    // ---- time -----------------------------------------------------------------------------------------------

    /** One step: a statement, loop iteration, expression or call. */
    void step() {
        if (++steps > maxSteps) {
            throw stepsExceeded();
        }
    }

    /** {@code n} steps at once. */
    void steps(long n) {
        steps += n;
        if (steps > maxSteps || steps < 0) {
            throw stepsExceeded();
        }
    }

    /** A regular expression, or a loop over code points, reading {@code n} chars. */
    void perChar(long n) {
        work(times(n, PER_CHAR_COST));
    }

    /** Work in proportion to {@code n} chars or items read or written: a step per {@value #WORK_PER_STEP}. */
    void work(long n) {
        if (n >= WORK_PER_STEP) {
            steps(n / WORK_PER_STEP);
        }
    }

    // ---- stack ----------------------------------------------------------------------------------------------

    /** Enters one level of nesting (a block, an expression, a call); pair with {@link #exit()}. */
    void enter() {
        if (++depth > maxDepth) {
            depth = 0; // the render ends here
            throw new JinjaException(JinjaException.Kind.LIMIT, 0, "the template nests deeper than " + maxDepth
                    + " levels while rendering (blocks, expressions and macro calls, recursion included)"
                    + raise("maxNestingDepth", "withMaxNestingDepth", "depth"));
        }
        if (depth > deepest) {
            deepest = depth;
        }
    }

    void exit() {
        depth--;
    }

    // ---- memory ---------------------------------------------------------------------------------------------

    /** Checks the length of a value about to be created (chars or items) before it is allocated; returns it. */
    long length(long n) {
        if (n > maxValueLength || n < 0) {
            throw new JinjaException(JinjaException.Kind.LIMIT, 0, "a value of " + (n < 0 ? "more than " + Long.MAX_VALUE : n)
                    + " chars or items would be longer than " + maxValueLength + ", the most one string, list or dict may have"
                    + raise("maxValueLength", "withMaxValueLength", "value"));
        }
        if (n > largestValue) {
            largestValue = n;
        }
        return n;
    }

    /** {@code a * b}, or a length over every limit when it overflows. */
    static long times(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** A string the render created: checks its length and charges it. */
    String string(String s) {
        length(s.length());
        allocate(VALUE_BYTES + (long) CHAR_BYTES * s.length());
        work(s.length());
        return s;
    }

    /** A list (or tuple) the render created: checks its size and charges it. */
    <T extends Collection<?>> T list(T items) {
        length(items.size());
        allocate(VALUE_BYTES + (long) ITEM_BYTES * items.size());
        work(items.size());
        return items;
    }

    /** A dict the render created: checks its size and charges it. */
    <T extends Map<?, ?>> T map(T map) {
        length(map.size());
        allocate(VALUE_BYTES + (long) ENTRY_BYTES * map.size());
        work(map.size());
        return map;
    }

    /** {@code count} strings of {@code chars} chars in all, created as the items of a list: charges them. */
    void strings(long count, long chars) {
        allocate(VALUE_BYTES * count + CHAR_BYTES * chars);
    }

    /** Checks a string being built: it may not grow past the value length. */
    StringBuilder check(StringBuilder sb) {
        if (sb.length() > maxValueLength) {
            length(sb.length());
        }
        return sb;
    }

    private void allocate(long bytes) {
        allocated += bytes;
        if (allocated > maxAllocated) {
            throw new JinjaException(JinjaException.Kind.LIMIT, 0, "the values created while rendering exceeded " + maxAllocated
                    + " bytes (estimated: " + CHAR_BYTES + " a char, " + ITEM_BYTES + " a list item, " + ENTRY_BYTES + " a dict entry, "
                    + VALUE_BYTES + " a value)" + raise("maxAllocatedBytes", "withMaxAllocatedBytes", "allocation"));
        }
    }

    // ---- output ---------------------------------------------------------------------------------------------

    /** Appends text to the output (or to a macro's or block's): checks the output limit and charges the chars. */
    void emit(StringBuilder out, String text) {
        if ((long) out.length() + text.length() > maxOutput) {
            throw new JinjaException(JinjaException.Kind.LIMIT, 0, "the rendered text would exceed " + maxOutput + " chars"
                    + raise("maxOutputChars", "withMaxOutputChars", "output"));
        }
        allocate((long) CHAR_BYTES * text.length());
        work(text.length());
        out.append(text);
    }

    // ---- reporting ------------------------------------------------------------------------------------------

    private JinjaException stepsExceeded() {
        steps = maxSteps; // stays at the limit: the render ends here
        return new JinjaException(JinjaException.Kind.LIMIT, 0, "the template took more than " + maxSteps + " steps (loop "
                + "iterations, statements, expressions and calls, and work in proportion to the size of values)"
                + raise("maxSteps", "withMaxSteps", "steps"));
    }

    /** How to raise a limit: the component, its withX method and its property. */
    static String raise(String component, String with, String key) {
        return "; raise TemplateLimits." + component + " with TemplateLimits." + with + "(..) or -Dllamaffm.template.max." + key;
    }

    /** What the render used, for measurements. */
    public record Usage(long steps, long allocatedBytes, long largestValue, int deepestNesting) {}

    /** What the render has used so far. */
    public Usage usage() {
        return new Usage(steps, allocated, largestValue, deepest);
    }
}
