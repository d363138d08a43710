package io.llamaffm;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/** Where the tests find the shared models, the pinned llama.cpp source and the native tools built from it. */
public final class TestEnv {
    private TestEnv() {}

    /** ../shared/models/NAME; skips the test with a message when the shared folder is absent. */
    public static Path model(String name) {
        Path dir = Path.of(System.getProperty("llamaffm.shared.dir", "../shared")).resolve("models");
        Path p = dir.resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "test model " + p + " is absent (clone with ../shared beside the project)");
        return p;
    }

    public static Path stories() {
        return model("stories260K.gguf");
    }

    /** The pinned llama.cpp source tree (tokenizer vectors, headers). */
    public static Path sourceDir() {
        return Path.of(nativeBuild().getProperty("source.dir"));
    }

    /** The pinned llama.cpp source tree, or empty when the natives were not built here (no skip). */
    public static java.util.Optional<Path> sourceDirIfPresent() {
        String file = System.getProperty("llamaffm.native.build");
        if (file == null || !Files.isRegularFile(Path.of(file))) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(sourceDir()).filter(Files::isDirectory);
    }

    /** The folder of llama-simple, llama-bench and the libraries built from the pinned source; skips if not built here. */
    public static Path toolsDir() {
        String dir = nativeBuild().getProperty("bin.dir");
        Assumptions.assumeTrue(dir != null, "the natives were not built from source here (prebuilt origin): no native tools");
        return Path.of(dir);
    }

    /**
     * Runs native/harness/greedy.c ({@code llamaffm-greedy}, built from the same pinned source) and returns the token ids
     * it generated: greedy decoding with llama.h alone, the prompt encoded with special tokens added and parsed,
     * stopping early at an end-of-generation token. Skips the test when the natives were not built here.
     */
    public static int[] nativeGreedy(Path model, int n, int threads, String prompt) throws IOException, InterruptedException {
        Path exe = toolsDir().resolve("llamaffm-greedy");
        Process p = new ProcessBuilder(exe.toString(), model.toString(), Integer.toString(n), Integer.toString(threads), prompt)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Assertions.assertTrue(p.waitFor(60, TimeUnit.SECONDS), "llamaffm-greedy timed out");
        Assertions.assertEquals(0, p.exitValue(), "llamaffm-greedy failed");
        return out.lines().filter(l -> !l.isBlank()).mapToInt(Integer::parseInt).toArray();
    }

    private static Properties nativeBuild() {
        String file = System.getProperty("llamaffm.native.build");
        Assumptions.assumeTrue(file != null && Files.isRegularFile(Path.of(file)),
                "native/target/natives/*/native-build.properties missing: build the native module first");
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(file))) {
            p.load(in);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return p;
    }
}
