package io.llamaffm.spark.cluster;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalStandaloneClusterTest {
    @Test
    void optionsAreChecked(@TempDir Path dir) {
        List<Path> jars = List.of(dir.resolve("spark-core_2.13-4.2.0.jar"));
        LocalStandaloneCluster.Options o = LocalStandaloneCluster.Options.defaults(dir, jars);
        assertEquals(2, o.workers());
        assertEquals(1, o.coresPerWorker());
        assertEquals("1g", o.memoryPerWorker());
        assertEquals(Duration.ofSeconds(7), o.withTimeout(Duration.ofSeconds(7)).timeout());
        assertEquals(Map.of("A", "b"), o.withWorkerEnv(List.of(Map.of("A", "b"))).workerEnv().getFirst());
        assertThrows(IllegalArgumentException.class, () -> o.withWorkers(0));
        assertThrows(IllegalArgumentException.class, () -> o.withCoresPerWorker(0));
        assertThrows(IllegalArgumentException.class, () -> o.withMemoryPerWorker("1 GB"));
        assertThrows(IllegalArgumentException.class, () -> o.withTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> LocalStandaloneCluster.Options.defaults(dir, List.of()));
    }

    @Test
    void sparkJarsLeaveOutTheApplicationAndClassFolders(@TempDir Path dir) throws Exception {
        Path core = Files.createFile(dir.resolve("spark-core_2.13-4.2.0.jar"));
        Path scala = Files.createFile(dir.resolve("scala-library-2.13.18.jar"));
        Path ours = Files.createFile(dir.resolve("llama-ffm-0.1.0.jar"));
        Path natives = Files.createFile(dir.resolve("llama-ffm-natives-0.1.0-natives-linux-x64.jar"));
        Path classes = Files.createDirectories(dir.resolve("classes"));
        assertEquals(List.of(core, scala), ClassPaths.sparkJars(List.of(classes, ours, core, natives, scala)));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ClassPaths.sparkJars(List.of(scala)));
        assertTrue(e.getMessage().startsWith("no spark-core jar on the class path"), e.getMessage());
    }

    @Test
    void aClassFolderIsPackedIntoAJar(@TempDir Path dir) throws Exception {
        Path classes = Files.createDirectories(dir.resolve("classes/a/b"));
        Files.writeString(classes.resolve("C.class"), "bytes");
        Path jar = ClassPaths.pack(dir.resolve("classes"), dir.resolve("out.jar"));
        try (JarFile j = new JarFile(jar.toFile())) {
            assertEquals("bytes", new String(j.getInputStream(j.getEntry("a/b/C.class")).readAllBytes()));
            assertEquals(1, j.stream().count());
        }
    }
}
