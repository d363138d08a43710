package io.llamaffm.spark.cluster;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.embeddings.Similarity;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.spark.LlamaEmbeddings;
import io.llamaffm.spark.SparkJvmFlags;
import org.apache.spark.SparkEnv;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.desc;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.split;
import static org.apache.spark.sql.functions.udf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real Spark standalone cluster (a master and two workers of one core each, separate JVMs, see
 * {@link LocalStandaloneCluster}) embeds a corpus with {@link LlamaEmbeddings} and all-MiniLM-L6-v2 (GGUF, at a path
 * every node sees) in its two executor JVMs, writes Parquet, and answers nearest-neighbour queries from it; every vector and every answer must
 * equal what a single JVM computes with {@link Context#embed}.
 *
 * <p>The driver is this test JVM, in client mode: the assertions read the job's results directly, and the test JVM is
 * already a fresh JVM (failsafe forks it) with Spark's module options (the module's failsafe {@code argLine}). The
 * executors are the processes that matter, and they share nothing with it: they run from the cluster's
 * {@code SPARK_HOME/jars} (Spark only) and get llama-ffm, its natives jar, this module's jar and its test classes through
 * {@code spark.jars}, served by the driver. Both executors extract the natives into one fresh cache directory
 * ({@code LLAMAFFM_CACHE_DIR} through {@code spark.executorEnv}) at the same time, relying on the loader's file lock;
 * each records the file it mapped {@code libllama} from ({@code /proc/self/maps}), which must lie in that directory.
 */
class StandaloneClusterIT {
    private static final int TEXTS = 240;
    private static final int PARTITIONS = 4;
    private static final int K = 5;
    private static final Path TARGET = Path.of("target").toAbsolutePath();

