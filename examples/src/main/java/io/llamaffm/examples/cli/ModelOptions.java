package io.llamaffm.examples.cli;

import io.llamaffm.ModelParams;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;

/** The model file and how it is loaded; shared by the subcommands that load a model. */
final class ModelOptions {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The GGUF model file.")
    Path model;

    @Mixin
    LoadOptions load;

    ModelParams params() {
        return load.params();
    }
}
