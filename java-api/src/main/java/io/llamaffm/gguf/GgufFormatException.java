package io.llamaffm.gguf;

import io.llamaffm.LlamaException;

/**
 * A GGUF file is malformed, or lacks what a caller asked of it. The message names the file, the byte offset of the
 * field that is wrong and what is wrong with it.
 */
public final class GgufFormatException extends LlamaException {
    /** The file name (or a description of the memory) the bytes came from. */
    private final String source;
    /** Byte offset of the offending field, or -1. */
    private final long offset;
    /** What is wrong, in words. */
    private final String problem;
    /** Whether the bytes ended before the header did (more bytes may make it parse). */
    private final boolean truncated;

    /**
     * A malformed or incomplete GGUF.
     *
     * @param source  the file name (or a description of the memory) the bytes came from
     * @param offset  byte offset of the offending field from the start of the file, or -1 when the problem is not at
     *                one position (a key that is absent)
     * @param problem what is wrong, in words
     */
    public GgufFormatException(String source, long offset, String problem) {
        this(source, offset, problem, false);
    }

    /**
     * A malformed, incomplete or truncated GGUF.
     *
     * @param source    the file name (or a description of the memory) the bytes came from
     * @param offset    byte offset of the offending field, or -1
     * @param problem   what is wrong, in words
     * @param truncated whether the bytes end before the header does: a longer prefix of the same file may parse
     */
    public GgufFormatException(String source, long offset, String problem, boolean truncated) {
        super(source + ": " + (offset >= 0 ? "malformed GGUF at byte " + offset + ": " : "") + problem);
        this.source = source;
        this.offset = offset;
        this.problem = problem;
        this.truncated = truncated;
    }

    /**
     * {@return whether the bytes ended before the header (metadata and tensor infos) did: a field, string or array
     * runs past them; reading a longer prefix of the file may succeed}
     */
    public boolean truncated() {
        return truncated;
    }

    /** {@return the file name (or description of the memory) the bytes came from} */
    public String source() {
        return source;
    }

    /** {@return the byte offset of the offending field from the start of the file, or -1 when the problem has no one position} */
    public long offset() {
        return offset;
    }

    /** {@return what is wrong, without the source and offset} */
    public String problem() {
        return problem;
    }
}
