package io.llamaffm.spark.cluster;

import io.llamaffm.spark.SparkJvmFlags;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A real Spark standalone cluster on this machine, for tests and benchmarks: a master
 * ({@code org.apache.spark.deploy.master.Master}) and {@code N} workers ({@code org.apache.spark.deploy.worker.Worker}),
 * each its own JVM, all bound to the loopback interface on free ports. Nothing is downloaded: the cluster runs from the
 * Spark jars of a class path (normally the caller's own, see {@link ClassPaths#sparkJars}).
 *
 * <p>How it is laid out (what Spark's launcher, {@code org.apache.spark.launcher.WorkerCommandBuilder} and
 * {@code AbstractCommandBuilder}, expects when a worker starts an executor): a {@code SPARK_HOME} under
 * {@link Options#dir()} whose {@code jars/} holds links to the Spark jars (the executor's class path is
 * {@code $SPARK_HOME/jars/*}, plus {@code $SPARK_HOME/conf}), {@code SPARK_SCALA_VERSION=2.13} (without it the launcher
 * looks for a Spark source build) and {@code SPARK_LOCAL_IP=127.0.0.1}. The master and worker JVMs get Spark's own
 * module options ({@code org.apache.spark.launcher.JavaModuleOptions}, which include
 * {@code --enable-native-access=ALL-UNNAMED}); executors get them from the driver, which adds them to
 * {@code spark.executor.extraJavaOptions} itself. The application's jars reach executors through {@code spark.jars}
 * (see {@link #applicationConf}); they are not in {@code jars/}.
 *
 * <p>Logs: {@code dir/logs/master.log}, {@code dir/logs/worker-N.log}; each executor's standard output and error are
 * in the worker's work directory {@code dir/work/worker-N/APP/EXECUTOR/}. The master's and workers' web UIs cannot be
 * switched off in Spark 4.2; they bind to an ephemeral loopback port. Applications should set
 * {@code spark.ui.enabled=false} ({@link #applicationConf} does).
 *
 * <p>{@link #close()} stops every process it started, executors included (a worker's descendants are killed
 * before the worker), also when the JVM exits without closing (a shutdown hook) and when
 * {@link Options#timeout()} passes (a watchdog thread kills the whole cluster). Not thread-safe.
 */
public final class LocalStandaloneCluster implements AutoCloseable {
    private static final String HOST = "127.0.0.1";
    private static final String MASTER_CLASS = "org.apache.spark.deploy.master.Master";
    private static final String WORKER_CLASS = "org.apache.spark.deploy.worker.Worker";

    /**
     * What to start.
     *
     * @param dir              the cluster's directory (SPARK_HOME, logs, work directories); created if absent
     * @param sparkJars        the jars of Spark and its dependencies (never the application's)
     * @param workers          how many workers (at least 1)
     * @param coresPerWorker   cores each worker offers
     * @param memoryPerWorker  memory each worker offers to executors, as Spark writes it ({@code 1g}, {@code 768m})
     * @param daemonHeap       heap of the master and worker JVMs themselves ({@code -Xmx})
     * @param workerEnv        extra environment of each worker (inherited by its executors), indexed by worker;
     *                         absent indexes get none
     * @param startTimeout     how long the master and each worker may take to come up
     * @param timeout          the hard limit: the whole cluster is killed this long after it started
     */
    public record Options(Path dir, List<Path> sparkJars, int workers, int coresPerWorker, String memoryPerWorker,
                          String daemonHeap, List<Map<String, String>> workerEnv, Duration startTimeout,
                          Duration timeout) {
        /** Checks the values. */
        public Options {
            if (dir == null || sparkJars == null || sparkJars.isEmpty()) {
                throw new IllegalArgumentException("a directory and the Spark jars are required");
            }
            if (workers < 1 || coresPerWorker < 1) {
                throw new IllegalArgumentException("workers and cores per worker must be at least 1: " + workers + ", "
                        + coresPerWorker);
            }
            if (!memoryPerWorker.matches("[0-9]+[mMgG]") || !daemonHeap.matches("[0-9]+[mMgG]")) {
                throw new IllegalArgumentException("memory as Spark writes it (512m, 1g): " + memoryPerWorker + ", "
                        + daemonHeap);
            }
            if (startTimeout.isNegative() || startTimeout.isZero() || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeouts must be positive");
            }
            sparkJars = List.copyOf(sparkJars);
            workerEnv = workerEnv.stream().map(Map::copyOf).toList();
        }

        /** Two workers of 1 core and 1 GiB each, daemons of 256 MiB heap, 60 s to start, killed after 10 minutes. */
        public static Options defaults(Path dir, List<Path> sparkJars) {
            return new Options(dir, sparkJars, 2, 1, "1g", "256m", List.of(), Duration.ofSeconds(60),
                    Duration.ofMinutes(10));
        }

        /** {@return these options with {@code n} workers} */
        public Options withWorkers(int n) {
            return new Options(dir, sparkJars, n, coresPerWorker, memoryPerWorker, daemonHeap, workerEnv, startTimeout, timeout);
        }

        /** {@return these options with {@code cores} per worker} */
        public Options withCoresPerWorker(int cores) {
            return new Options(dir, sparkJars, workers, cores, memoryPerWorker, daemonHeap, workerEnv, startTimeout, timeout);
        }

        /** {@return these options with {@code memory} (Spark's notation) per worker} */
        public Options withMemoryPerWorker(String memory) {
            return new Options(dir, sparkJars, workers, coresPerWorker, memory, daemonHeap, workerEnv, startTimeout, timeout);
        }

        /** {@return these options with each worker's extra environment, by worker index} */
        public Options withWorkerEnv(List<Map<String, String>> env) {
            return new Options(dir, sparkJars, workers, coresPerWorker, memoryPerWorker, daemonHeap, env, startTimeout, timeout);
        }

        /** {@return these options with the hard limit {@code limit}} */
        public Options withTimeout(Duration limit) {
            return new Options(dir, sparkJars, workers, coresPerWorker, memoryPerWorker, daemonHeap, workerEnv, startTimeout, limit);
        }
    }

    private final Options options;
    private final Path sparkHome;
    private final String masterUrl;
    private final List<Process> processes = new ArrayList<>();
    private final List<Process> workers = new ArrayList<>();
    private final Thread shutdownHook;
    private final Thread watchdog;
    private volatile boolean closed;

    private LocalStandaloneCluster(Options options) throws IOException {
        this.options = options;
        Path dir = options.dir().toAbsolutePath();
        this.sparkHome = dir.resolve("spark-home");
        Files.createDirectories(dir.resolve("logs"));
        layOutSparkHome(sparkHome, options.sparkJars());
        this.masterUrl = "spark://" + HOST + ":" + freePort();
        this.shutdownHook = new Thread(this::killAll, "spark-cluster-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        this.watchdog = Thread.ofPlatform().daemon().name("spark-cluster-watchdog").unstarted(() -> {
            try {
                Thread.sleep(options.timeout());
                if (!closed) {
                    System.err.println("LocalStandaloneCluster: past its hard limit of " + options.timeout()
                            + ", killing the cluster in " + dir);
                    killAll();
                }
            } catch (InterruptedException e) {
                // closed
            }
        });
        watchdog.start();
    }

    /**
     * Starts the master and the workers and waits until every worker has registered with the master.
     *
     * @throws IllegalStateException if this Java is older than {@link SparkJvmFlags#MINIMUM_JAVA} (checked before
     *                               anything starts; the executors and daemons run on this same Java), or a
     *                               process exits or does not come up within {@link Options#startTimeout()} (the
     *                               message names its log and holds its tail); everything started is stopped
     */
    public static LocalStandaloneCluster start(Options options) throws IOException {
        SparkJvmFlags.checkJava();
        LocalStandaloneCluster c = new LocalStandaloneCluster(options);
        try {
            c.startAll();
            return c;
        } catch (RuntimeException | IOException e) {
            c.close();
            throw e;
        }
    }

    private void startAll() throws IOException {
        Path logs = options.dir().toAbsolutePath().resolve("logs");
        String port = masterUrl.substring(masterUrl.lastIndexOf(':') + 1);
        Process master = launch(MASTER_CLASS, List.of("--host", HOST, "--port", port, "--webui-port", "0"), Map.of(),
                logs.resolve("master.log"));
        awaitLine(master, logs.resolve("master.log"), "I have been elected leader");
        for (int i = 0; i < options.workers(); i++) {
            Path work = options.dir().toAbsolutePath().resolve("work").resolve("worker-" + i);
            Files.createDirectories(work);
            Map<String, String> env = i < options.workerEnv().size() ? options.workerEnv().get(i) : Map.of();
            Path log = logs.resolve("worker-" + i + ".log");
            Process w = launch(WORKER_CLASS, List.of("--host", HOST, "--port", "0", "--webui-port", "0",
                    "--cores", Integer.toString(options.coresPerWorker()), "--memory", options.memoryPerWorker(),
                    "--work-dir", work.toString(), masterUrl), env, log);
            workers.add(w);
            awaitLine(w, log, "Successfully registered with master");
        }
    }

    private Process launch(String mainClass, List<String> args, Map<String, String> extraEnv, Path log) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptionArray()));
        cmd.add("-Xmx" + options.daemonHeap());
        cmd.add("-cp");
        cmd.add(sparkHome.resolve("conf") + "/:" + sparkHome.resolve("jars") + "/*");
        cmd.add(mainClass);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", HOST);
        env.put("SPARK_LOCAL_HOSTNAME", "localhost");
        env.put("SPARK_CONF_DIR", sparkHome.resolve("conf").toString());
        env.remove("SPARK_CLASSPATH");
        env.remove("SPARK_DIST_CLASSPATH");
        env.putAll(extraEnv);
        synchronized (processes) {
            if (closed) {
                throw new IllegalStateException("the cluster was stopped (closed or past its hard limit)");
            }
            Process p = pb.start();
            processes.add(p);
            return p;
        }
    }

    private void awaitLine(Process p, Path log, String marker) throws IOException {
        long deadline = System.nanoTime() + options.startTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.ISO_8859_1).contains(marker)) {
                return;
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("a Spark process exited with status " + p.exitValue()
                        + " before it logged \"" + marker + "\"; its log " + log + " ends with:\n" + tail(log));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the cluster started", e);
            }
        }
        throw new IllegalStateException("a Spark process did not log \"" + marker + "\" within " + options.startTimeout()
                + "; its log " + log + " ends with:\n" + tail(log));
    }

    /** The last 40 lines of {@code log} (empty if it does not exist). */
    public static String tail(Path log) {
        try {
            if (!Files.exists(log)) {
                return "";
            }
            List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private static void layOutSparkHome(Path home, List<Path> jars) throws IOException {
        Path jarsDir = home.resolve("jars");
        Files.createDirectories(jarsDir);
        Files.createDirectories(home.resolve("conf"));
        try (var old = Files.list(jarsDir)) {
            for (Path p : old.toList()) {
                Files.delete(p);
            }
        }
        Set<String> names = new HashSet<>();
        for (Path jar : jars) {
            Path abs = jar.toAbsolutePath();
            String name = abs.getFileName().toString();
            if (!name.endsWith(".jar") || !Files.isRegularFile(abs)) {
                throw new IllegalArgumentException("not a jar file: " + jar);
            }
            if (!names.add(name)) {
                name = names.size() + "-" + name; // the same file name from two Maven groups
            }
            try {
                Files.createSymbolicLink(jarsDir.resolve(name), abs);
            } catch (UnsupportedOperationException | IOException e) {
                Files.copy(abs, jarsDir.resolve(name));
            }
        }
        // Spark's log4j2 defaults log at INFO to the console, which goes to the log files above: keep that, less chatty
        Files.writeString(home.resolve("conf").resolve("log4j2.properties"), """
                rootLogger.level = info
                rootLogger.appenderRef.stdout.ref = console
                appender.console.type = Console
                appender.console.name = console
                appender.console.target = SYSTEM_ERR
                appender.console.layout.type = PatternLayout
                appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
                logger.jetty.name = org.sparkproject.jetty
                logger.jetty.level = warn
                """);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        }
    }

    /** {@return the master's URL, {@code spark://127.0.0.1:PORT}} */
    public String masterUrl() {
        return masterUrl;
    }

    /** {@return the SPARK_HOME laid out for this cluster} */
    public Path sparkHome() {
        return sparkHome;
    }

    /** {@return the directory of the logs of the master and the workers} */
    public Path logDir() {
        return options.dir().toAbsolutePath().resolve("logs");
    }

    /** {@return worker {@code i}'s work directory (its executors' directories and logs)} */
    public Path workDir(int i) {
        return options.dir().toAbsolutePath().resolve("work").resolve("worker-" + i);
    }

    /** {@return the process ids of the worker JVMs, by worker index} */
    public List<Long> workerPids() {
        return workers.stream().map(Process::pid).toList();
    }

    /**
     * {@return which worker {@code pid} (an executor's process id) runs under: its index, or empty if it is no
     * descendant of any worker of this cluster}
     */
    public Optional<Integer> workerOf(long pid) {
        for (int i = 0; i < workers.size(); i++) {
            if (workers.get(i).toHandle().descendants().anyMatch(h -> h.pid() == pid)) {
                return Optional.of(i);
            }
        }
        return Optional.empty();
    }

    /**
     * The settings an application of this cluster should have: the master, loopback driver, no UI, executors of
     * {@code coresPerExecutor} cores and {@code executorMemory} each, as many cores as the cluster has, and
     * {@code spark.jars} = {@code applicationJars} (served to executors by the driver; executors add them to their
     * class loader).
     */
    public Map<String, String> applicationConf(List<Path> applicationJars, int coresPerExecutor, String executorMemory) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.master", masterUrl);
        conf.put("spark.driver.host", HOST);
        conf.put("spark.driver.bindAddress", HOST);
        conf.put("spark.ui.enabled", "false");
        conf.put("spark.ui.showConsoleProgress", "false");
        conf.put("spark.executor.cores", Integer.toString(coresPerExecutor));
        conf.put("spark.executor.memory", executorMemory);
        conf.put("spark.cores.max", Integer.toString(options.workers() * options.coresPerWorker()));
        conf.put("spark.jars", String.join(",", applicationJars.stream().map(p -> p.toAbsolutePath().toString()).toList()));
        return conf;
    }

    /**
     * Stops the workers (and their executors), then the master: a polite stop first (SIGTERM, up to 10 s), then a
     * forced one. Idempotent.
     */
    @Override
    public void close() {
        if (!closed) {
            killAll();
        }
        watchdog.interrupt();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway
        }
    }

    private void killAll() {
        List<Process> all;
        synchronized (processes) {
            closed = true;
            all = new ArrayList<>(processes);
        }
        // workers (and what they started) first, the master last
        java.util.Collections.reverse(all);
        List<ProcessHandle> handles = new ArrayList<>();
        for (Process p : all) {
            p.toHandle().descendants().forEach(handles::add);
            handles.add(p.toHandle());
        }
        handles.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (ProcessHandle h : handles) {
            try {
                h.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                // forced below
            }
        }
        handles.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : handles) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("process " + h.pid() + " of the Spark cluster did not exit", e);
            }
        }
    }

    /** {@return whether {@link #close()} ran or the hard limit passed (the processes are stopped)} */
    public boolean isClosed() {
        return closed;
    }
}
