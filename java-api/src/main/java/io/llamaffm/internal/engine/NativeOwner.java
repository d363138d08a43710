package io.llamaffm.internal.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One native object and the arena that frees it (jextract's one-arena-per-owner idiom). The raw pointer is
 * reinterpreted with its free function in the owner's arena, so {@link #close()} frees it exactly once, after everything
 * else allocated in the arena before it was opened has been freed in reverse order. Every llama.cpp object the library
 * creates (model, context, LoRA adapter) is opened through {@link #open}.
 */
public final class NativeOwner implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment handle;

    private NativeOwner(Arena arena, MemorySegment handle) {
        this.arena = arena;
        this.handle = handle;
    }

    /**
     * Opens a native object: makes the owner's shared arena, calls {@code create} with it (which may allocate in it
     * first; those allocations live as long as the object), refuses a NULL result with {@code whenNull}'s exception,
     * and attaches {@code free}. If anything fails, the arena is closed and nothing leaks.
     *
     * @param create   makes the object, may allocate in the arena
     * @param free     frees it (called once, when the owner closes)
     * @param whenNull the exception thrown when {@code create} returns NULL (called after {@code create})
     * @return the owner
     */
    public static NativeOwner open(Function<Arena, MemorySegment> create, Consumer<MemorySegment> free,
                                   Supplier<? extends RuntimeException> whenNull) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment raw = create.apply(arena);
            if (raw == null || raw.equals(MemorySegment.NULL)) {
                throw whenNull.get();
            }
            return new NativeOwner(arena, raw.reinterpret(arena, free::accept));
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** {@return the native pointer, valid until {@link #close()}} */
    public MemorySegment handle() {
        return handle;
    }

    /** {@return the arena that owns the object; allocations in it are freed with it} */
    public Arena arena() {
        return arena;
    }

    /** Frees the object (and everything allocated in its arena). Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
