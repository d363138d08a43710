package io.llamaffm.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The one way the benchmarks start child processes: output to a file (never a pipe the child could block on), a time
 * limit after which the child and its descendants are killed, and a shutdown hook so that a Ctrl-C of the benchmark
 * does not leave it running.
 */
final class ChildJvm {
    private static final int TAIL_LINES = 40;

    private ChildJvm() {}

    /** The command line of a child JVM of this Java running {@code mainClass} with native access enabled. */
    static List<String> javaCommand(String classPath, List<String> jvmOptions, String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs {@code command} with standard output and error in {@code log}; returns its exit status.
     *
     * @throws IllegalStateException if it runs past {@code timeout} (it is killed) or this thread is interrupted
     */
    static int exec(List<String> command, Path log, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Thread killer = new Thread(() -> kill(p));
        Runtime.getRuntime().addShutdownHook(killer);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw new IllegalStateException("child ran past its timeout of " + timeout + " and was killed ("
                        + String.join(" ", command) + "); the end of its log:\n" + tail(log));
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a child ran", e);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException alreadyShuttingDown) {
                // the hook is running or has run: nothing to remove
            }
        }
    }

    /**
     * Runs a child JVM and returns its output lines (standard error mixed in: callers pick their lines by prefix).
     *
     * @throws IOException if it exits with a non-zero status (the message carries the end of its log)
     */
    static List<String> run(String classPath, List<String> jvmOptions, String mainClass, List<String> args, Duration timeout)
            throws IOException {
        List<String> cmd = javaCommand(classPath, jvmOptions, mainClass, args);
        Path log = Files.createTempFile("llamaffm-bench-child", ".log");
        int status = exec(cmd, log, timeout);
        if (status != 0) {
            throw new IOException("child JVM exited with " + status + " (" + String.join(" ", cmd) + "); log " + log + ":\n" + tail(log));
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        Files.deleteIfExists(log);
        return lines;
    }

    /** The last lines of a child's log, for error messages. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
