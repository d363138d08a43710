package io.llamaffm.benchmarks;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.OnnxToGguf;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.spark.LlamaEmbeddings;
import io.llamaffm.spark.cluster.ClassPaths;
import io.llamaffm.spark.cluster.LocalStandaloneCluster;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Embeddings per second through Spark (local[1], local[2], and a real standalone cluster of two 1-core workers, see
 * {@link LocalStandaloneCluster}), through {@link LlamaEmbeddings}, next to bare {@link Context#embed} with the same
 * total threads, the same model (all-MiniLM-L6-v2 converted to GGUF F32), the same corpus and the same batching
 * (contexts of one thread, batches of {@value #BATCH} texts), alternated in one run. Writes the "Spark" section of benchmarks/RESULTS.md in place.
 *
 * <pre>java -cp ... io.llamaffm.benchmarks.SparkBench [--texts N] [--reps N] [--out FILE] [--command LINE]</pre>
 *
 * <p>The bare side with {@code T} threads is {@code T} Java threads, each with its own one-thread context over one
 * shared model, each embedding its share of the corpus in batches, as {@code T} Spark tasks do. The Spark side is a
 * cached DataFrame of the corpus in {@value #PARTITIONS} partitions, embedded on the executors by
 * {@link LlamaEmbeddings} (one model per executor JVM, a context per task, batches of {@value #BATCH}) and written to
 * Spark's {@code noop} sink, so that every
 * vector is computed and none travels back to the driver. The time of one run is the wall time of that action, the
 * model already loaded on every executor by a warm-up run.
 */
public final class SparkBench {
    static final int BATCH = 64;
    static final int PARTITIONS = 4;
    static final String HEADING = "## Spark";
    private static final String CHILD = "llamaffm.sparkbench.child";

    private SparkBench() {}

    public static void main(String[] args) throws Exception {
        if (!Boolean.getBoolean(CHILD)) { // the driver needs Spark's module options: run in a child JVM that has them
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(Arrays.asList(org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptionArray()));
            cmd.add("-D" + CHILD + "=true");
            cmd.add("-Dlog4j2.configurationFile=" + log4jConfig());
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(SparkBench.class.getName());
            cmd.addAll(List.of(args));
            System.exit(new ProcessBuilder(cmd).inheritIO().start().waitFor());
        }
        int texts = 1024;
        int reps = 5;
        Path out = Path.of("benchmarks/RESULTS.md");
        String command = "benchmarks/spark.sh";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--texts" -> texts = Integer.parseInt(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--command" -> command = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (--texts N, --reps N, --out FILE, --command LINE)");
            }
        }
        io.llamaffm.spark.SparkJvmFlags.checkJava();
        Path dir = Files.createDirectories(Path.of("benchmarks/target/spark-bench").toAbsolutePath());
        Path model = dir.resolve("minilm-f32.gguf");
        if (!Files.exists(model)) {
            OnnxToGguf.convert(EmbeddingBench.extract("all-minilm-l6-v2.onnx", Files.createTempDirectory(dir, "onnx")),
                    EmbeddingBench.extract("all-minilm-l6-v2-tokenizer.json", Files.createTempDirectory(dir, "tok")),
                    model, GgmlType.F32);
        }
        List<String> corpus = corpus(texts);

        StringBuilder table = new StringBuilder(
                "| Spark | total threads | Spark (embeddings/s) | bare Context.embed (embeddings/s) | Spark / bare (paired) | overhead per core | load average before → after |\n"
                        + "|---|---|---|---|---|---|---|\n");
        StringBuilder verdicts = new StringBuilder();
        try (Model m = Model.load(model)) {
            for (String mode : List.of("local[1]", "local[2]", "standalone, 2 workers × 1 core")) {
                int threads = mode.equals("local[1]") ? 1 : 2;
                log(mode + ": starting");
                String loadBefore = loadAverage();
                LocalStandaloneCluster cluster = null;
                SparkSession.Builder b = SparkSession.builder().appName("SparkBench " + mode)
                        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
                if (mode.startsWith("local")) {
                    b.master(mode);
                } else {
                    cluster = LocalStandaloneCluster.start(LocalStandaloneCluster.Options
                            .defaults(dir.resolve("cluster"), ClassPaths.sparkJars(ClassPaths.current()))
                            .withWorkers(2).withCoresPerWorker(1).withMemoryPerWorker("1g")
                            .withTimeout(Duration.ofMinutes(20)));
                    Path jars = dir.resolve("app-jars");
                    List<Path> app = new ArrayList<>(List.of(ClassPaths.jarOf(Context.class, jars, "llama-ffm"),
                            ClassPaths.jarOf(io.llamaffm.bindings.LlamaH.class, jars, "llama-ffm-bindings"),
                            ClassPaths.jarOf(LlamaEmbeddings.class, jars, "llama-ffm-spark")));
                    app.addAll(ClassPaths.nativesJars());
                    cluster.applicationConf(app, 1, "768m").forEach(b::config);
                }
                SparkSession spark = b.getOrCreate();
                try {
                    if (cluster != null) {
                        awaitExecutors(spark, 2, Duration.ofSeconds(120));
                    }
                    double[][] r = measure(spark, m, model, corpus, threads, reps);
                    Stats s = new Stats(r[0]);
                    Stats bare = new Stats(r[1]);
                    Stats ratio = Stats.pairedRatios(r[0], r[1]);
                    double overhead = 1 - ratio.median();
                    table.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %.1f %% | %s → %s |%n", mode,
                            threads, s.cell(), bare.cell(), ratio.ratioCell(), 100 * overhead, loadBefore, loadAverage()));
                    verdicts.append(String.format(Locale.ROOT, "- %s: Spark's overhead per core %.1f %% (target ≤ 10 %%): **%s**%n",
                            mode, 100 * overhead, overhead <= 0.10 ? "met" : "missed"));
                    log(mode + ": " + s.cell() + " vs bare " + bare.cell());
                } finally {
                    spark.stop();
                    if (cluster != null) {
                        cluster.close();
                    }
                }
            }
        }

        String section = HEADING + "\n\nGenerated by `" + command + "` on " + LocalDate.now(ZoneOffset.UTC)
                + " (benchmarks/spark.sh replaces this section in place; benchmarks/run.sh runs it after the rest).\n\n"
                + MachineInfo.markdown(2).replaceFirst("^## ", "### ") + "\n"
                + String.format(Locale.ROOT, "all-MiniLM-L6-v2 (GGUF F32), %d texts, %d runs each after a warm-up, Spark and "
                + "bare alternated (taking turns at going first, %d ms pause before each run); medians (min–max), the ratio "
                + "paired: median [quartiles] of the per-run ratios; overhead per core = 1 − that median. Both sides: "
                + "contexts of one thread, batches of %d texts; Spark: LlamaEmbeddings over %d partitions of a cached "
                + "DataFrame (one model per executor JVM), output to the noop sink; bare: as many Java threads as Spark has cores, each with its "
                + "own context over one model and its share of the corpus. The standalone cluster's executors are "
                + "separate JVMs (heap 768 MiB) on this machine beside the driver, master and worker JVMs. The last column is "
                + "the machine's 1-minute load average when the row started and ended: with more runnable threads than "
                + "cores (other work on the machine), both sides' numbers and their ratio are noise.%n%n",
                texts, reps, EmbeddingBench.SETTLE_MS, BATCH, PARTITIONS)
                + table + "\n### Targets\n\n" + verdicts;
        String doc = Files.exists(out) ? Files.readString(out) : "";
        Files.writeString(out, ServerBench.replaceSection(doc, HEADING, section));
        System.out.print(section);
    }

    /** Spark's and the bare side's embeddings/s per run: {@code [0]} Spark, {@code [1]} bare. */
    private static double[][] measure(SparkSession spark, Model m, Path model, List<String> corpus, int threads, int reps)
            throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            rows.add(RowFactory.create((long) i, corpus.get(i)));
        }
        StructType in = new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
        Dataset<Row> df = spark.createDataFrame(rows, in).repartition(PARTITIONS).cache();
        if (df.count() != corpus.size()) {
            throw new IllegalStateException("the cached corpus lost rows");
        }
        Dataset<Row> embedded = embed(df, model);
        double[] sparkRates = new double[reps];
        double[] bareRates = new double[reps];
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            runSpark(embedded); // warm-up: each executor loads its model
            runBare(m, corpus, threads, pool);
            for (int r = 0; r < reps; r++) {
                for (int k = 0; k < 2; k++) {
                    Thread.sleep(EmbeddingBench.SETTLE_MS);
                    long t0 = System.nanoTime();
                    if (EmbeddingBench.turn(k, r, 2) == 0) {
                        runSpark(embedded);
                        sparkRates[r] = corpus.size() / ((System.nanoTime() - t0) / 1e9);
                    } else {
                        runBare(m, corpus, threads, pool);
                        bareRates[r] = corpus.size() / ((System.nanoTime() - t0) / 1e9);
                    }
                }
            }
        } finally {
            pool.shutdownNow();
            df.unpersist();
        }
        return new double[][] {sparkRates, bareRates};
    }

    private static void runSpark(Dataset<Row> embedded) {
        embedded.write().format("noop").mode("overwrite").save();
    }

    private static void runBare(Model m, List<String> corpus, int threads, ExecutorService pool) throws Exception {
        List<Future<Integer>> parts = new ArrayList<>();
        int share = (corpus.size() + threads - 1) / threads;
        for (int t = 0; t < threads; t++) {
            List<String> mine = corpus.subList(Math.min(corpus.size(), t * share), Math.min(corpus.size(), (t + 1) * share));
            parts.add(pool.submit(() -> {
                int n = 0;
                try (Context ctx = m.newContext(contextParams())) {
                    for (int i = 0; i < mine.size(); i += BATCH) {
                        n += ctx.embed(mine.subList(i, Math.min(mine.size(), i + BATCH)), EmbeddingParams.defaults()).size();
                    }
                }
                return n;
            }));
        }
        int total = 0;
        for (Future<Integer> f : parts) {
            total += f.get();
        }
        if (total != corpus.size()) {
            throw new IllegalStateException("bare run embedded " + total + " of " + corpus.size());
        }
    }

    /** The Spark side: {@link LlamaEmbeddings} with one-thread contexts and batches of {@value #BATCH} rows. */
    private static Dataset<Row> embed(Dataset<Row> corpus, Path model) {
        return new LlamaEmbeddings().setModel(model.toString()).setInputCol("text").setOutputCol("embedding")
                .setThreads(1).setBatchSize(BATCH).setFailFast(true).transform(corpus);
    }

    /**
     * The bare side's contexts: those {@link LlamaEmbeddings} makes for these settings (the model's context length,
     * one thread, one sequence per row of a batch).
     */
    static ContextParams contextParams() {
        return ContextParams.defaults().withContextLength(0).withThreads(1).withSequences(BATCH).withEmbeddings(true)
                .withPooling(ContextParams.Pooling.MODEL);
    }

    private static void awaitExecutors(SparkSession spark, int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < n + 1) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(n + " executors did not register within " + timeout);
            }
            Thread.sleep(200);
        }
    }

    /** {@code n} distinct sentences: EmbeddingBench's 128, each with a numbered variant. */
    static List<String> corpus(int n) {
        List<String> base = EmbeddingBench.texts();
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String s = base.get(i % base.size());
            out.add(i < base.size() ? s : s + " Note " + (i / base.size()) + ".");
        }
        return out;
    }

    private static String log4jConfig() throws java.io.IOException {
        Path p = Files.createTempFile("sparkbench-log4j2", ".properties");
        Files.writeString(p, """
                rootLogger.level = warn
                rootLogger.appenderRef.stdout.ref = console
                appender.console.type = Console
                appender.console.name = console
                appender.console.target = SYSTEM_ERR
                appender.console.layout.type = PatternLayout
                appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
                """);
        p.toFile().deleteOnExit();
        return p.toString();
    }

    /** The 1-minute load average ({@code /proc/loadavg}), "?" where there is none: how busy the machine was. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (java.io.IOException | RuntimeException e) {
            return "?";
        }
    }

    private static void log(String line) {
        System.err.println("[bench] " + line);
    }
}
