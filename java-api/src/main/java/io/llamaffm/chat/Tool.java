package io.llamaffm.chat;

import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;

import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A function the model may call: its name, what it does, and a JSON Schema of its arguments (an object).
 *
 * @param name        1 to 64 letters, digits, {@code _}, {@code -} or {@code .}
 * @param description what the tool does, for the model; may be empty
 * @param parameters  a JSON Schema for the arguments object, as compact JSON text (normalized on construction)
 */
public record Tool(String name, String description, String parameters) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    /**
     * Checks the name and that the parameters are a JSON object.
     *
     * @throws IllegalArgumentException if the name is not allowed or the parameters are not a JSON object
     */
    public Tool {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(parameters, "parameters");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a tool name is 1 to 64 letters, digits, '_', '-' or '.', got \"" + name + "\"");
        }
        Object schema;
        try {
            schema = JsonParser.parse(parameters);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the parameters of tool " + name + " are not JSON: " + e.getMessage(), e);
        }
        if (!(schema instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("the parameters of tool " + name + " must be a JSON Schema object");
        }
        parameters = NlohmannJson.dump(schema);
    }

    /**
     * A tool whose arguments follow {@code parametersSchema}.
     *
     * @param name             the tool's name
     * @param description      what it does
     * @param parametersSchema a JSON Schema object for its arguments
     * @return the tool
     */
    public static Tool of(String name, String description, String parametersSchema) {
        return new Tool(name, description, parametersSchema);
    }

    /** {@return the parameters schema as parsed JSON (maps, lists, strings, numbers, booleans)} */
    Map<?, ?> schema() {
        return (Map<?, ?>) JsonParser.parse(parameters);
    }
}
