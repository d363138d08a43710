package io.llamaffm.springai;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.ContextPool;
import io.llamaffm.Model;

import java.util.Objects;
import java.util.function.Function;

/**
 * A Spring AI model's {@link Model} (borrowed, or owned and closed here) and a lazy {@link ContextPool} of up to
 * {@code poolSize} contexts on it: concurrent calls take different contexts, a call that finds them all busy waits.
 */
final class ModelContexts implements AutoCloseable {
    private final Model model;
    private final boolean ownsModel;
    private final ContextPool pool;

    ModelContexts(Model model, boolean ownsModel, ContextParams params, int poolSize) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(params, "contextParams");
        if (poolSize < 1) {
            throw new IllegalArgumentException("poolSize must be >= 1, got " + poolSize);
        }
        if (model.isClosed()) {
            throw new IllegalStateException("the model " + model.path().getFileName() + " is closed");
        }
        this.model = model;
        this.ownsModel = ownsModel;
        this.pool = ContextPool.lazy(model, params, poolSize);
    }

    Model model() {
        return model;
    }

    boolean ownsModel() {
        return ownsModel;
    }

    /** Runs {@code work} on a context of its own, waiting for a free one when all are busy. */
    <T> T use(Function<Context, T> work) {
        return pool.apply(work);
    }

    /**
     * Closes the contexts, then the model when it is owned. Idempotent.
     *
     * @throws IllegalStateException if a call is still using a context
     */
    @Override
    public void close() {
        pool.close();
        if (ownsModel) {
            model.close();
        }
    }
}
