package io.llamaffm.benchmarks;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Our OpenAI-compatible server next to llama.cpp's llama-server (built from the same pinned source), under the same
 * concurrent load ({@link ServerLoad}): per model and concurrency level both servers are started fresh with as many
 * slots as clients and 512 tokens of context per slot, warmed up, loaded, and stopped, one after the other, taking
 * turns at going first. Writes the "Server under concurrency" section of benchmarks/RESULTS.md (replacing it in place,
 * or appending it), through benchmarks/server.sh.
 */
@Command(name = "server-bench", mixinStandardHelpOptions = true,
        description = "llama-ffm's server next to llama-server under concurrent streaming load; writes a Markdown section")
public final class ServerBench implements Callable<Integer> {
    static final String HEADING = "## Server under concurrency";
    private static final String[] SIDES = {"llama-server", "llama-ffm"};
    private static final Duration START_TIMEOUT = Duration.ofMinutes(5);
    private static final Duration LEVEL_TIMEOUT = Duration.ofMinutes(30);
    private static final double TARGET_RATIO = 0.95;

    @Option(names = "--llama-server", required = true, description = "llama-server of the pinned build (benchmarks/build-llama-server.sh)")
    Path llamaServer;
    @Option(names = "--server-jar", defaultValue = "server/target/llama-ffm-server.jar", description = "our server's runnable jar (default ${DEFAULT-VALUE})")
    Path serverJar;
    @Option(names = "--models", split = ",", defaultValue = "stories,1b",
            description = "stories (stories260K), 1b (the synthetic 1B-class Q4_0 model, made if missing) or GGUF paths (default ${DEFAULT-VALUE})")
    List<String> models;
    @Option(names = "--levels", split = ",", defaultValue = "1,2,4,8,16", description = "concurrent clients, one level each (default ${DEFAULT-VALUE})")
    int[] levels;
    @Option(names = "--requests", split = ",", defaultValue = "32,4",
            description = "requests per client and level, one number per model in --models order (the last one goes on for the rest; default ${DEFAULT-VALUE})")
    List<Integer> requestsPerModel;
    /** Requests per client and level of the model being measured. */
    private int requests;
    @Option(names = "--max-tokens", defaultValue = "64", description = "max_tokens of every request (default ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--rounds", defaultValue = "1", description = "times each level is run on both servers (default ${DEFAULT-VALUE})")
    int rounds;
    @Option(names = "--warmup", defaultValue = "1", description = "unmeasured passes of the level's whole load after each start, "
            + "at least (default ${DEFAULT-VALUE}): a JVM server compiles its hot code during its first thousands of tokens")
    int warmup;
    @Option(names = "--warmup-seconds", defaultValue = "10", description = "further unmeasured passes until this long since the "
            + "warm-up began (default ${DEFAULT-VALUE}): a pass of a small model's load is over before the JIT has compiled it")
    int warmupSeconds;
    @Option(names = "--threads", defaultValue = "2", description = "CPU threads of both servers (default ${DEFAULT-VALUE})")
    int threads;
    @Option(names = "--control-threads", defaultValue = "1",
            description = "also run stories260K's levels at this thread count, as a control, when it differs from --threads (default ${DEFAULT-VALUE}; 0: none)")
    int controlThreads;
    @Option(names = "--ctx-per-slot", defaultValue = "512", description = "context tokens per slot (default ${DEFAULT-VALUE})")
    int ctxPerSlot;
    @Option(names = "--model-cache", defaultValue = "${sys:user.home}/.cache/llama-ffm-bench")
    Path modelCache;
    @Option(names = "--small-model", defaultValue = "../shared/models/stories260K.gguf")
    Path smallModel;
    @Option(names = "--logs", defaultValue = "benchmarks/target/server-logs", description = "the servers' logs, one file per start")
    Path logs;
    @Option(names = "--command", defaultValue = "benchmarks/server.sh", description = "the command recorded in the report")
    String command;
    @Option(names = "--out", defaultValue = "benchmarks/RESULTS.md")
    Path out;

    /** llama-server's version and the CPU backend variant it loads. */
    private String llamaServerBuild = "?";
    private String llamaServerCpu = "?";

