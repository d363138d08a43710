package io.llamaffm.embeddings;

import java.io.IOException;
import java.nio.file.Path;

/** A file given to {@link VectorIndex#load} (or a store directory) is not a vector index, or is truncated or damaged. */
public final class CorruptIndexException extends IOException {
    private final transient Path path;

    /**
     * An exception for a damaged index.
     *
     * @param path   the file or directory that could not be read
     * @param detail what is wrong
     */
    public CorruptIndexException(Path path, String detail) {
        super(path + ": " + detail);
        this.path = path;
    }

    /**
     * An exception for a damaged index, with its cause.
     *
     * @param path   the file or directory that could not be read
     * @param detail what is wrong
     * @param cause  the error that revealed it
     */
    public CorruptIndexException(Path path, String detail, Throwable cause) {
        super(path + ": " + detail, cause);
        this.path = path;
    }

    /** {@return the file that could not be read} */
    public Path path() {
        return path;
    }
}
