package io.llamaffm.examples.cli;

import io.llamaffm.Model;
import io.llamaffm.ModelParams;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Loads a model while a {@link ProgressBar} shows that something is happening. The library has no load-progress
 * callback yet, so the load runs on a worker thread and this thread ticks the bar's spinner until it is done;
 * once {@code ModelParams} takes a progress listener, pass {@code bar::update} to it and the spinner becomes a bar.
 */
final class ModelLoading {
    static final long TICK_MILLIS = 100;

    private ModelLoading() {}

    /** Loads {@code path}; with a bar, on a worker thread while the bar spins; without one, on this thread. */
    static Model load(Path path, ModelParams params, ProgressBar bar) {
        if (bar == null) {
            return Model.load(path, params);
        }
        CompletableFuture<Model> loaded = new CompletableFuture<>();
        Thread.ofPlatform().name("llama-ffm-model-load").daemon(true).start(() -> {
            try {
                loaded.complete(Model.load(path, params));
            } catch (Throwable t) {
                loaded.completeExceptionally(t);
            }
        });
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    Model model = loaded.get(TICK_MILLIS, TimeUnit.MILLISECONDS);
                    bar.finish(String.format(Locale.ROOT, "loaded %s (%s) in %.2f s", path.getFileName(),
                            Units.bytes(model.config().sizeBytes()), bar.elapsedSeconds()));
                    return model;
                } catch (TimeoutException e) {
                    bar.tick();
                } catch (InterruptedException e) {
                    interrupted = true; // a native load cannot be stopped half-way: wait for it, then report the interrupt
                } catch (ExecutionException e) {
                    bar.finish(null);
                    switch (e.getCause()) {
                        case RuntimeException r -> throw r;
                        case Error err -> throw err;
                        default -> throw new IllegalStateException(e.getCause());
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