    public static void main(String[] args) {
        System.exit(new CommandLine(new ServerBench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Files.createDirectories(logs);
        describeLlamaServer();
        StringBuilder tables = new StringBuilder();
        StringBuilder verdicts = new StringBuilder();
        ModelResult control = null;
        for (int mi = 0; mi < models.size(); mi++) {
            String m = models.get(mi);
            requests = requestsPerModel.get(Math.min(mi, requestsPerModel.size() - 1));
            Path model = switch (m) {
                case "stories" -> smallModel;
                case "1b" -> SyntheticModel.ensure(modelCache, SyntheticModel.Type.Q4_0);
                default -> Path.of(m);
            };
            if (!Files.isRegularFile(model)) {
                throw new IOException("no model file " + model);
            }
            ModelResult r = measure(model, threads);
            tables.append(r.table());
            verdicts.append(r.verdicts());
            if (controlThreads > 0 && controlThreads != threads && m.equals("stories")) {
                control = measure(model, controlThreads);
            }
        }
        if (control != null) {
            tables.append(controlNote()).append(control.table());
            verdicts.append(control.verdicts());
        }
        String section = section(tables.toString(), verdicts.toString());
        String doc = Files.isRegularFile(out) ? Files.readString(out) : "# llama-ffm benchmark results\n\n";
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, replaceSection(doc, HEADING, section));
        System.out.print(section);
        return 0;
    }

    /** Every level of one model, {@link #rounds} times, both servers in turn, with {@code threads} threads each. */
    private ModelResult measure(Path model, int threads) throws Exception {
        LoadLevel[][][] results = new LoadLevel[SIDES.length][levels.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < levels.length; i++) {
                for (int k = 0; k < SIDES.length; k++) {
                    int side = EmbeddingBench.turn(k, i + r, SIDES.length);
                    Thread.sleep(EmbeddingBench.SETTLE_MS);
                    results[side][i][r] = run(side, model, levels[i], threads);
                    log(String.format(Locale.ROOT, "%s, %d threads, %s round %d: %s", model.getFileName(), threads, SIDES[side], r + 1,
                            results[side][i][r].summary()));
                }
            }
        }
        String name = model.getFileName() + (threads == this.threads ? "" : ", " + threads + " thread" + (threads == 1 ? "" : "s"));
        return new ModelResult(name, results, requests);
    }

    private final java.util.Map<Path, List<Integer>> notUtf8 = new java.util.HashMap<>();

    /** The tokens of {@code model} whose text alone is not valid UTF-8 (byte tokens, parts of characters). */
    private List<Integer> notUtf8(Path model) {
        return notUtf8.computeIfAbsent(model, m -> {
            List<Integer> out = new java.util.ArrayList<>();
            try (io.llamaffm.Model loaded = io.llamaffm.Model.load(m, io.llamaffm.ModelParams.defaults().withVocabOnly(true))) {
                io.llamaffm.Tokenizer t = loaded.tokenizer();
                java.nio.charset.CharsetDecoder utf8 = java.nio.charset.StandardCharsets.UTF_8.newDecoder();
                for (int id = 0; id < t.vocabularySize(); id++) {
                    try {
                        utf8.decode(java.nio.ByteBuffer.wrap(t.pieceBytes(id, false)));
                    } catch (java.nio.charset.CharacterCodingException e) {
                        out.add(id);
                    }
                }
            }
            return out;
        });
    }

    /** Starts one server with {@code clients} slots, warms it up, runs the level and stops it. */
    private LoadLevel run(int side, Path model, int clients, int threads) throws Exception {
        int port = ServerProcess.freePort();
        URI base = URI.create("http://127.0.0.1:" + port);
        String name = SIDES[side];
        Path log = logs.resolve(String.format(Locale.ROOT, "%s-%s-t%d-c%d.log", name, model.getFileName(), threads, clients));
        try (ServerProcess server = ServerProcess.start(name, serverCommand(side, model, port, clients, threads), base, log, START_TIMEOUT)) {
            ServerLoad load = ServerLoad.connect(base, maxTokens, LEVEL_TIMEOUT);
            if (!model.equals(smallModel)) {
                load.banned(notUtf8(model)); // the synthetic model's random bytes: see ServerLoad.banned
            }
            long warmupEnd = System.nanoTime() + warmupSeconds * 1_000_000_000L;
            for (int w = 0; w < warmup || System.nanoTime() < warmupEnd; w++) {
                load.level(clients, requests);
            }
            return load.level(clients, requests);
        }
    }

