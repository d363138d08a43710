package io.llamaffm.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one way the benchmarks start child processes: a time limit after which the child and its descendants are
 * killed, and a shutdown hook so that a Ctrl-C of the benchmark does not leave it running. A child run to completion
 * writes to a file (never a pipe it could block on); a {@link Session} answers one line of standard output per
 * request line and writes everything else (standard error) to a file.
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
     * A child JVM kept running between requests, so that a contender measured side by side with native processes is a
     * process of its own too: nothing of the orchestrating JVM (its JIT compiling the code that parses llama-bench's
     * output, its GC) runs beside it, and it sits blocked on its standard input while the others run. The child reads
     * one request per line and answers each with one line on standard output; standard error goes to a log file.
     */
    static final class Session implements AutoCloseable {
        private final List<String> command;
        private final Process process;
        private final Writer requests;
        private final BufferedReader answers;
        private final Path log;
        private final Thread killer;

        Session(String classPath, List<String> jvmOptions, String mainClass, List<String> args) throws IOException {
            command = javaCommand(classPath, jvmOptions, mainClass, args);
            log = Files.createTempFile("llamaffm-bench-session", ".log");
            process = new ProcessBuilder(command).redirectError(log.toFile()).start();
            killer = new Thread(() -> kill(process));
            Runtime.getRuntime().addShutdownHook(killer);
            requests = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            answers = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        /** Sends {@code request} (one line) and returns the child's answer line. */
        String request(String request, Duration timeout) throws IOException {
            requests.write(request + "\n");
            requests.flush();
            return readLine(timeout);
        }

        /**
         * The child's next line of standard output.
         *
         * @throws IllegalStateException if none comes within {@code timeout} (the child is killed) or it ended
         */
        String readLine(Duration timeout) throws IOException {
            CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                try {
                    return answers.readLine();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            String answer;
            try {
                answer = line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                kill(process);
                throw new IllegalStateException("child gave no answer within " + timeout + " and was killed ("
                        + String.join(" ", command) + "); the end of its log:\n" + tail(log));
            } catch (InterruptedException e) {
                kill(process);
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a child", e);
            } catch (ExecutionException e) {
                throw new IOException("reading the child's answer failed", e.getCause());
            }
            if (answer == null) {
                throw new IllegalStateException("child ended (" + String.join(" ", command) + "); the end of its log:\n" + tail(log));
            }
            return answer;
        }

        /** Closes the child's standard input (it exits at end of input); kills it if it has not ended in 30 s. */
        @Override
        public void close() throws IOException {
            try {
                requests.close();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    kill(process);
                }
            } catch (InterruptedException e) {
                kill(process);
                Thread.currentThread().interrupt();
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(killer);
                } catch (IllegalStateException alreadyShuttingDown) {
                    // the hook is running or has run: nothing to remove
                }
                Files.deleteIfExists(log);
            }
        }
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

    /** Kills {@code p} and its descendants and waits up to 10 s for it to end. */
    static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
