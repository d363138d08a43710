package io.llamaffm.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;

import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.Map;

/**
 * The server's JSON: one Jackson mapper with the OpenAI conventions (snake_case names, unknown fields ignored) and
 * strict types (no coercion of {@code "12"} to a number, of numbers to strings, or of {@code 1.5} to an integer;
 * duplicate keys and trailing content refused), and the translation of Jackson's errors into {@link ApiException}s
 * that name the field at fault.
 */
final class ApiJson {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .build();

    private ApiJson() {}

    /**
     * Binds a request tree (from {@link #parseTree}) to {@code type}.
     *
     * @throws ApiException 400 naming the field whose value has the wrong type
     */
    static <T> T bind(JsonNode tree, Class<T> type) {
        try {
            return MAPPER.treeToValue(tree, type);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw translate(e, tree);
        }
    }

    /**
     * Parses a request body, which must be one JSON object.
     *
     * @throws ApiException 400 for an empty body, malformed JSON, duplicate keys, a body that is not UTF-8, or a value that
     *                      is not an object
     */
    static JsonNode parseTree(byte[] body) {
        if (looksUtf16or32(body)) { // Jackson would detect and read these; the API takes UTF-8 (RFC 8259, section 8.1)
            throw ApiException.invalid("We could not parse the JSON body of your request: it must be UTF-8 (it looks like "
                    + "UTF-16 or UTF-32).", null, "invalid_json");
        }
        JsonNode tree;
        try {
            tree = MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw translate(e, null);
        }
        if (tree == null || tree.isMissingNode()) {
            throw ApiException.invalid("The request body is empty: send a JSON object.", null, "invalid_json");
        }
        if (!tree.isObject()) {
            throw ApiException.invalid("The request body must be a JSON object, got " + kind(tree) + ".", null, "invalid_json");
        }
        return tree;
    }

    /** Whether {@code body} starts with a UTF-16 byte order mark or has a zero byte among its first four (UTF-16/32 JSON). */
    private static boolean looksUtf16or32(byte[] body) {
        if (body.length >= 2 && ((body[0] == (byte) 0xFE && body[1] == (byte) 0xFF) || (body[0] == (byte) 0xFF && body[1] == (byte) 0xFE))) {
            return true;
        }
        for (int i = 0; i < Math.min(4, body.length); i++) {
            if (body[i] == 0) {
                return true;
            }
        }
        return false;
    }

    /** The compact JSON text of {@code value}. */
    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ApiException translate(Exception e, JsonNode tree) {
        if (e instanceof IllegalArgumentException iae && iae.getCause() instanceof JacksonException je) {
            e = je;
        }
        if (e instanceof MismatchedInputException mi && !mi.getPath().isEmpty()) {
            String param = path(mi);
            String expected = expected(mi.getTargetType());
            String field = mi.getPath().getFirst().getFieldName();
            if (tree != null && field != null && param.startsWith(field + "[0]") && !tree.path(field).isArray()) {
                // a field that takes one value or an array of them ("stop": 5): name the field, not its element
                param = field;
                expected += " or an array of them";
            }
            return ApiException.invalid("Invalid type for '" + param + "': expected " + expected + ".", param, "invalid_type");
        }
        InputCoercionException outOfRange = e instanceof InputCoercionException ic ? ic
                : e instanceof JsonMappingException jm && jm.getCause() instanceof InputCoercionException ic ? ic : null;
        if (outOfRange != null) {
            // an integer too large for its field (99999999999999999999 tokens): the value's fault, not the JSON's
            String param = e instanceof JsonMappingException jm && !jm.getPath().isEmpty() ? path(jm)
                    : outOfRange.getProcessor() instanceof JsonParser p ? param(p.getParsingContext()) : null;
            Class<?> target = outOfRange.getTargetType();
            String message = "the number is out of range (" + (target == Long.TYPE || target == Long.class ? "a 64-bit"
                    : "a 32-bit") + " integer is expected).";
            return param == null || param.isEmpty() ? ApiException.invalid("Invalid value: " + message, null, "invalid_value")
                    : ApiException.invalidValue(param, message);
        }
        String detail = e instanceof JacksonException je ? je.getOriginalMessage() : e.getMessage();
        return ApiException.invalid("We could not parse the JSON body of your request: " + detail, null, "invalid_json");
    }

    /** {@code messages[0].content} from a parser's context (where it stopped). */
    private static String param(JsonStreamContext context) {
        java.util.ArrayDeque<String> parts = new java.util.ArrayDeque<>();
        for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
            parts.push(c.inArray() ? "[" + Math.max(c.getCurrentIndex(), 0) + "]" : c.getCurrentName() == null ? "" : c.getCurrentName());
        }
        StringBuilder sb = new StringBuilder();
        for (String part : parts) {
            sb.append(sb.isEmpty() || part.startsWith("[") ? "" : ".").append(part);
        }
        return sb.toString();
    }

    /** {@code messages[0].content} from Jackson's reference path. */
    static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                sb.append(sb.isEmpty() ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private static String expected(Class<?> type) {
        if (type == null) {
            return "another type";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "a boolean";
        }
        if (type == String.class) {
            return "a string";
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "an array";
        }
        return Map.class.isAssignableFrom(type) || type.isRecord() ? "an object" : type.getSimpleName();
    }

    /** "a string", "an array", ... for messages about a JSON value. */
    static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase();
        };
    }
}
