package io.llamaffm.examples;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import io.llamaffm.SamplerChain;

/**
 * Loads a GGUF model packaged as a class-path resource (a file inside a jar on the class path, no temporary file) and
 * generates greedily from a prompt: how an application ships its model inside its own jar.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp llama-ffm-examples.jar:model.jar io.llamaffm.examples.ClasspathModel \
 *     [RESOURCE] [PROMPT] [MAX_TOKENS]
 * </pre>
 * RESOURCE defaults to {@code models/stories260K.gguf}, PROMPT to "Once upon a time", MAX_TOKENS to 32. Prints the
 * prompt and its continuation on stdout, where the model came from and the counts on stderr.
 */
public final class ClasspathModel {
    private ClasspathModel() {}

    /** Runs the example; exit code 2 when the resource is not on the class path. */
    public static void main(String[] args) {
        String resource = args.length > 0 ? args[0] : "models/stories260K.gguf";
        String prompt = args.length > 1 ? args[1] : "Once upon a time";
        int maxTokens = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        java.net.URL url = Thread.currentThread().getContextClassLoader().getResource(resource);
        if (url == null) {
            System.err.println("no resource " + resource + " on the class path; put a jar holding it there, e.g.\n"
                    + "  jar --create --no-compress --file model.jar -C DIR " + resource + "\n"
                    + "  java --enable-native-access=ALL-UNNAMED -cp llama-ffm-examples.jar:model.jar "
                    + ClasspathModel.class.getName() + " " + resource);
            System.exit(2);
        }
        try (Model model = Model.loadResource(resource, ModelParams.defaults());
             Context ctx = model.newContext(ContextParams.defaults().withContextLength(2048))) {
            System.err.println("loaded " + model.path() + " from " + url + " (" + model.config().parameterCount()
                    + " parameters)");
            System.out.print(prompt);
            Completion c = ctx.generate(prompt, maxTokens, SamplerChain.greedy(), piece -> {
                System.out.print(piece);
                System.out.flush();
            });
            System.out.println();
            System.err.println("[" + c.promptTokens() + " prompt tokens, " + c.tokens().length + " generated, stopped: "
                    + c.stopReason() + "]");
        }
    }
}
