package io.llamaffm.consumer;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;

import java.nio.file.Path;

/** Hello world: loads a GGUF model and prints 32 tokens generated greedily after a prompt, as they come. */
public final class Hello {
    private Hello() {}

    /**
     * Runs the example.
     *
     * @param args the model file (GGUF), then optionally the prompt
     */
    public static void main(String[] args) {
        String prompt = args.length > 1 ? args[1] : "Once upon a time";
        try (Model model = Model.load(Path.of(args[0]));
             Context ctx = model.newContext(ContextParams.defaults())) {
            Completion c = ctx.generate(prompt, 32, SamplerChain.greedy(), System.out::print);
            System.out.printf("%n[%s, %.0f tokens/s]%n", c.stopReason(), c.timings().tokensPerSecond());
        }
    }
}
