package io.llamaffm;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

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
