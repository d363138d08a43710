package io.llamaffm.examples.cli;

import java.util.Locale;

/** Human-readable numbers for the CLI's text output (JSON output keeps exact values). */
final class Units {
    private Units() {}

    /** Bytes in binary units: {@code 1.1 MiB}, {@code 512 B}. */
    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** A count with a decimal suffix: {@code 292.9 K}, {@code 7.24 B}, {@code 512}. */
    static String count(long n) {
        if (n < 1000) {
            return Long.toString(n);
        }
        String[] suffixes = {"K", "M", "B", "T"};
        double v = n;
        int s = -1;
        while (v >= 1000 && s < suffixes.length - 1) {
            v /= 1000;
            s++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.2f %s" : "%.1f %s", v, suffixes[s]);
    }

    /** A duration in milliseconds or seconds: {@code 12.3 ms}, {@code 1.25 s}. */
    static String duration(long nanos) {
        double ms = nanos / 1e6;
        return ms < 1000 ? String.format(Locale.ROOT, "%.1f ms", ms) : String.format(Locale.ROOT, "%.2f s", ms / 1000);
    }

    /** A rate with one decimal: {@code 812.3}. */
    static String rate(double perSecond) {
        return String.format(Locale.ROOT, "%.1f", perSecond);
    }

    /** A number grouped by thousands: {@code 1,185,376}. */
    static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /**
     * Text shown between single quotes with control characters, quotes and backslashes escaped, so whitespace
     * and invisible characters in token pieces stay visible: {@code ' Once'}, {@code '\n'}.
     */
    static String quoted(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('\'');
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\'' -> sb.append("\\'");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT) {
                        sb.append(String.format(Locale.ROOT, cp <= 0xFFFF ? "\\u%04x" : "\\U%08x", cp));
                    } else {
                        sb.appendCodePoint(cp);
                    }
                }
            }
        });
        return sb.append('\'').toString();
    }
}
