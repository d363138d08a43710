package io.llamaffm.chat;

import io.llamaffm.Configuration;

/**
 * What a chat template may use. A template is code, often from a model file, and a hostile one could otherwise loop
 * for hours or fill the heap; a template that reaches a limit fails with a {@link ChatTemplateException} of kind
 * {@link ChatTemplateException.Kind#LIMIT} that names the limit, within about a second. The defaults are far above
 * what real templates use (RELIABILITY.md gives the margins: every template of llama.cpp's collection rendering a
 * conversation of 50 messages with tools uses less than a tenth of each). Start from {@link #defaults()} and change
 * what you need with the {@code withX} methods.
 *
 * @param maxSourceChars    the most chars a template's source may have (checked when it is parsed)
 * @param maxNestingDepth   how deeply blocks, brackets, operators and filters may nest in the source, and blocks,
 *                          expressions, macro calls (recursion included) and the values a filter walks (a JSON or repr
 *                          rendering, a comparison) while rendering
 * @param maxSteps          the most steps one render may take: each statement, loop iteration, expression evaluated and
 *                          call is a step, and work in proportion to a value's size (a filter or method that reads or
 *                          writes 64 chars or items, a comparison or a JSON or repr rendering of each nested item) adds
 *                          steps of its own
 * @param maxOutputChars    the most chars one render may write (also the most any macro or block may write)
 * @param maxValueLength    the most chars of one string, or items of one list or dict, that a render may create
 * @param maxAllocatedBytes the most bytes, estimated, of all the strings, lists and dicts one render creates, kept or
 *                          not, its output included: 2 a char, 8 a list item, 48 a dict entry, 40 each value (what the
 *                          JVM takes at least)
 */
public record TemplateLimits(int maxSourceChars, int maxNestingDepth, long maxSteps, long maxOutputChars,
                             long maxValueLength, long maxAllocatedBytes) {
    /** The built-in default of {@link #maxSourceChars()}: 1 Mi chars. */
    public static final int DEFAULT_MAX_SOURCE_CHARS = 1 << 20;
    /** The built-in default of {@link #maxNestingDepth()}: deep enough for any real template, shallow enough for a thread's default stack (1 MiB). */
    public static final int DEFAULT_MAX_NESTING_DEPTH = 1000;
    /** The built-in default of {@link #maxSteps()}: 2 Mi steps (well under a second of work). */
    public static final long DEFAULT_MAX_STEPS = 2L << 20;
    /** The built-in default of {@link #maxOutputChars()}: 4 Mi chars. */
    public static final long DEFAULT_MAX_OUTPUT_CHARS = 4L << 20;
    /** The built-in default of {@link #maxValueLength()}: 4 Mi chars or items. */
    public static final long DEFAULT_MAX_VALUE_LENGTH = 4L << 20;
    /** The built-in default of {@link #maxAllocatedBytes()}: 64 MiB. */
    public static final long DEFAULT_MAX_ALLOCATED_BYTES = 64L << 20;

    /**
     * Checks the components.
     *
     * @throws IllegalArgumentException if a limit is not positive
     */
    public TemplateLimits {
        positive("maxSourceChars", maxSourceChars);
        positive("maxNestingDepth", maxNestingDepth);
        positive("maxSteps", maxSteps);
        positive("maxOutputChars", maxOutputChars);
        positive("maxValueLength", maxValueLength);
        positive("maxAllocatedBytes", maxAllocatedBytes);
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }

    /**
     * {@return the built-in defaults, each replaced by its property where one is set: {@code llamaffm.template.max.source},
     * {@code .depth}, {@code .steps}, {@code .output}, {@code .value} and {@code .allocation} (see {@link Configuration})}
     *
     * @throws io.llamaffm.LlamaException if a property is not a positive number
     */
    public static TemplateLimits defaults() {
        return new TemplateLimits(
                (int) Configuration.templateLimit(Configuration.TEMPLATE_MAX_SOURCE, DEFAULT_MAX_SOURCE_CHARS, Integer.MAX_VALUE),
                (int) Configuration.templateLimit(Configuration.TEMPLATE_MAX_DEPTH, DEFAULT_MAX_NESTING_DEPTH, Integer.MAX_VALUE),
                Configuration.templateLimit(Configuration.TEMPLATE_MAX_STEPS, DEFAULT_MAX_STEPS, Long.MAX_VALUE),
                Configuration.templateLimit(Configuration.TEMPLATE_MAX_OUTPUT, DEFAULT_MAX_OUTPUT_CHARS, Integer.MAX_VALUE),
                Configuration.templateLimit(Configuration.TEMPLATE_MAX_VALUE, DEFAULT_MAX_VALUE_LENGTH, Integer.MAX_VALUE),
                Configuration.templateLimit(Configuration.TEMPLATE_MAX_ALLOCATION, DEFAULT_MAX_ALLOCATED_BYTES, Long.MAX_VALUE));
    }

    /**
     * Sets the most chars a template's source may have.
     *
     * @param chars the limit
     * @return a copy with that change
     */
    public TemplateLimits withMaxSourceChars(int chars) {
        return new TemplateLimits(chars, maxNestingDepth, maxSteps, maxOutputChars, maxValueLength, maxAllocatedBytes);
    }

    /**
     * Sets how deeply a template may nest.
     *
     * @param depth the limit; past about 1000, a thread with the default stack (1 MiB) may run out of stack first, which
     *              ends the render with the same exception
     * @return a copy with that change
     */
    public TemplateLimits withMaxNestingDepth(int depth) {
        return new TemplateLimits(maxSourceChars, depth, maxSteps, maxOutputChars, maxValueLength, maxAllocatedBytes);
    }

    /**
     * Sets the most steps one render may take.
     *
     * @param steps the limit
     * @return a copy with that change
     */
    public TemplateLimits withMaxSteps(long steps) {
        return new TemplateLimits(maxSourceChars, maxNestingDepth, steps, maxOutputChars, maxValueLength, maxAllocatedBytes);
    }

    /**
     * Sets the most chars one render may write.
     *
     * @param chars the limit
     * @return a copy with that change
     */
    public TemplateLimits withMaxOutputChars(long chars) {
        return new TemplateLimits(maxSourceChars, maxNestingDepth, maxSteps, chars, maxValueLength, maxAllocatedBytes);
    }

    /**
     * Sets the most chars or items one string, list or dict created by a render may have.
     *
     * @param length the limit
     * @return a copy with that change
     */
    public TemplateLimits withMaxValueLength(long length) {
        return new TemplateLimits(maxSourceChars, maxNestingDepth, maxSteps, maxOutputChars, length, maxAllocatedBytes);
    }

    /**
     * Sets the most bytes (estimated) of all values one render may create.
     *
     * @param bytes the limit
     * @return a copy with that change
     */
    public TemplateLimits withMaxAllocatedBytes(long bytes) {
        return new TemplateLimits(maxSourceChars, maxNestingDepth, maxSteps, maxOutputChars, maxValueLength, bytes);
    }
}
