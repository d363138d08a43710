package io.llamaffm.server;

import io.llamaffm.decoding.BatchScheduler;

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

    /** {@return KV cache cells held by the running requests' sequences (a shared prefix counts once per sequence)} */
    long kvCellsUsed();

    /** {@return KV cache cells in all} */
    long kvCells();

    /** {@return KV cache cells kept by free slots for prefix reuse} */
    long kvCellsCached();

    /** {@return decodes run so far} */
    long decodes();

    /** The gauges of the batch scheduler's slots and its one cache. */
    static GenerationGauges of(BatchScheduler scheduler) {
        return new GenerationGauges() {
            @Override
            public int queued() {
                return scheduler.stats().queued();
            }

            @Override
            public int busySlots() {
                return scheduler.stats().busySlots();
            }

            @Override
            public int slots() {
                return scheduler.slots();
            }

            @Override
            public long kvCellsUsed() {
                return scheduler.stats().busyCells();
            }

            @Override
            public long kvCells() {
                return scheduler.stats().contextLength();
            }

            @Override
            public long kvCellsCached() {
                return scheduler.stats().idleCells();
            }

            @Override
            public long decodes() {
                return scheduler.stats().decodes();
            }
        };
    }
}
