package io.llamaffm.examples.cli;

import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import picocli.CommandLine.Option;

/** How texts are embedded; shared by {@code embed} and {@code search}. */
final class EmbeddingOptions {
    @Option(names = "--pooling", paramLabel = "P", defaultValue = "MODEL",
            description = "MODEL (the model's own, default), MEAN, CLS or LAST.")
    ContextParams.Pooling pooling;

    @Option(names = "--truncate", description = "Cut texts longer than one batch instead of failing.")
    boolean truncate;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "512", description = "Most tokens per text and per decode (default 512).")
    int batch;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "CPU threads (default: all).")
    Integer threads;

    ContextParams contextParams() {
        if (pooling == ContextParams.Pooling.NONE || pooling == ContextParams.Pooling.RANK) {
            throw new CliException("--pooling must be MODEL, MEAN, CLS or LAST");
        }
        ContextParams p = ContextParams.defaults().withContextLength(Math.max(batch, 512)).withBatchSize(batch)
                .withMicroBatchSize(batch).withSequences(8).withEmbeddings(true).withPooling(pooling);
        return threads == null ? p : p.withThreads(threads);
    }

    EmbeddingParams params() {
        return EmbeddingParams.defaults().withLongInput(truncate ? EmbeddingParams.LongInput.TRUNCATE : EmbeddingParams.LongInput.REFUSE);
    }
}
