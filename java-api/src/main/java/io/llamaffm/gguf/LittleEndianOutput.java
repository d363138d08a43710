package io.llamaffm.gguf;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Little-endian primitives on an {@link OutputStream}, through a buffer, counting the bytes written. */
final class LittleEndianOutput {
    private final OutputStream out;
    private final byte[] buf = new byte[1 << 16];
    private int used;
    private long written;

    LittleEndianOutput(OutputStream out) {
        this.out = out;
    }

    void u8(int v) throws IOException {
        room(1);
        buf[used++] = (byte) v;
    }

    void u16(int v) throws IOException {
        room(2);
        buf[used++] = (byte) v;
        buf[used++] = (byte) (v >> 8);
    }

    void u32(int v) throws IOException {
        room(4);
        for (int i = 0; i < 4; i++) {
            buf[used++] = (byte) (v >> (8 * i));
        }
    }

    void i64(long v) throws IOException {
        room(8);
        for (int i = 0; i < 8; i++) {
            buf[used++] = (byte) (v >> (8 * i));
        }
    }

    /** A GGUF string: 64-bit length, then the bytes. */
    void string(byte[] utf8) throws IOException {
        i64(utf8.length);
        bytes(MemorySegment.ofArray(utf8));
    }

    /** Copies a segment through the buffer. */
    void segment(MemorySegment data) throws IOException {
        bytes(data);
    }

    /** Zero bytes up to the next multiple of {@code alignment} of the total written. */
    void pad(long alignment) throws IOException {
        while ((written + used) % alignment != 0) {
            u8(0);
        }
    }

    void flush() throws IOException {
        out.write(buf, 0, used);
        written += used;
        used = 0;
        out.flush();
    }

    private void bytes(MemorySegment data) throws IOException {
        long done = 0;
        long n = data.byteSize();
        while (done < n) {
            room(1);
            int chunk = (int) Math.min(n - done, buf.length - used);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, done, buf, used, chunk);
            used += chunk;
            done += chunk;
        }
    }

    private void room(int n) throws IOException {
        if (buf.length - used < n) {
            out.write(buf, 0, used);
            written += used;
            used = 0;
        }
    }
}
