package io.llamaffm.decoding;

import io.llamaffm.ContextState;
import io.llamaffm.LlamaException;
import io.llamaffm.internal.engine.ContextStates;
import io.llamaffm.internal.engine.Engine;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The KV states of prompts that no slot holds any more, in host memory, so that a prompt seen before (a system
 * prompt, a few-shot preamble, a conversation that comes back after other requests took its slot) is restored instead
 * of decoded again, as llama-server's prompt cache ({@code --cache-ram}) does. Bounded in bytes; the least recently
 * used states go first. Used by the {@link BatchScheduler}'s thread only.
 */
final class PromptCache implements AutoCloseable {
    /** A restore copies the whole state: it must spare at least this many tokens of decoding to be worth it. */
    static final int MIN_GAIN = 8;

    private record Entry(ContextState state, Arena arena, int[] tokens) {
        long bytes() {
            return state.data().byteSize();
        }
    }

    private final long maxBytes;
    private final List<Entry> entries = new ArrayList<>(); // least recently used first
    private long bytes;

    /** @param maxBytes the most bytes of state held (positive) */
    PromptCache(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("the prompt cache needs a positive size, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /**
     * Keeps what {@code sequence} holds before it is given to a prompt that shares only {@code common} of its tokens:
     * unless the rest is too short to matter, or some state held already starts with all of it. States whose tokens
     * are a prefix of the new one are dropped (the new one serves them too).
     */
    void keep(Engine engine, int sequence, int common) {
        int[] held = engine.knownTokens(sequence);
        if (held.length - common < MIN_GAIN) {
            return;
        }
        for (Entry e : entries) {
            if (startsWith(e.tokens(), held)) {
                return;
            }
        }
        Arena arena = Arena.ofConfined();
        ContextState state;
        try {
            state = ContextStates.save(engine, arena, sequence);
        } catch (RuntimeException | OutOfMemoryError e) { // llama.cpp could not write it, or no memory for it: go on without
            arena.close();
            return;
        }
        if (state.data().byteSize() > maxBytes) {
            arena.close();
            return;
        }
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (startsWith(held, e.tokens())) {
                drop(e);
                it.remove();
            }
        }
        entries.add(new Entry(state, arena, held));
        bytes += state.data().byteSize();
        while (bytes > maxBytes) {
            drop(entries.removeFirst());
        }
    }

    /**
     * Restores into {@code sequence} the state that shares the longest prefix with {@code prompt}, when that prefix is
     * at least {@link #MIN_GAIN} tokens longer than {@code have} (what the slots already offer).
     *
     * @return whether a state was restored
     */
    boolean restoreLongest(Engine engine, int sequence, int[] prompt, int have) {
        Entry best = null;
        int bestCommon = have + MIN_GAIN - 1;
        for (Entry e : entries) {
            int common = commonPrefix(e.tokens(), prompt);
            if (common > bestCommon) {
                best = e;
                bestCommon = common;
            }
        }
        if (best == null) {
            return false;
        }
        try {
            ContextStates.restore(engine, best.state(), sequence);
        } catch (LlamaException e) { // no room in the cache for its cells: decode instead
            return false;
        }
        entries.remove(best);
        entries.add(best); // most recently used
        return true;
    }

    private void drop(Entry e) {
        bytes -= e.bytes();
        e.arena().close();
    }

    @Override
    public void close() {
        entries.forEach(e -> e.arena().close());
        entries.clear();
        bytes = 0;
    }

    private static boolean startsWith(int[] tokens, int[] prefix) {
        return prefix.length <= tokens.length && commonPrefix(tokens, prefix) == prefix.length;
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }
}
