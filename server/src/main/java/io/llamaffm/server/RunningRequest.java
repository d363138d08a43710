package io.llamaffm.server;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One request the server is handling, as {@link OpenAiServer#close()} sees it: the threads working on it, and the one
 * way its response is written.
 *
 * <p>Closing the server cancels a request by interrupting its threads (a decode checks the interrupt and ends its
 * generation with {@code CANCELLED}). An interrupt must never reach a socket write: an interrupted thread's write
 * closes the channel, and the client would lose the error event that says why its stream ended. So every write to the
 * client goes through {@link #write}, which clears the thread's interrupt for the write (and restores it after) and
 * holds a lock that {@link #cancel} takes before it interrupts.
 */
final class RunningRequest {
    /** The request the current thread works on; unbound outside request handling. */
    static final ScopedValue<RunningRequest> CURRENT = ScopedValue.newInstance();

    /** How long {@link #cancel} waits for a write in progress (a client that reads nothing is then cut off). */
    private static final long WRITE_GRACE_MS = 1000;

    /** A write to the client. */
    @FunctionalInterface
    interface Write {
        void run() throws IOException;
    }

    private final Thread thread;
    private final Metrics metrics;
    private final String endpoint;
    private final ReentrantLock writing = new ReentrantLock();
    private final java.util.concurrent.atomic.AtomicBoolean counted = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile Thread worker; // the platform thread decoding for this request, when it was handed one
    private volatile boolean cancelled;

    /** A request handled on {@code thread}, counted in {@code metrics} under {@code endpoint}. */
    RunningRequest(Thread thread, Metrics metrics, String endpoint) {
        this.thread = thread;
        this.metrics = metrics;
        this.endpoint = endpoint;
    }

    /**
     * Counts the current request as answered with {@code status} (0: nothing could be sent), once: called as the status
     * line goes out, so the count is in {@code /metrics} before the client has its answer.
     */
    static void answered(int status) {
        RunningRequest r = current();
        if (r != null) {
            r.count(status);
        }
    }

    /** Counts this request as answered with {@code status}, unless it was already counted. */
    void count(int status) {
        if (counted.compareAndSet(false, true)) {
            metrics.request(endpoint, status);
        }
    }

    /** The request of the current thread, or null outside one. */
    static RunningRequest current() {
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    /**
     * Runs {@code write} for the current thread's request (or as it is, outside one) with the thread's interrupt
     * cleared, and restores the interrupt after.
     */
    static void writeToClient(Write write) throws IOException {
        RunningRequest r = current();
        if (r == null) {
            write.run();
        } else {
            r.write(write);
        }
    }

    private void write(Write write) throws IOException {
        writing.lock();
        boolean interrupted = Thread.interrupted();
        try {
            write.run();
        } finally {
            writing.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Marks {@code t} as the thread working on this request (null: none now); a cancelled request interrupts it at once. */
    void worker(Thread t) {
        worker = t;
        if (t != null && cancelled) {
            t.interrupt();
        }
    }

    /**
     * Cancels the request: interrupts its threads, once no write is in progress (or after a short wait for one, when the
     * client reads nothing: the interrupt then closes its connection).
     */
    void cancel() {
        cancelled = true;
        boolean locked = false;
        try {
            locked = writing.tryLock(WRITE_GRACE_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Thread w = worker;
            if (w != null) {
                w.interrupt();
            }
            thread.interrupt();
        } finally {
            if (locked) {
                writing.unlock();
            }
        }
    }
}
