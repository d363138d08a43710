package io.llamaffm.examples.cli;

import io.llamaffm.Model;
import io.llamaffm.ModelParams;

import java.nio.file.Path;
import java.util.Locale;

/** Loads a model while a {@link ProgressBar} shows llama.cpp's load progress. */
final class ModelLoading {
    private ModelLoading() {}

    /** Loads {@code path}, driving the bar (when there is one) from the library's load-progress listener. */
    static Model load(Path path, ModelParams params, ProgressBar bar) {
        if (bar == null) {
            return Model.load(path, params);
        }
        try {
            Model model = Model.load(path, params, fraction -> {
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
}
