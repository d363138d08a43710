package io.llamaffm.benchmarks;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.OnnxToGguf;
import io.llamaffm.embeddings.SearchResult;
import io.llamaffm.embeddings.VectorIndex;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.lucene.HnswConfig;
import io.llamaffm.lucene.LuceneVectorStore;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Exact ({@link VectorIndex}) vs HNSW ({@link LuceneVectorStore}) at 100 000 vectors: recall@10 of HNSW against the
 * exact answers, build time, size on disk, query latency p50/p99 of both, on (a) seeded synthetic clustered vectors
 * of 384 dimensions and (b) all-MiniLM-L6-v2 embeddings (llama-ffm, the model converted from LangChain4j's ONNX
 * artifact) of 100 000 generated short distinct texts (vectors cached under ~/.cache/llama-ffm-bench). Then the
 * CLI's query path: {@code search --index-type hnsw} run as a user runs it (a new JVM per query) on the MiniLM
 * index the bench built with the same store class. Writes the "Vector search" section of RESULTS.md in place.
 *
 * <p>Arguments: {@code --out FILE} (RESULTS.md), {@code --n N} (100000), {@code --queries N} (200),
 * {@code --threads N} (2), {@code --cli-jar JAR} (the CLI's shaded jar; no CLI part without it),
 * {@code --cli-queries N} (10), {@code --command TEXT} (the command line shown).
 */
public final class VectorSearchBench {
    static final String HEADING = "## Vector search: exact vs HNSW";
    private static final int DIM = 384;
    private static final int K = 10;
    private static final int[] CANDIDATES = {50, 100, 200, 400};
    private static final int CLUSTERS = 100;
    private static final double SPREAD = 1.0;

    private VectorSearchBench() {}

    record Run(String name, int n, double flatBuildS, long flatBytes, double[] flatMs, double hnswBuildS,
               double mergeS, long hnswBytes, Map<Integer, double[]> hnswMs, Map<Integer, Double> recall) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new java.util.HashMap<>(Map.of("--n", "100000", "--queries", "200", "--threads", "2",
                "--cli-queries", "10", "--out", "benchmarks/RESULTS.md", "--command", "benchmarks/vector-search.sh"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            opts.put(args[i], args[i + 1]);
        }
        int n = Integer.parseInt(opts.get("--n"));
        int queries = Integer.parseInt(opts.get("--queries"));
        int threads = Integer.parseInt(opts.get("--threads"));
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "llama-ffm-bench");
        Files.createDirectories(cache);
        Path work = Files.createDirectories(Path.of("benchmarks", "target", "vector-search"));

        log("Vector API for Lucene: " + (LuceneVectorStore.vectorApiEnabled() ? "on" : "off"));
        log("synthetic clustered vectors: " + n + " x " + DIM);
        float[][] synthetic = clustered(n + queries, DIM, CLUSTERS, SPREAD, 42);
        Run a = run("synthetic clustered, 384 dims (" + CLUSTERS + " clusters, noise norm " + SPREAD + " around unit centres)", split(synthetic, n), Arrays.copyOfRange(synthetic, n, n + queries),
                null, work.resolve("synthetic"));

        Path gguf = minilm(cache);
        List<String> texts = corpus(n + queries, 42);
        float[][] real = embedCached(gguf, texts, threads, cache.resolve("minilm-f16-corpus-" + (n + queries) + "-s42.f32"));
        Path realDir = work.resolve("minilm");
        Run b = run("all-MiniLM-L6-v2 embeddings of generated texts", split(real, n),
                Arrays.copyOfRange(real, n, n + queries), texts, realDir);

        String cli = "";
        if (opts.containsKey("--cli-jar")) {
            cli = cliPart(Path.of(opts.get("--cli-jar")), gguf, realDir.resolve("hnsw"), texts.subList(n, n + queries),
                    Arrays.copyOfRange(real, n, n + queries), realDir.resolve("flat.lfvi"),
                    Integer.parseInt(opts.get("--cli-queries")), threads);
        }
        String section = markdown(List.of(a, b), cli, queries, threads, opts.get("--command"));
        System.out.print(section);
        Path out = Path.of(opts.get("--out"));
        String doc = Files.exists(out) ? Files.readString(out) : "";
        Files.writeString(out, ServerBench.replaceSection(doc, HEADING, section));
    }

    private static float[][] split(float[][] all, int n) {
        return Arrays.copyOfRange(all, 0, n);
    }

    static Run run(String name, float[][] data, float[][] queries, List<String> texts, Path dir) throws IOException {
        deleteTree(dir);
        Files.createDirectories(dir);
        int n = data.length;
        // exact
        long t0 = System.nanoTime();
        VectorIndex flat = new VectorIndex(DIM);
        for (int i = 0; i < n; i++) {
            flat.add("t" + i, data[i], texts == null ? null : texts.get(i));
        }
        Path flatFile = dir.resolve("flat.lfvi");
        flat.save(flatFile);
        double flatBuild = (System.nanoTime() - t0) / 1e9;
        log(name + ": exact index built and saved in " + fmt(flatBuild) + " s");
        List<List<String>> truth = new ArrayList<>();
        for (int w = 0; w < 5; w++) {
            flat.search(queries[w], K);
        }
        double[] flatMs = new double[queries.length];
        for (int q = 0; q < queries.length; q++) {
            long s = System.nanoTime();
            List<SearchResult> r = flat.search(queries[q], K);
            flatMs[q] = (System.nanoTime() - s) / 1e6;
            truth.add(r.stream().map(SearchResult::id).toList());
        }
        // HNSW
        Path hnswDir = dir.resolve("hnsw");
        t0 = System.nanoTime();
        double mergeS;
        Map<Integer, double[]> hnswMs = new java.util.TreeMap<>();
        Map<Integer, Double> recall = new java.util.TreeMap<>();
        double hnswBuild;
        long hnswBytes;
        try (LuceneVectorStore store = LuceneVectorStore.open(hnswDir, DIM, HnswConfig.defaults())) {
            for (int i = 0; i < n; i++) {
                store.add("t" + i, data[i], texts == null ? null : texts.get(i), Map.of());
                if ((i + 1) % 25_000 == 0) {
                    log(name + ": HNSW " + (i + 1) + " added, " + fmt((System.nanoTime() - t0) / 1e9) + " s");
                }
            }
            store.commit();
            long m0 = System.nanoTime();
            store.forceMerge();
            store.commit();
            mergeS = (System.nanoTime() - m0) / 1e9;
            hnswBuild = (System.nanoTime() - t0) / 1e9;
            log(name + ": HNSW built in " + fmt(hnswBuild) + " s (of which merging into one segment " + fmt(mergeS) + " s)");
            hnswBytes = treeSize(hnswDir);
            for (int c : CANDIDATES) {
                for (int w = 0; w < 20; w++) {
                    store.search(queries[w], K, null, c);
                }
                double[] ms = new double[queries.length];
                int found = 0;
                for (int q = 0; q < queries.length; q++) {
                    long s = System.nanoTime();
                    List<SearchResult> r = store.search(queries[q], K, null, c);
                    ms[q] = (System.nanoTime() - s) / 1e6;
                    List<String> want = truth.get(q);
                    found += (int) r.stream().filter(h -> want.contains(h.id())).count();
                }
                hnswMs.put(c, ms);
                recall.put(c, found / (double) (K * queries.length));
                log(name + ": candidates " + c + ": recall@10 " + fmt3(recall.get(c)) + ", p50 " + fmt(pct(ms, 50)) + " ms");
            }
        }
        return new Run(name, n, flatBuild, Files.size(flatFile), flatMs, hnswBuild, mergeS, hnswBytes, hnswMs, recall);
    }

    /** The CLI as a user runs it: one JVM per query, on the HNSW directory the bench built. */
    private static String cliPart(Path jar, Path gguf, Path hnswDir, List<String> queryTexts, float[][] queryVectors,
                                  Path flatFile, int count, int threads) throws Exception {
        VectorIndex flat = VectorIndex.load(flatFile);
        int found = 0;
        int top1 = 0;
        double[] wall = new double[count];
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int q = 0; q < count; q++) {
            List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                    "-jar", jar.toString(), "search", gguf.toString(), "--index-type", "hnsw", "--index", hnswDir.toString(),
                    "--query", queryTexts.get(q), "-k", Integer.toString(K), "-t", Integer.toString(threads), "--progress=never");
            long s = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("the CLI failed on query " + q + ": " + out);
            }
            wall[q] = (System.nanoTime() - s) / 1e6;
            List<String> ids = out.lines().map(l -> l.split("  ")[1]).toList();
            List<String> want = flat.search(queryVectors[q], K).stream().map(SearchResult::id).toList();
            found += (int) ids.stream().filter(want::contains).count();
            top1 += !ids.isEmpty() && ids.getFirst().equals(want.getFirst()) ? 1 : 0;
        }
        log("CLI: recall@10 " + fmt3(found / (double) (K * count)) + ", p50 " + fmt(pct(wall, 50)) + " ms per invocation");
        return String.format(Locale.ROOT, "%n### The CLI on the 100 000-text MiniLM index%n%n"
                        + "`java --add-modules jdk.incubator.vector -jar llama-ffm-examples.jar search MINILM.gguf --index-type hnsw "
                        + "--index DIR --query TEXT -k 10` on the HNSW directory built above (same class, LuceneVectorStore), "
                        + "one new JVM per query as a user runs it, %d queries (the first %d query texts): recall@10 against the "
                        + "exact index %s, the exact top 1 first in %d of %d; wall time per invocation (JVM start, model load, "
                        + "index open, query embedding, search, output) p50 %s ms, p99 %s ms. The search itself inside it is "
                        + "the in-process latency above.%n",
                count, count, fmt3(found / (double) (K * count)), top1, count, fmt(pct(wall, 50)), fmt(pct(wall, 99)));
    }

    private static String markdown(List<Run> runs, String cli, int queries, int threads, String command) {
        StringBuilder md = new StringBuilder(HEADING).append("\n\n");
        md.append(String.format(Locale.ROOT, "`%s`. %s. k = %d, %d queries not in the index, recall@10 = the share of the "
                        + "exact top 10 (VectorIndex, a scan of every vector) that HNSW (LuceneVectorStore: Lucene %s, M 16, "
                        + "beam width 100, merged into one segment) returns. Latency: one query at a time, in process, after "
                        + "warm-up; p50 / p99 in ms. Vector API for Lucene: %s. Load average when the run ended: %s (the "
                        + "machine is shared).%n%n",
                command, MachineInfo.markdown(threads).lines().filter(l -> l.startsWith("- CPU: ")).findFirst().orElse("- CPU: ?").substring(2),
                K, queries, org.apache.lucene.util.Version.LATEST,
                LuceneVectorStore.vectorApiEnabled() ? "on (--add-modules jdk.incubator.vector)" : "off", loadAverage()));
        for (Run r : runs) {
            md.append(String.format(Locale.ROOT, "### %s, %,d vectors%n%n", r.name(), r.n()));
            md.append("| index | build (s) | size on disk (MiB) | recall@10 | p50 (ms) | p99 (ms) |\n|---|---|---|---|---|---|\n");
            md.append(String.format(Locale.ROOT, "| exact (flat) | %s | %s | 1.000 | %s | %s |%n", fmt(r.flatBuildS()),
                    fmt(r.flatBytes() / 1048576.0), fmt(pct(r.flatMs(), 50)), fmt(pct(r.flatMs(), 99))));
            for (int c : CANDIDATES) {
                double[] ms = r.hnswMs().get(c);
                md.append(String.format(Locale.ROOT, "| HNSW, %d candidates%s | %s | %s | %s | %s | %s |%n", c,
                        c == HnswConfig.defaults().candidates() ? " (default)" : "",
                        c == CANDIDATES[0] ? fmt(r.hnswBuildS()) + " (merge " + fmt(r.mergeS()) + ")" : "″",
                        c == CANDIDATES[0] ? fmt(r.hnswBytes() / 1048576.0) : "″", fmt3(r.recall().get(c)),
                        fmt(pct(ms, 50)), fmt(pct(ms, 99))));
            }
            double speedup = pct(r.flatMs(), 50) / pct(r.hnswMs().get(100), 50);
            md.append(String.format(Locale.ROOT, "%nHNSW (default candidates) / exact p50 latency: %sx faster.%n%n", fmt(speedup)));
        }
        md.append(cli);
        return md.toString();
    }

    // --- data ---

    static float[][] clustered(int n, int dim, int clusters, double spread, long seed) {
        Random random = new Random(seed);
        float[][] centres = new float[clusters][dim];
        for (float[] c : centres) {
            double norm = 0;
            for (int j = 0; j < dim; j++) {
                c[j] = (float) random.nextGaussian();
                norm += c[j] * c[j];
            }
            for (int j = 0; j < dim; j++) {
                c[j] /= (float) Math.sqrt(norm);
            }
        }
        float[][] out = new float[n][dim];
        double sigma = spread / Math.sqrt(dim);
        for (int i = 0; i < n; i++) {
            float[] c = centres[random.nextInt(clusters)];
            for (int j = 0; j < dim; j++) {
                out[i][j] = (float) (c[j] + sigma * random.nextGaussian());
            }
        }
        return out;
    }

    /** {@code n} distinct short sentences from a seeded template generator. */
    static List<String> corpus(int n, long seed) {
        String[] adjectives = {"quiet", "red", "ancient", "tiny", "clever", "broken", "shiny", "lazy", "brave", "noisy",
                "frozen", "golden", "wooden", "hungry", "gentle", "curious", "rusty", "bright", "heavy", "young"};
        String[] nouns = {"fox", "robot", "teacher", "sailor", "violin", "bridge", "garden", "river", "train", "lamp",
                "doctor", "kitten", "castle", "engine", "farmer", "library", "bicycle", "mountain", "student", "clock",
                "dragon", "market", "painter", "storm", "village"};
        String[] verbs = {"watched", "repaired", "painted", "followed", "ignored", "visited", "carried", "described",
                "found", "chased", "admired", "built", "sold", "cleaned", "photographed"};
        String[] places = {"near the harbour", "in the old town", "under the bridge", "on the hill", "at the station",
                "behind the school", "in the forest", "by the lake", "inside the museum", "across the valley"};
        String[] times = {"at dawn", "after lunch", "before the storm", "on Sunday", "late at night", "in winter",
                "during the festival", "every morning", "last summer", "yesterday"};
        Random random = new Random(seed);
        Set<String> out = new LinkedHashSet<>();
        while (out.size() < n) {
            out.add("The " + pick(random, adjectives) + " " + pick(random, nouns) + " " + pick(random, verbs) + " a "
                    + pick(random, adjectives) + " " + pick(random, nouns) + " " + pick(random, places) + " "
                    + pick(random, times) + ".");
        }
        return List.copyOf(out);
    }

    private static String pick(Random random, String[] words) {
        return words[random.nextInt(words.length)];
    }

    private static Path minilm(Path cache) throws Exception {
        Path gguf = cache.resolve("all-minilm-l6-v2-f16.gguf");
        if (!Files.exists(gguf)) {
            Path tmp = Files.createTempDirectory("llamaffm-minilm");
            Path onnx = EmbeddingBench.extract("all-minilm-l6-v2.onnx", tmp);
            Path tokenizer = EmbeddingBench.extract("all-minilm-l6-v2-tokenizer.json", tmp);
            Path part = cache.resolve("all-minilm-l6-v2-f16.gguf.part");
            OnnxToGguf.convert(onnx, tokenizer, part, GgmlType.F16);
            Files.move(part, gguf, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return gguf;
    }

    /** The texts' embeddings, read from {@code file} when a run computed them before, else computed and written. */
    private static float[][] embedCached(Path gguf, List<String> texts, int threads, Path file) throws IOException {
        if (Files.exists(file)) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
                int n = in.readInt();
                int dim = in.readInt();
                if (n == texts.size() && dim == DIM) {
                    float[][] out = new float[n][dim];
                    for (float[] v : out) {
                        for (int j = 0; j < dim; j++) {
                            v[j] = in.readFloat();
                        }
                    }
                    log("MiniLM vectors read from " + file);
                    return out;
                }
            }
        }
        log("embedding " + texts.size() + " texts with " + gguf.getFileName() + " (" + threads + " threads; cached after)");
        float[][] out = new float[texts.size()][];
        long t0 = System.nanoTime();
        try (Model m = Model.load(gguf);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(2048).withBatchSize(512)
                     .withMicroBatchSize(512).withSequences(16).withThreads(threads).withEmbeddings(true))) {
            int batch = 256;
            for (int i = 0; i < texts.size(); i += batch) {
                List<Embedding> e = ctx.embed(texts.subList(i, Math.min(texts.size(), i + batch)), EmbeddingParams.defaults());
                for (int j = 0; j < e.size(); j++) {
                    out[i + j] = e.get(j).vector();
                }
                if ((i / batch) % 40 == 0) {
                    log("  " + (i + e.size()) + " embedded, " + fmt((System.nanoTime() - t0) / 1e9) + " s");
                }
            }
        }
        Path part = file.resolveSibling(file.getFileName() + ".part");
        try (DataOutputStream o = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(part), 1 << 20))) {
            o.writeInt(out.length);
            o.writeInt(DIM);
            for (float[] v : out) {
                for (float x : v) {
                    o.writeFloat(x);
                }
            }
        }
        Files.move(part, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return out;
    }

    // --- helpers ---

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " / " + f[1] + " / " + f[2] + " (1 / 5 / 15 min)";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static double pct(double[] values, int p) {
        double[] s = values.clone();
        Arrays.sort(s);
        int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.clamp(i, 0, s.length - 1)];
    }

    private static long treeSize(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    private static String fmt(double x) {
        return String.format(Locale.ROOT, x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x);
    }

    private static String fmt3(double x) {
        return String.format(Locale.ROOT, "%.3f", x);
    }

    private static void log(String line) {
        System.err.println("[vector-search] " + line);
    }
}
