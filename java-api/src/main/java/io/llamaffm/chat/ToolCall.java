package io.llamaffm.chat;

import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;

import java.util.Map;
import java.util.Objects;

/**
 * A call of a tool by the model.
 *
 * @param id        the call's id, unique within the conversation; a tool result names it
 * @param name      the tool called
 * @param arguments the arguments, a JSON object as compact text (normalized on construction)
 */
public record ToolCall(String id, String name, String arguments) {
    /**
     * Checks the fields.
     *
     * @throws IllegalArgumentException if the id or name is blank or the arguments are not a JSON object
     */
    public ToolCall {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
        if (id.isBlank() || name.isBlank()) {
            throw new IllegalArgumentException("a tool call needs an id and a name");
        }
        Object args = JsonParser.parse(arguments);
        if (!(args instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("the arguments of a tool call must be a JSON object, got " + arguments);
        }
        arguments = NlohmannJson.dump(args);
    }

    /** {@return a fresh call id: {@code call_} and 24 random hex digits} */
    public static String newId() {
        return "call_" + java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }
}
