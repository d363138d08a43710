package io.llamaffm.grammar;

/**
 * The rule for the decimal integers between two bounds (either may be open), in the same shape as llama.cpp's
 * converter builds it: digit by digit, with at most 16 digits where a side is unbounded.
 */
final class IntegerRange {
    /** Stands for "no lower bound". */
    static final long NO_MIN = Long.MIN_VALUE;
    /** Stands for "no upper bound". */
    static final long NO_MAX = Long.MAX_VALUE;

    private final StringBuilder out = new StringBuilder();

    private IntegerRange() {}

    /**
     * The parenthesised rule for {@code min <= n <= max}; at least one bound must be set and both must lie strictly
     * between {@link #NO_MIN} and {@link #NO_MAX} when set.
     */
    static String rule(long min, long max) {
        IntegerRange range = new IntegerRange();
        range.out.append('(');
        range.build(min, max, 16, true);
        return range.out.append(')').toString();
    }

    private void build(long min, long max, int decimalsLeft, boolean topLevel) {
        boolean hasMin = min != NO_MIN;
        boolean hasMax = max != NO_MAX;
        if (hasMin && hasMax) {
            between(min, max, decimalsLeft);
        } else if (hasMin) {
            atLeast(min, decimalsLeft, topLevel);
        } else if (hasMax) {
            atMost(max, decimalsLeft, topLevel);
        } else {
            throw new IllegalStateException("an integer range needs a minimum or a maximum");
        }
    }

    private void between(long min, long max, int decimalsLeft) {
        if (min < 0 && max < 0) {
            out.append("\"-\" (");
            build(-max, -min, decimalsLeft, true);
            out.append(")");
            return;
        }
        if (min < 0) {
            out.append("\"-\" (");
            build(0, -min, decimalsLeft, true);
            out.append(") | ");
            min = 0;
        }
        String minText = Long.toString(min);
        String maxText = Long.toString(max);
        for (int digits = minText.length(), maxDigits = maxText.length(); digits < maxDigits; digits++) {
            uniformRange(minText, "9".repeat(digits));
            minText = "1" + "0".repeat(digits);
            out.append(" | ");
        }
        uniformRange(minText, maxText);
    }

    private void atLeast(long min, int decimalsLeft, boolean topLevel) {
        int lessDecimals = Math.max(decimalsLeft - 1, 1);
        if (min < 0) {
            out.append("\"-\" (");
            build(NO_MIN, -min, decimalsLeft, false);
            out.append(") | [0] | [1-9] ");
            moreDigits(0, decimalsLeft - 1);
        } else if (min == 0) {
            if (topLevel) {
                out.append("[0] | [1-9] ");
                moreDigits(0, lessDecimals);
            } else {
                moreDigits(1, decimalsLeft);
            }
        } else if (min <= 9) {
            char c = (char) ('0' + min);
            char rangeStart = topLevel ? '1' : '0';
            if (c > rangeStart) {
                digitRange(rangeStart, (char) (c - 1));
                out.append(" ");
                moreDigits(1, lessDecimals);
                out.append(" | ");
            }
            digitRange(c, '9');
            out.append(" ");
            moreDigits(0, lessDecimals);
        } else {
            atLeastMultiDigit(Long.toString(min), lessDecimals, topLevel);
        }
    }

    private void atLeastMultiDigit(String minText, int lessDecimals, boolean topLevel) {
        int length = minText.length();
        char c = minText.charAt(0);
        if (c > '1') {
            digitRange(topLevel ? '1' : '0', (char) (c - 1));
            out.append(" ");
            moreDigits(length, lessDecimals);
            out.append(" | ");
        }
        digitRange(c, c);
        out.append(" (");
        build(Long.parseLong(minText.substring(1)), NO_MAX, lessDecimals, false);
        out.append(")");
        if (c < '9') {
            out.append(" | ");
            digitRange((char) (c + 1), '9');
            out.append(" ");
            moreDigits(length - 1, lessDecimals);
        }
    }

    private void atMost(long max, int decimalsLeft, boolean topLevel) {
        int lessDecimals = Math.max(decimalsLeft - 1, 1);
        if (max >= 0) {
            if (topLevel) {
                out.append("\"-\" [1-9] ");
                moreDigits(0, lessDecimals);
                out.append(" | ");
            }
            build(0, max, decimalsLeft, true);
        } else {
            out.append("\"-\" (");
            build(-max, NO_MAX, decimalsLeft, false);
            out.append(")");
        }
    }

    /** The numbers from {@code from} to {@code to}, both written with the same number of digits. */
    private void uniformRange(String from, String to) {
        int i = 0;
        while (i < from.length() && i < to.length() && from.charAt(i) == to.charAt(i)) {
            i++;
        }
        if (i > 0) {
            out.append("\"").append(from, 0, i).append("\"");
        }
        if (i >= from.length() || i >= to.length()) {
            return;
        }
        if (i > 0) {
            out.append(" ");
        }
        int subLength = from.length() - i - 1;
        if (subLength > 0) {
            uniformRangeTail(from, to, i, subLength);
        } else {
            out.append("[").append(from.charAt(i)).append("-").append(to.charAt(i)).append("]");
        }
    }

    private void uniformRangeTail(String from, String to, int i, int subLength) {
        String fromSub = from.substring(i + 1);
        String toSub = to.substring(i + 1);
        String subZeros = "0".repeat(subLength);
        String subNines = "9".repeat(subLength);
        char f = from.charAt(i);
        char t = to.charAt(i);
        boolean toReached = false;
        out.append("(");
        if (fromSub.equals(subZeros)) {
            digitRange(f, (char) (t - 1));
            out.append(" ");
            moreDigits(subLength, subLength);
        } else {
            out.append("[").append(f).append("] (");
            uniformRange(fromSub, subNines);
            out.append(")");
            if (f < t - 1) {
                out.append(" | ");
                if (toSub.equals(subNines)) {
                    digitRange((char) (f + 1), t);
                    toReached = true;
                } else {
                    digitRange((char) (f + 1), (char) (t - 1));
                }
                out.append(" ");
                moreDigits(subLength, subLength);
            }
        }
        if (!toReached) {
            out.append(" | ");
            digitRange(t, t);
            out.append(" ");
            uniformRange(subZeros, toSub);
        }
        out.append(")");
    }

    private void digitRange(char from, char to) {
        out.append("[").append(from);
        if (from != to) {
            out.append("-").append(to);
        }
        out.append("]");
    }

    private void moreDigits(int minDigits, int maxDigits) {
        out.append("[0-9]");
        if (minDigits == maxDigits && minDigits == 1) {
            return;
        }
        out.append("{").append(minDigits);
        if (maxDigits != minDigits) {
            out.append(",");
            if (maxDigits != Integer.MAX_VALUE) {
                out.append(maxDigits);
            }
        }
        out.append("}");
    }
}
