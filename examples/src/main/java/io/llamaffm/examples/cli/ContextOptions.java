package io.llamaffm.examples.cli;

import io.llamaffm.CacheType;
import io.llamaffm.ContextParams;
import picocli.CommandLine.Option;

/** The inference context: size, threads, KV-cache type; shared by generate and chat. */
final class ContextOptions {
    @Option(names = {"-c", "--ctx"}, paramLabel = "TOKENS", defaultValue = "4096",
            description = "Context length in tokens (prompt + reply); 0 = the model's trained length (default ${DEFAULT-VALUE}).")
    int contextLength;

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "CPU threads (default: one per available processor).")
    Integer threads;

    @Option(names = "--batch-size", paramLabel = "TOKENS", defaultValue = "512",
            description = "Most prompt tokens decoded at once (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--cache-type", paramLabel = "TYPE", defaultValue = "f16",
            description = "KV-cache element type: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}; quantized types need flash attention).")
    CacheType cacheType;

    ContextParams params() {
        CliException.atLeast(contextLength, 0, "--ctx");
        if (threads != null) {
            CliException.atLeast(threads, 1, "--threads");
        }
        CliException.atLeast(batchSize, 1, "--batch-size");
        ContextParams p = ContextParams.defaults().withContextLength(contextLength).withBatchSize(batchSize)
                .withCacheType(cacheType);
        return threads == null ? p : p.withThreads(threads);
    }
}
