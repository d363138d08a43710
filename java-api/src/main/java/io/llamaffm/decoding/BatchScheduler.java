package io.llamaffm.decoding;

import io.llamaffm.Completion;
import io.llamaffm.Completion.StopReason;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.Sampler;
import io.llamaffm.SamplerChain;
import io.llamaffm.internal.engine.DecodeLoop;
import io.llamaffm.internal.engine.Emitter;
import io.llamaffm.internal.engine.Engine;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching: many generation requests, from any threads, served by one context whose sequences are
 * <em>slots</em>. One thread of the scheduler runs the {@link DecodeLoop}: each step samples the next token of every
 * generating slot and puts those tokens, and the pending prompt chunks of newly admitted requests (up to the batch
 * size), into <b>one</b> decode. A request takes a slot as soon as one is free and leaves it as soon as it ends.
 *
 * <ul>
 *   <li><b>One cache, shared.</b> The context's KV cache is unified: every slot may hold up to
 *       {@link #tokensPerSlot()} tokens ({@code contextLength / slots}), so the slots can never overflow the cache
 *       together; a generation that reaches its share stops with {@link StopReason#CONTEXT_FULL}, as in
 *       {@link Context#generate}. A prompt that does not leave room for one token in a slot is refused.</li>
 *   <li><b>Prefix reuse.</b> A finished request leaves its tokens in its slot; a new request goes to the free slot
 *       whose cache starts like its prompt (a conversation that grows decodes only its new part). And when any other
 *       slot, busy or not, holds a longer prefix of the prompt (the same system prompt, say), those cells are shared
 *       with the new slot instead of decoded again. With a prompt cache ({@link #start(Model, ContextParams, int,
 *       long)}), what a slot held is kept in host memory when another prompt takes the slot, and restored when a later
 *       prompt starts with more of it than any slot holds (a system prompt or a conversation that comes back after
 *       other requests took its slot).</li>
 *   <li><b>Choices.</b> A request may ask for several choices ({@code chains.size()} slots): the prompt is decoded
 *       once, then each choice samples from the same logits with its own sampler.</li>
 *   <li><b>Cancellation.</b> {@link Ticket#cancel()} (a client that went away) ends the request at the next step and
 *       frees its cache cells at once; a queued request leaves the queue.</li>
 * </ul>
 *
 * Per-step output reaches a {@link StepListener} on the scheduler's thread: it must be quick and must not block
 * (hand the step to another thread, as a server does with a queue per request). Greedy output does not depend on what
 * else is in the batch: each sequence attends only to its own cells.
 *
 * <p>The scheduler owns its context; {@link #close()} ends every request (cancelled) and frees it. The model must
 * stay open until then.
 */
public final class BatchScheduler implements AutoCloseable {
    /**
     * One step of one choice.
     *
     * @param token       the token generated, or -1 when the step only released text (the end)
     * @param text        the text this step released (may be empty: text is held back while it could still become
     *                    a stop string or the rest of a character)
     * @param logprob     the token's log-probability under the model, NaN without logprobs
     * @param topTokens   the most probable tokens at this step, most probable first (empty unless asked for)
     * @param topLogprobs their log-probabilities
     */
    public record Step(int token, String text, float logprob, int[] topTokens, float[] topLogprobs) {}

    /** Receives each step of a request's choices, on the scheduler's thread. */
    @FunctionalInterface
    public interface StepListener {
        /**
         * Called after each sampling step that produced a token or text, before the decode of that token.
         *
         * @param choice the choice's index
         * @param step   the token and text
         */
        void onStep(int choice, Step step);
    }

    /**
     * A snapshot of the scheduler's state.
     *
     * @param slots           the slots (sequences of the context)
     * @param busySlots       slots serving a request
     * @param queued          requests waiting for slots
     * @param decodes         decodes run so far
     * @param busyCells       KV-cache cells held by the busy slots' sequences (a cell shared by several counts once each)
     * @param idleCells       cells kept by free slots for prefix reuse
     * @param contextLength   the cells of the cache
     */
    public record Stats(int slots, int busySlots, int queued, long decodes, long busyCells, long idleCells, int contextLength) {}

    /** A submitted request: its result, its start, its cancellation. */
    public final class Ticket {
        private final int[] prompt;
        private final GenerationParams params;
        private final Sampler[] samplers;
        private final StepListener listener;
        private final CompletableFuture<List<Completion>> result = new CompletableFuture<>();
        private final CountDownLatch startedLatch = new CountDownLatch(1);
        private volatile boolean cancelled;
        private DecodeLoop.Slot[] slots;   // driver thread only
        private Emitter[] outputs;

        private Ticket(int[] prompt, GenerationParams params, Sampler[] samplers, StepListener listener) {
            this.prompt = prompt;
            this.params = params;
            this.samplers = samplers;
            this.listener = listener;
        }

        /** {@return the completions, one per choice in order, when the request ends (cancelled ones end with CANCELLED)} */
        public CompletableFuture<List<Completion>> completions() {
            return result;
        }

        /**
         * Waits until the request has slots.
         *
         * @param timeout the longest wait
         * @return true if it started (or ended) within {@code timeout}
         * @throws InterruptedException if the thread is interrupted while waiting
         */
        public boolean awaitStart(Duration timeout) throws InterruptedException {
            return startedLatch.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        /** Ends the request: removed from the queue, or stopped at the next step with its cache cells freed. Idempotent. */
        public void cancel() {
            cancelled = true;
            lock.lock();
            try {
                work.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private final Context context;
    private final Engine engine;
    private final Model model;
    private final DecodeLoop loop;
    private final int slotCount;
    private final int perSlot;
    private final int queueSize;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Ticket> pending = new ArrayDeque<>();   // guarded by lock
    private final List<Ticket> active = new ArrayList<>();           // driver thread only
    private final Ticket[] owner;                                    // driver: the ticket of each busy sequence
    private final int[] choiceOf;                                    // driver: the choice index of each busy sequence
    private final long[] lastUsed;                                   // driver: when each sequence was last released
    private long clock;
    private final Thread driver;
    private boolean closing;                                         // guarded by lock
    private volatile boolean stopNow;
    private volatile int busy;
    private volatile long decodes;
    private volatile long busyCells;
    private volatile long idleCells;
    private final PromptCache promptCache;                           // driver thread only; null when off

    private BatchScheduler(Model model, ContextParams params, int queueSize, long promptCacheBytes) {
        if (queueSize < 0) {
            throw new IllegalArgumentException("queueSize must be >= 0, got " + queueSize);
        }
        if (promptCacheBytes < 0) {
            throw new IllegalArgumentException("promptCacheBytes must be >= 0, got " + promptCacheBytes);
        }
        this.promptCache = promptCacheBytes == 0 ? null : new PromptCache(promptCacheBytes);
        this.model = model;
        this.queueSize = queueSize;
        this.context = model.newContext(params.withUnifiedCache(true));
        try {
            this.engine = Strategies.claim(context);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
        this.slotCount = engine.sequences();
        this.perSlot = engine.contextLength() / slotCount;
        this.loop = new DecodeLoop(engine);
        this.owner = new Ticket[slotCount];
        this.choiceOf = new int[slotCount];
        this.lastUsed = new long[slotCount];
        this.driver = Thread.ofPlatform().name("llama-ffm-batch").daemon(true).unstarted(this::run);
        driver.start();
    }

    /**
     * Creates the context ({@code params.sequences()} slots sharing {@code params.contextLength()} tokens; the cache is
     * made unified) and starts the scheduler's thread.
     *
     * @param model     the model; it must outlive the scheduler
     * @param params    the context: its sequences are the slots, its batch size bounds each step's tokens
     * @param queueSize how many requests may wait for slots; {@link #submit} refuses more
     * @return the running scheduler
     * @throws io.llamaffm.LlamaException if the context cannot be created
     */
    public static BatchScheduler start(Model model, ContextParams params, int queueSize) {
        return new BatchScheduler(model, params, queueSize, 0);
    }

    /**
     * As {@link #start(Model, ContextParams, int)}, with a prompt cache of up to {@code promptCacheBytes} bytes of host
     * memory: when a new prompt takes a slot, the slot's previous tokens are kept (their KV state copied out) unless
     * the new prompt shares nearly all of them; a prompt that starts with more of a kept state than any slot holds
     * (by at least 8 tokens) gets it restored and decodes only the rest. The least recently used states go first.
     * Greedy output is the same as without it: a restored state holds the very cells the decode wrote.
     *
     * @param model            the model; it must outlive the scheduler
     * @param params           the context: its sequences are the slots, its batch size bounds each step's tokens
     * @param queueSize        how many requests may wait for slots; {@link #submit} refuses more
     * @param promptCacheBytes the most bytes of kept states; 0 for no prompt cache
     * @return the running scheduler
     * @throws IllegalArgumentException if {@code queueSize} or {@code promptCacheBytes} is negative
     * @throws io.llamaffm.LlamaException if the context cannot be created
     */
    public static BatchScheduler start(Model model, ContextParams params, int queueSize, long promptCacheBytes) {
        return new BatchScheduler(model, params, queueSize, promptCacheBytes);
    }

    /** {@return how many slots (sequences) the scheduler serves at once} */
    public int slots() {
        return slotCount;
    }

    /** {@return the most tokens (prompt and reply) one slot holds} */
    public int tokensPerSlot() {
        return perSlot;
    }

    /** {@return the model} */
    public Model model() {
        return model;
    }

    /** {@return the current figures; safe from any thread} */
    public Stats stats() {
        int queued;
        lock.lock();
        try {
            queued = pending.size();
        } finally {
            lock.unlock();
        }
        return new Stats(slotCount, busy, queued, decodes, busyCells, idleCells, engine.contextLength());
    }

    /**
     * Queues a request. Checked here, on the caller's thread: the prompt's tokens and length, the chains (each
     * sampler is built now, so a bad grammar fails here).
     *
     * @param prompt   the prompt tokens (at least one, fewer than {@link #tokensPerSlot()})
     * @param params   budget, stop strings, ignore-EOS, logprobs, top logprobs
     * @param chains   one sampler chain per choice (at most {@link #slots()}); each must pick the token
     * @param listener receives each step; may be null
     * @return the ticket
     * @throws IllegalArgumentException   if the prompt or a chain is invalid
     * @throws RejectedExecutionException if the queue is full or the scheduler is closed
     */
    public Ticket submit(int[] prompt, GenerationParams params, List<SamplerChain> chains, StepListener listener) {
        Objects.requireNonNull(params, "params");
        int[] tokens = prompt.clone();
        model.tokenizer().checkTokens(tokens);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (tokens.length >= perSlot) {
            throw new IllegalArgumentException("the prompt has " + tokens.length + " tokens but a slot holds " + perSlot
                    + " (the context's " + engine.contextLength() + " tokens shared by " + slotCount + " slots)");
        }
        if (chains.isEmpty() || chains.size() > slotCount) {
            throw new IllegalArgumentException("between 1 and " + slotCount + " choices, got " + chains.size());
        }
        chains.forEach(Strategies::requirePicker);
        Sampler[] samplers = new Sampler[chains.size()];
        try {
            for (int i = 0; i < samplers.length; i++) {
                samplers[i] = Sampler.create(model, chains.get(i));
            }
        } catch (RuntimeException | Error e) {
            closeAll(samplers);
            throw e;
        }
        Ticket t = new Ticket(tokens, params, samplers, listener);
        lock.lock();
        try {
            if (closing) {
                closeAll(samplers);
                throw new RejectedExecutionException("the scheduler is closed");
            }
            if (pending.size() >= queueSize && !(pending.isEmpty() && busy + samplers.length <= slotCount)) {
                closeAll(samplers);
                throw new RejectedExecutionException("the queue is full (" + queueSize + " requests wait for "
                        + slotCount + " slots)");
            }
            pending.add(t);
            work.signalAll();
        } finally {
            lock.unlock();
        }
        return t;
    }

    // ---- the scheduler's thread --------------------------------------------------------------------------------

    private void run() {
        Throwable failure = null;
        try {
            while (true) {
                lock.lock();
                try {
                    while (!closing && pending.isEmpty() && active.isEmpty()) {
                        work.awaitUninterruptibly();
                    }
                    if (stopNow || (closing && pending.isEmpty() && active.isEmpty())) {
                        break;
                    }
                    admit();
                } finally {
                    lock.unlock();
                }
                cancelRequested();
                if (loop.size() > 0) {
                    step();
                }
                retire();
            }
        } catch (Throwable t) {
            failure = t;
        } finally {
            shutDown(failure);
        }
    }

    /** Gives free slots to queued requests, in order (lock held). */
    private void admit() {
        while (!pending.isEmpty()) {
            Ticket t = pending.peek();
            if (t.cancelled) {
                pending.poll();
                closeAll(t.samplers);
                t.startedLatch.countDown();
                t.result.completeExceptionally(new CancellationException("cancelled while waiting for a slot"));
                continue;
            }
            if (slotCount - busy < t.samplers.length) {
                return;
            }
            pending.poll();
            place(t);
        }
    }

    /** Puts a request in slots: the one whose cache (or another's) shares most of its prompt leads. */
    private void place(Ticket t) {
        int choices = t.samplers.length;
        t.slots = new DecodeLoop.Slot[choices];
        t.outputs = new Emitter[choices];
        int lead = -1;
        int leadCommon = -1;
        for (int s = 0; s < slotCount; s++) {
            if (owner[s] == null) {
                int common = engine.commonPrefix(s, t.prompt);
                if (common > leadCommon || (common == leadCommon && lastUsed[s] < lastUsed[lead])) {
                    lead = s;
                    leadCommon = common;
                }
            }
        }
        int source = -1;
        int sourceCommon = leadCommon;
        for (int s = 0; s < slotCount; s++) {
            if (s != lead) {
                int common = engine.commonPrefix(s, t.prompt);
                if (common > sourceCommon) {
                    source = s;
                    sourceCommon = common;
                }
            }
        }
        if (promptCache != null) {
            promptCache.keep(engine, lead, leadCommon); // what the slot held, before the new prompt replaces it
        }
        if (promptCache != null && promptCache.restoreLongest(engine, lead, t.prompt, Math.max(leadCommon, sourceCommon))) {
            source = -1; // a kept state starts with more of the prompt than any slot
        }
        if (source >= 0) {
            engine.copyPrefix(source, lead, sourceCommon); // the shared prefix is held once, not decoded again
        }
        for (int c = 0; c < choices; c++) {
            int seq = c == 0 ? lead : leastRecentlyUsedFree();
            owner[seq] = t;
            choiceOf[seq] = c;
            Emitter out = new Emitter(engine, t.params, true, null);
            out.limitPositions(perSlot);
            t.outputs[c] = out;
            t.slots[c] = c == 0 ? loop.add(seq, t.prompt, t.samplers[c], out) : loop.addFollower(t.slots[0], seq, t.samplers[c], out);
        }
        busy += choices;
        active.add(t);
        t.startedLatch.countDown();
    }

    private int leastRecentlyUsedFree() {
        int best = -1;
        for (int s = 0; s < slotCount; s++) {
            if (owner[s] == null && (best < 0 || lastUsed[s] < lastUsed[best])) {
                best = s;
            }
        }
        return best;
    }

    /** Ends the outputs of cancelled requests (their slots retire below). */
    private void cancelRequested() {
        for (int i = 0; i < active.size(); i++) {
            Ticket t = active.get(i);
            if (t.cancelled || stopNow) {
                for (Emitter out : t.outputs) {
                    out.end(StopReason.CANCELLED);
                }
            }
        }
    }

    private void step() {
        try {
            loop.step(this::deliver);
        } catch (RuntimeException e) { // a failed decode: its requests fail, the others go on
            for (Ticket t : active) {
                t.result.completeExceptionally(e);
                for (Emitter out : t.outputs) {
                    out.end(StopReason.CANCELLED);
                }
            }
        }
        decodes = engine.decodeCount();
    }

    /** Passes one slot's step to its request's listener. */
    private void deliver(DecodeLoop.Slot slot) {
        Ticket t = owner[slot.sequence()];
        Emitter out = slot.output();
        int token = slot.token();
        CharSequence text = out.delta();
        if (t.listener == null || (token < 0 && text.isEmpty()) || t.result.isDone()) {
            return;
        }
        boolean top = token >= 0 && t.params.topLogprobs() > 0;
        Step step = new Step(token, text.toString(), token >= 0 ? out.lastLogprob() : Float.NaN,
                top ? out.topIds().clone() : new int[0], top ? out.topLogprobs().clone() : new float[0]);
        try {
            t.listener.onStep(choiceOf[slot.sequence()], step);
        } catch (RuntimeException e) { // the listener's failure ends its own request only
            t.result.completeExceptionally(e);
            t.cancelled = true;
        }
    }

    /** Frees the slots of requests whose every choice has ended and completes them. */
    private void retire() {
        for (int i = active.size() - 1; i >= 0; i--) {
            Ticket t = active.get(i);
            boolean ended = true;
            for (Emitter out : t.outputs) {
                ended &= out.ended();
            }
            if (!ended) {
                continue;
            }
            active.remove(i);
            boolean dropCache = t.cancelled || t.result.isDone();
            List<Completion> completions = new ArrayList<>(t.outputs.length);
            for (int c = 0; c < t.slots.length; c++) {
                DecodeLoop.Slot slot = t.slots[c];
                loop.remove(slot);
                int seq = slot.sequence();
                if (dropCache || t.outputs[c].reason() == StopReason.CANCELLED) {
                    engine.truncate(seq, 0); // a request that went away frees its cells at once
                }
                owner[seq] = null;
                lastUsed[seq] = ++clock;
                completions.add(t.outputs[c].completion());
            }
            closeAll(t.samplers);
            busy -= t.slots.length;
            t.result.complete(List.copyOf(completions));
        }
        long b = 0;
        long idle = 0;
        for (int s = 0; s < slotCount; s++) {
            int held = engine.maxPosition(s) + 1;
            if (owner[s] != null) {
                b += held;
            } else {
                idle += held;
            }
        }
        busyCells = b;
        idleCells = idle;
    }

    private void shutDown(Throwable failure) {
        RuntimeException why = failure == null ? null : new IllegalStateException("the batch scheduler failed: " + failure, failure);
        for (Ticket t : active) {
            closeAll(t.samplers);
            if (why != null) {
                t.result.completeExceptionally(why);
            } else if (!t.result.isDone()) {
                List<Completion> completions = new ArrayList<>();
                for (Emitter out : t.outputs) {
                    out.end(StopReason.CANCELLED);
                    completions.add(out.completion());
                }
                t.result.complete(completions);
            }
        }
        active.clear();
        lock.lock();
        try {
            closing = true;
            for (Ticket t : pending) {
                closeAll(t.samplers);
                t.startedLatch.countDown();
                t.result.completeExceptionally(why != null ? why : new CancellationException("the scheduler closed"));
            }
            pending.clear();
        } finally {
            lock.unlock();
        }
        busy = 0;
        if (promptCache != null) {
            promptCache.close();
        }
        engine.exit();
        context.close();
    }

    private static void closeAll(Sampler[] samplers) {
        for (Sampler s : samplers) {
            if (s != null) {
                s.close();
            }
        }
    }

    // ---- closing --------------------------------------------------------------------------------------------------

    /**
     * Stops taking requests, lets running ones go on for up to {@code grace}, then ends what still runs (cancelled)
     * and frees the context. Queued requests fail with {@link CancellationException} at once.
     *
     * @param grace how long running requests may go on
     * @throws InterruptedException if interrupted while waiting (the scheduler is then stopped at once)
     */
    public void close(Duration grace) throws InterruptedException {
        lock.lock();
        try {
            if (!closing) {
                closing = true;
                for (Ticket t : pending) {
                    t.cancelled = true; // admit() skips them; their futures fail in shutDown
                }
            }
            work.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            driver.join(Math.max(1, grace.toMillis()));
        } finally {
            stopNow = true;
            lock.lock();
            try {
                work.signalAll();
            } finally {
                lock.unlock();
            }
            engine.cancel(); // a long prompt decode stops part-way
            driver.join();
        }
    }

    /** Ends every request at once (cancelled) and frees the context. Idempotent. */
    @Override
    public void close() {
        boolean interrupted = false;
        try {
            close(Duration.ZERO);
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        Stats s = stats();
        return "BatchScheduler[" + s.slots() + " slots of " + perSlot + " tokens, busy " + s.busySlots() + ", queued "
                + s.queued() + ", decodes " + s.decodes() + "]";
    }
}
