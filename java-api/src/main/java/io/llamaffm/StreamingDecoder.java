package io.llamaffm;

import io.llamaffm.internal.Utf8Stream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Turns tokens into text one at a time without ever returning a broken multi-byte UTF-8 character
 * (see {@link Tokenizer#streamingDecoder()}). Special tokens render as text. One per stream, one thread at a time.
 *
 * <p>{@link #push(int, StringBuilder)} appends into the caller's buffer and allocates nothing once its buffers have
 * grown to the longest piece; {@link #push(int)} returns a new String per token.
 */
public final class StreamingDecoder {
    private static final int PIECE_BYTES = 64;

    private final Tokenizer tokenizer;
    private final Utf8Stream utf8 = new Utf8Stream();
    private final StringBuilder out = new StringBuilder();
    private MemorySegment pieceBuf = Arena.ofAuto().allocate(PIECE_BYTES); // one token's bytes, native for the downcall
    private byte[] piece = new byte[PIECE_BYTES];

    StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds a token.
     *
     * @param token the next token id of the stream
     * @return the text it completes (empty while a character is unfinished)
     */
    public String push(int token) {
        out.setLength(0);
        push(token, out);
        return out.toString();
    }

    /**
     * Adds a token and appends the text it completes to {@code text} (nothing while a character is unfinished).
     *
     * @param token the next token id of the stream
     * @param text  where the completed text is appended
     * @return the number of chars appended
     * @throws IllegalArgumentException if the token id is out of range
     */
    public int push(int token, StringBuilder text) {
        int n = tokenizer.checkedPieceInto(token, pieceBuf);
        if (n < 0) { // longer than any piece so far: grow once for it
            pieceBuf = Arena.ofAuto().allocate(-n);
            piece = new byte[-n];
            n = tokenizer.checkedPieceInto(token, pieceBuf);
        }
        if (n < 0) {
            throw new LlamaException("llama_token_to_piece failed (" + n + ") for token " + token);
        }
        MemorySegment.copy(pieceBuf, ValueLayout.JAVA_BYTE, 0, piece, 0, n);
        int before = text.length();
        utf8.push(piece, n, text);
        return text.length() - before;
    }

    /**
     * Ends the stream.
     *
     * @return the text left: an unfinished character becomes U+FFFD
     */
    public String finish() {
        out.setLength(0);
        utf8.finish(out);
        return out.toString();
    }
}
