package io.llamaffm;

import io.llamaffm.internal.Utf8Stream;

/**
 * Turns tokens into text one at a time without ever returning a broken multi-byte UTF-8 character
 * (see {@link Tokenizer#streamingDecoder()}). Special tokens render as text.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final Utf8Stream utf8 = new Utf8Stream();
    private final StringBuilder out = new StringBuilder();

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
        byte[] piece = tokenizer.pieceBytes(token, true);
        out.setLength(0);
        utf8.push(piece, piece.length, out);
        return out.toString();
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
