package io.llamaffm.internal;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The strict JSON parser: every kind of value, exact numbers, key order, escapes, and each error with its position. */
class JsonParserTest {

    @Test
    void parsesEveryKindOfValue() {
        Object value = JsonParser.parse(" {\"s\": \"x\", \"n\": -12.50, \"t\": true, \"f\": false, \"z\": null,"
                + " \"a\": [1, [], {}], \"o\": {\"k\": \"v\"}}\n");
        Map<?, ?> map = (Map<?, ?>) value;
        assertEquals(List.of("s", "n", "t", "f", "z", "a", "o"), List.copyOf(map.keySet()));
        assertEquals("x", map.get("s"));
        assertEquals(new BigDecimal("-12.50"), map.get("n"));
        assertEquals(Boolean.TRUE, map.get("t"));
        assertEquals(Boolean.FALSE, map.get("f"));
        assertNull(map.get("z"));
        assertEquals(true, map.containsKey("z"));
        assertEquals(Arrays.asList(new BigDecimal("1"), List.of(), Map.of()), map.get("a"));
        assertEquals(Map.of("k", "v"), map.get("o"));
    }

    @Test
    void topLevelScalarsAndEmptyContainers() {
        assertEquals("", JsonParser.parse("\"\""));
        assertEquals(new BigDecimal("0"), JsonParser.parse("0"));
        assertNull(JsonParser.parse(" null "));
        assertEquals(List.of(), JsonParser.parse("[ ]"));
        assertEquals(Map.of(), JsonParser.parse("{\t\r\n}"));
    }

    @Test
    void numbersKeepTheirExactValueAndScale() {
        assertEquals(0, ((BigDecimal) JsonParser.parse("2")).scale());
        assertEquals(1, ((BigDecimal) JsonParser.parse("2.0")).scale());
        assertEquals(new BigDecimal("1E+2"), JsonParser.parse("1e2"));
        assertEquals(new BigDecimal("-1.5E-7"), JsonParser.parse("-1.5E-7"));
        assertEquals(new BigDecimal("1E+2"), JsonParser.parse("1E+2"));
        assertEquals(new BigDecimal("123456789012345678901234567890.000000000000000000001"),
                JsonParser.parse("123456789012345678901234567890.000000000000000000001"));
        assertEquals(BigDecimal.ZERO, JsonParser.parse("-0"));
    }