    @Test
    void embedsOnTwoExecutorsAsOneJvmDoes() throws Exception {
        SparkJvmFlags.checkJava();
        Path dir = Files.createDirectories(TARGET.resolve("standalone-cluster-it"));
        Path models = Files.createDirectories(dir.resolve("models"));
        Path model = MiniLmFixture.gguf(models, GgmlType.F32);
        Path cache = dir.resolve("natives-cache");
        deleteTree(cache);
        Path parquet = dir.resolve("embeddings.parquet");
        deleteTree(parquet);
        List<String> texts = corpus(TEXTS);
        List<String> queries = List.of("a cat sleeping in the sun", "repairing an old engine", "the price of coffee",
                "a storm at sea", "children learning to read");

        // the single-JVM reference
        Map<Long, float[]> reference = new HashMap<>();
        List<float[]> queryVectors = new ArrayList<>();
        try (Model m = Model.load(model); Context ctx = m.newContext(ContextParams.defaults().withContextLength(512)
                .withSequences(8).withThreads(1).withEmbeddings(true))) {
            List<Embedding> e = ctx.embed(texts, EmbeddingParams.defaults());
            for (int i = 0; i < texts.size(); i++) {
                reference.put((long) i, e.get(i).vector());
            }
            for (Embedding q : ctx.embed(queries, EmbeddingParams.defaults())) {
                queryVectors.add(q.vector());
            }
        }

        List<Path> cp = ClassPaths.current();
        Path jars = dir.resolve("app-jars");
        List<Path> appJars = new ArrayList<>();
        appJars.add(ClassPaths.jarOf(Context.class, jars, "llama-ffm"));
        appJars.add(ClassPaths.jarOf(io.llamaffm.bindings.LlamaH.class, jars, "llama-ffm-bindings"));
        appJars.addAll(ClassPaths.nativesJars());
        appJars.add(ClassPaths.jarOf(LlamaEmbeddings.class, jars, "llama-ffm-spark"));
        appJars.add(ClassPaths.jarOf(StandaloneClusterIT.class, jars, "llama-ffm-spark-tests")); // the UDF below

        LocalStandaloneCluster.Options opts = LocalStandaloneCluster.Options
                .defaults(dir.resolve("cluster"), ClassPaths.sparkJars(cp))
                .withWorkers(2).withCoresPerWorker(1).withMemoryPerWorker("1g").withTimeout(Duration.ofMinutes(5));
        Set<Long> started = new HashSet<>();
        try (LocalStandaloneCluster cluster = LocalStandaloneCluster.start(opts)) {
            started.addAll(cluster.workerPids());
            SparkSession.Builder b = SparkSession.builder().appName("StandaloneClusterIT");
            cluster.applicationConf(appJars, 1, "768m").forEach(b::config);
            b.config("spark.executorEnv.LLAMAFFM_CACHE_DIR", cache.toString());
            b.config("spark.sql.shuffle.partitions", "2");
            SparkSession spark = b.getOrCreate();
            try {
                // a session left running by another test class of this JVM would be reused here: it must be ours
                assertEquals(cluster.masterUrl(), spark.sparkContext().master());
                awaitExecutors(spark, 2, Duration.ofSeconds(90), cluster);

                List<Row> rows = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) {
                    rows.add(RowFactory.create((long) i, texts.get(i)));
                }
                StructType in = new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
                Dataset<Row> corpus = spark.createDataFrame(rows, in).repartition(PARTITIONS);
                Dataset<Row> embedded = embed(corpus, model);
                embedded.write().parquet(parquet.toString());

                Dataset<Row> back = spark.read().parquet(parquet.toString()).cache();
                List<Row> all = back.collectAsList();
                assertEquals(TEXTS, all.size());
                Set<String> executors = new HashSet<>();
                Set<Long> pids = new HashSet<>();
                Set<String> libs = new HashSet<>();
                for (Row r : all) {
                    assertTrue(r.isNullAt(r.fieldIndex("error")), "row " + r);
                    long id = r.getLong(r.fieldIndex("id"));
                    float[] v = floats(r.getList(r.fieldIndex("embedding")));
                    double cos = Similarity.cosine(v, reference.get(id));
                    assertTrue(cos >= 0.99999, "text " + id + ": cosine " + cos + " to the single-JVM vector");
                    executors.add(r.getString(r.fieldIndex("executor")));
                    pids.add(r.getLong(r.fieldIndex("pid")));
                    libs.add(r.getString(r.fieldIndex("lib")));
                }
                // the work ran in two executor processes, one under each worker, none of them this JVM
                assertEquals(2, executors.size(), "executor ids " + executors);
                assertTrue(!executors.contains("driver"), "executor ids " + executors);
                assertEquals(2, pids.size(), "executor pids " + pids);
                assertTrue(!pids.contains(ProcessHandle.current().pid()), "the driver ran a task");
                Set<Integer> workers = new HashSet<>();
                for (long pid : pids) {
                    started.add(pid);
                    workers.add(cluster.workerOf(pid).orElseThrow(
                            () -> new AssertionError("pid " + pid + " runs under no worker of the cluster")));
                }
                assertEquals(Set.of(0, 1), workers);
                // both extracted into the one shared cache (under its file lock) and loaded from there
                if (Files.exists(Path.of("/proc/self/maps"))) {
                    assertEquals(1, libs.size(), "libllama mapped from " + libs);
                    assertTrue(libs.iterator().next().startsWith(cache.toString()), "libllama from " + libs);
                }

                // nearest neighbours, answered by Spark SQL from the Parquet, against the single-JVM answer
                for (int q = 0; q < queries.size(); q++) {
                    float[] qv = queryVectors.get(q);
                    List<Long> expected = topK(reference, qv, K);
                    String dot = "aggregate(zip_with(embedding, array(" + floatList(qv)
                            + "), (a, b) -> cast(a as double) * b), 0D, (acc, x) -> acc + x)";
                    List<Long> got = back.withColumn("score", expr(dot)).orderBy(desc("score"), col("id")).limit(K)
                            .select("id").collectAsList().stream().map(r -> r.getLong(0)).toList();
                    assertEquals(expected, got, "top-" + K + " of \"" + queries.get(q) + "\"");
                }
            } finally {
                spark.stop();
            }
        }
        // close() stopped the workers and the executors they started
        for (long pid : started) {
            assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "process " + pid + " outlived close()");
        }
    }

    @Test
    void theHardLimitKillsTheCluster() throws Exception {
        Path dir = Files.createDirectories(TARGET.resolve("standalone-cluster-it-limit"));
        LocalStandaloneCluster.Options opts = LocalStandaloneCluster.Options
                .defaults(dir, ClassPaths.sparkJars(ClassPaths.current())).withWorkers(1)
                .withTimeout(Duration.ofSeconds(25));
        long t0 = System.nanoTime();
        List<Long> pids = new ArrayList<>();
        LocalStandaloneCluster cluster = null;
        try {
            cluster = LocalStandaloneCluster.start(opts);
            pids.addAll(cluster.workerPids());
        } catch (IllegalStateException e) { // the limit passed while it started (a very slow machine): also a kill
            assertTrue(e.getMessage().contains("stopped") || e.getMessage().contains("exited"), e.getMessage());
            return;
        }
        try {
            while (!cluster.isClosed() && System.nanoTime() - t0 < Duration.ofSeconds(60).toNanos()) {
                Thread.sleep(200);
            }
            assertTrue(cluster.isClosed(), "the watchdog did not fire");
            assertTrue(System.nanoTime() - t0 >= Duration.ofSeconds(25).toNanos(), "fired before the limit");
            for (long pid : pids) {
                ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
            }
        } finally {
            cluster.close();
        }
    }

    /**
     * The job: {@link LlamaEmbeddings} over the corpus, plus where each row was embedded (executor id, process id, the
     * file libllama was mapped from), recorded by a non-deterministic UDF that runs in the same task as the embedding
     * (one stage: no shuffle between them).
     */
    private static Dataset<Row> embed(Dataset<Row> corpus, Path model) {
        Dataset<Row> embedded = new LlamaEmbeddings().setModel(model.toString()).setInputCol("text")
                .setOutputCol("embedding").setFailFast(true).transform(corpus);
        UserDefinedFunction where = udf((UDF1<Long, String>) id -> SparkEnv.get().executorId() + "|"
                + ProcessHandle.current().pid() + "|" + mappedLibrary(), DataTypes.StringType).asNondeterministic();
        Dataset<Row> w = embedded.withColumn("where", where.apply(col("id")));
        return w.withColumn("executor", split(col("where"), "\\|").getItem(0))
                .withColumn("pid", split(col("where"), "\\|").getItem(1).cast(DataTypes.LongType))
                .withColumn("lib", split(col("where"), "\\|").getItem(2)).drop("where");
    }

    /** The file this process mapped libllama from, or "" where /proc is absent. */
    static String mappedLibrary() throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.exists(maps)) {
            return "";
        }
        try (Stream<String> lines = Files.lines(maps)) {
            return lines.map(l -> l.substring(l.indexOf('/') < 0 ? l.length() : l.indexOf('/')))
                    .filter(p -> p.contains("libllama")).findFirst().orElse("(libllama not mapped)");
        }
    }

    private static void awaitExecutors(SparkSession spark, int n, Duration timeout, LocalStandaloneCluster cluster)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < n + 1) { // + the driver
            if (System.nanoTime() > deadline) {
                throw new AssertionError(n + " executors did not register within " + timeout + "; worker 0's log:\n"
                        + LocalStandaloneCluster.tail(cluster.logDir().resolve("worker-0.log")));
            }
            Thread.sleep(200);
        }
    }

    private static List<Long> topK(Map<Long, float[]> vectors, float[] q, int k) {
        return vectors.entrySet().stream()
                .sorted((a, b) -> {
                    int c = Double.compare(dot(b.getValue(), q), dot(a.getValue(), q));
                    return c != 0 ? c : Long.compare(a.getKey(), b.getKey());
                })
                .limit(k).map(Map.Entry::getKey).toList();
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static String floatList(float[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : ", ").append("CAST(").append(String.format(Locale.ROOT, "%.9g", v[i])).append(" AS DOUBLE)");
        }
        return sb.toString();
    }

    private static float[] floats(List<Object> list) {
        float[] v = new float[list.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = ((Number) list.get(i)).floatValue();
        }
        return v;
    }

    /** {@code n} short distinct sentences about varied topics. */
    static List<String> corpus(int n) {
        String[] who = {"The farmer", "A young pilot", "My grandmother", "The city council", "A stray cat", "The chef",
                "Two students", "The fisherman", "A tired nurse", "The museum guide", "Our new neighbour", "The mechanic"};
        String[] what = {"repaired the rusty engine", "read a story to the children", "watched the storm over the sea",
                "argued about the price of coffee", "slept all afternoon in the sun", "planted tomatoes in the garden",
                "painted the old fence blue", "lost the keys to the library", "cooked soup for the whole street",
                "counted the birds on the lake"};
        String[] when = {"yesterday", "before dawn", "during the festival", "after the long winter"};
        List<String> out = new ArrayList<>();
        for (int i = 0; out.size() < n; i++) {
            out.add(who[i % who.length] + " " + what[(i / who.length) % what.length] + " "
                    + when[(i / (who.length * what.length)) % when.length] + ".");
        }
        return out;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.delete(f);
            }
        }
    }
}
