package io.llamaffm;

import java.time.Duration;

/** {@link ContextPool#acquire(Duration)} waited its whole timeout and every context of the pool stayed leased. */
public final class ContextPoolTimeoutException extends LlamaException {
    /** How many contexts the pool holds. */
    private final int poolSize;
    /** How long the caller waited. */
    private final Duration timeout;

    /**
     * A wait that ran out.
     *
     * @param poolSize how many contexts the pool holds
     * @param timeout  how long the caller waited
     */
    public ContextPoolTimeoutException(int poolSize, Duration timeout) {
        super("all " + poolSize + " context(s) of the pool are leased and none came back within " + timeout.toMillis()
                + " ms: retry later, or make the pool larger");
        this.poolSize = poolSize;
        this.timeout = timeout;
    }

    /** {@return how many contexts the pool holds} */
    public int poolSize() {
        return poolSize;
    }

    /** {@return how long the caller waited} */
    public Duration timeout() {
        return timeout;
    }
}
