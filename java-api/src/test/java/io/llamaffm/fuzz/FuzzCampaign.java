package io.llamaffm.fuzz;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A fuzz campaign over GGUF files: {@code inputs} mutants of the seed files, run in batches by child JVMs
 * ({@link FuzzChild}) with a bounded heap, so that a JVM crash, an OutOfMemoryError or a hang is counted, never
 * hidden. A child that dies or stops answering in the middle of an input has that input run again alone in a fresh
 * child: a crash there is confirmed (else it counts as a crash that needs the inputs before it); its bytes, its
 * description, the child's stderr and the JVM's hs_err file are kept under {@code OUT/crashers}. The child then
 * resumes after the input.
 *
 * <p>Every outcome lands in {@code OUT/outcomes.tsv}; {@link Result#report()} sums them up.
 */
public final class FuzzCampaign {
    /**
     * How a campaign runs. With {@code roundRobin}, input {@code i} mutates seed {@code i % seeds.size()} (every seed
     * the same number of inputs), else seeds are drawn by kind ({@link FuzzChild#targetIndex}).
     */
    public record Config(long seed, int inputs, int batchSize, int jobs, String childHeap, long inputTimeoutSeconds,
                         Path work, Path out, List<String> seeds, boolean roundRobin) {
        public Config(long seed, int inputs, int batchSize, int jobs, String childHeap, long inputTimeoutSeconds,
                      Path work, Path out, List<String> seeds) {
            this(seed, inputs, batchSize, jobs, childHeap, inputTimeoutSeconds, work, out, seeds, false);
        }
    }

    /** One input's fate. {@code outcome} is the child's ({@code ok:...}, {@code STAGE:Exception(...)}, {@code OOM},
     * {@code UNTYPED:...}) or the parent's {@code CRASH(exit N)} / {@code HANG}. */
    public record Outcome(int index, String target, String description, String outcome) {
        /** Not refused in Java before the first native call. */
        boolean reachedLlamaCpp() {
            return !outcome.startsWith("load:ModelLoadException(reader)") && !outcome.startsWith("load:ModelLoadException(java)");
        }

        boolean failed() {
            return outcome.startsWith("CRASH") || outcome.startsWith("HANG") || outcome.equals("OOM")
                    || outcome.startsWith("UNTYPED");
        }
    }

    /** One seed file's figures: inputs, how many reached llama.cpp and loaded and ran, and the failures by kind. */
    public record Figures(long inputs, long reachedLlamaCpp, long loadedAndRan, long crashes, long hangs,
                          long outOfMemory, long untyped) {
        static Figures of(List<Outcome> os) {
            return new Figures(os.size(), os.stream().filter(Outcome::reachedLlamaCpp).count(),
                    os.stream().filter(o -> o.outcome().startsWith("ok:")).count(),
                    os.stream().filter(o -> o.outcome().startsWith("CRASH")).count(),
                    os.stream().filter(o -> o.outcome().startsWith("HANG")).count(),
                    os.stream().filter(o -> o.outcome().equals("OOM")).count(),
                    os.stream().filter(o -> o.outcome().startsWith("UNTYPED")).count());
        }
    }

    /** What a campaign found. */
    public record Result(Config config, List<Outcome> outcomes, long wallMillis) {
        public long count(String prefix) {
            return outcomes.stream().filter(o -> o.outcome().startsWith(prefix)).count();
        }

        public long crashes() {
            return count("CRASH");
        }

        public long hangs() {
            return count("HANG");
        }

        public long outOfMemory() {
            return outcomes.stream().filter(o -> o.outcome().equals("OOM")).count();
        }

        public long untyped() {
            return count("UNTYPED");
        }

        /** Inputs that llama.cpp saw: every one not refused in Java before the first native call. */
        public long reachedLlamaCpp() {
            return outcomes.stream().filter(Outcome::reachedLlamaCpp).count();
        }

        /** The figures of each seed file ({@link Outcome#target()}), by name. */
        public Map<String, Figures> perTarget() {
            Map<String, List<Outcome>> by = new TreeMap<>();
            outcomes.forEach(o -> by.computeIfAbsent(o.target(), t -> new ArrayList<>()).add(o));
            Map<String, Figures> figures = new TreeMap<>();
            by.forEach((t, os) -> figures.put(t, Figures.of(os)));
            return figures;
        }

        /** Outcome counts, most frequent first. */
        public Map<String, Long> histogram() {
            Map<String, Long> h = new TreeMap<>();
            outcomes.forEach(o -> h.merge(o.outcome().startsWith("UNTYPED") ? "UNTYPED" : o.outcome(), 1L, Long::sum));
            return h;
        }

        /** The distinct exceptions of the refused inputs: class, and who refused a load or why a decode failed. */
        public TreeSet<String> exceptionKinds() {
            TreeSet<String> kinds = new TreeSet<>();
            for (Outcome o : outcomes) {
                int colon = o.outcome().indexOf(':');
                if (colon > 0 && !o.outcome().startsWith("ok:") && !o.outcome().startsWith("UNTYPED")) {
                    kinds.add(o.outcome().substring(colon + 1));
                }
            }
            return kinds;
        }

        public List<Outcome> failures() {
            return outcomes.stream().filter(Outcome::failed).toList();
        }

        /** A Markdown summary. */
        public String report() {
            StringBuilder sb = new StringBuilder();
            sb.append("GGUF fuzz campaign: seed ").append(config.seed()).append(", ").append(outcomes.size())
                    .append(" inputs, batches of ").append(config.batchSize()).append(", child heap -Xmx")
                    .append(config.childHeap()).append(", ").append(wallMillis / 1000).append(" s\n\n");
            sb.append("| inputs | JVM crashes | hangs | OutOfMemoryErrors | untyped exceptions | reached llama.cpp | loaded and ran |\n");
            sb.append("|---|---|---|---|---|---|---|\n");
            sb.append("| ").append(outcomes.size()).append(" | ").append(crashes()).append(" | ").append(hangs())
                    .append(" | ").append(outOfMemory()).append(" | ").append(untyped()).append(" | ")
                    .append(reachedLlamaCpp()).append(" | ").append(count("ok:")).append(" |\n\n");
            sb.append("Exception kinds (").append(exceptionKinds().size()).append("): ")
                    .append(String.join(", ", exceptionKinds())).append("\n\n");
            sb.append("| seed file | inputs | reached llama.cpp | loaded and ran | JVM crashes | hangs | OOMs | untyped |\n");
            sb.append("|---|---|---|---|---|---|---|---|\n");
            perTarget().forEach((t, f) -> sb.append("| `").append(t).append("` | ").append(f.inputs()).append(" | ")
                    .append(f.reachedLlamaCpp()).append(" | ").append(f.loadedAndRan()).append(" | ").append(f.crashes())
                    .append(" | ").append(f.hangs()).append(" | ").append(f.outOfMemory()).append(" | ")
                    .append(f.untyped()).append(" |\n"));
            sb.append("\n| outcome | inputs |\n|---|---|\n");
            histogram().entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .forEach(e -> sb.append("| `").append(e.getKey()).append("` | ").append(e.getValue()).append(" |\n"));
            for (Outcome f : failures()) {
                sb.append("\nFAILED input ").append(f.index()).append(" (").append(f.target()).append(", ")
                        .append(f.description()).append("): ").append(f.outcome());
            }
            return sb.toString();
        }
    }

    private final Config config;
    private final String classPath;

    private FuzzCampaign(Config config, String classPath) {
        this.config = config;
        this.classPath = classPath;
    }

    /** Runs a campaign; child JVMs get {@code classPath}. */
    public static Result run(Config config, String classPath) throws Exception {
        Files.createDirectories(config.work());
        Files.createDirectories(config.out());
        long start = System.nanoTime();
        FuzzCampaign c = new FuzzCampaign(config, classPath);
        List<Outcome> all = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, config.jobs()));
        List<Future<?>> batches = new ArrayList<>();
        for (int from = 0; from < config.inputs(); from += config.batchSize()) {
            int f = from;
            int to = Math.min(config.inputs(), from + config.batchSize());
            batches.add(pool.submit(() -> {
                all.addAll(c.batch(f, to));
                return null;
            }));
        }
        pool.shutdown();
        for (Future<?> b : batches) {
            b.get();
        }
        List<Outcome> sorted = new ArrayList<>(all);
        sorted.sort(java.util.Comparator.comparingInt(Outcome::index));
        Result result = new Result(config, List.copyOf(sorted), (System.nanoTime() - start) / 1_000_000);
        StringBuilder tsv = new StringBuilder("index\ttarget\toutcome\tmutation\n");
        sorted.forEach(o -> tsv.append(o.index()).append('\t').append(o.target()).append('\t').append(o.outcome())
                .append('\t').append(o.description()).append('\n'));
        Files.writeString(config.out().resolve("outcomes.tsv"), tsv);
        Files.writeString(config.out().resolve("report.md"), result.report() + "\n");
        return result;
    }

    /** Runs inputs {@code [from, to)}, restarting after each input that killed or hung a child. */
    private List<Outcome> batch(int from, int to) throws IOException, InterruptedException {
        List<Outcome> done = new ArrayList<>();
        int next = from;
        while (next < to) {
            ChildRun run = runChild(next, to);
            done.addAll(run.finished());
            boolean outOfMemory = !run.finished().isEmpty() && run.finished().getLast().outcome().equals("OOM");
            if (run.pending() != null) { // died or hung inside an input
                done.add(confirm(run.pending(), run));
                next = run.pending().index() + 1;
            } else if (run.exit() != 0 && !outOfMemory) { // died between inputs: no input to blame, the campaign fails
                throw new IllegalStateException("fuzz child exited with " + run.exit() + " after input " + run.last()
                        + ":\n" + tail(run.stderr()));
            } else if (run.last() < next) {
                throw new IllegalStateException("fuzz child exited without running input " + next + ":\n" + tail(run.stderr()));
            } else {
                next = run.last() + 1;
            }
        }
        return done;
    }

    /** Runs an input that ended a child again, alone; keeps its files; says whether the crash or hang repeats. */
    private Outcome confirm(Outcome pending, ChildRun first) throws IOException, InterruptedException {
        Path dir = config.out().resolve("crashers").resolve("input-" + pending.index());
        Files.createDirectories(dir);
        if (Files.exists(first.input())) {
            Files.copy(first.input(), dir.resolve("input.gguf"), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.writeString(dir.resolve("description.txt"), pending.target() + ": " + pending.description() + "\n"
                + "first run: " + pending.outcome() + "\n");
        Files.copy(first.stderr(), dir.resolve("stderr-first.txt"), StandardCopyOption.REPLACE_EXISTING);
        copyHsErr(first.pid(), dir);
        ChildRun alone = runChild(pending.index(), pending.index() + 1);
        String outcome;
        if (alone.pending() != null) {
            outcome = alone.pending().outcome() + " (confirmed alone)";
            Files.copy(alone.stderr(), dir.resolve("stderr-alone.txt"), StandardCopyOption.REPLACE_EXISTING);
            copyHsErr(alone.pid(), dir);
        } else {
            outcome = pending.outcome() + " (not alone: " + (alone.finished().isEmpty() ? "?" : alone.finished().getFirst().outcome()) + ")";
        }
        Files.writeString(dir.resolve("description.txt"), "outcome: " + outcome + "\n", java.nio.file.StandardOpenOption.APPEND);
        Files.deleteIfExists(alone.input());
        return new Outcome(pending.index(), pending.target(), pending.description(), outcome);
    }

    private void copyHsErr(long pid, Path dir) throws IOException {
        Path hs = config.work().resolve("hs_err_pid" + pid + ".log");
        if (Files.exists(hs)) {
            Files.move(hs, dir.resolve(hs.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * What one child did: the inputs it finished, the last index it finished, and the input it was running when it
     * died or hung (null if none).
     */
    private record ChildRun(List<Outcome> finished, int last, Outcome pending, int exit, long pid, Path input, Path stderr) {}

    private ChildRun runChild(int from, int to) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + config.childHeap(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-XX:ErrorFile=" + config.work().resolve("hs_err_pid%p.log"), "--enable-native-access=ALL-UNNAMED",
                "-Dllamaffm.fuzz.select=" + (config.roundRobin() ? "round-robin" : "weighted"),
                "-cp", classPath, FuzzChild.class.getName(), config.work().toString(), Long.toString(config.seed()),
                Integer.toString(from), Integer.toString(to)));
        cmd.addAll(config.seeds());
        Path stderr = Files.createTempFile(config.work(), "child-", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        Path input = config.work().resolve("input-" + p.pid() + ".gguf");
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the child was killed
            } finally {
                lines.add("EOF");
            }
        });
        List<Outcome> finished = new ArrayList<>();
        String[] begun = null; // index, target, description of the input running now
        int last = from - 1;
        boolean hung = false;
        while (true) {
            String line = lines.poll(config.inputTimeoutSeconds(), TimeUnit.SECONDS);
            if (line == null) {
                hung = true;
                p.destroyForcibly();
                break;
            }
            if (line.equals("EOF")) {
                break;
            }
            if (line.startsWith("B ")) {
                begun = line.substring(2).split(" ", 3);
            } else if (line.startsWith("E ") && begun != null) {
                String[] e = line.substring(2).split(" ", 2);
                finished.add(new Outcome(Integer.parseInt(e[0]), begun[1], begun.length > 2 ? begun[2] : "", e[1]));
                last = Integer.parseInt(e[0]);
                begun = null;
            }
        }
        p.waitFor(60, TimeUnit.SECONDS);
        reader.join(10_000);
        int exit = p.isAlive() ? -1 : p.exitValue();
        Outcome pending = null;
        if (begun != null) {
            pending = new Outcome(Integer.parseInt(begun[0]), begun[1], begun.length > 2 ? begun[2] : "",
                    hung ? "HANG" : "CRASH(exit " + exit + (exit > 128 ? ", signal " + (exit - 128) : "") + ")");
        }
        if (pending == null && exit == 0) {
            Files.deleteIfExists(stderr);
        }
        return new ChildRun(finished, last, pending, exit, p.pid(), input, stderr);
    }

    private static String tail(Path file) {
        try {
            String s = Files.readString(file);
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs a campaign from the command line: {@code SEED INPUTS WORK OUT KIND=PATH...}; batch size, parallel children,
     * child heap and the per-input timeout come from {@code -Dllamaffm.fuzz.batch} (250), {@code .jobs} (1),
     * {@code .heap} (256m), {@code .timeout} (120 s), {@code .select} ({@code round-robin} or weighted). Exits with 1 when an input crashed, hung, ran out of memory or
     * threw an untyped exception.
     */
    public static void main(String[] args) throws Exception {
        Config config = new Config(Long.parseLong(args[0]), Integer.parseInt(args[1]),
                Integer.getInteger("llamaffm.fuzz.batch", 250), Integer.getInteger("llamaffm.fuzz.jobs", 1),
                System.getProperty("llamaffm.fuzz.heap", "256m"), Long.getLong("llamaffm.fuzz.timeout", 120),
                Path.of(args[2]), Path.of(args[3]), List.of(args).subList(4, args.length),
                "round-robin".equals(System.getProperty("llamaffm.fuzz.select")));
        Result r = run(config, System.getProperty("java.class.path"));
        System.out.println(r.report());
        System.exit(r.failures().isEmpty() ? 0 : 1);
    }
}
