package io.llamaffm.chat;

import io.llamaffm.LlamaException;

/**
 * A chat template could not be used: it does not parse, it failed while rendering, it refused the conversation
 * with {@code raise_exception(...)}, it reached one of its {@link TemplateLimits}, or the model has none. The message
 * names the template line where known.
 */
public final class ChatTemplateException extends LlamaException {
    /** Why the template could not be used. */
    public enum Kind {
        /** The template is not valid Jinja. */
        SYNTAX,
        /** The template called {@code raise_exception(message)}, usually to refuse a conversation it cannot format. */
        RAISED,
        /** Rendering failed: an undefined value used, a type mismatch, an unsupported feature. */
        RENDER,
        /** The model's metadata holds no chat template. */
        MISSING,
        /**
         * The template reached one of its {@link TemplateLimits} (too long, nested too deeply, too many steps, too much
         * output, a value too long or too much memory): the message names the limit and how to raise it.
         */
        LIMIT
    }

    /** The kind of failure. */
    private final Kind kind;
    /** The 1-based template line, or 0. */
    private final int line;
    /** The bare reason. */
    private final String reason;

    ChatTemplateException(Kind kind, int line, String reason) {
        super(describe(kind, line, reason));
        this.kind = kind;
        this.line = line;
        this.reason = reason;
    }

    private static String describe(Kind kind, int line, String reason) {
        String where = line > 0 ? " (template line " + line + ")" : "";
        return switch (kind) {
            case SYNTAX -> "chat template syntax error" + where + ": " + reason;
            case RAISED -> "the chat template refused the conversation" + where + ": " + reason;
            case RENDER -> "chat template rendering failed" + where + ": " + reason;
            case MISSING -> reason;
            case LIMIT -> "chat template stopped at a limit" + where + ": " + reason;
        };
    }

    /** {@return why the template could not be used} */
    public Kind kind() {
        return kind;
    }

    /** {@return the template line (1-based) where it failed, or 0 when unknown} */
    public int line() {
        return line;
    }

    /** {@return the bare reason, without kind and line: for {@link Kind#RAISED} the template's own message} */
    public String reason() {
        return reason;
    }
}
