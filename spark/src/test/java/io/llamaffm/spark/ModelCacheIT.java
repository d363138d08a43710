package io.llamaffm.spark;

import io.llamaffm.Model;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The executor's model cache, through its package-private hooks (local mode: the executor is this JVM). */
class ModelCacheIT {
    static SparkSession spark;
    static Path model;

    @BeforeAll
    static void start() {
        model = SparkTests.miniLm();
        // two CPUs per task: local[2] runs one task at a time, each with 2 llama.cpp threads
        spark = SparkTests.session("ModelCacheIT", java.util.Map.of("spark.task.cpus", "2"));
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    @Test
    void sameKeySameModelOtherParamsOtherModelClosedWhenIdle() {
        ModelCache.closeIdle();
        ModelCache.Key k0 = new ModelCache.Key(model.toString(), 0);
        ModelCache.Key k1 = new ModelCache.Key(model.toString(), 1);
        int loadsBefore = ModelCache.loads();
        Model a;
        Model b;
        try (ModelCache.Handle h1 = ModelCache.acquire(k0); ModelCache.Handle h2 = ModelCache.acquire(k0)) {
            assertSame(h1.model(), h2.model());
            assertEquals(2, ModelCache.handles(k0));
            try (ModelCache.Handle other = ModelCache.acquire(k1)) {
                assertNotSame(h1.model(), other.model());
                b = other.model();
            }
            a = h1.model();
            assertEquals(1, ModelCache.closeIdle());
            assertFalse(a.isClosed(), "a held model is never closed");
            assertTrue(b.isClosed(), "the idle model of the other key was closed");
            h1.close();
            h1.close(); // idempotent: one hold released once
            assertEquals(1, ModelCache.handles(k0));
        }
        assertEquals(0, ModelCache.handles(k0));
        assertSame(a, ModelCache.loaded(k0), "an idle model stays loaded for the next task");
        assertFalse(a.isClosed());
        assertEquals(loadsBefore + 2, ModelCache.loads());
        assertEquals(1, ModelCache.closeIdle());
        assertTrue(a.isClosed());
        assertNull(ModelCache.loaded(k0));
    }

    @Test
    void concurrentTasksLoadAKeyOnceAndAFailedLoadIsForgotten(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        ModelCache.closeIdle();
        ModelCache.Key key = new ModelCache.Key(model.toString(), 0);
        int loadsBefore = ModelCache.loads();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<ModelCache.Handle>> handles = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) handles.add(pool.submit(() -> ModelCache.acquire(key)));
            Model first = handles.getFirst().get().model();
            for (var h : handles) assertSame(first, h.get().model());
            assertEquals(4, ModelCache.handles(key));
            assertEquals(loadsBefore + 1, ModelCache.loads());
            for (var h : handles) h.get().close();
        } finally {
            pool.shutdown();
        }
        ModelCache.Key missing = new ModelCache.Key(dir.resolve("absent.gguf").toString(), 0);
        io.llamaffm.LlamaException e = org.junit.jupiter.api.Assertions.assertThrows(io.llamaffm.LlamaException.class,
                () -> ModelCache.acquire(missing));
        assertTrue(e.getMessage().startsWith("cannot load the model " + missing.location() + " on "), e.getMessage());
        assertFalse(ModelCache.keys().contains(missing), "a failed load is not cached: a retry loads again");
        assertEquals(1, ModelCache.closeIdle());
    }

    @Test
    void tasksShareOneModelPerKeyAndAChangedLoadParamLoadsAnother() {
        ModelCache.closeIdle();
        int loadsBefore = ModelCache.loads();
        List<Row> in = new java.util.ArrayList<>();
        for (int i = 0; i < 7; i++) in.add(org.apache.spark.sql.RowFactory.create(i, "text number " + i));
        Dataset<Row> df = spark.createDataFrame(in, new org.apache.spark.sql.types.StructType()
                .add("id", org.apache.spark.sql.types.DataTypes.IntegerType)
                .add("text", org.apache.spark.sql.types.DataTypes.StringType)).repartition(4);
        LlamaEmbeddings emb = new LlamaEmbeddings().setModel(model.toString()).setThreads(1).setBatchSize(2);
        assertEquals(7, emb.transform(df).filter("error is null").count());
        assertEquals(7, emb.setThreads(0).transform(df).filter("error is null").count());
        assertEquals(loadsBefore + 1, ModelCache.loads(), "4 partitions, 2 jobs, one load");
        // threads 1 as set, then 0: the task's CPUs (spark.task.cpus = 2); one context each (one task at a time)
        assertEquals(List.of(1, 2), ModelCache.contextParams(new ModelCache.Key(model.toString(), 0)).stream()
                .map(io.llamaffm.ContextParams::threads).sorted().toList());
        emb.setGpuLayers(1); // a load parameter: another model, never the first one reused
        assertEquals(7, emb.transform(df).filter("error is null").count());
        assertEquals(loadsBefore + 2, ModelCache.loads());
        List<ModelCache.Key> keys = ModelCache.keys();
        assertEquals(List.of(new ModelCache.Key(model.toString(), 0), new ModelCache.Key(model.toString(), 1)), keys);
        for (ModelCache.Key k : keys) {
            assertEquals(0, ModelCache.handles(k), "every task gave its hold back");
            assertNotNull(ModelCache.loaded(k));
        }
        Model first = ModelCache.loaded(keys.getFirst());
        assertEquals(2, ModelCache.closeIdle());
        assertTrue(first.isClosed());
        assertTrue(ModelCache.keys().isEmpty());
    }
}
