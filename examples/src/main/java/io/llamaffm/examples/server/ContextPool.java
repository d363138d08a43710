package io.llamaffm.examples.server;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A fixed set of contexts on one shared model, all created up front (so the memory they take is known when the
 * server starts). A request leases one for its whole duration; a context serves one request at a time, and keeps
 * its KV cache between requests, so a prompt that starts like the previous one on that context decodes only the
 * rest. When every context is leased, {@link #acquire} waits up to the queue timeout, then the request gets
 * 503 ({@code server_busy}).
 */
final class ContextPool implements AutoCloseable {
    private final List<Context> all;
    private final BlockingQueue<Context> idle;
    private final int contextLength;

    /** Creates {@code size} contexts with {@code params}; on failure closes those already made. */
    ContextPool(Model model, ContextParams params, int size) {
        if (size < 1) {
            throw new IllegalArgumentException("the pool needs at least one context, got " + size);
        }
        List<Context> made = new ArrayList<>(size);
        try {
            for (int i = 0; i < size; i++) {
                made.add(model.newContext(params));
            }
        } catch (RuntimeException | Error e) {
            made.forEach(Context::close);
            throw e;
        }
        this.all = List.copyOf(made);
        this.idle = new ArrayBlockingQueue<>(size, true, made);
        this.contextLength = made.getFirst().contextLength();
    }

    /** Tokens each context holds. */
    int contextLength() {
        return contextLength;
    }

    /** How many contexts the pool has. */
    int size() {
        return all.size();
    }

    /**
     * Leases a context, waiting up to {@code wait} for one to be returned.
     *
     * @throws ApiException 503 {@code server_busy} when none frees up in time
     */
    Lease acquire(Duration wait) throws InterruptedException {
        Context c = idle.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
        if (c == null) {
            throw new ApiException(503, "server_error", "All " + all.size() + " context(s) of this server are busy; "
                    + "retry later (or start the server with a larger --parallel).", null, "server_busy");
        }
        return new Lease(this, c);
    }

    /** Closes every context; call once no request holds one. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (Context c : all) {
            try {
                c.close();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** A leased context; closing the lease gives the context back (once). */
    static final class Lease implements AutoCloseable {
        private final ContextPool pool;
        private Context context;

        private Lease(ContextPool pool, Context context) {
            this.pool = pool;
            this.context = context;
        }

        /** The leased context, for this thread only until the lease closes. */
        Context context() {
            if (context == null) {
                throw new IllegalStateException("the lease was returned");
            }
            return context;
        }

        @Override
        public void close() {
            if (context != null) {
                pool.idle.add(context);
                context = null;
            }
        }
    }
}
