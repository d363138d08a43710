package io.llamaffm.server;

import io.llamaffm.ContextPool;

/**
 * What the generation side reports on {@code /metrics}: how many requests wait, how busy the slots are, how full the
 * KV cache is. Read at each scrape, from any thread; a value may change as soon as it is read.
 */
interface GenerationGauges {
    /** {@return requests waiting for a slot} */
    int queued();

    /** {@return slots generating now} */
    int busySlots();

    /** {@return slots in all} */
    int slots();

    /** {@return KV cache cells holding tokens (0 where the generation side cannot tell)} */
    long kvCellsUsed();

    /** {@return KV cache cells in all} */
    long kvCells();

    /**
     * The gauges of a pool of contexts, one slot each: busy slots are leased contexts, queued requests are callers
     * waiting for one. The cells in use are reported as 0: a context's cache can be read only by the thread using it,
     * and {@link io.llamaffm.Context} has no count of cells safe to read from another thread.
     */
    static GenerationGauges of(ContextPool pool) {
        long cells = (long) pool.size() * pool.contextLength().orElse(0);
        return new GenerationGauges() {
            @Override
            public int queued() {
                return pool.waiting();
            }

            @Override
            public int busySlots() {
                return pool.leased();
            }

            @Override
            public int slots() {
                return pool.size();
            }

            @Override
            public long kvCellsUsed() {
                return 0;
            }

            @Override
            public long kvCells() {
                return cells;
            }
        };
    }
}
