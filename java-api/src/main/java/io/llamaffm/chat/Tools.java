package io.llamaffm.chat;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The tools a conversation offers the model, whether and which it must call, and whether it may call several at
 * once. Start from {@link #of}.
 *
 * @param tools         the tools, names unique
 * @param choice        none, auto, required, or one named tool (which must be among the tools)
 * @param parallelCalls whether one reply may call several tools
 */
public record Tools(List<Tool> tools, ToolChoice choice, boolean parallelCalls) {
    /**
     * Checks the tools against the choice.
     *
     * @throws IllegalArgumentException for duplicate names, a named tool that is not offered, or a choice that
     *                                  needs tools when there are none
     */
    public Tools {
        tools = List.copyOf(tools);
        Objects.requireNonNull(choice, "choice");
        Set<String> names = new HashSet<>();
        for (Tool t : tools) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("two tools are named " + t.name());
            }
        }
        if (choice.mode() == ToolChoice.Mode.NAMED && !names.contains(choice.name())) {
            throw new IllegalArgumentException("the tool choice names " + choice.name() + ", which is not among the tools "
                    + names);
        }
        if (tools.isEmpty() && (choice.mode() == ToolChoice.Mode.REQUIRED || choice.mode() == ToolChoice.Mode.NAMED)) {
            throw new IllegalArgumentException("tool choice " + choice.mode() + " needs at least one tool");
        }
    }

    /**
     * Offers tools with {@link ToolChoice#AUTO} and parallel calls allowed.
     *
     * @param tools the tools
     * @return the tool options
     */
    public static Tools of(Tool... tools) {
        return new Tools(List.of(tools), ToolChoice.AUTO, true);
    }

    /**
     * Sets the tool choice.
     *
     * @param c none, auto, required or a named tool
     * @return a copy with that change
     */
    public Tools withChoice(ToolChoice c) {
        return new Tools(tools, c, parallelCalls);
    }

    /**
     * Sets whether one reply may call several tools.
     *
     * @param on true to allow several calls
     * @return a copy with that change
     */
    public Tools withParallelCalls(boolean on) {
        return new Tools(tools, choice, on);
    }

    /** {@return whether the model sees the tools and may call them: some tools, and a choice other than NONE} */
    public boolean active() {
        return !tools.isEmpty() && choice.mode() != ToolChoice.Mode.NONE;
    }

    /**
     * The tool with this name.
     *
     * @param name a tool name
     * @return the tool, if offered
     */
    public Optional<Tool> find(String name) {
        return tools.stream().filter(t -> t.name().equals(name)).findFirst();
    }
}
