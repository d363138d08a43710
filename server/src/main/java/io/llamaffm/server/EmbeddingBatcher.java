package io.llamaffm.server;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Embeds the inputs of concurrent requests together: one platform thread owns the embedding context, takes every
 * request waiting when it comes round (up to {@value #MAX_BATCH_INPUTS} inputs, or one request however large), embeds
 * their inputs in one {@link Context#embed(List, EmbeddingParams)} call (several texts per decode, as sequences) and
 * hands each request its vectors. Each text is its own sequence, so its vector does not depend on its neighbours.
 *
 * <p>A request waits up to the queue timeout to be taken, then gets 503 {@code server_busy}; at most {@code queueSize}
 * requests (at least one) wait, one more is refused at once with 503 {@code server_busy}. Closing fails the waiting requests and closes the context.
 */
final class EmbeddingBatcher implements AutoCloseable {
    /** The most inputs embedded in one call, unless one request alone has more. */
    static final int MAX_BATCH_INPUTS = 256;
    private static final System.Logger LOG = System.getLogger("io.llamaffm.server");

    /** Inputs of one request and where their vectors go. */
    private record Pending(List<String> inputs, CompletableFuture<List<Embedding>> result) {}

    private final Context context;
    private final int queueSize;
    private final Duration queueTimeout;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final Deque<Pending> queue = new ArrayDeque<>(); // guarded by lock
    private boolean closed; // guarded by lock
    private int holds; // guarded by lock: while above 0 the worker takes nothing (tests fill the queue)
    private final AtomicLong embedCalls = new AtomicLong();
    private final Thread worker;

    /**
     * Creates the context and starts the worker.
     *
     * @throws io.llamaffm.LlamaException if the context cannot be created
     */
    EmbeddingBatcher(Model model, ContextParams params, int queueSize, Duration queueTimeout) {
        this.context = model.newContext(params);
        this.queueSize = queueSize;
        this.queueTimeout = queueTimeout;
        this.worker = Thread.ofPlatform().name("llama-ffm-embeddings").daemon(true).unstarted(this::run);
        worker.start();
    }

    /** The most tokens one input may have. */
    int maxTokens() {
        return Math.min(context.microBatchSize(), context.tokensPerSequence());
    }

    /**
     * Embeds {@code inputs} (checked: non-empty strings that fit {@link #maxTokens()}) along with other requests' inputs.
     *
     * @throws ApiException         503 {@code server_busy} when the queue is full or the request was not taken in time
     * @throws InterruptedException if the thread is interrupted while waiting (the request is withdrawn if not taken)
     */
    List<Embedding> embed(List<String> inputs) throws InterruptedException {
        Pending p = new Pending(List.copyOf(inputs), new CompletableFuture<>());
        lock.lock();
        try {
            if (closed) {
                throw new ApiException(503, "server_error", "The server is shutting down.", null, "shutting_down");
            }
            if (queue.size() >= Math.max(queueSize, 1)) {
                throw busy(queue.size() + " request(s) already waiting, the most this server queues");
            }
            queue.addLast(p);
            arrived.signal();
        } finally {
            lock.unlock();
        }
        try {
            long nanos = queueTimeout.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : queueTimeout.toNanos();
            return p.result().get(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            if (withdraw(p)) {
                throw busy("this request waited " + queueTimeout.toMillis() + " ms for the embedding model");
            }
            return await(p); // taken just now: its vectors are on the way
        } catch (InterruptedException e) {
            withdraw(p);
            throw e;
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    private static List<Embedding> await(Pending p) throws InterruptedException {
        try {
            return p.result().get();
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    private static RuntimeException unwrap(ExecutionException e) {
        return e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }

    private static ApiException busy(String why) {
        return new ApiException(503, "server_error", "The embedding model is busy (" + why + "); retry later.", null,
                "server_busy");
    }

    /** Takes {@code p} out of the queue; false when the worker already took it. */
    private boolean withdraw(Pending p) {
        lock.lock();
        try {
            return queue.remove(p);
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (true) {
            List<Pending> batch = new ArrayList<>();
            lock.lock();
            try {
                while (!closed && (queue.isEmpty() || holds > 0)) {
                    arrived.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
                int inputs = 0;
                while (!queue.isEmpty() && (batch.isEmpty() || inputs + queue.peekFirst().inputs().size() <= MAX_BATCH_INPUTS)) {
                    Pending p = queue.pollFirst();
                    batch.add(p);
                    inputs += p.inputs().size();
                }
            } finally {
                lock.unlock();
            }
            embedBatch(batch);
        }
    }

    /** One call for the whole batch; when it fails, each request alone, so a failure stays with its request. */
    private void embedBatch(List<Pending> batch) {
        List<String> all = new ArrayList<>();
        for (Pending p : batch) {
            all.addAll(p.inputs());
        }
        List<Embedding> vectors;
        try {
            embedCalls.incrementAndGet();
            vectors = context.embed(all, EmbeddingParams.defaults());
        } catch (RuntimeException | Error e) {
            if (batch.size() == 1) {
                batch.getFirst().result().completeExceptionally(e);
                return;
            }
            LOG.log(System.Logger.Level.DEBUG, "a batch of embedding requests failed; embedding them one by one", e);
            for (Pending p : batch) {
                embedBatch(List.of(p));
            }
            return;
        }
        int next = 0;
        for (Pending p : batch) {
            p.result().complete(vectors.subList(next, next + p.inputs().size()));
            next += p.inputs().size();
        }
    }

    /** Calls to the context's embed so far (tests compare it with the requests made). */
    long embedCalls() {
        return embedCalls.get();
    }

    /** Requests waiting to be taken. */
    int waiting() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Keeps the worker from taking requests until the returned hold is closed (tests fill the queue with it). */
    AutoCloseable hold() {
        lock.lock();
        try {
            holds++;
        } finally {
            lock.unlock();
        }
        boolean[] released = {false};
        return () -> {
            lock.lock();
            try {
                if (!released[0]) {
                    released[0] = true;
                    holds--;
                    arrived.signal();
                }
            } finally {
                lock.unlock();
            }
        };
    }

    /** Fails the waiting requests (503 {@code shutting_down}), lets the batch in progress finish, closes the context. */
    @Override
    public void close() {
        List<Pending> left;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            left = new ArrayList<>(queue);
            queue.clear();
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        for (Pending p : left) {
            p.result().completeExceptionally(new ApiException(503, "server_error", "The server is shutting down.", null,
                    "shutting_down"));
        }
        boolean joined = false;
        try {
            joined = worker.join(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (joined) {
            context.close();
        } else {
            LOG.log(System.Logger.Level.WARNING, "the embedding worker is still busy; its context stays open");
        }
    }
}
