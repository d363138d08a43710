package io.llamaffm.spark;

import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.gguf.GgmlType;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the Spark tests share: a lean local[2] session and the test models. */
final class SparkTests {
    private static Path miniLm;

    private SparkTests() {}

    /** A local[2] session without UI and with 2 shuffle partitions (2 shared cores). */
    static SparkSession session(String name) {
        return session(name, java.util.Map.of());
    }

    /** As {@link #session(String)}, with more settings. */
    static SparkSession session(String name, java.util.Map<String, String> settings) {
        SparkJvmFlags.checkJava();
        SparkSession.Builder b = SparkSession.builder();
        settings.forEach(b::config);
        SparkSession spark = b.master("local[2]").appName(name)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        return spark;
    }

    /** all-MiniLM-L6-v2 as an F32 GGUF (converted once per test JVM). */
    static synchronized Path miniLm() {
        if (miniLm == null) {
            try {
                miniLm = MiniLmFixture.gguf(Files.createTempDirectory("spark-minilm"), GgmlType.F32);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return miniLm;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    static float[] floats(java.util.List<Float> list) {
        float[] f = new float[list.size()];
        for (int i = 0; i < f.length; i++) f[i] = list.get(i);
        return f;
    }
}
