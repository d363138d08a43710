package io.llamaffm.internal;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * Writes parsed JSON values back as compact text the way llama.cpp's converter does (nlohmann::json's
 * {@code dump()}): no spaces, keys in their original order, non-ASCII characters as they are, control characters
 * escaped, integers as written and other numbers as the shortest text that reads back as the same double.
 */
public final class NlohmannJson {
    private static final BigInteger INT64_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
    /** nlohmann writes a double without an exponent while its decimal point lies within these bounds. */
    private static final int MIN_EXP = -4;
    private static final int MAX_EXP = 15;

    private NlohmannJson() {}

    /** The compact JSON text of a value from {@link io.llamaffm.internal.JsonParser#parse}. */
    public static String dump(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object value) {
        switch (value) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b);
            case String s -> writeString(sb, s);
            case BigDecimal n -> sb.append(number(n));
            case Map<?, ?> map -> writeObject(sb, map);
            case List<?> list -> writeArray(sb, list);
            default -> throw new IllegalArgumentException("not a JSON value: " + value.getClass().getName());
        }
    }

    private static void writeObject(StringBuilder sb, Map<?, ?> map) {
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            writeString(sb, (String) e.getKey());
            sb.append(':');
            write(sb, e.getValue());
        }
        sb.append('}');
    }

    private static void writeArray(StringBuilder sb, List<?> list) {
        sb.append('[');
        for (int i = 0; i < list.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            write(sb, list.get(i));
        }
        sb.append(']');
    }

    private static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /**
     * An integer literal (scale 0) that fits 64 bits stays as written; any other number is read as a double, as
     * the reference does, and written in its shortest form.
     */
    public static String number(BigDecimal n) {
        if (n.scale() == 0) {
            BigInteger i = n.toBigIntegerExact();
            if (i.compareTo(INT64_MIN) >= 0 && i.compareTo(UINT64_MAX) <= 0) {
                return i.toString();
            }
        }
        double d = n.doubleValue();
        if (Double.isInfinite(d)) {
            throw new IllegalArgumentException("number " + n + " is beyond the range of a double");
        }
        return shortestDouble(d);
    }

    private static String shortestDouble(double d) {
        if (d == 0) {
            return Double.doubleToRawLongBits(d) < 0 ? "-0.0" : "0.0";
        }
        String sign = d < 0 ? "-" : "";
        BigDecimal shortest = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = shortest.unscaledValue().toString();
        int k = digits.length();
        int n = k - shortest.scale(); // position of the decimal point relative to the first digit
        if (k <= n && n <= MAX_EXP) {
            return sign + digits + "0".repeat(n - k) + ".0";
        }
        if (0 < n && n <= MAX_EXP) {
            return sign + digits.substring(0, n) + "." + digits.substring(n);
        }
        if (MIN_EXP < n && n <= 0) {
            return sign + "0." + "0".repeat(-n) + digits;
        }
        String mantissa = k == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        int e = n - 1;
        return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
    }
}
