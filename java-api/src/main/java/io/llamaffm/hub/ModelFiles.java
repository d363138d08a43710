package io.llamaffm.hub;

import io.llamaffm.LoadProgressListener;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link ModelRef} resolved to: verified files in the download cache, ready to load.
 *
 * @param ref             the reference
 * @param parts           the model's files, in order: one, or each part of a split model
 * @param commit          the repository commit the files are from, when the hub said (empty for a URL)
 * @param downloadedBytes bytes transferred by this resolution; 0 when everything came from the cache
 */
public record ModelFiles(ModelRef ref, List<Path> parts, Optional<String> commit, long downloadedBytes) {
    /** Copies the list; checks there is a file. */
    public ModelFiles {
        Objects.requireNonNull(ref, "ref");
        parts = List.copyOf(parts);
        Objects.requireNonNull(commit, "commit");
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("no files");
        }
    }

    /** {@return the model file to load: the only one, or the first part of a split model} */
    public Path path() {
        return parts.getFirst();
    }

    /**
     * Loads the model: {@link Model#load(Path, ModelParams, LoadProgressListener)} for one file,
     * {@link Model#loadSplits(List, ModelParams, LoadProgressListener)} for parts.
     *
     * @param params   how to load it
     * @param progress told how far the load has come, may cancel it; may be null
     * @return the loaded model, to close when done
     */
    public Model load(ModelParams params, LoadProgressListener progress) {
        return parts.size() == 1 ? Model.load(path(), params, progress) : Model.loadSplits(parts, params, progress);
    }
}
