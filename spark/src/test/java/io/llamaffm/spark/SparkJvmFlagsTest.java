package io.llamaffm.spark;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparkJvmFlagsTest {
    @Test
    void javaFloorIs25_0_3() {
        IllegalStateException old = assertThrows(IllegalStateException.class,
                () -> SparkJvmFlags.checkJava(Runtime.Version.parse("25.0.2+10-LTS"), "/opt/jdk-25.0.2"));
        assertEquals("llama-ffm Spark needs Java 25.0.3 or later (Apache Spark 4.2 runs on Java 25 from 25.0.3); this JVM "
                + "is Java 25.0.2+10-LTS at /opt/jdk-25.0.2: point JAVA_HOME (and spark.executorEnv.JAVA_HOME) at a newer JDK",
                old.getMessage());
        assertThrows(IllegalStateException.class, () -> SparkJvmFlags.checkJava(Runtime.Version.parse("21.0.9"), "/jdk"));
        assertThrows(IllegalStateException.class, () -> SparkJvmFlags.checkJava(Runtime.Version.parse("25.0.3-ea"), "/jdk"));
        assertDoesNotThrow(() -> SparkJvmFlags.checkJava(Runtime.Version.parse("25.0.3"), "/jdk"));
        assertDoesNotThrow(() -> SparkJvmFlags.checkJava(Runtime.Version.parse("25.0.3+9-LTS"), "/jdk"));
        assertDoesNotThrow(() -> SparkJvmFlags.checkJava(Runtime.Version.parse("26"), "/jdk"));
        assertDoesNotThrow(() -> SparkJvmFlags.checkJava()); // the JDK the build runs on
    }

    @Test
    void flagsAreSparksListPlusNativeAccessAndTheTestJvmHasThemAll() {
        List<String> flags = SparkJvmFlags.flags();
        assertEquals(22, flags.size());
        assertEquals("--enable-native-access=ALL-UNNAMED", flags.getLast());
        assertTrue(flags.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"));
        assertEquals(String.join(" ", flags), SparkJvmFlags.argLine());
        // the module's surefire/failsafe argLine is this list: a flag added to one must be added to the other
        List<String> running = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String f : flags) assertTrue(running.contains(f), "the test JVM lacks " + f);
    }
}
