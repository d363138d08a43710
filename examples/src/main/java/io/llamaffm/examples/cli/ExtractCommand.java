package io.llamaffm.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llamaffm.Context;
import io.llamaffm.Model;
import io.llamaffm.examples.JsonExtractor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code extract MODEL --schema FILE TEXT}: JSON matching a schema, extracted from a text by the model. */
@Command(name = "extract", mixinStandardHelpOptions = true,
        description = {"Extracts information from TEXT as JSON that matches the JSON Schema in --schema: the schema "
                + "becomes a grammar, so the output always parses and fits the schema. Greedy, so the same text gives the "
                + "same JSON. Prints the JSON to stdout, the timings to stderr."})
final class ExtractCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = {"-s", "--schema"}, required = true, paramLabel = "FILE", description = "The JSON Schema file.")
    Path schema;

    @Parameters(index = "1", paramLabel = "TEXT", description = "The text to read; '-' reads it from stdin.")
    String text;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "512",
            description = "Most tokens the JSON may take (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--pretty", description = "Indent the JSON.")
    boolean pretty;

    @Mixin
    ContextOptions context;

    @Override
    public Integer call() throws IOException {
        CliException.atLeast(maxTokens, 1, "--max-tokens");
        Grammars.fromJsonSchema(schema); // a missing or unsupported schema fails here, before the model loads
        String schemaJson = Files.readString(schema, StandardCharsets.UTF_8);
        String input = "-".equals(text) ? new String(cli.in().readAllBytes(), StandardCharsets.UTF_8) : text;
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Model m = cli.loadModel(model.model, model.params(), err);
             Context ctx = m.newContext(context.params())) {
            JsonExtractor.Result r;
            try {
                r = new JsonExtractor(ctx, schemaJson).extract(input, maxTokens);
            } catch (IllegalStateException e) {
                throw new CliException(e.getMessage() + " (--max-tokens)", e);
            }
            JsonNode json = JSON.readTree(r.json()); // the grammar guarantees it parses
            out.println(pretty ? JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json) : r.json());
            out.flush();
            err.println(Reports.timings(r.completion()));
            err.flush();
        }
        return LlamaCli.EXIT_OK;
    }
}
