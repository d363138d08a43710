package io.llamaffm.langchain4j;

import io.llamaffm.Model;
import io.llamaffm.ModelParams;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a LangChain4j model gets its {@link Model}: borrowed from the caller (who closes it, after the LangChain4j
 * model) or loaded from a file (then owned and closed with the LangChain4j model). Exactly one must be given.
 */
record ModelSource(Model borrowed, Path path, ModelParams params) {
    ModelSource {
        if ((borrowed == null) == (path == null)) {
            throw new IllegalArgumentException("give the builder either model(Model) or modelPath(Path), not "
                    + (borrowed == null ? "neither" : "both"));
        }
        params = Objects.requireNonNullElse(params, ModelParams.defaults());
    }

    /** Whether the LangChain4j model owns (loads and closes) the model. */
    boolean owned() {
        return path != null;
    }

    /** The borrowed model, or the file loaded now. */
    Model open() {
        if (borrowed != null) {
            if (borrowed.isClosed()) {
                throw new IllegalStateException("the model " + borrowed.path().getFileName() + " is closed");
            }
            return borrowed;
        }
        return Model.load(path, params);
    }
}
