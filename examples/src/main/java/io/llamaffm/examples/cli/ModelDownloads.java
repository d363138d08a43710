package io.llamaffm.examples.cli;

import io.llamaffm.hub.DownloadListener;
import io.llamaffm.hub.DownloadProgress;
import io.llamaffm.hub.ModelDownloader;
import io.llamaffm.hub.ModelFiles;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

/**
 * Resolves a model reference ({@code hf:owner/repo:Q4_K_M}, a URL) through the library's {@link ModelDownloader}, with
 * one {@link ProgressBar} per file downloaded: bytes done and total, rate, time left.
 */
final class ModelDownloads {
    private ModelDownloads() {}

    /** Resolves {@code reference} with {@code downloader}; draws bars on {@code err} when {@code showBars}. */
    static ModelFiles resolve(ModelDownloader downloader, String reference, PrintWriter err, boolean showBars) {
        if (!showBars) {
            return downloader.resolve(reference);
        }
        Bars bars = new Bars(err);
        try {
            return downloader.resolve(reference, bars);
        } finally {
            bars.close();
        }
    }

    /** {@code 1.0 MiB / 4.0 MiB  2.0 MiB/s  ETA 2 s}: what a download bar shows after its percentage. */
    static String detail(DownloadProgress p) {
        StringBuilder sb = new StringBuilder(Units.bytes(p.bytesDone()));
        if (p.totalBytes() >= 0) {
            sb.append(" / ").append(Units.bytes(p.totalBytes()));
        }
        if (p.bytesPerSecond() > 0) {
            sb.append("  ").append(Units.bytes((long) p.bytesPerSecond())).append("/s");
        }
        p.eta().filter(eta -> p.bytesDone() < p.totalBytes()).ifPresent(eta -> sb.append("  ETA ").append(eta(eta)));
        return sb.toString();
    }

    /** {@code 7 s}, {@code 2 min 5 s}, {@code 1 h 3 min}. */
    static String eta(Duration d) {
        long s = Math.max(0, (d.toMillis() + 999) / 1000);
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return s / 60 + " min " + s % 60 + " s";
        }
        return s / 3600 + " h " + s % 3600 / 60 + " min";
    }

    /** A bar per file: a new file finishes the bar of the previous one. */
    private static final class Bars implements DownloadListener {
        private final PrintWriter err;
        private ProgressBar bar;
        private String current;
        private DownloadProgress last;

        Bars(PrintWriter err) {
            this.err = err;
        }

        @Override
        public boolean onProgress(DownloadProgress p) {
            String key = p.part() + "/" + p.parts() + " " + p.file();
            if (!key.equals(current)) {
                close();
                current = key;
                bar = ProgressBar.start("pulling " + p.file() + (p.parts() > 1 ? " (" + p.part() + "/" + p.parts() + ")" : ""), err);
            }
            last = p;
            bar.update(p.fraction(), detail(p));
            if (p.totalBytes() >= 0 && p.bytesDone() >= p.totalBytes()) {
                close();
            }
            return true;
        }

        /** Ends the current bar: a summary line when its file is complete, else cleared (a failure prints its own line). */
        void close() {
            if (bar == null) {
                return;
            }
            boolean complete = last != null && last.totalBytes() >= 0 && last.bytesDone() >= last.totalBytes();
            bar.finish(complete ? String.format(Locale.ROOT, "pulled %s (%s) in %.1f s", last.file(), Units.bytes(last.totalBytes()),
                    bar.elapsedSeconds()) : null);
            bar = null;
            current = null;
        }
    }
}
