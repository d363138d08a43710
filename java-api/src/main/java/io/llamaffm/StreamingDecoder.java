package io.llamaffm;

import io.llamaffm.internal.Utf8Stream;
import io.llamaffm.internal.engine.PieceBuffer;

import java.lang.foreign.Arena;

/**
 * Turns tokens into text one at a time without ever returning a broken multi-byte UTF-8 character
 * (see {@link Tokenizer#streamingDecoder()}). Special tokens render as text. One per stream, one thread at a time.
 *
 * <p>{@link #push(int, StringBuilder)} appends into the caller's buffer and allocates nothing once its buffers have
 * grown to the longest piece; {@link #push(int)} returns a new String per token.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final Utf8Stream utf8 = new Utf8Stream();
    private final StringBuilder out = new StringBuilder();
    private final PieceBuffer piece = new PieceBuffer(Arena.ofAuto(), 64); // one token's bytes

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
        int n = piece.write(tokenizer.checkedVocabulary(token), token, true);
        int before = text.length();
        utf8.push(piece.bytes(), n, text);
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
