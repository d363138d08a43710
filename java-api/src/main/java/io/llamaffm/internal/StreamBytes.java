package io.llamaffm.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Reads a whole stream into native memory without a temporary file and without a heap copy of the whole: the bytes go
 * through one small heap buffer into a block grown with the C library's {@code realloc} (which on Linux moves large
 * blocks by remapping pages, not by copying them). The block is freed when the caller's arena closes.
 */
public final class StreamBytes {
    private static final int CHUNK = 1 << 20;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MALLOC = libc("malloc", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle REALLOC = libc("realloc",
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle FREE = libc("free", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));

    private StreamBytes() {}

    /** The stream holds more bytes than the caller allows, or native memory for them could not be had. */
    public static final class LimitException extends IOException {
        LimitException(String message) {
            super(message);
        }
    }

    /**
     * Reads {@code in} to its end into native memory freed when {@code arena} closes. Does not close {@code in}.
     *
     * @param sizeHint the expected number of bytes (sizes the first block), or a value &lt;= 0 when unknown
     * @param maxBytes the most bytes to accept
     * @return exactly the bytes of the stream
     * @throws LimitException if the stream holds more than {@code maxBytes} bytes or the memory cannot be allocated
     * @throws IOException    if reading fails
     */
    public static MemorySegment readAll(InputStream in, long sizeHint, long maxBytes, Arena arena) throws IOException {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        if (sizeHint > maxBytes) {
            throw new LimitException("the stream holds " + sizeHint + " bytes, more than " + maxBytes + " bytes");
        }
        long capacity = Math.max(1, Math.min(sizeHint > 0 ? sizeHint : CHUNK, maxBytes == Long.MAX_VALUE ? maxBytes : maxBytes + 1));
        MemorySegment block = malloc(capacity);
        long size = 0;
        try {
            byte[] buffer = new byte[CHUNK];
            while (true) {
                if (size == capacity) {
                    if (size > maxBytes) {
                        throw new LimitException("the stream holds more than " + maxBytes + " bytes");
                    }
                    long grown = capacity > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : capacity * 2;
                    capacity = maxBytes == Long.MAX_VALUE ? grown : Math.min(grown, maxBytes + 1);
                    block = realloc(block, capacity);
                }
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, capacity - size));
                if (n < 0) {
                    break;
                }
                MemorySegment.copy(buffer, 0, block.reinterpret(capacity), ValueLayout.JAVA_BYTE, size, n);
                size += n;
            }
            if (size > maxBytes) {
                throw new LimitException("the stream holds more than " + maxBytes + " bytes");
            }
            if (size < capacity && size > 0) {
                block = realloc(block, size); // give back what the last growth over-reserved
            }
        } catch (IOException | RuntimeException | Error e) {
            free(block);
            throw e;
        }
        return block.reinterpret(size, arena, StreamBytes::free);
    }

    private static MemorySegment malloc(long bytes) throws LimitException {
        try {
            MemorySegment p = (MemorySegment) MALLOC.invokeExact(bytes);
            if (p.equals(MemorySegment.NULL)) {
                throw new LimitException("cannot allocate " + bytes + " bytes of native memory");
            }
            return p;
        } catch (LimitException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("malloc failed", t);
        }
    }

    /** Grows or shrinks {@code block}; on failure frees nothing (the caller still owns {@code block}). */
    private static MemorySegment realloc(MemorySegment block, long bytes) throws LimitException {
        try {
            MemorySegment p = (MemorySegment) REALLOC.invokeExact(block, bytes);
            if (p.equals(MemorySegment.NULL)) {
                throw new LimitException("cannot allocate " + bytes + " bytes of native memory");
            }
            return p;
        } catch (LimitException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("realloc failed", t);
        }
    }

    private static void free(MemorySegment block) {
        try {
            FREE.invokeExact(block);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }

    private static MethodHandle libc(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("the C library has no " + name));
        return LINKER.downcallHandle(symbol, descriptor);
    }
}
