package io.llamaffm.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a main class in a child JVM of the same Java, draining its output, with a time limit. */
final class ChildJvm {
    private ChildJvm() {}

    /** The child's standard output lines; its standard error is kept in a log file named in the exception on failure. */
    static List<String> run(String classPath, List<String> jvmOptions, String mainClass, List<String> args, long timeoutMinutes)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(mainClass);
        cmd.addAll(args);
        // both streams go to files: the child never blocks on a full pipe, and a hung child still times out
        Path out = Files.createTempFile("llamaffm-bench-child", ".out");
        Path err = Files.createTempFile("llamaffm-bench-child", ".log");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("child JVM timed out after " + timeoutMinutes + " min: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IOException("child JVM exited with " + p.exitValue() + " (" + String.join(" ", cmd) + "); stderr in " + err
                    + ":\n" + tail(err));
        }
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        return lines;
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }
}
