package io.llamaffm.examples.cli;

import io.llamaffm.SamplerChain;
import io.llamaffm.SamplingParams;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;

/** How the next token is chosen; shared by generate and chat. Temperature 0 is greedy decoding. */
final class SamplingOptions {
    /** The option of each {@link SamplingParams} component these options set. */
    private static final Map<String, String> OPTIONS = Map.of("temperature", "--temperature", "topK", "--top-k",
            "topP", "--top-p", "minP", "--min-p", "repeatPenalty", "--repeat-penalty");

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8",
            description = "Sampling temperature; 0 = greedy, always the most probable token (default ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40",
            description = "Keep the K most probable tokens; 0 = off (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95",
            description = "Keep the most probable tokens up to probability mass P; 1 = off (default ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05",
            description = "Drop tokens less than P times as probable as the best one; 0 = off (default ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", paramLabel = "X", defaultValue = "1.0",
            description = "Penalize tokens repeated in the last 64 (1 = off, default ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "-1",
            description = "Random seed for sampling; -1 = a random one (default).")
    int seed;

    @Option(names = "--grammar", paramLabel = "FILE",
            description = "Constrain the output to the GBNF grammar in FILE (rule 'root').")
    Path grammar;

    @Option(names = "--json-schema", paramLabel = "FILE",
            description = "Constrain the output to JSON matching the JSON Schema in FILE.")
    Path jsonSchema;

    /**
     * The sampler chain for these options ({@link SamplingParams}: llama.cpp's order, the penalty over the last 64
     * tokens); reads the grammar or schema file (fails fast, before a model loads).
     */
    SamplerChain chain() {
        if (grammar != null && jsonSchema != null) {
            throw new CliException("--grammar and --json-schema cannot be used together");
        }
        SamplerChain.Grammar g = grammar != null ? SamplerChain.Grammar.of(Grammars.readGbnf(grammar))
                : jsonSchema != null ? SamplerChain.Grammar.of(Grammars.fromJsonSchema(jsonSchema)) : null;
        try {
            return SamplingParams.defaults().withGrammar(g).withRepeatPenalty(repeatPenalty).withTemperature(temperature)
                    .withTopK(topK).withTopP(topP).withMinP(minP).withSeed(seed).toChain();
        } catch (IllegalArgumentException e) { // "topK must be ...": named after the option instead
            String message = e.getMessage();
            int space = message.indexOf(' ');
            String name = message.substring(0, space);
            throw new CliException(OPTIONS.getOrDefault(name, name) + message.substring(space), e);
        }
    }
}
