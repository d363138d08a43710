package io.llamaffm.embeddings;

import java.io.IOException;
import java.nio.file.Path;

/** A file given to {@link VectorIndex#load} is not a vector index, or is truncated or damaged. */
public final class CorruptIndexException extends IOException {
    private final transient Path path;

    CorruptIndexException(Path path, String detail) {
        super(path + ": " + detail);
        this.path = path;
    }

    /** {@return the file that could not be read} */
    public Path path() {
        return path;
    }
}
