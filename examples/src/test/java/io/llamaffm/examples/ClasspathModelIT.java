package io.llamaffm.examples;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ClasspathModel example as a user runs it: stories260K packed into a jar of its own, that jar on the class path
 * beside the examples jar, and the model loaded from it as a resource (no file path anywhere).
 */
class ClasspathModelIT {
    record Run(int code, String out, String err) {}

    static Run run(Path modelJar, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp",
                Path.of("target", "llama-ffm-examples.jar") + (modelJar == null ? "" : File.pathSeparator + modelJar),
                ClasspathModel.class.getName()));
        command.addAll(List.of(args));
        Path err = Files.createTempFile("classpath-model", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the example did not finish");
            return new Run(p.exitValue(), out, Files.readString(err));
        } finally {
            Files.deleteIfExists(err);
        }
    }

    @Test
    void aModelInsideAJarOnTheClassPathLoadsAndGenerates(@TempDir Path dir) throws Exception {
        Path model = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(model), "../shared/models/stories260K.gguf is absent");
        Path jar = dir.resolve("my-app-model.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("models/"));
            out.closeEntry();
            out.putNextEntry(new JarEntry("models/stories260K.gguf")); // deflated, as a build tool packs by default
            try (OutputStream entry = new java.io.FilterOutputStream(out) {
                @Override
                public void close() {} // keep the jar stream open
            }) {
                Files.copy(model, entry);
            }
            out.closeEntry();
        }
        Run r = run(jar, "models/stories260K.gguf", "Once upon a time", "16");
        assertEquals(0, r.code(), r::toString);
        assertEquals("Once upon a time, there was a little girl named Lily. She loved to play\n", r.out(), r::toString);
        assertTrue(r.err().startsWith("loaded models/stories260K.gguf from jar:file:"), r::toString);
        assertTrue(r.err().contains("my-app-model.jar!/models/stories260K.gguf (292800 parameters)"), r::toString);
        assertTrue(r.err().endsWith("[5 prompt tokens, 16 generated, stopped: MAX_TOKENS]\n"), r::toString);

        Run missing = run(null, "models/stories260K.gguf");
        assertEquals(2, missing.code(), missing::toString);
        assertTrue(missing.err().startsWith("no resource models/stories260K.gguf on the class path"), missing::toString);
        assertEquals("", missing.out());
    }
}
