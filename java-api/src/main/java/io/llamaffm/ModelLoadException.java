package io.llamaffm;

import java.nio.file.Path;
import java.util.List;

/** A model could not be loaded; carries the path and the native log lines llama.cpp wrote while failing. */
public final class ModelLoadException extends LlamaException {
    private final transient Path path;
    /** llama.cpp's warning and error lines of the failed load. */
    private final List<String> nativeLog;

    /**
     * A failed load.
     *
     * @param path      the file that failed to load
     * @param reason    why, in words
     * @param nativeLog llama.cpp's warning and error lines of the failed load
     */
    public ModelLoadException(Path path, String reason, List<String> nativeLog) {
        this(path, reason, nativeLog, null);
    }

    /**
     * A failed load with a cause.
     *
     * @param path      the file that failed to load
     * @param reason    why, in words
     * @param nativeLog llama.cpp's warning and error lines of the failed load
     * @param cause     the exception that made it fail
     */
    public ModelLoadException(Path path, String reason, List<String> nativeLog, Throwable cause) {
        super(message(path, reason, nativeLog), cause);
        this.path = path;
        this.nativeLog = List.copyOf(nativeLog);
    }

    private static String message(Path path, String reason, List<String> nativeLog) {
        StringBuilder sb = new StringBuilder("cannot load model ").append(path).append(": ").append(reason);
        if (!nativeLog.isEmpty()) {
            sb.append("\nllama.cpp said:");
            nativeLog.forEach(line -> sb.append("\n  ").append(line));
        }
        return sb.toString();
    }

    /** {@return the file that failed to load} */
    public Path path() {
        return path;
    }

    /** {@return the warning and error lines llama.cpp logged during the failed load, oldest first} */
    public List<String> nativeLog() {
        return nativeLog;
    }
}
