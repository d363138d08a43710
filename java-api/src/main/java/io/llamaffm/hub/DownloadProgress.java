package io.llamaffm.hub;

import java.time.Duration;
import java.util.Optional;

/**
 * How far the download of one file has come.
 *
 * @param file           the file's path in the repository (or its name, for a URL)
 * @param part           which file of the model this is, from 1 (a split model has several)
 * @param parts          how many files the model has that are being fetched
 * @param bytesDone      bytes of the file on disk so far, what an earlier, interrupted download left included
 * @param totalBytes     the file's size, or -1 when the server did not say
 * @param bytesPerSecond the transfer rate since this transfer (or resume) began
 */
public record DownloadProgress(String file, int part, int parts, long bytesDone, long totalBytes, double bytesPerSecond) {
    /** {@return the fraction done, 0 to 1; NaN when the size is not known} */
    public double fraction() {
        return totalBytes > 0 ? Math.min(1.0, (double) bytesDone / totalBytes) : totalBytes == 0 ? 1.0 : Double.NaN;
    }

    /** {@return the time left at the current rate; empty while the size or the rate is not known} */
    public Optional<Duration> eta() {
        if (totalBytes < 0 || !(bytesPerSecond > 0)) {
            return Optional.empty();
        }
        return Optional.of(Duration.ofMillis((long) Math.ceil(Math.max(0, totalBytes - bytesDone) * 1000.0 / bytesPerSecond)));
    }
}
