package io.llamaffm.internal;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.ggml_threadpool_params;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * ggml's persistent CPU thread pool, one per process (per thread count and polling level), and the one CPU budget of
 * the process. Without a pool, llama.cpp's CPU backend creates (and joins) its worker threads on every graph
 * computation, i.e. once per generated token; llama-bench and llama-cli attach a persistent pool, and so does every
 * context of ours. The pool functions live in the CPU backend plugin (one library per CPU variant, loaded by ggml
 * itself), so they are reached through the backend's proc-address table, not through a linked symbol.
 *
 * <p><b>One budget.</b> Contexts do not get a pool each: N contexts with a pool of T threads each would put N × T
 * threads (busy-waiting between tokens) on the cores, and several busy contexts would each run slower than one alone.
 * Every context attaches the shared pool of its thread count, and graph computations take turns ({@link #lock()}):
 * the process never runs more than T compute threads, the cores are never oversubscribed, and the Java work of one
 * context never runs beside the computation of another: a whole decode-loop step (sampling, text, decode) is one turn,
 * as sampling beside another context's decode took a core from its spinning compute threads (4 contexts: 0.70x of one
 * context's throughput with turns per decode, 0.92-0.98x with turns per step). To compute several sequences at once, put them in
 * one context (its sequences share each decode): see {@code io.llamaffm.decoding.BatchScheduler}.
 */
public final class CpuThreadPool {
    private CpuThreadPool() {}

    /**
     * Held around every graph computation (decode) of every context: one at a time. Not fair: a thread that releases it
     * and comes back at once (its next token) may go again before a parked waiter wakes; handing over at every decode
     * costs a wake-up each, which measured 0.6x of one context's throughput with four contexts against ~1.0x.
     */
    private static final ReentrantLock COMPUTE = new ReentrantLock();
    /** The shared pools by (threads, polling); they live as long as the process. */
    private static final Map<Long, MemorySegment> SHARED = new HashMap<>();

    /**
     * The process's pool of {@code threads} threads at polling level {@code polling}, created on first use and
     * never freed; NULL where the CPU backend offers no pools.
     */
    public static MemorySegment shared(int threads, int polling) {
        synchronized (SHARED) {
            return SHARED.computeIfAbsent(((long) threads << 8) | polling, k -> create(threads, polling, Arena.global()));
        }
    }

    /** Takes the process's turn to compute: call before a decode, {@link #unlock()} after. */
    public static void lock() {
        COMPUTE.lock();
    }

    /** Ends the turn taken by {@link #lock()}. */
    public static void unlock() {
        COMPUTE.unlock();
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
