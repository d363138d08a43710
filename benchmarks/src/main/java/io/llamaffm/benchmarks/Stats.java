package io.llamaffm.benchmarks;

import java.util.Arrays;
import java.util.Locale;

/** Repeated measurements of one quantity (tokens/s, or a ratio): median, quartiles and spread. */
record Stats(double[] values) {
    Stats {
        if (values.length == 0) {
            throw new IllegalArgumentException("no measurements");
        }
        values = values.clone();
    }

    /**
     * The ratios a[i] / b[i] of measurements taken side by side (repetition i of both sides back to back), so that a
     * slow phase of the machine, which hits both sides of one pair alike, cancels out of each ratio.
     */
    static Stats pairedRatios(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("unpaired measurements: " + a.length + " vs " + b.length);
        }
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return new Stats(r);
    }

    double median() {
        return quantile(0.5);
    }

    /** The q-quantile, 0 ≤ q ≤ 1, linearly interpolated between the order statistics. */
    double quantile(double q) {
        if (q < 0 || q > 1) {
            throw new IllegalArgumentException("quantile out of 0..1: " + q);
        }
        double[] s = values.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, s.length - 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
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

    /** "median [first quartile–third quartile]" with three decimals: for ratios. */
    String ratioCell() {
        return String.format(Locale.ROOT, "%.3f [%.3f–%.3f]", median(), quantile(0.25), quantile(0.75));
    }
}
