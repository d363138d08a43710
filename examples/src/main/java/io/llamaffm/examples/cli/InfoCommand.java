package io.llamaffm.examples.cli;

import io.llamaffm.Llama;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code info}: which natives loaded, the CPU variant ggml picked, backends and devices. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Shows the llama.cpp backend: natives loaded, CPU variant, backends, devices, system info.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().println(Llama.backendInfo().describe());
        spec.commandLine().getOut().flush();
        return LlamaCli.EXIT_OK;
    }
}
