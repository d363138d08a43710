package io.llamaffm.examples;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Llama;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a GGUF model and generates text from a prompt, greedily, printing the backend it runs on first.
 *
 * <pre>java -jar llama-ffm-examples.jar [MODEL.gguf] [PROMPT] [MAX_TOKENS]</pre>
 * MODEL defaults to ../shared/models/stories260K.gguf, PROMPT to "Once upon a time", MAX_TOKENS to 64.
 */
public final class Generate {
    private Generate() {}

    /** Runs the example; exit code 2 when there is no model file. */
    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "../shared/models/stories260K.gguf");
        String prompt = args.length > 1 ? args[1] : "Once upon a time";
        int maxTokens = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        if (!Files.isRegularFile(model)) {
            System.err.println("no model at " + model.toAbsolutePath()
                    + "\nusage: java -jar llama-ffm-examples.jar [MODEL.gguf] [PROMPT] [MAX_TOKENS]");
            System.exit(2);
        }
        System.out.println(Llama.backendInfo().describe());
        System.out.println();
        try (Model m = Model.load(model);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(2048))) {
            System.out.print(prompt);
            System.out.flush();
            Completion c = ctx.generate(prompt, maxTokens, SamplerChain.greedy(), piece -> {
                System.out.print(piece);
                System.out.flush();
            });
            System.out.println();
            System.out.println();
            System.out.println("[" + c.promptTokens() + " prompt tokens, " + c.tokens().length + " generated, stopped: "
                    + c.stopReason() + "]");
        }
    }
}
