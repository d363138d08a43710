package io.llamaffm.internal.jinja;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.time.temporal.IsoFields;
import java.util.Locale;

/**
 * C's strftime in the C locale, as Python's {@code datetime.now().strftime} gives it on Linux (glibc's {@code %-d}
 * too): the time is naive local time, so {@code %z} and {@code %Z} are empty.
 */
final class Strftime {
    /** A directive (a locale's day or month name, a padded number) costs as much as this many steps of the interpreter. */
    private static final int DIRECTIVE_STEPS = 64;

    private Strftime() {}

    static String format(String format, ZonedDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < format.length(); k++) {
            char c = format.charAt(k);
            if (c != '%' || k + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++k);
            boolean noPad = false;
            if (d == '-' && k + 1 < format.length()) {
                noPad = true;
                d = format.charAt(++k);
            }
            Budget.current().steps(DIRECTIVE_STEPS);
            sb.append(directive(d, t, noPad));
            Budget.current().check(sb);
        }
        return sb.toString();
    }

    private static String directive(char d, ZonedDateTime t, boolean noPad) {
        return switch (d) {
            case 'Y' -> String.valueOf(t.getYear());
            case 'y' -> pad(t.getYear() % 100, 2, noPad);
            case 'm' -> pad(t.getMonthValue(), 2, noPad);
            case 'd' -> pad(t.getDayOfMonth(), 2, noPad);
            case 'e' -> noPad ? String.valueOf(t.getDayOfMonth()) : String.format("%2d", t.getDayOfMonth());
            case 'j' -> pad(t.getDayOfYear(), 3, noPad);
            case 'H' -> pad(t.getHour(), 2, noPad);
            case 'I' -> pad(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, noPad);
            case 'M' -> pad(t.getMinute(), 2, noPad);
            case 'S' -> pad(t.getSecond(), 2, noPad);
            case 'f' -> String.format("%06d", t.getNano() / 1000);
            case 'p' -> t.getHour() < 12 ? "AM" : "PM";
            case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'w' -> String.valueOf(t.getDayOfWeek().getValue() % 7);
            case 'u' -> String.valueOf(t.getDayOfWeek().getValue());
            case 'V' -> pad(t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR), 2, noPad);
            case 'G' -> String.valueOf(t.get(IsoFields.WEEK_BASED_YEAR));
            case 'z', 'Z' -> ""; // Hugging Face formats a naive local time: no zone
            case 's' -> String.valueOf(t.toEpochSecond());
            case 'c' -> format("%a %b %e %H:%M:%S %Y", t);
            case 'x', 'D' -> format("%m/%d/%y", t);
            case 'X', 'T' -> format("%H:%M:%S", t);
            case 'F' -> format("%Y-%m-%d", t);
            case 'R' -> format("%H:%M", t);
            case 'n' -> "\n";
            case 't' -> "\t";
            case '%' -> "%";
            default -> "%" + (noPad ? "-" : "") + d;
        };
    }

    private static String pad(long v, int width, boolean noPad) {
        return noPad ? String.valueOf(v) : String.format("%0" + width + "d", v);
    }

}