    /** The command line of one server; {@code slots} slots of {@link #ctxPerSlot} tokens each. */
    List<String> serverCommand(int side, Path model, int port, int slots, int threads) {
        String ctx = Integer.toString(ctxPerSlot * slots);
        if (side == 0) {
            return List.of(llamaServer.toString(), "-m", model.toString(), "--host", "127.0.0.1", "--port", Integer.toString(port),
                    "-np", Integer.toString(slots), "-c", ctx, "-t", Integer.toString(threads));
        }
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-jar", serverJar.toString(), "--model", model.toString(), "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--parallel", Integer.toString(slots), "--ctx", ctx, "--threads", Integer.toString(threads));
    }

    private static final Pattern VERSION = Pattern.compile("^version: (.+)$");
    private static final Pattern CPU_BACKEND = Pattern.compile("loaded CPU backend from \\S*?libggml-cpu-?([A-Za-z0-9_]*)\\.(?:so|dylib|dll)");

    /** llama-server's version line ({@code --version}) and the CPU backend variant ggml loads for it ({@code -lv 4 --list-devices}). */
    private void describeLlamaServer() throws IOException {
        Path log = logs.resolve("llama-server-version.log");
        ChildJvm.exec(List.of(llamaServer.toString(), "--version"), log, Duration.ofMinutes(1));
        for (String line : Files.readAllLines(log)) {
            Matcher v = VERSION.matcher(line);
            if (v.find()) {
                llamaServerBuild = v.group(1).strip();
            }
        }
        ChildJvm.exec(List.of(llamaServer.toString(), "-lv", "4", "--list-devices"), log, Duration.ofMinutes(1));
        for (String line : Files.readAllLines(log)) {
            Matcher c = CPU_BACKEND.matcher(line);
            if (c.find()) {
                llamaServerCpu = c.group(1).isEmpty() ? "built in" : c.group(1);
            }
        }
    }

    /** One model's measurements: side, level, round. */
    private final class ModelResult {
        private final String model;
        private final LoadLevel[][][] results;
        private final int requests;

        ModelResult(String model, LoadLevel[][][] results, int requests) {
            this.model = model;
            this.results = results;
            this.requests = requests;
        }

        private double[] tokensPerSecond(int side, int level) {
            return Arrays.stream(results[side][level]).mapToDouble(LoadLevel::tokensPerSecond).toArray();
        }

        /** Every request of every round of one side and level, pooled. */
        private LoadLevel pooled(int side, int level) {
            List<StreamedCompletion> all = new ArrayList<>();
            double wall = 0;
            for (LoadLevel l : results[side][level]) {
                all.addAll(l.requests());
                wall += l.wallSeconds();
            }
            return new LoadLevel(levels[level], wall, all);
        }

        private Stats ratio(int level) {
            return Stats.pairedRatios(tokensPerSecond(1, level), tokensPerSecond(0, level));
        }

