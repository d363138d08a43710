package io.llamaffm;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * At most {@link #size()} contexts of one model, each leased to one caller at a time: a {@link Context} serves one
 * thread at a time, so concurrent callers take different contexts, and a caller that finds them all leased waits
 * (up to a timeout) for one to come back. A context keeps its KV cache between leases, so a prompt that starts like
 * the one before it on that context decodes only the rest; the most recently returned context is leased first.
 *
 * <pre>{@code
 * try (ContextPool pool = ContextPool.lazy(model, ContextParams.defaults(), 4);
 *      ContextPool.Lease lease = pool.acquire(Duration.ofSeconds(30))) {
 *     Completion c = lease.context().generate("Once upon a time", 32, SamplerChain.greedy(), null);
 * }
 * }</pre>
 *
 * <p><b>Creation.</b> {@link #eager} creates every context at once (the memory they take is known, and missing, at
 * start); {@link #lazy} creates one when a caller finds none idle and fewer than {@link #size()} exist, and keeps it.
 *
 * <p><b>Closing.</b> {@link #close()} is refused ({@link IllegalStateException} saying how many leases are out) while
 * any lease is open, and then nothing changes: close the leases first. Otherwise it closes every context and refuses
 * every later {@link #acquire}. Idempotent. The pool borrows the model: close the pool, then the model (a model
 * refuses to close while contexts made from it are open).
 *
 * <p><b>Threads.</b> Any thread may acquire and close leases. A lease, and its context, is for one thread at a time
 * until it closes; its context then belongs to the pool again, and {@link Lease#context()} throws. Closing a leased
 * context yourself is allowed: the pool drops it, and creates another when one is needed.
 */
public final class ContextPool implements AutoCloseable {
    private final Model model;
    private final ContextParams params;
    private final int size;
    private final ReentrantLock lock = new ReentrantLock(true);
    private final Condition returned = lock.newCondition();
    private final Deque<Context> idle = new ArrayDeque<>(); // guarded by lock; the most recently returned first
    private int created; // guarded by lock; contexts that exist or are being created
    private int leased; // guarded by lock
    private int waiting; // guarded by lock: callers inside acquire waiting for a context to come back
    private boolean closed; // guarded by lock
    private volatile int contextLength; // 0 until a context exists

    private ContextPool(Model model, ContextParams params, int size) {
        this.model = Objects.requireNonNull(model, "model");
        this.params = Objects.requireNonNull(params, "params");
        if (size < 1) {
            throw new IllegalArgumentException("a context pool needs at least one context, got size " + size);
        }
        this.size = size;
    }

    /**
     * A pool whose {@code size} contexts are all created now.
     *
     * @param model  the model the contexts run (borrowed: the caller closes it after the pool)
     * @param params how each context is created
     * @param size   how many contexts, at least 1
     * @return the pool
     * @throws IllegalArgumentException if {@code size} is below 1
     * @throws LlamaException           if a context cannot be created (those already made are closed)
     */
    public static ContextPool eager(Model model, ContextParams params, int size) {
        ContextPool pool = new ContextPool(model, params, size);
        try {
            for (int i = 0; i < size; i++) {
                pool.idle.add(pool.newContext());
                pool.created++;
            }
        } catch (RuntimeException | Error e) {
            for (Context c : pool.idle) {
                try {
                    c.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return pool;
    }

    /**
     * A pool that creates a context when a caller finds none idle, up to {@code size}, and keeps it.
     *
     * @param model  the model the contexts run (borrowed: the caller closes it after the pool)
     * @param params how each context is created
     * @param size   the most contexts, at least 1
     * @return the pool, with no context yet
     * @throws IllegalArgumentException if {@code size} is below 1
     */
    public static ContextPool lazy(Model model, ContextParams params, int size) {
        return new ContextPool(model, params, size);
    }

    /** {@return the model the contexts run} */
    public Model model() {
        return model;
    }

    /** {@return how each context is created} */
    public ContextParams params() {
        return params;
    }

    /** {@return the most contexts the pool holds, hence the most leases open at once} */
    public int size() {
        return size;
    }

    /**
     * How many contexts are leased now (a gauge for monitoring: it may change as soon as it is read).
     *
     * @return the open leases, 0 to {@link #size()}
     */
    public int leased() {
        lock.lock();
        try {
            return leased;
        } finally {
            lock.unlock();
        }
    }

    /**
     * How many callers are waiting in {@link #acquire} for a context to come back (a gauge for monitoring).
     *
     * @return the waiting callers
     */
    public int waiting() {
        lock.lock();
        try {
            return waiting;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Tokens each context holds, as llama.cpp sized them ({@link Context#contextLength()}); the same for every context
     * of the pool.
     *
     * @return the length, or empty while the pool has created no context yet (never for an {@link #eager} pool)
     */
    public OptionalInt contextLength() {
        int n = contextLength;
        return n == 0 ? OptionalInt.empty() : OptionalInt.of(n);
    }

    /**
     * Leases a context, waiting as long as it takes for one to come back when all are leased.
     *
     * @return the lease; close it to give the context back
     * @throws InterruptedException  if the thread is interrupted while waiting
     * @throws IllegalStateException if the pool is closed
     * @throws LlamaException        if a new context cannot be created
     */
    public Lease acquire() throws InterruptedException {
        return acquire(Long.MAX_VALUE, null);
    }

    /**
     * Runs {@code work} on a leased context, waiting as long as it takes for one when all are leased, and gives the
     * context back when {@code work} returns or throws: the way integrations serve one call.
     *
     * @param work what to do with the context; it must not keep the context
     * @param <T>  what {@code work} returns
     * @return what {@code work} returned
     * @throws LlamaException        if the thread is interrupted while waiting (its interrupt status is kept), or a new
     *                               context cannot be created
     * @throws IllegalStateException if the pool is closed
     */
    public <T> T apply(Function<Context, T> work) {
        Objects.requireNonNull(work, "work");
        try (Lease lease = acquire()) {
            return work.apply(lease.context());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LlamaException("interrupted while waiting for a free context of " + model.path().getFileName(), e);
        }
    }

    /**
     * Leases a context, waiting up to {@code timeout} for one to come back when all are leased.
     *
     * @param timeout the longest wait; {@link Duration#ZERO} does not wait
     * @return the lease; close it to give the context back
     * @throws ContextPoolTimeoutException if every context stayed leased for {@code timeout}
     * @throws InterruptedException        if the thread is interrupted while waiting
     * @throws IllegalArgumentException    if {@code timeout} is negative
     * @throws IllegalStateException       if the pool is closed
     * @throws LlamaException              if a new context cannot be created
     */
    public Lease acquire(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
        }
        long nanos = timeout.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : timeout.toNanos();
        return acquire(nanos, timeout);
    }

    /** Leases an idle context, or the right to create one; waits up to {@code nanos} (timeout null: forever). */
    private Lease acquire(long nanos, Duration timeout) throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (true) {
                if (closed) {
                    throw new IllegalStateException("the context pool is closed");
                }
                Context c = idle.pollFirst();
                if (c != null) {
                    leased++;
                    return new Lease(c);
                }
                if (created < size) {
                    created++;
                    leased++;
                    break; // create it outside the lock: it takes a while
                }
                if (timeout != null && nanos <= 0) {
                    throw new ContextPoolTimeoutException(size, timeout);
                }
                waiting++;
                try {
                    nanos = returned.awaitNanos(nanos);
                } finally {
                    waiting--;
                }
            }
        } finally {
            lock.unlock();
        }
        try {
            return new Lease(newContext());
        } catch (RuntimeException | Error e) {
            lock.lock();
            try {
                created--;
                leased--;
                returned.signal();
            } finally {
                lock.unlock();
            }
            throw e;
        }
    }

    private Context newContext() {
        Context c = model.newContext(params);
        contextLength = c.contextLength();
        return c;
    }

    /** Takes {@code c} back from a lease: idle again, or dropped when its holder closed it. Called with the lock held. */
    private void giveBack(Context c) {
        leased--;
        if (isOpen(c)) {
            idle.addFirst(c);
        } else {
            created--;
        }
        returned.signal();
    }

    private static boolean isOpen(Context c) {
        try {
            c.contextLength();
            return true;
        } catch (IllegalStateException closedByItsHolder) {
            return false;
        }
    }

    /**
     * Closes every context and refuses later acquires; refused while a lease is open. Idempotent.
     *
     * @throws IllegalStateException if a lease is still open (the pool stays as it was)
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            if (leased > 0) {
                throw new IllegalStateException(leased + " of the " + size + " contexts of this pool are still leased: "
                        + "close their leases, then the pool");
            }
            closed = true;
            returned.signalAll();
            RuntimeException failure = null;
            for (Context c : idle) {
                try {
                    c.close();
                } catch (RuntimeException e) {
                    if (failure == null) failure = e;
                    else failure.addSuppressed(e);
                }
            }
            idle.clear();
            created = 0;
            if (failure != null) {
                throw failure;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * One context leased from the pool until {@link #close()} gives it back. For one thread at a time; closing is
     * idempotent.
     */
    public final class Lease implements AutoCloseable {
        private volatile Context context; // null once given back

        private Lease(Context context) {
            this.context = context;
        }

        /**
         * The leased context: yours alone until the lease closes.
         *
         * @return the context
         * @throws IllegalStateException if the lease is closed
         */
        public Context context() {
            Context c = context;
            if (c == null) {
                throw new IllegalStateException("this lease is closed: its context went back to the pool");
            }
            return c;
        }

        /** Gives the context back to the pool (a context its holder closed is dropped). Idempotent. */
        @Override
        public void close() {
            lock.lock();
            try {
                Context c = context;
                if (c != null) {
                    context = null;
                    giveBack(c);
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
