package io.llamaffm.examples;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's run command: the executable jar, run as a user runs it, on stories260K. */
class GenerateIT {
    @Test
    void theExecutableJarPrintsTheBackendAndGeneratesText() throws Exception {
        Path model = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(model), "../shared/models/stories260K.gguf is absent");
        Path jar = Path.of("target", "llama-ffm-examples.jar");
        assertTrue(Files.isRegularFile(jar), "the shaded jar is built in the package phase");
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", jar.toString(), model.toString(), "Once upon a time", "32"))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("CPU backend variant: "), out);
        assertTrue(out.contains("system info: CPU :"), out);
        assertTrue(out.contains("Once upon a time, there was a little girl named Lily. She loved to play outside in the park."), out);
        assertTrue(out.contains("[5 prompt tokens, 32 generated, stopped: MAX_TOKENS]"), out);
        assertTrue(!out.contains("WARNING: A restricted method"), "the jar's manifest enables native access: " + out);
    }
}
