package io.llamaffm.chat;

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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every template of the hostile corpus ({@link HostileTemplates}: nested loops, exponential growth of strings, lists and
 * dicts, recursion, deep nesting, huge literals, filters that multiply their input, huge ranges and integers) ends with a
 * {@link ChatTemplateException} of the expected kind naming the expected limit, within {@value #MAX_MILLIS} ms, in a child
 * JVM with a heap of {@value #HEAP} (never an OutOfMemoryError, a StackOverflowError or a hang). Needs no natives.
 */
class HostileTemplatesTest {
    static final String HEAP = "256m";
    static final long MAX_MILLIS = 2000;
    /** A child that reports nothing for this long is hung. */
    private static final long SILENCE_SECONDS = 30;

    /** What the child reported for one case. */
    record Outcome(String name, String kind, long millis, String reason) {}

    @Test
    void everyHostileTemplateEndsAtALimitWithinTwoSecondsInASmallHeap() throws Exception {
        List<HostileTemplates.Case> cases = HostileTemplates.all();
        assertTrue(HostileTemplates.files().size() >= 60, "the corpus files: " + HostileTemplates.files().size());
        long start = System.nanoTime();
        Map<String, Outcome> outcomes = runChild(List.of(), List.of());
        long wallMillis = (System.nanoTime() - start) / 1_000_000;
        StringBuilder report = new StringBuilder();
        List<String> wrong = new ArrayList<>();
        for (HostileTemplates.Case c : cases) {
            Outcome o = outcomes.get(c.name());
            report.append(String.format("%-42s %-7s %5d ms  %s%n", c.name(), o == null ? "-" : o.kind(), o == null ? -1 : o.millis(),
                    o == null ? "" : o.reason().substring(0, Math.min(90, o.reason().length()))));
            if (o == null) {
                wrong.add(c.name() + ": no outcome");
            } else if (!o.kind().equals(c.kind().name()) || !o.reason().contains(c.fragment())) {
                wrong.add(c.name() + ": expected " + c.kind() + " with '" + c.fragment() + "', got " + o.kind() + " " + o.reason());
            } else if (o.millis() >= MAX_MILLIS) {
                wrong.add(c.name() + ": took " + o.millis() + " ms");
            } else if (o.kind().equals("LIMIT") && !(o.reason().contains("; raise TemplateLimits.")
                    && o.reason().contains(" or -Dllamaffm.template.max."))) {
                wrong.add(c.name() + ": the message does not say how to raise the limit: " + o.reason());
            }
        }
        long slowest = outcomes.values().stream().mapToLong(Outcome::millis).max().orElseThrow();
        System.out.println("[hostile templates] " + cases.size() + " cases in a -Xmx" + HEAP + " child JVM, " + wallMillis
                + " ms in all (JVM start included), slowest " + slowest + " ms\n" + report);
        assertEquals(List.of(), wrong, report.toString());
        assertEquals(cases.size(), outcomes.size(), report.toString());
    }

    /**
     * Runs {@link HostileTemplates#main} in a child JVM with a {@value #HEAP} heap and returns what it reported by case
     * name; fails, naming the case, if the child dies or hangs.
     *
     * @param jvmArgs more JVM options
     * @param args    the child's arguments (case names, or nothing for all)
     */
    static Map<String, Outcome> runChild(List<String> jvmArgs, List<String> args) throws IOException, InterruptedException {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + HEAP, "-XX:+UseSerialGC"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", classPath, HostileTemplates.class.getName()));
        cmd.addAll(args);
        Path stderr = Files.createTempFile("hostile-templates-", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
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
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        String running = null;
        try {
            while (true) {
                String line = lines.poll(SILENCE_SECONDS, TimeUnit.SECONDS);
                if (line == null) {
                    p.destroyForcibly();
                    throw new AssertionError("the child hung on " + running + " (nothing for " + SILENCE_SECONDS + " s)");
                }
                if (line.equals("EOF")) {
                    break;
                }
                if (line.startsWith("B ")) {
                    running = line.substring(2);
                } else if (line.startsWith("E ")) {
                    String[] f = line.split(" ", 5);
                    outcomes.put(f[1], new Outcome(f[1], f[2], Long.parseLong(f[3]), f.length > 4 ? f[4] : ""));
                    running = null;
                }
            }
            assertTrue(p.waitFor(SILENCE_SECONDS, TimeUnit.SECONDS), "the child did not exit");
            reader.join();
            String err = Files.readString(stderr);
            assertEquals(0, p.exitValue(), "the child died " + (running == null ? "" : "on " + running) + " with status "
                    + p.exitValue() + " (" + HostileTemplates.OOM_EXIT + ": OutOfMemoryError or StackOverflowError): " + outcomes
                    + "\n" + err);
            return outcomes;
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(stderr);
        }
    }
}
