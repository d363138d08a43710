package io.llamaffm.internal;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.ggml_threadpool_params;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * ggml's persistent CPU thread pools and the one CPU budget of the process. Without a pool, llama.cpp's CPU backend
 * creates (and joins) its worker threads on every graph computation, i.e. once per generated token; llama-bench and
 * llama-cli attach a persistent pool, and so does every computation of ours. The pool functions live in the CPU backend
 * plugin (one library per CPU variant, loaded by ggml itself), so they are reached through the backend's proc-address
 * table, not through a linked symbol.
 *
 * <p><b>One budget.</b> The process computes with at most as many threads as it has cores
 * ({@link Runtime#availableProcessors()}): a computation of T threads first takes T of those permits ({@link #take}),
 * then a pool of T threads that no other computation is using (pools are kept per thread count and polling level and
 * reused, so a process has only as many as ran at once). Contexts of as many threads as there are cores (the default)
 * therefore take turns, and N busy contexts never put N × T threads (busy-waiting between tokens) on the cores, which
 * made four contexts run at 0.07x of one; contexts of fewer threads (Spark tasks of one CPU each, say) compute side by
 * side on the cores they fill together. A whole decode-loop step (sampling, text, decode) is one turn, as sampling
 * beside another context's decode took a core from its spinning compute threads (4 contexts: 0.70x of one context's
 * throughput with turns per decode, 0.92-0.98x with turns per step). To compute several sequences at once, put them in
 * one context (its sequences share each decode): see {@code io.llamaffm.decoding.BatchScheduler}.
 */
public final class CpuThreadPool {
    private CpuThreadPool() {}

    /** The cores the budget hands out. */
    private static final int CORES = Math.max(1, Runtime.getRuntime().availableProcessors());
    /**
     * The budget's permits, one per core. Not fair: a thread that releases its permits and comes back at once (its next
     * token) may go again before a parked waiter wakes; handing over at every decode costs a wake-up each, which
     * measured 0.6x of one context's throughput with four contexts against ~1.0x.
     */
    private static final Semaphore BUDGET = new Semaphore(CORES, false);
    /** The pools no computation is using, by shape (threads, polling); pools live as long as the process. */
    private static final List<Shape> SHAPES = new ArrayList<>(); // guarded by itself
    /** The turn this thread holds (a step's turn covers the decodes inside it). */
    private static final ThreadLocal<TurnHolder> HELD = ThreadLocal.withInitial(TurnHolder::new);

    /** One thread's current turn; a holder, so that taking and giving turns allocates nothing. */
    private static final class TurnHolder {
        Turn turn;
    }

    /** The idle turns (each with its pool) of one shape. */
    private record Shape(int threads, int polling, ArrayDeque<Turn> idle) {}

    /**
     * A turn of the budget: its permits and the pool of threads to compute on (NULL where ggml offers no pools). Each
     * pool has one turn object, reused from turn to turn, so that a token's turn allocates nothing.
     */
    public static final class Turn {
        private final Shape shape;
        private final MemorySegment pool;
        private int permits;
        private int depth;
        private boolean nested;

        private Turn(Shape shape, MemorySegment pool) {
            this.shape = shape;
            this.pool = pool;
        }

        /** {@return the pool to attach for this turn's computations} */
        public MemorySegment pool() {
            return pool;
        }
    }

    /**
     * Takes a turn to compute with {@code threads} threads at polling level {@code polling}: waits for that many of
     * the process's cores (all of them when {@code threads} is more), then takes an idle pool of that shape, created
     * on first need. A thread that holds a turn already gets that turn again (a decode inside a step); give every
     * turn back with {@link #give}.
     */
    public static Turn take(int threads, int polling) {
        TurnHolder holder = HELD.get();
        Turn held = holder.turn;
        if (held != null && held.shape.threads() == threads && held.shape.polling() == polling) {
            held.depth++;
            return held;
        }
        // a computation of another shape inside a turn (a second context decoding within a step): same thread, one at a
        // time, so no more cores than the turn holds; it needs only a pool of its own shape
        int permits = held != null ? 0 : Math.min(Math.max(1, threads), CORES);
        BUDGET.acquireUninterruptibly(permits);
        Turn turn;
        try {
            Shape shape;
            synchronized (SHAPES) {
                shape = shape(threads, polling);
                turn = shape.idle().pollFirst();
            }
            if (turn == null) {
                turn = new Turn(shape, create(threads, polling, Arena.global()));
            }
        } catch (RuntimeException | Error e) {
            BUDGET.release(permits);
            throw e;
        }
        turn.permits = permits;
        turn.depth = 1;
        turn.nested = held != null;
        if (held == null) {
            holder.turn = turn;
        }
        return turn;
    }

    /** Gives back a turn taken by {@link #take} on this thread: its pool goes back to the idle ones, its cores to the budget. */
    public static void give(Turn turn) {
        if (--turn.depth > 0) {
            return;
        }
        if (!turn.nested) {
            HELD.get().turn = null;
        }
        synchronized (SHAPES) {
            turn.shape.idle().addFirst(turn);
        }
        BUDGET.release(turn.permits);
    }

    /** The shape's entry, made on first need (lock on SHAPES held). */
    private static Shape shape(int threads, int polling) {
        for (int i = 0; i < SHAPES.size(); i++) {
            Shape s = SHAPES.get(i);
            if (s.threads() == threads && s.polling() == polling) {
                return s;
            }
        }
        Shape s = new Shape(threads, polling, new ArrayDeque<>());
        SHAPES.add(s);
        return s;
    }

    /** ggml_threadpool_new / ggml_threadpool_free of the loaded CPU backend, or null where it has none. */
    private record Functions(MethodHandle create, MethodHandle free) {}

    private static final class Holder {
        static final Functions FUNCTIONS = lookup();
    }

    private static Functions lookup() {
        long devices = LlamaH.ggml_backend_dev_count();
        for (long i = 0; i < devices; i++) {
            MemorySegment dev = LlamaH.ggml_backend_dev_get(i);
            if (LlamaH.ggml_backend_dev_type(dev) != LlamaH.GGML_BACKEND_DEVICE_TYPE_CPU()) {
                continue;
            }
            MemorySegment reg = LlamaH.ggml_backend_dev_backend_reg(dev);
            try (Arena names = Arena.ofConfined()) {
                MemorySegment create = LlamaH.ggml_backend_reg_get_proc_address(reg, names.allocateFrom("ggml_threadpool_new"));
                MemorySegment free = LlamaH.ggml_backend_reg_get_proc_address(reg, names.allocateFrom("ggml_threadpool_free"));
                if (create.equals(MemorySegment.NULL) || free.equals(MemorySegment.NULL)) {
                    return null;
                }
                Linker linker = Linker.nativeLinker();
                return new Functions(linker.downcallHandle(create, FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS)),
                        linker.downcallHandle(free, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS)));
            }
        }
        return null;
    }

    /**
     * Creates a pool of {@code threads} threads (the calling thread counts as one: ggml starts threads − 1 workers)
     * that busy-wait at polling level {@code polling} (0–100) between computations, with ggml's default priority,
     * freed when {@code owner} closes. Returns NULL where the CPU backend
     * offers no pools (llama.cpp then falls back to per-computation threads).
     */
    private static MemorySegment create(int threads, int polling, Arena owner) {
        Functions f = Holder.FUNCTIONS;
        if (f == null) {
            return MemorySegment.NULL;
        }
        MemorySegment pool;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment params = tmp.allocate(ggml_threadpool_params.layout());
            LlamaH.ggml_threadpool_params_init(params, threads);
            ggml_threadpool_params.poll(params, polling);
            pool = (MemorySegment) f.create().invokeExact(params);
        } catch (Throwable t) {
            throw new IllegalStateException("ggml_threadpool_new failed", t);
        }
        if (pool.equals(MemorySegment.NULL)) {
            return MemorySegment.NULL;
        }
        return pool.reinterpret(owner, p -> {
            try {
                f.free().invokeExact(p);
            } catch (Throwable t) {
                throw new IllegalStateException("ggml_threadpool_free failed", t);
            }
        });
    }
}
