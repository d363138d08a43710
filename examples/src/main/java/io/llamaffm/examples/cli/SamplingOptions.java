package io.llamaffm.examples.cli;

import io.llamaffm.SamplerChain;
import io.llamaffm.SamplerChain.Stage;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** How the next token is chosen; shared by generate and chat. Temperature 0 is greedy decoding. */
final class SamplingOptions {
    /** Seed that asks llama.cpp for a random one (LLAMA_DEFAULT_SEED, 0xFFFFFFFF). */
    static final int RANDOM_SEED = -1;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8",
            description = "Sampling temperature; 0 = greedy, always the most probable token (default ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40",
            description = "Keep the K most probable tokens (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95",
            description = "Keep the most probable tokens up to probability mass P (default ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05",
            description = "Drop tokens less than P times as probable as the best one (default ${DEFAULT-VALUE}).")
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

    /** The sampler chain for these options; reads the grammar or schema file (fails fast, before a model loads). */
    SamplerChain chain() {
        if (grammar != null && jsonSchema != null) {
            throw new CliException("--grammar and --json-schema cannot be used together");
        }
        List<Stage> stages = new ArrayList<>();
        if (grammar != null) {
            stages.add(SamplerChain.Grammar.of(Grammars.readGbnf(grammar)));
        } else if (jsonSchema != null) {
            stages.add(SamplerChain.Grammar.of(Grammars.fromJsonSchema(jsonSchema)));
        }
        if (repeatPenalty != 1.0f) {
            stages.add(new SamplerChain.Penalties(64, repeatPenalty, 0, 0));
        }
        if (temperature == 0) {
            stages.add(new SamplerChain.Greedy());
        } else {
            stages.add(new SamplerChain.TopK(topK));
            stages.add(new SamplerChain.TopP(topP, 1));
            stages.add(new SamplerChain.MinP(minP, 1));
            stages.add(new SamplerChain.Temperature(temperature));
            stages.add(new SamplerChain.Dist(seed));
        }
        return new SamplerChain(stages);
    }
}
