package io.llamaffm.examples.cli;

import io.llamaffm.Model;
import io.llamaffm.ModelLoadException;
import io.llamaffm.ModelParams;
import io.llamaffm.examples.Generate;
import io.llamaffm.hub.ModelDownloader;
import io.llamaffm.hub.ModelRef;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.io.Console;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The {@code llama-ffm} command-line tool: {@code inspect}, {@code tokenize}, {@code generate}, {@code chat},
 * {@code embed}, {@code search}, {@code convert-onnx}, {@code serve} (an OpenAI-compatible HTTP server),
 * {@code extract} (JSON matching a schema), {@code info} and {@code pull} (download a model named
 * {@code hf:owner/repo:QUANT} or by URL into the cache; every command's MODEL takes such a reference too). It is the main class of {@code llama-ffm-examples.jar}; when the first argument is neither a
 * subcommand nor an option, the jar behaves as the {@link Generate} example ({@code ./run.sh [MODEL] [PROMPT] [N]}).
 *
 * <p>Exit codes: 0 success, 1 an error while running (one line on stderr; {@code --verbose} adds the details and the
 * stack trace), 2 a usage error (unknown option, missing argument).
 */
@Command(name = "llama-ffm", mixinStandardHelpOptions = true, versionProvider = LlamaCli.Version.class,
        description = "Runs GGUF models with llama.cpp through Java's FFM API.",
        subcommands = {InspectCommand.class, TokenizeCommand.class, GenerateCommand.class, ChatCommand.class,
                EmbedCommand.class, SearchCommand.class, ConvertOnnxCommand.class, ServeCommand.class, ExtractCommand.class,
                InfoCommand.class, PullCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Without a subcommand the jar runs the Generate example:",
                "  java -jar llama-ffm-examples.jar [MODEL.gguf] [PROMPT] [MAX_TOKENS]"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:error while running (details with --verbose)", "2:usage error"})
public final class LlamaCli implements Runnable {
    static final int EXIT_OK = 0;
    static final int EXIT_ERROR = 1;
    static final int EXIT_USAGE = 2;

    /** When to draw the model-load progress line on stderr. */
    enum ProgressMode { AUTO, ALWAYS, NEVER }

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "On errors, print the full message (llama.cpp's log lines) and the stack trace.")
    boolean verbose;

    @Option(names = "--progress", scope = ScopeType.INHERIT, paramLabel = "WHEN", defaultValue = "auto",
            description = "Show a progress line on stderr while a model downloads or loads: ${COMPLETION-CANDIDATES} "
                    + "(auto: only on a terminal; default ${DEFAULT-VALUE}).")
    ProgressMode progress;

    @Spec
    CommandSpec spec;

    private final InputStream in;
    private final boolean terminal;

    LlamaCli(InputStream in, boolean terminal) {
        this.in = in;
        this.terminal = terminal;
    }

    /** Runs the CLI on the process's streams and exits with its code (or runs {@link Generate} for bare arguments). */
    public static void main(String[] args) {
        if (!isCliInvocation(args)) {
            Generate.main(args);
            return;
        }
        Console console = System.console();
        boolean terminal = console != null && console.isTerminal();
        // UTF-8 unless a person reads it on a terminal; straight to the file descriptors (not through System.out,
        // which hides write errors) so a closed pipe is noticed and generation stops
        Charset outCharset = terminal ? System.out.charset() : StandardCharsets.UTF_8;
        Charset errCharset = terminal ? System.err.charset() : StandardCharsets.UTF_8;
        PrintWriter out = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), outCharset), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), errCharset), true);
        int code = run(args, System.in, out, err, terminal);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /**
     * Runs the CLI with the given streams and returns the exit code (no {@code System.exit}), for embedding and
     * tests. {@code terminal} says whether the streams are an interactive terminal (prompts, progress line).
     */
    public static int run(String[] args, InputStream in, PrintWriter out, PrintWriter err, boolean terminal) {
        LlamaCli root = new LlamaCli(in, terminal);
        CommandLine cl = new CommandLine(root);
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler(LlamaCli::usageError);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> root.failure(e, commandLine));
        return cl.execute(args);
    }

    /** True when {@code args} address the CLI: a subcommand first, or an option ({@code --help}, {@code --version}, ...). */
    static boolean isCliInvocation(String[] args) {
        if (args.length == 0) {
            return false;
        }
        String first = args[0];
        return first.startsWith("-") || subcommandNames().contains(first);
    }

    static Set<String> subcommandNames() {
        return new CommandLine(new LlamaCli(InputStream.nullInputStream(), false)).getSubcommands().keySet();
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: "
                + String.join(", ", spec.subcommands().keySet()));
    }

    // ---- services for the subcommands -----------------------------------------------------------------------

    /** Standard input, for {@code chat} and for {@code -} arguments. */
    InputStream in() {
        return in;
    }

    /** Whether the CLI talks to a person at a terminal (prompts, progress line). */
    boolean terminal() {
        return terminal;
    }

    /** Whether {@code --progress} asks for progress lines on stderr. */
    boolean showProgress() {
        return switch (progress) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> terminal;
        };
    }

    /**
     * Loads a model named by a file path or a reference ({@code hf:owner/repo:Q4_K_M}, {@code hf:owner/repo/file.gguf},
     * an https URL; downloaded into the cache unless it is there), with progress lines on stderr when {@code --progress}
     * asks for them.
     */
    Model loadModel(String model, ModelParams params, PrintWriter err) {
        List<Path> parts = ModelRef.isReference(model)
                ? ModelDownloads.resolve(ModelDownloader.create(), model, err, showProgress()).parts()
                : List.of(Path.of(model));
        ProgressBar bar = showProgress() ? ProgressBar.start("loading " + parts.getFirst().getFileName(), err) : null;
        return ModelLoading.load(parts, params, bar);
    }

    // ---- errors -------------------------------------------------------------------------------------------

    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        String name = cl.getCommandSpec().qualifiedName();
        cl.getErr().println(name + ": " + e.getMessage() + " (see '" + name + " --help')");
        cl.getErr().flush();
        return EXIT_USAGE;
    }

    private int failure(Exception e, CommandLine cl) {
        PrintWriter err = cl.getErr();
        Throwable t = e instanceof UncheckedIOException u ? u.getCause() : e;
        String summary = summary(t);
        if (verbose) {
            err.println("error: " + summary);
            t.printStackTrace(err);
        } else {
            boolean more = t.getMessage() != null && t.getMessage().contains("\n");
            err.println("error: " + summary + (more ? " (--verbose for details)" : ""));
        }
        err.flush();
        return t instanceof CliException c ? c.exitCode() : EXIT_ERROR;
    }

    /** One line a user can act on; exceptions without a helpful message get their kind named. */
    static String summary(Throwable t) {
        String s = switch (t) {
            case NoSuchFileException f -> "no such file: " + f.getFile();
            case AccessDeniedException f -> "permission denied: " + f.getFile();
            case IOException io when io.getMessage() != null -> io.getMessage();
            case CliException c -> c.getMessage();
            // the reason, and the first thing llama.cpp said about it; the rest with --verbose
            case ModelLoadException m when !m.nativeLog().isEmpty() ->
                    firstLine(m.getMessage()) + ": " + loadFailureCause(m.nativeLog());
            case IllegalArgumentException a when a.getMessage() != null -> a.getMessage();
            case io.llamaffm.LlamaException l when l.getMessage() != null -> l.getMessage();
            case IllegalStateException st when st.getMessage() != null -> st.getMessage();
            default -> t.toString();
        };
        return firstLine(s);
    }

    /** The most telling of llama.cpp's lines about a failed load: the GGUF reader's, else the loader's error. */
    static String loadFailureCause(List<String> log) {
        String marker = "error loading model: ";
        return log.stream().filter(l -> l.startsWith("gguf_")).findFirst()
                .or(() -> log.stream().filter(l -> l.contains(marker)).findFirst()
                        .map(l -> l.substring(l.indexOf(marker) + marker.length())))
                .orElse(log.getFirst()).strip();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** {@code --version}: the project version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = LlamaCli.class.getPackage().getImplementationVersion();
            return new String[] {"llama-ffm " + (v == null ? "(development build)" : v),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
