package io.llamaffm.langchain4j;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.LlamaException;
import io.llamaffm.Model;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Function;

/**
 * Up to {@code maxContexts} contexts of one model, handed to one call at a time each: a {@link Context} serves one
 * thread at a time, so concurrent calls take different contexts, and a call that finds them all busy waits for one.
 * Contexts are created on first need and kept (with their KV cache, so a later prompt sharing a prefix with an
 * earlier one decodes only the rest). Owns the model too when it loaded it.
 */
final class ContextPool implements AutoCloseable {
    private final Model model;
    private final boolean ownsModel;
    private final ContextParams params;
    private final int maxContexts;
    private final Deque<Context> idle = new ArrayDeque<>();
    private int created;
    private int inUse;
    private boolean closed;

    ContextPool(ModelSource source, ContextParams params, int maxContexts) {
        if (maxContexts < 1) {
            throw new IllegalArgumentException("maxContexts must be >= 1, got " + maxContexts);
        }
        this.params = java.util.Objects.requireNonNull(params, "contextParams");
        this.maxContexts = maxContexts;
        this.model = source.open();
        this.ownsModel = source.owned();
    }

    Model model() {
        return model;
    }

    /** Runs {@code work} on a context of its own, waiting for a free one when all are busy. */
    <T> T use(Function<Context, T> work) {
        Context context = acquire();
        try {
            return work.apply(context);
        } finally {
            release(context);
        }
    }

    private Context acquire() {
        synchronized (this) {
            while (!closed && idle.isEmpty() && created >= maxContexts) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new LlamaException("interrupted while waiting for a free context of " + model.path().getFileName(), e);
                }
            }
            ensureOpen();
            inUse++;
            if (!idle.isEmpty()) {
                return idle.pop();
            }
            created++;
        }
        try {
            return model.newContext(params);
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                created--;
                inUse--;
                notifyAll();
            }
            throw e;
        }
    }

    private synchronized void release(Context context) {
        inUse--;
        if (closed) {
            context.close();
            created--;
        } else {
            idle.push(context);
        }
        notifyAll();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this LangChain4j model is closed");
        }
    }

    /**
     * Closes the contexts, then the model when this pool loaded it. Refused while a call is running; idempotent.
     *
     * @throws IllegalStateException if a call is still using a context
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        if (inUse > 0) {
            throw new IllegalStateException(inUse + " call(s) still running on " + model.path().getFileName()
                    + ": close after they return");
        }
        closed = true;
        notifyAll();
        while (!idle.isEmpty()) {
            idle.pop().close();
            created--;
        }
        if (ownsModel) {
            model.close();
        }
    }
}
