package io.llamaffm.internal.jinja;

/** An error of the template engine: where it happened (template line, 0 if unknown) and what kind it is. */
public final class JinjaException extends RuntimeException {
    /** What went wrong. */
    public enum Kind {
        /** The template does not parse. */
        SYNTAX,
        /** The template called {@code raise_exception(message)}. */
        RAISED,
        /** An error while rendering: an undefined value used, a type mismatch, an unsupported operation. */
        RENDER,
        /** The template reached one of its limits ({@link io.llamaffm.chat.TemplateLimits}) while parsing or rendering. */
        LIMIT
    }

    private final Kind kind;
    private final int line;

    JinjaException(Kind kind, int line, String message) {
        super(message);
        this.kind = kind;
        this.line = line;
    }

    /** The kind of error. */
    public Kind kind() {
        return kind;
    }

    /** The template line (1-based), or 0 when unknown. */
    public int line() {
        return line;
    }

    static JinjaException render(String message) {
        return new JinjaException(Kind.RENDER, 0, message);
    }

    JinjaException atLine(int newLine) {
        return line != 0 || newLine == 0 ? this : new JinjaException(kind, newLine, getMessage());
    }
}
