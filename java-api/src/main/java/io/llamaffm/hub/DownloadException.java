package io.llamaffm.hub;

import io.llamaffm.LlamaException;

import java.util.List;

/** A model reference could not be resolved to verified local files; {@link #reason()} says why in one word. */
public final class DownloadException extends LlamaException {
    /** Why a download failed. */
    public enum Reason {
        /** The repository, the revision or the file does not exist (HTTP 404, or the hub's RepoNotFound). */
        NOT_FOUND,
        /** The repository has no .gguf file for the quantization asked for; {@link #availableFiles()} lists those it has. */
        NO_MATCHING_FILE,
        /** The repository is gated or private (HTTP 401 or 403): a token with access is missing or lacks it. */
        ACCESS_DENIED,
        /** Offline mode, and the reference is not in the download cache. */
        NOT_CACHED,
        /** The file's sha256 (or size) is not what the hub announced; the corrupt file was removed. */
        CHECKSUM_MISMATCH,
        /** The server could not be reached, or stopped answering before it sent its response headers. */
        UNREACHABLE,
        /** The connection was cut or went silent during the transfer; what arrived is kept, and the next try resumes. */
        INTERRUPTED,
        /** The file could not be written (disk full, permissions); what arrived is kept, and the next try resumes. */
        DISK,
        /** The server answered against the protocol (a wrong length or range, too much data, an unreadable listing). */
        BAD_RESPONSE,
        /** Another HTTP error status (after the retries, for 429 and 5xx). */
        HTTP_ERROR,
        /** The download listener asked to stop, or the thread was interrupted; what arrived is kept. */
        CANCELLED
    }

    /** Why it failed. */
    private final Reason reason;
    /** The reference being resolved. */
    private final String reference;
    /** The HTTP status that decided it, or 0. */
    private final int httpStatus;
    /** The repository's .gguf files, for {@link Reason#NO_MATCHING_FILE}. */
    private final List<String> availableFiles;

    /**
     * A failed resolution.
     *
     * @param reason         why, in one word
     * @param reference      the reference being resolved, as text
     * @param message        what went wrong and what to do
     * @param httpStatus     the HTTP status that decided it, or 0
     * @param availableFiles for {@link Reason#NO_MATCHING_FILE}: the repository's .gguf files; else empty
     * @param cause          the exception that caused it, or null
     */
    public DownloadException(Reason reason, String reference, String message, int httpStatus, List<String> availableFiles,
                             Throwable cause) {
        super(reference + ": " + message, cause);
        this.reason = reason;
        this.reference = reference;
        this.httpStatus = httpStatus;
        this.availableFiles = List.copyOf(availableFiles);
    }

    /** {@return why it failed} */
    public Reason reason() {
        return reason;
    }

    /** {@return the reference being resolved} */
    public String reference() {
        return reference;
    }

    /** {@return the HTTP status that decided the failure, or 0 when there was none} */
    public int httpStatus() {
        return httpStatus;
    }

    /** {@return for {@link Reason#NO_MATCHING_FILE}, the .gguf files the repository has; otherwise empty} */
    public List<String> availableFiles() {
        return availableFiles;
    }
}
