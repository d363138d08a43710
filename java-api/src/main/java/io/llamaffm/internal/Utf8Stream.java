package io.llamaffm.internal;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of byte pieces into text without ever cutting a multi-byte UTF-8 character: bytes of an
 * unfinished character wait for the next piece. Bytes that can never form a character become U+FFFD.
 * One instance per stream; not thread-safe.
 */
public final class Utf8Stream {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(64);
    private CharBuffer chars = CharBuffer.allocate(64);

    /** Adds bytes and returns the text completed by them (possibly empty). */
    public String push(byte[] bytes, int length) {
        if (pending.remaining() < length) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(pending.capacity() * 2, pending.position() + length));
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(bytes, 0, length);
        return drain(false);
    }

    /** Ends the stream: any unfinished character becomes U+FFFD. */
    public String finish() {
        String s = drain(true);
        decoder.reset();
        return s;
    }

    private String drain(boolean endOfInput) {
        pending.flip();
        if (chars.capacity() < pending.remaining() + 2) {
            chars = CharBuffer.allocate(pending.remaining() + 2);
        }
        chars.clear();
        decoder.decode(pending, chars, endOfInput);
        if (endOfInput) {
            decoder.flush(chars);
        }
        pending.compact();
        chars.flip();
        return chars.toString();
    }
}
