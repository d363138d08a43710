package io.llamaffm.embeddings;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Metadata attributes of a {@link VectorStore} entry: validation, copying and the value comparisons that
 * {@link MetadataFilter} defines. Values are {@link String}, {@link Integer}, {@link Long}, {@link Float} or
 * {@link Double} (finite).
 */
public final class Attributes {
    private Attributes() {}

    /**
     * Validates attributes and copies them into an unmodifiable map sorted by key.
     *
     * @param attributes the attributes; {@code null} is taken as none
     * @return the copy
     * @throws IllegalArgumentException if a key is empty or not valid Unicode, or a value is null, of another
     *                                  type, not finite, or a string that is not valid Unicode
     */
    public static Map<String, Object> copyOf(Map<String, ?> attributes) {
        if (attributes == null || attributes.isEmpty()) {
            return Map.of();
        }
        TreeMap<String, Object> copy = new TreeMap<>();
        attributes.forEach((k, v) -> {
            checkKey(k);
            copy.put(k, checkValue(k, v));
        });
        return Collections.unmodifiableMap(copy);
    }

    static void checkKey(String key) {
        Objects.requireNonNull(key, "attribute key");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("an attribute key must not be empty");
        }
        checkUnicode(key, "attribute key");
    }

    static Object checkValue(String key, Object value) {
        switch (value) {
            case null -> throw new IllegalArgumentException("attribute " + key + ": the value is null");
            case String s -> checkUnicode(s, "attribute " + key);
            case Integer i -> { }
            case Long l -> { }
            case Float f when Float.isFinite(f) -> { }
            case Double d when Double.isFinite(d) -> { }
            case Float f -> throw new IllegalArgumentException("attribute " + key + ": the value " + f + " is not finite");
            case Double d -> throw new IllegalArgumentException("attribute " + key + ": the value " + d + " is not finite");
            default -> throw new IllegalArgumentException("attribute " + key + ": a value must be a String, Integer, Long, "
                    + "Float or Double, not " + value.getClass().getName());
        }
        return value;
    }

    static List<Object> checkValues(String key, List<?> values) {
        Objects.requireNonNull(values, "values");
        return values.stream().map(v -> checkValue(key, v)).toList();
    }

    /**
     * Whether a value is an integer type (stored and compared as {@code long}).
     *
     * @param value an attribute value
     * @return whether it is an {@link Integer} or {@link Long}
     */
    public static boolean isIntegral(Object value) {
        return value instanceof Integer || value instanceof Long;
    }

    /** Equality as {@link MetadataFilter} defines it: strings to strings, numbers by value. */
    static boolean equal(Object a, Object b) {
        if (a instanceof String || b instanceof String) {
            return a.equals(b);
        }
        return compare(a, b) == 0;
    }

    /** Orders two strings (by code point) or two numbers (by value); the caller checks they are of one kind. */
    static int compare(Object a, Object b) {
        if (a instanceof String s && b instanceof String t) {
            return compareCodePoints(s, t);
        }
        Number x = (Number) a;
        Number y = (Number) b;
        if (isIntegral(x) && isIntegral(y)) {
            return Long.compare(x.longValue(), y.longValue());
        }
        return Double.compare(x.doubleValue() + 0.0, y.doubleValue() + 0.0); // + 0.0: -0.0 equals 0.0
    }

    private static int compareCodePoints(String s, String t) {
        int i = 0;
        int j = 0;
        while (i < s.length() && j < t.length()) {
            int a = s.codePointAt(i);
            int b = t.codePointAt(j);
            if (a != b) {
                return Integer.compare(a, b);
            }
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Boolean.compare(i < s.length(), j < t.length());
    }

    static void checkUnicode(String text, String what) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(what + " is not valid Unicode (it has an unpaired surrogate)");
            }
        }
    }
}
