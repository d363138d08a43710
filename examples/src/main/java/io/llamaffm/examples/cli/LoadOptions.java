package io.llamaffm.examples.cli;

import io.llamaffm.ModelParams;
import picocli.CommandLine.Option;

/** How models are loaded (GPU offload, memory mapping); part of {@link ModelOptions}, and of {@code serve}. */
final class LoadOptions {
    @Option(names = "--gpu-layers", paramLabel = "N", defaultValue = "-1",
            description = "Layers to offload to a GPU when there is one: -1 all (default), 0 none.")
    int gpuLayers;

    @Option(names = "--no-mmap", description = "Read the weights into memory instead of memory-mapping the file.")
    boolean noMmap;

    ModelParams params() {
        if (gpuLayers < ModelParams.ALL_LAYERS) {
            throw new CliException("--gpu-layers must be -1 (all) or >= 0, got " + gpuLayers);
        }
        return ModelParams.defaults().withGpuLayers(gpuLayers).withMmap(!noMmap);
    }
}
