package io.llamaffm.examples.cli;

import io.llamaffm.CacheType;
import io.llamaffm.MemoryEstimate;
import io.llamaffm.Model;
import io.llamaffm.ModelConfig;
import io.llamaffm.ModelParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code inspect MODEL}: what a model is and how much memory it needs for a given context. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Shows a model's configuration (architecture, size, attention heads and kind, experts, RoPE, "
                + "vocabulary) and the memory it needs: weights plus a KV cache of the given shape."})
final class InspectCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = {"-c", "--ctx"}, paramLabel = "TOKENS",
            description = "Context length for the KV-cache estimate (default: the model's trained length).")
    Integer contextLength;

    @Option(names = {"--sequences", "--batch"}, paramLabel = "N", defaultValue = "1",
            description = "Sequences kept in the KV cache at once, e.g. parallel requests (default ${DEFAULT-VALUE}).")
    int sequences;

    @Option(names = "--cache-type", paramLabel = "TYPE", defaultValue = "f16",
            description = "KV-cache element type: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    CacheType cacheType;

    @Option(names = "--metadata", description = "Also list every GGUF metadata entry.")
    boolean metadata;

    @Option(names = "--vocab-only", description = {"Load only the vocabulary and metadata, for files without weights "
            + "(e.g. llama.cpp's ggml-vocab-*.gguf); sizes come from the metadata and no memory estimate is made."})
    boolean vocabOnly;

    @Override
    public Integer call() {
        if (contextLength != null) {
            CliException.atLeast(contextLength, 1, "--ctx");
        }
        CliException.atLeast(sequences, 1, "--sequences");
        PrintWriter out = spec.commandLine().getOut();
        // the weights are memory-mapped, not read, and stay off any GPU: loading only to look is cheap
        ModelParams params = model.params().withGpuLayers(0).withVocabOnly(vocabOnly);
        try (Model m = cli.loadModel(model.model, params, spec.commandLine().getErr())) {
            ModelConfig c = m.config();
            int ctx = contextLength != null ? contextLength : Math.max(1, c.trainedContextLength());
            MemoryEstimate memory = vocabOnly ? null : c.estimateMemory(ctx, sequences, cacheType);
            out.print(json ? json(m, c, ctx, memory) + "\n" : text(m, c, ctx, memory));
            out.flush();
        }
        return LlamaCli.EXIT_OK;
    }

    private String text(Model m, ModelConfig c, int ctx, MemoryEstimate memory) {
        StringBuilder sb = new StringBuilder();
        row(sb, "file", m.path().normalize().toString());
        row(sb, "name", c.name());
        row(sb, "architecture", c.architecture());
        row(sb, "description", c.description());
        row(sb, "parameters", Units.count(c.parameterCount()) + " (" + Units.grouped(c.parameterCount()) + ")");
        row(sb, "size", Units.bytes(c.sizeBytes()) + " (" + Units.grouped(c.sizeBytes()) + " bytes)");
        row(sb, "trained context", c.trainedContextLength() + " tokens");
        row(sb, "embedding length", Integer.toString(c.embeddingLength()));
        row(sb, "layers", Integer.toString(c.layerCount()));
        ModelConfig.Attention a = c.attention();
        row(sb, "attention", a.kind() + ": " + a.headCount() + " heads, " + a.kvHeadCount() + " KV heads, head dim "
                + a.headDim() + ", group size " + a.groupSize()
                + (a.slidingWindow() > 0 ? ", sliding window " + a.slidingWindow() + " tokens" : ""));
        row(sb, "experts", c.moe().map(e -> e.expertCount() + " experts, " + e.expertsUsed() + " used per token"
                + (e.activeParameters().isPresent()
                        ? ", " + Units.count(e.activeParameters().getAsLong()) + " active parameters" : ""))
                .orElse("none"));
        ModelConfig.Rope r = c.rope();
        row(sb, "rope", r.type() + ", base " + number(r.frequencyBase()) + ", scale " + number(r.frequencyScale())
                + r.scalingType().map(s -> ", scaling " + s).orElse("")
                + (r.dimensionCount() > 0 ? ", " + r.dimensionCount() + " dimensions" : ""));
        ModelConfig.Vocabulary v = c.vocabulary();
        row(sb, "vocabulary", v.type() + ", " + v.size() + " tokens, BOS " + v.bos() + ", EOS " + v.eos()
                + ", EOT " + v.eot());
        row(sb, "chat template", c.chatTemplate().map(t -> "yes (" + t.length() + " characters)").orElse("none"));
        if (memory != null) {
            sb.append('\n');
            sb.append("memory for ").append(ctx).append(" tokens x ").append(sequences)
                    .append(sequences == 1 ? " sequence" : " sequences").append(", ").append(cacheType).append(" cache\n");
            row(sb, "  weights", Units.bytes(memory.weightsBytes()));
            row(sb, "  KV cache", Units.bytes(memory.kvCacheBytes()));
            row(sb, "  total", Units.bytes(memory.totalBytes()));
        } else {
            row(sb, "loaded", "vocabulary only (no weights: no sizes, no memory estimate)");
        }
        if (metadata) {
            sb.append("\nmetadata\n");
            new TreeMap<>(c.metadata()).forEach((k, val) -> row(sb, "  " + k, val));
        }
        return sb.toString();
    }

    private String json(Model m, ModelConfig c, int ctx, MemoryEstimate memory) {
        JsonWriter w = new JsonWriter().beginObject();
        w.field("file", m.path().normalize().toString());
        w.field("vocabOnly", vocabOnly);
        w.field("name", c.name());
        w.field("architecture", c.architecture());
        w.field("description", c.description());
        w.field("parameters", c.parameterCount());
        w.field("sizeBytes", c.sizeBytes());
        w.field("trainedContextLength", c.trainedContextLength());
        w.field("embeddingLength", c.embeddingLength());
        w.field("layers", c.layerCount());
        ModelConfig.Attention a = c.attention();
        w.name("attention").beginObject()
                .field("heads", a.headCount())
                .field("kvHeads", a.kvHeadCount())
                .field("headDim", a.headDim())
                .field("kind", a.kind().name())
                .field("groupSize", a.groupSize())
                .field("slidingWindow", a.slidingWindow())
                .endObject();
        w.name("experts");
        c.moe().ifPresentOrElse(e -> {
            w.beginObject().field("count", e.expertCount()).field("used", e.expertsUsed()).name("activeParameters");
            if (e.activeParameters().isPresent()) {
                w.value(e.activeParameters().getAsLong());
            } else {
                w.nullValue();
            }
            w.endObject();
        }, w::nullValue);
        ModelConfig.Rope r = c.rope();
        w.name("rope").beginObject()
                .field("type", r.type().name())
                .field("frequencyBase", r.frequencyBase())
                .field("frequencyScale", r.frequencyScale())
                .name("scalingType").value(r.scalingType().orElse(null))
                .field("dimensions", r.dimensionCount())
                .endObject();
        ModelConfig.Vocabulary v = c.vocabulary();
        w.name("vocabulary").beginObject()
                .field("type", v.type().name())
                .field("size", v.size())
                .field("bos", v.bos())
                .field("eos", v.eos())
                .field("eot", v.eot())
                .endObject();
        w.name("chatTemplate").value(c.chatTemplate().orElse(null));
        w.name("memory");
        if (memory == null) {
            w.nullValue();
        } else {
            w.beginObject()
                    .field("contextLength", ctx)
                    .field("sequences", sequences)
                    .field("cacheType", cacheType.name())
                    .field("weightsBytes", memory.weightsBytes())
                    .field("kvCacheBytes", memory.kvCacheBytes())
                    .field("totalBytes", memory.totalBytes())
                    .endObject();
        }
        if (metadata) {
            w.name("metadata").beginObject();
            new TreeMap<>(c.metadata()).forEach(w::field);
            w.endObject();
        }
        return w.endObject().toString();
    }

    private static void row(StringBuilder sb, String label, String value) {
        sb.append(String.format(Locale.ROOT, "%-18s %s\n", label, value));
    }

    private static String number(float f) {
        return f == Math.rint(f) ? Long.toString((long) f) : Float.toString(f);
    }
}
