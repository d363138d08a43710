package io.llamaffm.langchain4j;

import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.json.JsonAnyOfSchema;
import dev.langchain4j.model.chat.request.json.JsonArraySchema;
import dev.langchain4j.model.chat.request.json.JsonBooleanSchema;
import dev.langchain4j.model.chat.request.json.JsonEnumSchema;
import dev.langchain4j.model.chat.request.json.JsonIntegerSchema;
import dev.langchain4j.model.chat.request.json.JsonNullSchema;
import dev.langchain4j.model.chat.request.json.JsonNumberSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.langchain4j.model.chat.request.json.JsonReferenceSchema;
import dev.langchain4j.model.chat.request.json.JsonSchemaElement;
import dev.langchain4j.model.chat.request.json.JsonStringSchema;

import java.util.Collection;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Writes a LangChain4j {@link JsonSchemaElement} as JSON Schema text, the input of
 * {@link io.llamaffm.grammar.JsonSchemaToGrammar}. Descriptions are left out: they do not constrain the output.
 * References point into {@code #/$defs/}, where an object schema's definitions go.
 */
final class JsonSchemaText {
    private JsonSchemaText() {}

    /** The JSON Schema text of {@code element}. */
    static String of(JsonSchemaElement element) {
        StringBuilder out = new StringBuilder();
        write(element, out);
        return out.toString();
    }

    private static void write(JsonSchemaElement element, StringBuilder out) {
        switch (element) {
            case JsonObjectSchema o -> object(o, out);
            case JsonArraySchema a -> {
                out.append("{\"type\":\"array\"");
                if (a.items() != null) {
                    write(a.items(), out.append(",\"items\":"));
                }
                out.append('}');
            }
            case JsonAnyOfSchema a -> list(a.anyOf(), out.append("{\"anyOf\":")).append('}');
            case JsonEnumSchema e -> strings(e.enumValues(), out.append("{\"type\":\"string\",\"enum\":")).append('}');
            case JsonStringSchema s -> out.append("{\"type\":\"string\"}");
            case JsonIntegerSchema i -> out.append("{\"type\":\"integer\"}");
            case JsonNumberSchema n -> out.append("{\"type\":\"number\"}");
            case JsonBooleanSchema b -> out.append("{\"type\":\"boolean\"}");
            case JsonNullSchema n -> out.append("{\"type\":\"null\"}");
            case JsonReferenceSchema r -> string("#/$defs/" + r.reference(), out.append("{\"$ref\":")).append('}');
            case JsonRawSchema r -> out.append(r.schema());
            default -> throw new UnsupportedFeatureException("JSON schema element " + element.getClass().getSimpleName()
                    + " is not supported by llama-ffm's response format");
        }
    }

    private static void object(JsonObjectSchema o, StringBuilder out) {
        out.append("{\"type\":\"object\"");
        if (o.properties() != null && !o.properties().isEmpty()) {
            map(o.properties(), out.append(",\"properties\":"));
        }
        if (o.required() != null && !o.required().isEmpty()) {
            strings(o.required(), out.append(",\"required\":"));
        }
        if (o.additionalProperties() != null) {
            out.append(",\"additionalProperties\":").append(o.additionalProperties());
        }
        if (o.definitions() != null && !o.definitions().isEmpty()) {
            map(o.definitions(), out.append(",\"$defs\":"));
        }
        out.append('}');
    }

    private static StringBuilder map(Map<String, JsonSchemaElement> elements, StringBuilder out) {
        return join('{', elements.entrySet(), (e, o) -> write(e.getValue(), string(e.getKey(), o).append(':')), '}', out);
    }

    private static StringBuilder list(Collection<JsonSchemaElement> elements, StringBuilder out) {
        return join('[', elements, JsonSchemaText::write, ']', out);
    }

    private static StringBuilder strings(Collection<String> values, StringBuilder out) {
        return join('[', values, JsonSchemaText::string, ']', out);
    }

    /** {@code open}, the items written by {@code item} and separated by commas, {@code close}. */
    private static <T> StringBuilder join(char open, Iterable<T> items, BiConsumer<T, StringBuilder> item, char close,
                                          StringBuilder out) {
        out.append(open);
        String separator = "";
        for (T t : items) {
            item.accept(t, out.append(separator));
            separator = ",";
        }
        return out.append(close);
    }

    /** A JSON string literal: quotes, backslashes and control characters escaped. */
    private static StringBuilder string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"');
    }
}
