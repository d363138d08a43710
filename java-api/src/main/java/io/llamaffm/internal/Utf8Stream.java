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

    /**
     * Adds bytes and appends the text completed by them to {@code out}, allocating nothing once its buffers
     * have grown to the longest piece.
     */
    public void push(byte[] bytes, int length, StringBuilder out) {
        append(bytes, length);
        drainInto(false, out);
    }

    private void append(byte[] bytes, int length) {
        if (pending.remaining() < length) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(pending.capacity() * 2, pending.position() + length));
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(bytes, 0, length);
    }

    /** Ends the stream, appending any unfinished character as U+FFFD to {@code out}. */
    public void finish(StringBuilder out) {
        drainInto(true, out);
        decoder.reset();
    }

    private void drainInto(boolean endOfInput, StringBuilder out) {
        decode(endOfInput);
        out.append(chars);
    }

    private void decode(boolean endOfInput) {
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
    }
}
