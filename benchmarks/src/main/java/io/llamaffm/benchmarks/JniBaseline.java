package io.llamaffm.benchmarks;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The JNI baseline: prompt and generation speed of java-llama.cpp ({@value #ARTIFACT}, which bundles its own
 * llama.cpp build), measured on the same model and thread count as llama-ffm, in a child JVM of its own so that its
 * natives and llama-ffm's never share a process. What is measured and how is described in
 * {@link JniBaselineChild}.
 *
 * <pre>{@code
 * JniBaseline.Result r = JniBaseline.run(model, 2, 128, 128);
 * double pp = r.medianPromptTokensPerSecond(), tg = r.medianTokensPerSecond();
 * }</pre>
 *
 * <p>The binding's jar is not on the benchmarks' class path: the build copies it to {@code benchmarks/target/jni-lib}
 * (property {@value #LIB_PROPERTY} to use another folder). The child's output goes to files, never to a pipe that
 * could fill up; the binding extracts its library into a private temporary folder (its loader deletes every entry
 * named {@code llama*} or {@code jllama*} in the folder it extracts to, so it must never be the shared
 * {@code java.io.tmpdir}); a child that runs past the timeout is killed.
 */
public final class JniBaseline {
    /** The Maven coordinates of the binding measured. */
    public static final String ARTIFACT = "de.kherud:llama:4.1.0";
    /** System property: the folder holding the binding's jar (default: {@code jni-lib} beside the benchmark classes). */
    public static final String LIB_PROPERTY = "llamaffm.bench.jni.lib";
    /** The time one {@link #run(Path, int, int, int)} may take, model load included. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(15);

    private JniBaseline() {}

    /**
     * Speeds measured by one child JVM, one value per repetition (after one warm-up run of each kind).
     *
     * @param promptTokensPerSecond     prompt tokens per second of each repetition by the binding's own server timer:
     *                                  the prompt decoded into an empty cache, as llama-bench's pp and llama-ffm's
     *                                  prompt timer measure it (see {@link JniBaselineChild})
     * @param promptWallTokensPerSecond prompt tokens per second of each repetition timed in Java, from the call of
     *                                  {@code generate} to its first streamed output (the binding's request round trip
     *                                  and one sampling step included)
     * @param tokensPerSecond           generated tokens per second of each repetition, timed in Java between the
     *                                  first and the last streamed output (what a user of the binding gets)
     * @param serverTokensPerSecond     generated tokens per second of each repetition by the binding's own server
     *                                  timer ({@code eval time}: its decoding loop alone, without the token's way to
     *                                  Java)
     * @param generatedText             the text streamed by the last generation (greedy, from {@code "Once upon a time"})
     * @param streamedOutputs           the number of outputs that generation streamed (the binding holds back a token
     *                                  that ends inside a UTF-8 sequence, so this can be smaller than the token count + 1)
     * @param loadSeconds               the time the binding took to load the model and create its context
     */
    public record Result(List<Double> promptTokensPerSecond, List<Double> promptWallTokensPerSecond,
                         List<Double> tokensPerSecond, List<Double> serverTokensPerSecond, String generatedText,
                         int streamedOutputs, double loadSeconds) {
        public Result {
            promptTokensPerSecond = List.copyOf(promptTokensPerSecond);
            promptWallTokensPerSecond = List.copyOf(promptWallTokensPerSecond);
            tokensPerSecond = List.copyOf(tokensPerSecond);
            serverTokensPerSecond = List.copyOf(serverTokensPerSecond);
        }

        /** The median of {@link #serverTokensPerSecond()}. */
        public double medianServerTokensPerSecond() {
            return median(serverTokensPerSecond);
        }

        /** The median of {@link #promptTokensPerSecond()}. */
        public double medianPromptTokensPerSecond() {
            return median(promptTokensPerSecond);
        }

        /** The median of {@link #tokensPerSecond()}. */
        public double medianTokensPerSecond() {
            return median(tokensPerSecond);
        }
    }

    /**
     * One measurement (one repetition) with {@link #DEFAULT_TIMEOUT}.
     *
     * @see #run(Path, int, int, int, int, Duration)
     */
    public static Result run(Path model, int threads, int promptTokens, int genTokens) {
        return run(model, threads, promptTokens, genTokens, 1, DEFAULT_TIMEOUT);
    }

    /**
     * Starts a child JVM that loads {@code model} with the JNI binding and measures prompt processing of a
     * {@code promptTokens}-token prompt and generation of {@code genTokens} tokens, {@code repetitions} times.
     *
     * @param threads      threads for prompt processing and generation
     * @param promptTokens prompt length in tokens, BOS included (at least 2)
     * @param genTokens    tokens generated per measurement (at least 1)
     * @throws IllegalArgumentException if the model file is missing or a count is out of range
     * @throws IllegalStateException    if the binding's jar is missing, or the child fails or runs past
     *                                  {@code timeout} (the message carries the end of its log)
     * @throws UncheckedIOException     if the child cannot be started or its files cannot be read
     */
    public static Result run(Path model, int threads, int promptTokens, int genTokens, int repetitions, Duration timeout) {
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("no such model file: " + model);
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (promptTokens < 2) throw new IllegalArgumentException("promptTokens must be >= 2 (BOS + text), got " + promptTokens);
        if (genTokens < 1) throw new IllegalArgumentException("genTokens must be >= 1, got " + genTokens);
        if (repetitions < 1) throw new IllegalArgumentException("repetitions must be >= 1, got " + repetitions);
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive: " + timeout);
        Path lib = libDir();
        Path work = null;
        try {
            work = Files.createTempDirectory("jni-baseline-");
            Path result = work.resolve("result.properties");
            Path log = work.resolve("child.log");
            Files.createDirectory(work.resolve("natives"));
            List<String> command = ChildJvm.javaCommand(lib + File.separator + "*" + File.pathSeparator + ownClasses(),
                    List.of("-Dde.kherud.llama.tmpdir=" + work.resolve("natives")), JniBaselineChild.class.getName(),
                    List.of(model.toAbsolutePath().toString(), Integer.toString(threads), Integer.toString(promptTokens),
                            Integer.toString(genTokens), Integer.toString(repetitions), result.toString()));
            int status = ChildJvm.exec(command, log, timeout);
            if (status != 0 || !Files.isRegularFile(result)) {
                throw new IllegalStateException("the JNI baseline (" + ARTIFACT + ") failed on " + model + " (exit status "
                        + status + "); the end of its log:\n" + ChildJvm.tail(log));
            }
            return parse(result, log, promptTokens, genTokens, repetitions);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run the JNI baseline: " + e.getMessage(), e);
        } finally {
            deleteQuietly(work);
        }
    }

    private static Result parse(Path file, Path log, int promptTokens, int genTokens, int repetitions) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        }
        List<ServerTimings> timings = ServerTimings.parse(Files.readAllLines(log, StandardCharsets.UTF_8));
        List<Double> prompt;
        List<Double> generation;
        try {
            prompt = serverPromptSpeeds(timings, promptTokens, repetitions);
            generation = serverGenerationSpeeds(timings, genTokens, repetitions);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(e.getMessage() + "; the end of its log:\n" + ChildJvm.tail(log), e);
        }
        return new Result(prompt, doubles(p, "pp.wall"), doubles(p, "tg"), generation,
                required(p, "text"), Integer.parseInt(required(p, "outputs")),
                Double.parseDouble(required(p, "load.seconds")));
    }

    /**
     * The server-timed prompt speeds of the measured repetitions, from the child's log: the prompt-speed requests are
     * those that decoded one token ({@code n_predict = 1}; a generation decodes at least two), the first of them the
     * warm-up. Each must have decoded all {@code promptTokens} prompt tokens, which proves that no cached prefix was
     * reused and the prompt was not truncated.
     */
    static List<Double> serverPromptSpeeds(List<ServerTimings> timings, int promptTokens, int repetitions) {
        List<ServerTimings> prompts = timings.stream()
                .filter(t -> t.evalTokens() == 1).toList();
        if (prompts.size() != repetitions + 1 || prompts.stream().anyMatch(t -> t.promptTokens() != promptTokens)) {
            throw new IllegalStateException("the JNI baseline's server did not decode " + (repetitions + 1) + " prompts of "
                    + promptTokens + " tokens each (warm-up included); its prompt timings: " + prompts);
        }
        return prompts.subList(1, prompts.size()).stream().map(ServerTimings::promptTokensPerSecond).toList();
    }

    /**
     * The server-timed generation speeds of the measured repetitions, from the child's log: the requests that
     * generated {@code genTokens + 1} tokens (the warm-up generates fewer, the prompt requests one); tokens/s = the
     * server's eval tokens over its eval time.
     */
    static List<Double> serverGenerationSpeeds(List<ServerTimings> timings, int genTokens, int repetitions) {
        List<ServerTimings> gens = timings.stream().filter(t -> t.evalTokens() == genTokens + 1).toList();
        if (gens.size() < repetitions) {
            throw new IllegalStateException("the JNI baseline's server timed " + gens.size() + " generations of "
                    + (genTokens + 1) + " tokens, not " + repetitions + "; its timings: " + timings);
        }
        return gens.subList(gens.size() - repetitions, gens.size()).stream().map(ServerTimings::evalTokensPerSecond).toList();
    }

    private static List<Double> doubles(Properties p, String key) {
        return Arrays.stream(required(p, key).split(",")).map(Double::valueOf).toList();
    }

    private static String required(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) throw new IllegalStateException("the JNI baseline's result has no '" + key + "': " + p);
        return v;
    }

    /** The folder with the binding's jar; fails with what to build when it holds none. */
    static Path libDir() {
        String configured = System.getProperty(LIB_PROPERTY);
        Path dir = configured != null ? Path.of(configured) : ownClasses().getParent().resolve("jni-lib");
        boolean hasJar;
        try (Stream<Path> files = Files.isDirectory(dir) ? Files.list(dir) : Stream.empty()) {
            hasJar = files.anyMatch(f -> f.getFileName().toString().endsWith(".jar"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!hasJar) {
            throw new IllegalStateException("no jar of " + ARTIFACT + " in " + dir + ": build the benchmarks module "
                    + "(mvn -DskipTests package -pl benchmarks -am copies it there) or set -D" + LIB_PROPERTY);
        }
        return dir;
    }

    /** The class folder (or jar) this class was loaded from: target/classes in a build. */
    private static Path ownClasses() {
        try {
            return Path.of(JniBaseline.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }


    private static void deleteQuietly(Path dir) {
        if (dir == null) return;
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temporary folder is harmless
        }
    }

    static double median(List<Double> values) {
        return new Stats(values.stream().mapToDouble(Double::doubleValue).toArray()).median();
    }

    /**
     * Prints one line with the medians.
     *
     * <pre>java -cp "benchmarks/target/classes" io.llamaffm.benchmarks.JniBaseline MODEL [THREADS] [PROMPT] [GENERATE] [REPETITIONS]</pre>
     */
    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: JniBaseline MODEL [THREADS] [PROMPT_TOKENS] [GEN_TOKENS] [REPETITIONS]");
            System.exit(2);
        }
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int prompt = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int gen = args.length > 3 ? Integer.parseInt(args[3]) : 128;
        int reps = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        Result r = run(Path.of(args[0]), threads, prompt, gen, reps, DEFAULT_TIMEOUT);
        System.out.printf(Locale.ROOT, "%s pp%d=%.1f tg%d=%.1f (tokens/s, median of %d; per run pp %s pp to first output %s tg %s; load %.2f s)%n",
                ARTIFACT, prompt, r.medianPromptTokensPerSecond(), gen, r.medianTokensPerSecond(), reps,
                r.promptTokensPerSecond(), r.promptWallTokensPerSecond(), r.tokensPerSecond(), r.loadSeconds());
    }
}