        String table() {
            StringBuilder md = new StringBuilder("### ").append(model).append("\n\n")
                    .append(requests).append(" requests per client and level.\n\n");
            md.append("| clients | llama-server tokens/s | llama-ffm tokens/s | llama-ffm / llama-server | TTFT p50 / p99 ms, llama-server | ")
                    .append("TTFT p50 / p99 ms, llama-ffm | ITL p50 / p99 ms, llama-server | ITL p50 / p99 ms, llama-ffm |\n")
                    .append("|---|---|---|---|---|---|---|---|\n");
            for (int i = 0; i < levels.length; i++) {
                Stats theirs = new Stats(tokensPerSecond(0, i));
                Stats ours = new Stats(tokensPerSecond(1, i));
                LoadLevel p0 = pooled(0, i);
                LoadLevel p1 = pooled(1, i);
                md.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s |%n", levels[i], speed(theirs), speed(ours),
                        ratioCell(ratio(i)), LoadLevel.percentiles(p0.ttft()), LoadLevel.percentiles(p1.ttft()),
                        LoadLevel.percentiles(p0.itl()), LoadLevel.percentiles(p1.itl())));
            }
            md.append('\n');
            for (int side = 0; side < SIDES.length; side++) {
                List<StreamedCompletion> all = new ArrayList<>();
                for (int i = 0; i < levels.length; i++) {
                    all.addAll(pooled(side, i).requests());
                }
                long off = all.stream().filter(q -> q.tokens() != maxTokens).count();
                boolean usage = all.stream().allMatch(StreamedCompletion::tokensFromUsage);
                LoadLevel everything = new LoadLevel(0, 1, all);
                int prompt = everything.promptTokens();
                int cached = everything.cachedTokens();
                md.append("- ").append(SIDES[side]).append(": ")
                        .append(off == 0 ? "every one of the " + all.size() + " requests generated exactly " + maxTokens + " tokens"
                                : off + " of " + all.size() + " requests did not generate exactly " + maxTokens + " tokens")
                        .append(usage ? " (by its usage)" : " (by usage where sent, else content chunks)")
                        .append(prompt >= 0 ? "; prompt tokens per request (usage), median: " + prompt : "")
                        .append(cached >= 0 ? ", of which taken from its prompt cache: " + cached : "")
                        .append('\n');
            }
            return md.append('\n').toString();
        }

        String verdicts() {
            StringBuilder md = new StringBuilder();
            List<String> below = new ArrayList<>();
            for (int i = 0; i < levels.length; i++) {
                if (ratio(i).median() < TARGET_RATIO) {
                    below.add(levels[i] + (levels[i] == 1 ? " client" : " clients") + String.format(Locale.ROOT, " (%.3f)", ratio(i).median()));
                }
            }
            md.append("- ").append(model).append(", (a) llama-ffm ≥ ").append(TARGET_RATIO).append("× llama-server's tokens/s at every level: ")
                    .append(below.isEmpty() ? "**met**" : "**missed** at " + String.join(", ", below)).append('\n');
            int one = index(1);
            int eight = index(8);
            md.append("- ").append(model).append(", (b) scaling from 1 to 8 clients, llama-ffm's ≥ llama-server's: ");
            if (one < 0 || eight < 0) {
                md.append("n/a (the run has no level 1 or 8)\n");
            } else {
                double theirs = new Stats(tokensPerSecond(0, eight)).median() / new Stats(tokensPerSecond(0, one)).median();
                double ours = new Stats(tokensPerSecond(1, eight)).median() / new Stats(tokensPerSecond(1, one)).median();
                md.append(String.format(Locale.ROOT, "llama-ffm %.2f×, llama-server %.2f×: ", ours, theirs))
                        .append(ours >= theirs ? "**met**" : "**missed**").append('\n');
            }
            return md.toString();
        }

        private String speed(Stats s) {
            return rounds == 1 ? String.format(Locale.ROOT, "%.1f", s.median()) : s.cell();
        }

        private String ratioCell(Stats s) {
            return rounds == 1 ? String.format(Locale.ROOT, "%.3f", s.median()) : s.ratioCell();
        }
    }

    private String controlNote() {
        return "Control: stories260K at " + controlThreads + " thread" + (controlThreads == 1 ? "" : "s") + ", same method. On a "
                + Runtime.getRuntime().availableProcessors() + "-core machine a server's " + threads + " compute threads share the cores "
                + "with its HTTP threads and the load generator; a compute thread preempted there leaves its partner spinning at ggml's "
                + "barrier, and on a model this small (well under a millisecond per step) such stalls, not the servers, can set the pace.\n\n";
    }

    private int index(int clients) {
        for (int i = 0; i < levels.length; i++) {
            if (levels[i] == clients) {
                return i;
            }
        }
        return -1;
    }

    private String section(String tables, String verdicts) {
        String ctx = ctxPerSlot + " × C";
        StringBuilder md = new StringBuilder(HEADING).append("\n\n");
        md.append("Generated by `").append(command).append("` on ").append(LocalDate.now())
                .append(" (benchmarks/server.sh replaces this section in place; benchmarks/run.sh runs it after the rest).\n\n");
        md.append(MachineInfo.markdown(threads).replaceFirst("^## ", "### "));
        md.append("- llama-server: ").append(llamaServer).append(", version ").append(llamaServerBuild)
                .append(", CPU backend variant it loaded: ").append(llamaServerCpu).append('\n');
        md.append("- llama-ffm server: ").append(serverJar).append(" (java -jar, this JVM's java)\n\n");
        md.append("Our OpenAI-compatible server (`server/`) and llama.cpp's llama-server, both over HTTP only, same model, ")
                .append("same threads (").append(threads).append("). For each concurrency level C each server is started fresh with C slots ")
                .append("and ").append(ctx).append(" tokens of context, waited for (`GET /health` 200), warmed up with ")
                .append(warmup == 1 ? "unmeasured passes" : "at least " + warmup + " unmeasured passes").append(" of the level's load (the same requests) ")
                .append("until ").append(warmupSeconds).append(" s have passed (both servers alike: ")
                .append("a JVM server compiles its hot code during its first tens of thousands of tokens, as a server in service long has; ")
                .append("a pass of stories260K's load is over in about a second), then C clients start at once and each sends R (given under each model)")
                .append(" streaming `POST /v1/chat/completions` back to back, and the server is stopped; at each level the two take turns at going first")
                .append(rounds > 1 ? " (" + rounds + " rounds; tokens/s as median (min–max), the ratio as the median [quartiles] of the per-round ratios; latencies pooled over the rounds)" : " (one round)")
                .append(". Requests: one short user message (").append(ServerLoad.PROMPTS.size())
                .append(" fixed ones, taken in turn), `max_tokens: ").append(maxTokens)
                .append("`, `temperature: 0`, `ignore_eos: true`, `stream: true`, `stream_options.include_usage: true`; on the synthetic ")
                .append("model also `logit_bias` -100 for every token whose text alone is not UTF-8 (its random weights write such bytes, and ")
                .append("llama-server's chat parser then ends the stream with a 500 error event: \"The model produced output that does not match ")
                .append("the expected ... format\"). ")
                .append("tokens/s: the generated tokens of every request of the level (by usage) over its wall time, first request sent to last event read. ")
                .append("TTFT: from sending a request to its first chunk with content; ITL: the gaps between successive chunks with content, pooled over the level's requests; ")
                .append("p50 / p99 linearly interpolated. The load generator (ServerLoad, java.net.http, one thread per client) runs in the ")
                .append("benchmark's JVM on the same ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores; while a level runs it only reads lines and notes their arrival times, and parses them after the level. ")
                .append("Those are the times of the client's reads: events that arrive closer together than it reads (on stories260K a token takes ")
                .append("about 0.1 ms) share one time, so an ITL p50 of 0.0 there means tokens coming in bursts faster than the client reads them.\n\n");
        md.append("Server command lines (P a free port, C the level):\n\n")
                .append("- llama-server: `llama-server -m MODEL --host 127.0.0.1 --port P -np C -c ").append(ctxPerSlot).append("·C -t ").append(threads)
                .append("`, its defaults otherwise, which in the pinned source are: continuous batching on; with `-np` given the KV cache is ")
                .append("not unified (each slot its own ").append(ctxPerSlot).append(" tokens; `-kvu` is the default only with `-np` auto); prompt cache on ")
                .append("(`cache_prompt`, `--cache-ram 8192`), slots picked by prompt similarity; `--jinja` on, and for a GGUF without a chat template ")
                .append("(stories260K, the synthetic model) the chatml template; batch 2048 / micro-batch 512; flash attention auto; thread polling 50.\n")
                .append("- llama-ffm: `java --enable-native-access=ALL-UNNAMED -jar ").append(serverJar).append(" --model MODEL --host 127.0.0.1 --port P --parallel C --ctx ")
                .append(ctxPerSlot).append("·C --threads ").append(threads).append("`, its defaults otherwise (for a model without a chat ")
                .append("template it uses its plain conversation format, so the two servers' prompts differ in length: see the prompt tokens under each table).\n\n");
        md.append(tables);
        md.append("### Targets\n\n").append(verdicts).append('\n');
        return md.toString();
    }

    /**
     * {@code doc} with the section under {@code heading} (a second-level heading line) replaced by {@code section},
     * up to the next second-level heading or the end; appended (after one blank line) when {@code doc} has none.
     */
    static String replaceSection(String doc, String heading, String section) {
        String body = section.stripTrailing() + "\n";
        int start;
        if (doc.startsWith(heading + "\n")) {
            start = 0;
        } else {
            int at = doc.indexOf("\n" + heading + "\n");
            if (at < 0) {
                return (doc.isBlank() ? "" : doc.stripTrailing() + "\n\n") + body;
            }
            start = at + 1;
        }
        int next = doc.indexOf("\n## ", start + heading.length());
        return doc.substring(0, start) + body + (next < 0 ? "" : "\n" + doc.substring(next + 1));
    }

    private static void log(String line) {
        System.err.println("[bench] " + line);
    }
}
