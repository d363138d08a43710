package io.llamaffm.fuzz;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.DecodeException;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.LlamaException;
import io.llamaffm.LoraAdapter;
import io.llamaffm.Model;
import io.llamaffm.ModelLoadException;
import io.llamaffm.ModelParams;
import io.llamaffm.SamplerChain;
import io.llamaffm.gguf.GgufFormatException;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One child JVM of a {@link FuzzCampaign}: runs inputs {@code [from, to)} of a campaign and reports each on stdout,
 * {@code B index target description} before it runs and {@code E index outcome} after, so that the parent knows
 * which input a crashed child was running. Input {@code i} is regenerated here from the campaign seed and {@code i};
 * its bytes are written to {@code WORK/input-PID.gguf} before they are used, so a crasher can be kept.
 *
 * <p>Each input goes as far as it can: loaded (from the file, or from memory for one in five), a context created and
 * four tokens generated (a model), text tokenized and detokenized (a vocabulary), or applied to a context and two
 * tokens generated (a LoRA adapter of the base model). The outcome is {@code ok:WHAT} or
 * {@code STAGE:Exception(where)}; an exception other than {@link LlamaException}, {@link IllegalArgumentException}
 * and {@link IllegalStateException} is reported as {@code UNTYPED:...} with its stack trace on stderr. An
 * {@link OutOfMemoryError} is reported as {@code OOM} and ends the child with exit status {@value #OOM_EXIT}.
 *
 * <p>Arguments: {@code WORK SEED FROM TO KIND=PATH...} with KIND one of {@code model}, {@code encoder} (an
 * embedding model: loaded, a text embedded), {@code vocab}, {@code lora} (a LoRA adapter for the first {@code model}).
 */
public final class FuzzChild {
    static final int OOM_EXIT = 42;
    private static final String TEXT = "Once upon a time, Lily saw 3 birds. \u00e9\u4e2d\ud83d\ude00 <s></s>\n\t end";

    enum Kind { MODEL, ENCODER, VOCAB, LORA }

    /** With {@code -Dllamaffm.fuzz.select=round-robin}, input {@code i} mutates seed {@code i % seeds}: every seed gets
     * the same number of inputs (the per-architecture campaign); else {@link #targetIndex} draws one by weight. */
    static final boolean ROUND_ROBIN = "round-robin".equals(System.getProperty("llamaffm.fuzz.select"));

    record Target(Kind kind, Path path, GgufMutator mutator) {
        String name() {
            return kind.name().toLowerCase() + ":" + path.getFileName();
        }
    }

    private final Path work;
    private final List<Target> targets;
    private final Path input;
    private Model base; // the LoRA adapters' model, loaded once

    private FuzzChild(Path work, List<Target> targets) {
        this.work = work;
        this.targets = targets;
        this.input = work.resolve("input-" + ProcessHandle.current().pid() + ".gguf");
    }

    public static void main(String[] args) throws IOException {
        Path work = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        int from = Integer.parseInt(args[2]);
        int to = Integer.parseInt(args[3]);
        List<Target> targets = new ArrayList<>();
        for (int i = 4; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            Kind kind = Kind.valueOf(args[i].substring(0, eq).toUpperCase());
            Path path = Path.of(args[i].substring(eq + 1));
            targets.add(new Target(kind, path, new GgufMutator(path.getFileName().toString(), Files.readAllBytes(path))));
        }
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        new FuzzChild(work, targets).run(seed, from, to, out);
    }

    /** The random generator of input {@code index} of the campaign {@code seed}. */
    static SplittableRandom random(long seed, int index) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L);
    }

    /** Which seed file input {@code index} mutates: models most often, then LoRA adapters and vocabularies. */
    static int targetIndex(List<Kind> kinds, SplittableRandom r) {
        int[] weight = new int[kinds.size()];
        int total = 0;
        for (int i = 0; i < weight.length; i++) {
            weight[i] = switch (kinds.get(i)) {
                case MODEL, ENCODER -> 6;
                case LORA -> 3;
                case VOCAB -> 2;
            };
            total += weight[i];
        }
        int x = r.nextInt(total);
        for (int i = 0; i < weight.length; i++) {
            x -= weight[i];
            if (x < 0) {
                return i;
            }
        }
        throw new AssertionError();
    }

    private void run(long seed, int from, int to, PrintStream out) throws IOException {
        List<Kind> kinds = targets.stream().map(Target::kind).toList();
        for (int i = from; i < to; i++) {
            SplittableRandom r = random(seed, i);
            Target target = targets.get(ROUND_ROBIN ? i % targets.size() : targetIndex(kinds, r));
            GgufMutator.Mutant m = target.mutator().mutate(r);
            boolean fromMemory = r.nextInt(5) == 0;
            int samplerSeed = r.nextInt();
            Files.write(input, m.bytes());
            out.println("B " + i + " " + target.name() + " " + GgufMutator.printable(m.description())
                    + (fromMemory && target.kind() != Kind.VOCAB && target.kind() != Kind.LORA ? " [from memory]" : ""));
            String outcome;
            try {
                outcome = runOne(target, m.bytes(), fromMemory, samplerSeed);
            } catch (OutOfMemoryError e) {
                out.println("E " + i + " OOM");
                System.exit(OOM_EXIT);
                return;
            }
            out.println("E " + i + " " + outcome);
            if (out.checkError()) {
                System.exit(3); // the campaign is gone
            }
        }
        Files.deleteIfExists(input);
        if (base != null) {
            base.close();
        }
    }

    private String runOne(Target target, byte[] bytes, boolean fromMemory, int samplerSeed) {
        String[] stage = {"load"};
        try {
            return switch (target.kind()) {
                case MODEL -> model(bytes, fromMemory, samplerSeed, stage);
                case ENCODER -> encoder(bytes, fromMemory, stage);
                case VOCAB -> vocabulary(stage);
                case LORA -> adapter(stage);
            };
        } catch (OutOfMemoryError e) {
            throw e;
        } catch (LlamaException | IllegalArgumentException | IllegalStateException e) {
            return stage[0] + ":" + kind(e);
        } catch (Throwable t) {
            System.err.println("UNTYPED exception at stage " + stage[0] + " of " + input);
            t.printStackTrace();
            return "UNTYPED:" + stage[0] + ":" + t.getClass().getName() + ": " + GgufMutator.printable(String.valueOf(t.getMessage()));
        }
    }

    private String model(byte[] bytes, boolean fromMemory, int samplerSeed, String[] stage) {
        ModelParams params = ModelParams.defaults();
        try (Model m = fromMemory ? Model.load(MemorySegment.ofArray(bytes), params) : Model.load(input, params)) {
            stage[0] = "context";
            try (Context ctx = m.newContext(ContextParams.defaults().withContextLength(64).withBatchSize(64).withThreads(1))) {
                stage[0] = "generate";
                SamplerChain chain = samplerSeed % 2 == 0 ? SamplerChain.greedy()
                        : SamplerChain.sampling(0.8f, 40, 0.95f, 0.05f, samplerSeed);
                Completion c = ctx.generate(TEXT, 4, chain, null);
                stage[0] = "detokenize";
                m.tokenizer().decode(c.tokens());
                return "ok:generated";
            }
        }
    }

    private String encoder(byte[] bytes, boolean fromMemory, String[] stage) {
        try (Model m = fromMemory ? Model.load(MemorySegment.ofArray(bytes), ModelParams.defaults())
                : Model.load(input, ModelParams.defaults())) {
            stage[0] = "context";
            try (Context ctx = m.newContext(ContextParams.defaults().withContextLength(64).withBatchSize(64)
                    .withThreads(1).withEmbeddings(true))) {
                stage[0] = "embed";
                ctx.embed(TEXT, EmbeddingParams.defaults());
                stage[0] = "detokenize";
                m.tokenizer().decode(m.tokenizer().encode(TEXT));
                return "ok:embedded";
            }
        }
    }

    private String vocabulary(String[] stage) {
        try (Model m = Model.load(input, ModelParams.defaults().withVocabOnly(true))) {
            stage[0] = "tokenize";
            int[] tokens = m.tokenizer().encode(TEXT);
            stage[0] = "detokenize";
            m.tokenizer().decode(tokens, false, true);
            for (int t = 0; t < Math.min(64, m.tokenizer().vocabularySize()); t++) {
                m.tokenizer().pieceBytes(t, true);
            }
            return "ok:tokenized";
        }
    }

    private String adapter(String[] stage) {
        if (base == null) {
            Target model = targets.stream().filter(t -> t.kind() == Kind.MODEL).findFirst().orElseThrow();
            base = Model.load(model.path());
        }
        try (LoraAdapter a = base.loadLoraAdapter(input)) {
            stage[0] = "context";
            try (Context ctx = base.newContext(ContextParams.defaults().withContextLength(64).withBatchSize(64).withThreads(1))) {
                stage[0] = "apply";
                ctx.setLoraAdapters(Map.of(a, 1f));
                stage[0] = "generate";
                ctx.generate(TEXT, 2, SamplerChain.greedy(), null);
                return "ok:adapted";
            }
        }
    }

    /** The exception's class, and for a refused load who refused it: our GGUF reader, other Java checks, or llama.cpp. */
    static String kind(RuntimeException e) {
        String name = e.getClass().getSimpleName();
        if (e instanceof ModelLoadException m) {
            String by = m.getCause() instanceof GgufFormatException ? "reader"
                    : m.nativeLog().isEmpty() ? "java" : "llama.cpp";
            return name + "(" + by + ")";
        }
        if (e instanceof DecodeException d) {
            return name + "(" + d.status() + ")";
        }
        return name;
    }
}
