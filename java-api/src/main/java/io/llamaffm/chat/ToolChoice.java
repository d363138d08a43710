package io.llamaffm.chat;

import java.util.Objects;

/**
 * Whether and which tool the model calls.
 *
 * @param mode the kind of choice
 * @param name the tool that must be called, with {@link Mode#NAMED}; null otherwise
 */
public record ToolChoice(Mode mode, String name) {
    /** The kinds of choice. */
    public enum Mode {
        /** No tool: the model answers in text, the tools are not shown to it. */
        NONE,
        /** The model answers in text or calls tools, as it decides. */
        AUTO,
        /** The model calls at least one tool. */
        REQUIRED,
        /** The model calls the named tool. */
        NAMED
    }

    /** No tool is called. */
    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    /** Text or tool calls, as the model decides. */
    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    /** At least one tool call. */
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    /**
     * Checks that a name comes with {@link Mode#NAMED} and only then.
     *
     * @throws IllegalArgumentException otherwise
     */
    public ToolChoice {
        Objects.requireNonNull(mode, "mode");
        if ((mode == Mode.NAMED) != (name != null)) {
            throw new IllegalArgumentException(mode == Mode.NAMED ? "a named tool choice needs the tool's name"
                    : "only a NAMED tool choice has a name");
        }
    }

    /**
     * The model must call this tool.
     *
     * @param tool the tool's name
     * @return the choice
     */
    public static ToolChoice named(String tool) {
        return new ToolChoice(Mode.NAMED, Objects.requireNonNull(tool, "tool"));
    }
}
