package io.llamaffm.examples.cli;

import io.llamaffm.Context;
import io.llamaffm.Embedding;
import io.llamaffm.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code embed MODEL TEXT...}: one L2-normalized embedding per text. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Prints one L2-normalized embedding per TEXT (several texts are embedded together)."})
final class EmbedCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Mixin
    EmbeddingOptions embedding;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "TEXT", description = "The texts to embed.")
    List<String> texts;

    @Option(names = "--json", description = "Print a JSON array of {text, tokens, truncated, vector} objects.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = cli.loadModel(model.model, model.params(), spec.commandLine().getErr());
             Context ctx = m.newContext(embedding.contextParams())) {
            List<Embedding> vectors = ctx.embed(texts, embedding.params());
            if (json) {
                JsonWriter w = new JsonWriter().beginArray();
                for (int i = 0; i < texts.size(); i++) {
                    Embedding e = vectors.get(i);
                    w.beginObject().field("text", texts.get(i)).field("tokens", e.tokens()).name("truncated").value(e.truncated());
                    w.name("vector").beginArray();
                    for (float x : e.vector()) {
                        w.value(x);
                    }
                    w.endArray().endObject();
                }
                out.println(w.endArray());
            } else {
                for (int i = 0; i < texts.size(); i++) {
                    StringBuilder sb = new StringBuilder();
                    for (float x : vectors.get(i).vector()) {
                        sb.append(sb.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.6f", x));
                    }
                    out.println(sb);
                }
            }
            out.flush();
        }
        return LlamaCli.EXIT_OK;
    }
}
