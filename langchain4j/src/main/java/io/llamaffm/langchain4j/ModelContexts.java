package io.llamaffm.langchain4j;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.ContextPool;
import io.llamaffm.Model;

import java.util.Objects;
import java.util.function.Function;

/**
 * A LangChain4j model's {@link Model} (borrowed, or loaded and owned) and a lazy {@link ContextPool} of up to
 * {@code maxContexts} contexts on it: concurrent calls take different contexts, and a call that finds them all busy
 * waits for one. Closing is refused while a call is running (the pool's rule); it closes the contexts, then the model
 * when it was loaded here.
 */
final class ModelContexts implements AutoCloseable {
    private final Model model;
    private final boolean ownsModel;
    private final ContextPool pool;

    ModelContexts(ModelSource source, ContextParams params, int maxContexts) {
        if (maxContexts < 1) {
            throw new IllegalArgumentException("maxContexts must be >= 1, got " + maxContexts);
        }
        Objects.requireNonNull(params, "contextParams");
        this.model = source.open();
        this.ownsModel = source.owned();
        this.pool = ContextPool.lazy(model, params, maxContexts);
    }

    Model model() {
        return model;
    }

    /** Runs {@code work} on a context of its own, waiting for a free one when all are busy. */
    <T> T use(Function<Context, T> work) {
        return pool.apply(work);
    }

    /**
     * Closes the contexts, then the model when it was loaded here. Idempotent.
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
