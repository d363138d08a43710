package io.llamaffm.examples.cli;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code generate MODEL --prompt P}: streams a continuation to stdout, timings to stderr. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generates a continuation of the prompt, streaming it to stdout as it is produced; prints the "
                + "timings (prompt and generation speed, time to first token) to stderr."})
final class GenerateCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = {"-p", "--prompt"}, required = true, paramLabel = "TEXT",
            description = "The prompt (BOS added, special tokens parsed); '-' reads it from stdin.")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "256",
            description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--stop", paramLabel = "TEXT",
            description = "Stop before this text (not printed); repeatable.")
    List<String> stops = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "Keep generating past end-of-generation tokens.")
    boolean ignoreEos;

    @Mixin
    ContextOptions context;

    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() throws IOException {
        CliException.atLeast(maxTokens, 1, "--max-tokens");
        String text = "-".equals(prompt) ? new String(cli.in().readAllBytes(), StandardCharsets.UTF_8) : prompt;
        GenerationParams params = new GenerationParams(maxTokens, stops, ignoreEos, false);
        SamplerChain chain = sampling.chain();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Model m = cli.loadModel(model.model, model.params(), err);
             Context ctx = m.newContext(context.params())) {
            Completion c = ctx.generate(text, params, chain, piece -> {
                out.print(piece);
                out.flush();
                if (out.checkError()) {
                    ctx.cancel(); // stdout was closed (e.g. piped into head): stop generating for nobody
                }
            });
            out.println();
            out.flush();
            err.println(Reports.timings(c));
            err.flush();
        }
        return LlamaCli.EXIT_OK;
    }
}
