package io.llamaffm;

/**
 * Told how far a model load has come; returning false cancels the load (which then fails with
 * {@link ModelLoadException}). Called on the loading thread. An exception it throws cancels the load and is
 * rethrown by {@link Model#load(java.nio.file.Path, ModelParams, LoadProgressListener)}.
 */
@FunctionalInterface
public interface LoadProgressListener {
    /**
     * Called as the load progresses.
     *
     * @param fraction progress from 0 to 1
     * @return true to go on, false to cancel
     */
    boolean onProgress(float fraction);
}
