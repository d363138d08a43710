package io.llamaffm.examples.cli;

import io.llamaffm.LoadProgressListener;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Loads a model while a {@link ProgressBar} shows llama.cpp's load progress. */
final class ModelLoading {
    private ModelLoading() {}

    /**
     * Loads the model in {@code parts} (one file, or the parts of a split model), driving the bar (when there is one)
     * from the library's load-progress listener.
     */
    static Model load(List<Path> parts, ModelParams params, ProgressBar bar) {
        Path path = parts.getFirst();
        if (bar == null) {
            return load(parts, params, (LoadProgressListener) null);
        }
        try {
            Model model = load(parts, params, fraction -> {
                bar.update(fraction);
                return true;
            });
            bar.finish(String.format(Locale.ROOT, "loaded %s (%s) in %.2f s", path.getFileName(),
                    Units.bytes(model.config().sizeBytes()), bar.elapsedSeconds()));
            return model;
        } catch (RuntimeException | Error e) {
            bar.finish(null);
            throw e;
        }
    }

    private static Model load(List<Path> parts, ModelParams params, LoadProgressListener listener) {
        return parts.size() == 1 ? Model.load(parts.getFirst(), params, listener) : Model.loadSplits(parts, params, listener);
    }
}
