package io.llamaffm.benchmarks;

import java.util.Arrays;
import java.util.Locale;

/** Repeated measurements of one quantity (tokens/s): median and spread. */
record Stats(double[] values) {
    Stats {
        if (values.length == 0) {
            throw new IllegalArgumentException("no measurements");
        }
        values = values.clone();
    }

    double median() {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    double min() {
        return Arrays.stream(values).min().orElseThrow();
    }

    double max() {
        return Arrays.stream(values).max().orElseThrow();
    }

    /** "median (min–max)" with one decimal. */
    String cell() {
        return String.format(Locale.ROOT, "%.1f (%.1f–%.1f)", median(), min(), max());
    }
}
