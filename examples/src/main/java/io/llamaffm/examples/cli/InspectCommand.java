package io.llamaffm.examples.cli;

import io.llamaffm.BackendInfo;
import io.llamaffm.CacheType;
import io.llamaffm.ContextParams;
import io.llamaffm.Llama;
import io.llamaffm.MemoryEstimate;
import io.llamaffm.Model;
import io.llamaffm.ModelConfig;
import io.llamaffm.ModelHeader;
import io.llamaffm.ModelParams;
import io.llamaffm.hub.ModelDownloader;
import io.llamaffm.hub.ModelRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code inspect MODEL}: what a model is and how much memory it needs for a given context, from the GGUF header alone
 * ({@link ModelHeader}): a file cut after its header, a file without tensors or tokenizer, or a reference or URL of
 * which only the header is fetched. {@code --load} loads the model through llama.cpp instead (its description).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Shows a model's configuration (architecture, size, attention heads and kind, experts, RoPE, "
                + "vocabulary) and the memory it needs: weights plus a KV cache of the given shape, split between "
                + "CPU and GPU by --gpu-layers, and whether that fits the free memory. Reads only the GGUF header: "
                + "a reference or URL is not downloaded, only its header is fetched."})
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

    @Option(names = {"--sequences", "--parallel", "--batch"}, paramLabel = "N", defaultValue = "1",
            description = "Sequences kept in the KV cache at once, e.g. parallel requests (default ${DEFAULT-VALUE}).")
    int sequences;

    @Option(names = "--cache-type", paramLabel = "TYPE", defaultValue = "f16",
            description = "KV-cache element type: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    CacheType cacheType;

    @Option(names = "--metadata", description = "Also list every GGUF metadata entry.")
    boolean metadata;

    @Option(names = "--vocab-only", description = {"With --load: load only the vocabulary and metadata, for files "
            + "without weights (e.g. llama.cpp's ggml-vocab-*.gguf); no memory estimate is made."})
    boolean vocabOnly;

    @Option(names = "--load", description = {"Load the model through llama.cpp (all of a reference is downloaded) "
            + "instead of reading its header; the description is then llama.cpp's."})
    boolean load;

    @Override
    public Integer call() {
        if (contextLength != null) {
            CliException.atLeast(contextLength, 0, "--ctx");
        }
        CliException.atLeast(sequences, 1, "--sequences");
        PrintWriter out = spec.commandLine().getOut();
        boolean reference = ModelRef.isReference(model.model);
        String file = reference ? model.model : Path.of(model.model).normalize().toString();
        if (load || vocabOnly) {
            // the weights are memory-mapped, not read, and stay off any GPU: loading only to look is cheap
            ModelParams params = model.params().withGpuLayers(0).withVocabOnly(vocabOnly);
            try (Model m = cli.loadModel(model.model, params, spec.commandLine().getErr())) {
                ModelHeader header = vocabOnly ? null : ModelHeader.read(m.path());
                report(out, m.path().normalize().toString(), m.config(), header, "loaded");
            }
        } else {
            ModelHeader header;
            if (reference) {
                header = ModelDownloader.create().readHeader(model.model);
            } else {
                if (!Files.isRegularFile(Path.of(model.model))) {
                    throw new CliException("cannot read model " + model.model + ": no such file");
                }
                header = ModelHeader.read(Path.of(model.model));
            }
            report(out, file, header.config(), header, "header");
        }
        return LlamaCli.EXIT_OK;
    }

    /** The estimate and what it is compared with. */
    private record Memory(int contextLength, int gpuLayers, boolean gpuFound, MemoryEstimate estimate, long freeHostBytes,
                          long freeGpuBytes) {
        boolean fits() {
            return estimate.fits(freeHostBytes, freeGpuBytes);
        }
    }

    private void report(PrintWriter out, String file, ModelConfig c, ModelHeader header, String read) {
        Memory memory = header == null ? null : memory(c, header);
        out.print(json ? json(file, c, header, read, memory) + "\n" : text(file, c, header, read, memory));
        out.flush();
    }

    /**
     * The estimate for the options. Without a GPU, llama.cpp offloads nothing whatever --gpu-layers says, and neither
     * does the estimate; the GPUs are asked only when layers are to be offloaded (which loads the native library).
     */
    private Memory memory(ModelConfig c, ModelHeader header) {
        int ctx = contextLength != null && contextLength > 0 ? contextLength : Math.max(1, c.trainedContextLength());
        int gpuLayers = model.params().gpuLayers();
        long freeGpu = -1;
        boolean gpuFound = false;
        if (gpuLayers != 0) {
            try {
                for (BackendInfo.Device d : Llama.backendInfo().devices()) {
                    if (d.type() == BackendInfo.DeviceType.GPU || d.type() == BackendInfo.DeviceType.INTEGRATED_GPU) {
                        gpuFound = true;
                        freeGpu = Math.max(freeGpu, d.freeBytes());
                    }
                }
            } catch (RuntimeException | LinkageError e) {
                gpuFound = false; // no native library: no GPU known
            }
        }
        int effective = gpuFound ? gpuLayers : 0;
        ContextParams params = ContextParams.defaults().withContextLength(ctx).withSequences(sequences)
                .withCacheType(cacheType);
        return new Memory(ctx, effective, gpuFound, header.estimateMemory(params, effective), freeHostBytes(), freeGpu);
    }

    /** Memory the system could give now: Linux's MemAvailable, else the JVM's view of free physical memory; -1 if unknown. */
    static long freeHostBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getFreeMemorySize();
        }
        return -1;
    }

    private String text(String file, ModelConfig c, ModelHeader header, String read, Memory memory) {
        StringBuilder sb = new StringBuilder();
        row(sb, "file", file);
        row(sb, "read", read.equals("header") ? "GGUF header only (" + Units.grouped(header.headerBytes()) + " bytes)"
                : vocabOnly ? "vocabulary loaded by llama.cpp" : "model loaded by llama.cpp");
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
            MemoryEstimate e = memory.estimate();
            int layers = header.layers().size();
            sb.append('\n');
            sb.append("memory for ").append(memory.contextLength()).append(" tokens x ").append(sequences)
                    .append(sequences == 1 ? " sequence" : " sequences").append(", ").append(cacheType).append(" cache, ")
                    .append(!memory.gpuFound() ? "no GPU found: all on the CPU"
                            : memory.gpuLayers() == 0 ? "all on the CPU"
                            : Math.min(layers + 1, memory.gpuLayers() < 0 ? layers + 1 : memory.gpuLayers())
                              + " of " + (layers + 1) + " layers (with the output layer) on the GPU")
                    .append('\n');
            row(sb, "  weights", Units.bytes(e.weightsBytes()) + gpuShare(e.gpuWeightsBytes(), memory));
            row(sb, "  KV cache", Units.bytes(e.kvCacheBytes()) + gpuShare(e.gpuKvCacheBytes(), memory)
                    + (header.cacheKind() == ModelHeader.CacheKind.NONE ? " (an encoder keeps no cache)"
                    : header.cacheKind() == ModelHeader.CacheKind.RECURRENT ? " (a recurrent state, not estimated)" : ""));
            row(sb, "  total", Units.bytes(e.totalBytes()) + " (compute buffers not counted)");
            row(sb, "  fits", (memory.fits() ? "yes" : "no") + ": " + Units.bytes(e.cpuBytes()) + " in RAM"
                    + (memory.freeHostBytes() >= 0 ? " of " + Units.bytes(memory.freeHostBytes()) + " available" : "")
                    + (memory.gpuFound() ? ", " + Units.bytes(e.gpuBytes()) + " on the GPU of "
                    + Units.bytes(memory.freeGpuBytes()) + " free" : ""));
        } else {
            row(sb, "loaded", "vocabulary only (no weights: no sizes, no memory estimate)");
        }
        if (metadata) {
            sb.append("\nmetadata\n");
            new TreeMap<>(c.metadata()).forEach((k, val) -> row(sb, "  " + k, val));
        }
        return sb.toString();
    }

    private static String gpuShare(long bytes, Memory memory) {
        return memory.gpuLayers() == 0 ? "" : " (" + Units.bytes(bytes) + " on the GPU)";
    }

    private String json(String file, ModelConfig c, ModelHeader header, String read, Memory memory) {
        JsonWriter w = new JsonWriter().beginObject();
        w.field("file", file);
        w.field("read", read);
        if (header != null) {
            w.field("headerBytes", header.headerBytes());
        }
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
            MemoryEstimate e = memory.estimate();
            w.beginObject()
                    .field("contextLength", memory.contextLength())
                    .field("sequences", sequences)
                    .field("cacheType", cacheType.name())
                    .field("gpuLayers", memory.gpuLayers())
                    .field("weightsBytes", e.weightsBytes())
                    .field("kvCacheBytes", e.kvCacheBytes())
                    .field("totalBytes", e.totalBytes())
                    .field("gpuWeightsBytes", e.gpuWeightsBytes())
                    .field("gpuKvCacheBytes", e.gpuKvCacheBytes())
                    .field("cpuBytes", e.cpuBytes())
                    .field("gpuBytes", e.gpuBytes())
                    .field("freeHostBytes", memory.freeHostBytes())
                    .field("freeGpuBytes", memory.freeGpuBytes())
                    .field("fits", memory.fits())
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
