package io.llamaffm.examples.cli;

import io.llamaffm.ModelParams;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;


/** The model file and how it is loaded; shared by the subcommands that load a model. */
final class ModelOptions {
    @Parameters(index = "0", paramLabel = "MODEL", description = {"The GGUF model file, or a reference downloaded into the "
            + "cache once: hf:OWNER/REPO[:QUANT][@REVISION], hf:OWNER/REPO/PATH.gguf, or an https URL (see 'pull')."})
    String model;

    @Mixin
    LoadOptions load;

    ModelParams params() {
        return load.params();
    }
}
