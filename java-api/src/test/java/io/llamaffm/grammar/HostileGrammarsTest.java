package io.llamaffm.grammar;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every hostile schema and grammar of {@link HostileGrammars} is refused with the exception and message it names,
 * within {@value HostileGrammars#MAX_MILLIS} ms, in a child JVM with a 256 MB heap and a 512 KB stack: never a
 * StackOverflowError, an OutOfMemoryError, a hang or another exception. Schemas are converted alone and through a
 * {@link GrammarBuilder}; grammars are given to {@link io.llamaffm.SamplerChain.Grammar}.
 */
class HostileGrammarsTest {
    private static final int CHILD_SECONDS = 240;

    @Test
    void everyHostileSchemaAndGrammarIsRefusedQuicklyWithAClearMessage() throws IOException, InterruptedException {
        assertTrue(HostileGrammars.schemas().size() >= 30, "at least 30 schemas");
        assertTrue(HostileGrammars.gbnf().size() >= 10, "at least 10 grammars");
        Path stderr = Files.createTempFile("hostile-grammars", ".err");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), HostileGrammarsChild.class.getName());
        Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        List<String> lines = new ArrayList<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                }
            } catch (IOException ignored) {
                // the child was killed
            }
        });
        boolean exited = p.waitFor(CHILD_SECONDS, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        reader.join(10_000);
        String err = Files.readString(stderr);
        Files.delete(stderr);
        List<String> got;
        synchronized (lines) {
            got = List.copyOf(lines);
        }
        if (!exited || p.exitValue() != 0 || got.isEmpty() || !got.getLast().equals("done")) {
            fail("the child JVM " + (exited ? "exited with " + p.exitValue() : "did not finish in " + CHILD_SECONDS + " s")
                    + " after " + (got.isEmpty() ? "no case" : got.getLast()) + "\n" + err);
        }
        Map<String, String[]> results = new LinkedHashMap<>();
        for (String line : got.subList(0, got.size() - 1)) {
            String[] f = line.split("\t", 5);
            results.put(f[0] + ": " + f[1], f);
        }
        List<org.junit.jupiter.api.function.Executable> checks = new ArrayList<>();
        long[] slowest = {0};
        check(checks, results, "schema", HostileGrammars.schemas(), slowest);
        check(checks, results, "builder", HostileGrammars.schemas(), slowest);
        check(checks, results, "gbnf", HostileGrammars.gbnf(), slowest);
        assertEquals(2 * HostileGrammars.schemas().size() + HostileGrammars.gbnf().size(), results.size(), "one line per case");
        assertAll(checks);
        System.out.println("hostile grammars: " + results.size() + " cases, the slowest " + slowest[0] + " ms: "
                + results.values().stream().sorted((a, b) -> Long.compare(Long.parseLong(b[3]), Long.parseLong(a[3]))).limit(5)
                .map(f -> f[0] + ": " + f[1] + " " + f[3] + " ms").toList());
    }

    private static void check(List<org.junit.jupiter.api.function.Executable> checks, Map<String, String[]> results,
                              String kind, List<HostileGrammars.Case> cases, long[] slowest) {
        for (HostileGrammars.Case c : cases) {
            String[] f = results.get(kind + ": " + c.name());
            checks.add(() -> {
                assertTrue(f != null, kind + ": " + c.name() + " did not run");
                String message = f[4].replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r").replace("\\\\", "\\");
                long millis = Long.parseLong(f[3]);
                slowest[0] = Math.max(slowest[0], millis);
                assertEquals(c.exception(), f[2], kind + ": " + c.name() + ": " + message);
                assertTrue(message.contains(c.fragment()), kind + ": " + c.name() + ": '" + c.fragment() + "' not in: " + message);
                assertTrue(millis <= HostileGrammars.MAX_MILLIS, kind + ": " + c.name() + " took " + millis + " ms");
            });
        }
    }
}