    @Test
    void stringEscapes() {
        assertEquals("\"\\/\b\f\n\r\t", JsonParser.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
        assertEquals("é€", JsonParser.parse("\"\\u00e9\\u20AC\""));
        assertEquals("😀", JsonParser.parse("\"\\ud83d\\ude00\""));
        assertEquals("raw 😀 ü", JsonParser.parse("\"raw 😀 ü\""));
        assertEquals("\u007f", JsonParser.parse("\"\u007f\""));
    }

    @Test
    void containersAreUnmodifiable() {
        Map<?, ?> map = (Map<?, ?>) JsonParser.parse("{\"a\": [1]}");
        assertThrows(UnsupportedOperationException.class, map::clear);
        assertThrows(UnsupportedOperationException.class, () -> ((List<?>) map.get("a")).clear());
    }

    @Test
    void errorsSayWhatAndWhere() {
        assertError("", 1, 1, 0, "unexpected end of input, expected a value");
        assertError("{\"a\": 1,}", 1, 9, 8, "unexpected '}', expected a string key");
        assertError("[1, 2,]", 1, 7, 6, "unexpected ']', expected a value");
        assertError("[1 2]", 1, 4, 3, "unexpected '2', expected ']' or ',' in an array");
        assertError("{\"a\" 1}", 1, 6, 5, "unexpected '1', expected ':' after an object key");
        assertError("{\"a\": 1 \"b\": 2}", 1, 9, 8, "unexpected '\"', expected '}' or ',' in an object");
        assertError("{\"a\": 1, \"a\": 2}", 1, 10, 9, "duplicate key \"a\"");
        assertError("01", 1, 1, 0, "leading zeros are not allowed in a number");
        assertError("-", 1, 2, 1, "unexpected end of input, expected a digit");
        assertError("1.", 1, 3, 2, "unexpected end of input, expected a digit after the decimal point");
        assertError("1e+", 1, 4, 3, "unexpected end of input, expected a digit in the exponent");
        assertError(".5", 1, 1, 0, "unexpected '.', expected a value");
        assertError("+1", 1, 1, 0, "unexpected '+', expected a value");
        assertError("NaN", 1, 1, 0, "unexpected 'N', expected a value");
        assertError("tru", 1, 1, 0, "unexpected 't', expected a value");
        assertError("nulls", 1, 5, 4, "unexpected 's' after the JSON value");
        assertError("1 // comment", 1, 3, 2, "unexpected '/' after the JSON value");
        assertError("\"abc", 1, 5, 4, "unterminated string");
        assertError("\"a\nb\"", 1, 3, 2, "unescaped control character U+000A in a string");
        assertError("\"\\x41\"", 1, 2, 1, "invalid escape \\x");
        assertError("\"\\u12G4\"", 1, 2, 1, "\\u escape needs 4 hex digits");
        assertError("\"\\u12\"", 1, 2, 1, "\\u escape needs 4 hex digits");
        assertError("\"\\ude00\"", 1, 2, 1, "unpaired surrogate \\uDE00");
        assertError("\"\\ud83d\"", 1, 2, 1, "unpaired surrogate \\uD83D (no low surrogate follows)");
        assertError("\"\\ud83d\\u0041\"", 1, 8, 7, "\\u0041 is not the low surrogate that \\uD83D needs");
        assertError("1e99999999999", 1, 1, 0, "number 1e99999999999 is out of range");
        assertError("[\n  true,\n  fals\n]", 3, 3, 12, "unexpected 'f', expected a value");
        assertError("\u0001", 1, 1, 0, "unexpected character U+0001, expected a value");
    }

    @Test
    void nestingIsBounded() {
        String deep = "[".repeat(JsonParser.MAX_DEPTH) + "]".repeat(JsonParser.MAX_DEPTH);
        Object value = JsonParser.parse(deep);
        for (int level = 1; level < JsonParser.MAX_DEPTH; level++) {
            value = ((List<?>) value).getFirst();
        }
        assertEquals(List.of(), value);
        assertError("[".repeat(JsonParser.MAX_DEPTH + 1), 1, JsonParser.MAX_DEPTH + 1, JsonParser.MAX_DEPTH,
                "nesting deeper than " + JsonParser.MAX_DEPTH + " levels");
    }

    @Test
    void numberLengthIsBounded() {
        // BigDecimal reads a million digits in seconds: at most 10 000 characters, sign, point and exponent included
        String longest = "-" + "9".repeat(JsonParser.MAX_NUMBER_LENGTH - 7) + ".5e-10";
        assertEquals(JsonParser.MAX_NUMBER_LENGTH, longest.length());
        assertEquals(new java.math.BigDecimal(longest), JsonParser.parse(longest));
        assertError("[" + "1".repeat(JsonParser.MAX_NUMBER_LENGTH + 1) + "]", 1, 2, 1,
                "a number longer than " + JsonParser.MAX_NUMBER_LENGTH + " characters");
        long start = System.nanoTime();
        assertThrows(JsonParser.ParseException.class, () -> JsonParser.parse("9".repeat(1_000_000)));
        assertTrue((System.nanoTime() - start) / 1_000_000 < 1000, "a million digits refused at once");
    }

    private static void assertError(String text, int line, int column, int offset, String problem) {
        JsonParser.ParseException e = assertThrows(JsonParser.ParseException.class, () -> JsonParser.parse(text), text);
        assertEquals("invalid JSON at line " + line + ", column " + column + " (offset " + offset + "): " + problem,
                e.getMessage(), text);
        assertEquals(line, e.line());
        assertEquals(column, e.column());
        assertEquals(offset, e.offset());
    }
}
