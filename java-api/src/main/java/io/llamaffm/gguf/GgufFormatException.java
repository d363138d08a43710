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

    /**
     * A malformed or incomplete GGUF.
     *
     * @param source  the file name (or a description of the memory) the bytes came from
     * @param offset  byte offset of the offending field from the start of the file, or -1 when the problem is not at
     *                one position (a key that is absent)
     * @param problem what is wrong, in words
     */
    public GgufFormatException(String source, long offset, String problem) {
        super(source + ": " + (offset >= 0 ? "malformed GGUF at byte " + offset + ": " : "") + problem);
        this.source = source;
        this.offset = offset;
        this.problem = problem;
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
