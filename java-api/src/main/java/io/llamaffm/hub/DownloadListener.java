package io.llamaffm.hub;

/**
 * Told how a download is going, on the downloading thread, a few times a second and once when a file is complete;
 * returning false cancels the download ({@link DownloadException.Reason#CANCELLED}), keeping what arrived so a later
 * call resumes it. Files already in the cache are not reported.
 */
@FunctionalInterface
public interface DownloadListener {
    /**
     * Called as bytes arrive.
     *
     * @param progress the file, bytes done and total, and the rate
     * @return true to go on, false to cancel
     */
    boolean onProgress(DownloadProgress progress);
}
