package io.llamaffm.examples.cli;

/** An error the user can fix (a missing file, an option that cannot work): printed as one line, no stack trace. */
final class CliException extends RuntimeException {
    private final int exitCode;

    CliException(String message) {
        this(message, LlamaCli.EXIT_ERROR, null);
    }

    CliException(String message, Throwable cause) {
        this(message, LlamaCli.EXIT_ERROR, cause);
    }

    CliException(String message, int exitCode, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** {@code value} when it is at least {@code min}; otherwise the one-line error naming {@code option}. */
    static int atLeast(int value, int min, String option) {
        if (value < min) {
            throw new CliException(option + " must be >= " + min + ", got " + value);
        }
        return value;
    }

    int exitCode() {
        return exitCode;
    }
}
