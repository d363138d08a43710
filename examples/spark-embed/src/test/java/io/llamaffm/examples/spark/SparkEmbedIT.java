package io.llamaffm.examples.spark;

import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.gguf.GgmlType;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The example on local[2] over its own corpus folder, with all-MiniLM-L6-v2. */
class SparkEmbedIT {
    static SparkSession spark;
    static Path model;

    @BeforeAll
    static void start() throws Exception {
        model = MiniLmFixture.gguf(Files.createTempDirectory("spark-embed-minilm"), GgmlType.F32);
        spark = SparkSession.builder().master("local[2]").appName("SparkEmbedIT").config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    @Test
    void indexesTheCorpusAndFindsTheRightParagraphs(@TempDir Path dir) {
        String table = dir.resolve("vectors.parquet").toString();
        long[] counts = SparkEmbed.index(spark, model.toString(), Path.of("corpus").toAbsolutePath().toString(), table);
        assertArrayEquals(new long[] {7, 0}, counts, "7 paragraphs in 4 files, none failed");
        Row first = spark.read().parquet(table).orderBy("file", "paragraph").first();
        assertEquals("bread.txt", first.getString(0));
        assertEquals(0, first.getInt(1));
        assertEquals(MiniLmFixture.HIDDEN, first.getList(3).size());

        List<SparkEmbed.Hit> spark1 = SparkEmbed.query(spark, model.toString(), table, "How are jobs run on a cluster?", 2);
        assertEquals(2, spark1.size());
        assertEquals("spark.txt", spark1.get(0).file());
        assertEquals(0, spark1.get(0).paragraph());
        assertTrue(spark1.get(0).score() > spark1.get(1).score());

        List<SparkEmbed.Hit> cats = SparkEmbed.query(spark, model.toString(), table, "Where do cats like to nap?", 1);
        assertEquals("cats.txt", cats.getFirst().file());
        assertEquals(0, cats.getFirst().paragraph());
        assertTrue(cats.getFirst().score() > 0.3 && cats.getFirst().score() <= 1.0001, "cosine " + cats.getFirst().score());
    }
}
