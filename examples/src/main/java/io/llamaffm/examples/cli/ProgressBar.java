package io.llamaffm.examples.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A one-line progress display for a terminal, redrawn in place with a carriage return. While the fraction done is
 * unknown it shows a spinner and the elapsed time; once something reports a fraction ({@link #update(double)}, for
 * example a model-load progress listener) it shows a bar and a percentage.
 *
 * <pre>
 * | loading stories260K.gguf  1.2 s
 * loading stories260K.gguf [##########----------]  50%  1.2 s
 * pulling model-Q4_K_M.gguf [#####---------------]  25%  1.0 GiB / 4.1 GiB  52.3 MiB/s  ETA 1 min 1 s
 * </pre>
 *
 * Rendering ({@link #render(long)}) is separate from drawing so it can be tested without a terminal. Thread-safe: a
 * listener thread may call {@link #update} while another thread calls {@link #tick}.
 */
final class ProgressBar {
    static final int BAR_WIDTH = 20;
    private static final String SPINNER = "|/-\\";

    private final String label;
    private final PrintWriter out;
    private final LongSupplier nanoClock;
    private final long startNanos;
    private double fraction = Double.NaN; // NaN: not known
    private String detail; // shown instead of the elapsed time when set (bytes, rate, time left of a download)
    private int frame;
    private int lastWidth;
    private boolean finished;

    ProgressBar(String label, PrintWriter out, LongSupplier nanoClock) {
        this.label = label;
        this.out = out;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** A bar on {@code out} timed by {@link System#nanoTime()}. */
    static ProgressBar start(String label, PrintWriter out) {
        ProgressBar bar = new ProgressBar(label, out, System::nanoTime);
        bar.redraw();
        return bar;
    }

    /** Records the fraction done (0..1; values outside are clamped) and redraws. */
    synchronized void update(double fractionDone) {
        fraction = Double.isNaN(fractionDone) ? Double.NaN : Math.clamp(fractionDone, 0.0, 1.0);
        draw();
    }

    /** Records the fraction done and a detail shown in place of the elapsed time (null: the time again), and redraws. */
    synchronized void update(double fractionDone, String detail) {
        this.detail = detail;
        update(fractionDone);
    }

    /** Advances the spinner and redraws (call a few times a second while waiting). */
    synchronized void tick() {
        frame++;
        draw();
    }

    /** Redraws without advancing the spinner. */
    synchronized void redraw() {
        draw();
    }

    /** Seconds since the bar started. */
    double elapsedSeconds() {
        return (nanoClock.getAsLong() - startNanos) / 1e9;
    }

    /** Replaces the bar with {@code message} (or clears it when null) and ends the line. */
    synchronized void finish(String message) {
        if (finished) {
            return;
        }
        finished = true;
        String text = message == null ? "" : message;
        out.print('\r' + pad(text));
        if (message != null) {
            out.println();
        } else {
            out.print('\r');
        }
        out.flush();
    }

    /** The line for the current state after {@code elapsedNanos}. */
    synchronized String render(long elapsedNanos) {
        String time = detail != null ? detail : String.format(Locale.ROOT, "%.1f s", elapsedNanos / 1e9);
        if (Double.isNaN(fraction)) {
            return SPINNER.charAt(frame % SPINNER.length()) + " " + label + "  " + time;
        }
        int filled = (int) Math.round(fraction * BAR_WIDTH);
        return label + " [" + "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled) + "] "
                + String.format(Locale.ROOT, "%3d%%", (int) Math.floor(fraction * 100)) + "  " + time;
    }

    private void draw() {
        if (finished) {
            return;
        }
        out.print('\r' + pad(render(nanoClock.getAsLong() - startNanos)));
        out.flush();
    }

    /** Pads with spaces over what the previous, longer line left on screen (no terminal escape codes needed). */
    private String pad(String line) {
        int width = line.length();
        String padded = width < lastWidth ? line + " ".repeat(lastWidth - width) : line;
        lastWidth = width;
        return padded;
    }
}
