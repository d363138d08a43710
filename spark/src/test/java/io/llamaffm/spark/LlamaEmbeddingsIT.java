package io.llamaffm.spark;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Embedding;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.hub.FakeHub;
import org.apache.spark.SparkException;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LlamaEmbeddings on local[2] against the core's {@link Context#embed}, with all-MiniLM-L6-v2. */
class LlamaEmbeddingsIT {
    static final List<String> TEXTS = List.of("The cat sat on the mat.", "A dog ran to the park.",
            "Spark runs tasks on executors.", "llama.cpp runs models on CPUs and GPUs.", "Paris is the capital of France.",
            "The weather is sunny today.", "Embeddings map text to vectors.");

    static SparkSession spark;
    static Path model;

    @BeforeAll
    static void start() {
        model = SparkTests.miniLm();
        spark = SparkTests.session("LlamaEmbeddingsIT");
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    static Dataset<Row> texts(List<String> texts, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) rows.add(RowFactory.create(i, texts.get(i)));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    /** The core's vectors of the texts, one context with the transformer's configuration. */
    static List<float[]> core(List<String> texts, ContextParams.Pooling pooling, boolean normalize, int batchSize) {
        try (Model m = Model.load(model);
             Context ctx = m.newContext(LlamaEmbeddings.contextParams(0, 1, batchSize, pooling))) {
            List<float[]> out = new ArrayList<>();
            for (Embedding e : ctx.embed(texts, EmbeddingParams.defaults().withNormalize(normalize))) out.add(e.vector());
            return out;
        }
    }

    static List<Row> byId(Dataset<Row> df) {
        return df.orderBy("id").collectAsList();
    }

    @Test
    void vectorsEqualTheCoresOnTwoPartitions() {
        LlamaEmbeddings emb = new LlamaEmbeddings().setModel(model.toString()).setInputCol("text").setOutputCol("embedding")
                .setBatchSize(4).setThreads(1);
        Dataset<Row> out = emb.transform(texts(TEXTS, 2));
        StructType schema = out.schema();
        assertEquals(DataTypes.createArrayType(DataTypes.FloatType, false), schema.apply("embedding").dataType());
        assertEquals(DataTypes.StringType, schema.apply("error").dataType());
        List<Row> rows = byId(out);
        List<float[]> expected = core(TEXTS, ContextParams.Pooling.MODEL, true, 4);
        assertEquals(TEXTS.size(), rows.size());
        double worst = 1;
        for (Row r : rows) {
            int id = r.getInt(0);
            assertEquals(TEXTS.get(id), r.getString(1));
            assertTrue(r.isNullAt(3), "no error expected: " + r.get(3));
            float[] v = SparkTests.floats(r.getList(2));
            assertEquals(MiniLmFixture.HIDDEN, v.length);
            worst = Math.min(worst, SparkTests.cosine(expected.get(id), v));
        }
        assertTrue(worst >= 0.99999, "cosine to the core's vector " + worst);
    }

    @Test
    void poolingAndNormalizeReachTheContext() {
        List<String> few = TEXTS.subList(0, 3);
        List<Row> rows = byId(new LlamaEmbeddings().setModel(model.toString()).setPooling("cls").setNormalize(false)
                .setBatchSize(8).setThreads(1).transform(texts(few, 1)));
        List<float[]> cls = core(few, ContextParams.Pooling.CLS, false, 8);
        List<float[]> mean = core(few, ContextParams.Pooling.MEAN, false, 8);
        for (Row r : rows) {
            float[] v = SparkTests.floats(r.getList(2));
            // one partition, one batch, the same context configuration as the core's call: the same bits
            assertArrayEquals(cls.get(r.getInt(0)), v);
            assertTrue(SparkTests.cosine(mean.get(r.getInt(0)), v) < 0.99, "cls differs from the model's mean pooling");
            double norm = 0;
            for (float x : v) norm += x * x;
            assertTrue(Math.abs(Math.sqrt(norm) - 1) > 1e-3, "not normalized: length " + Math.sqrt(norm));
        }
    }

    @Test
    void defaults() {
        LlamaEmbeddings emb = new LlamaEmbeddings();
        assertNull(emb.getModel());
        assertEquals("text", emb.getInputCol());
        assertEquals("embedding", emb.getOutputCol());
        assertEquals("model", emb.getPooling());
        assertTrue(emb.getNormalize());
        assertEquals("truncate", emb.getLongInput());
        assertEquals(64, emb.getBatchSize());
        assertEquals(0, emb.getThreads());
        assertEquals(0, emb.getContextLength());
        assertEquals(0, emb.getGpuLayers());
        assertEquals("error", emb.getErrorCol());
        assertFalse(emb.getFailFast());
        LlamaEmbeddings copy = emb.copy(new org.apache.spark.ml.param.ParamMap().put(emb.batchSize(), 5));
        assertEquals(emb.uid(), copy.uid());
        assertEquals(5, copy.getBatchSize());
        assertEquals(64, emb.getBatchSize());
        assertThrows(IllegalArgumentException.class, () -> emb.setPooling("none"));
        assertThrows(IllegalArgumentException.class, () -> emb.setLongInput("drop"));
        assertThrows(IllegalArgumentException.class, () -> emb.setBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> emb.setThreads(-1));
    }

    @Test
    void schemaValidation() {
        Dataset<Row> df = texts(TEXTS.subList(0, 1), 1);
        IllegalArgumentException noModel = assertThrows(IllegalArgumentException.class,
                () -> new LlamaEmbeddings().transformSchema(df.schema()));
        assertTrue(noModel.getMessage().contains("no model"), noModel.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new LlamaEmbeddings().setModel("m.gguf").setInputCol("body").transform(df));
        assertEquals("LlamaEmbeddings: the input column 'body' is not in the input; its columns are [id, text]", missing.getMessage());
        IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class,
                () -> new LlamaEmbeddings().setModel("m.gguf").setInputCol("id").transform(df));
        assertEquals("LlamaEmbeddings: the input column 'id' must be of type string or binary (UTF-8 bytes), got int",
                wrongType.getMessage());
        IllegalArgumentException taken = assertThrows(IllegalArgumentException.class,
                () -> new LlamaEmbeddings().setModel("m.gguf").setOutputCol("id").transform(df));
        assertTrue(taken.getMessage().contains("'id' already exists"), taken.getMessage());
        StructType noError = new LlamaEmbeddings().setModel("m.gguf").setErrorCol("").transformSchema(df.schema());
        assertEquals(List.of("id", "text", "embedding"), List.of(noError.fieldNames()));
    }

    @Test
    void persistenceRoundTripAlsoInAPipeline(@TempDir Path dir) throws Exception {
        LlamaEmbeddings emb = new LlamaEmbeddings().setModel(model.toString()).setInputCol("text").setOutputCol("vec")
                .setPooling("mean").setNormalize(false).setLongInput("fail").setBatchSize(3).setThreads(1)
                .setContextLength(256).setGpuLayers(0).setErrorCol("why").setFailFast(true);
        emb.write().overwrite().save(dir.resolve("emb").toString());
        LlamaEmbeddings back = LlamaEmbeddings.load(dir.resolve("emb").toString());
        assertEquals(emb.uid(), back.uid());
        assertEquals(List.of(model.toString(), "text", "vec", "mean", false, "fail", 3, 1, 256, 0, "why", true),
                List.of(back.getModel(), back.getInputCol(), back.getOutputCol(), back.getPooling(), back.getNormalize(),
                        back.getLongInput(), back.getBatchSize(), back.getThreads(), back.getContextLength(),
                        back.getGpuLayers(), back.getErrorCol(), back.getFailFast()));

        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {emb}).fit(texts(TEXTS, 1));
        fitted.write().overwrite().save(dir.resolve("pipeline").toString());
        PipelineModel loaded = PipelineModel.load(dir.resolve("pipeline").toString());
        LlamaEmbeddings stage = (LlamaEmbeddings) loaded.stages()[0];
        assertEquals("mean", stage.getPooling());
        assertEquals("why", stage.getErrorCol());
        List<Row> rows = byId(loaded.transform(texts(TEXTS.subList(0, 2), 1)));
        List<float[]> expected = core(TEXTS.subList(0, 2), ContextParams.Pooling.MEAN, false, 3);
        for (Row r : rows) {
            assertTrue(SparkTests.cosine(expected.get(r.getInt(0)), SparkTests.floats(r.getList(2))) >= 0.99999);
        }
    }

    @Test
    void failingRowsGetTheErrorColumnAndTheOthersTheirVectors() {
        String longText = "word ".repeat(2000);
        List<Row> in = List.of(RowFactory.create(0, "Fine text.".getBytes(StandardCharsets.UTF_8)),
                RowFactory.create(1, new byte[] {(byte) 0xC3, (byte) 0x28}), // an invalid UTF-8 sequence
                RowFactory.create(2, longText.getBytes(StandardCharsets.UTF_8)),
                RowFactory.create(3, (Object) null),
                RowFactory.create(4, "Another fine text.".getBytes(StandardCharsets.UTF_8)));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.BinaryType);
        Dataset<Row> df = spark.createDataFrame(in, schema).coalesce(1);
        LlamaEmbeddings emb = new LlamaEmbeddings().setModel(model.toString()).setLongInput("fail").setThreads(1);
        List<Row> rows = byId(emb.transform(df));
        List<float[]> expected = core(List.of("Fine text.", "Another fine text."), ContextParams.Pooling.MODEL, true, 64);
        assertTrue(SparkTests.cosine(expected.get(0), SparkTests.floats(rows.get(0).getList(2))) >= 0.99999);
        assertTrue(SparkTests.cosine(expected.get(1), SparkTests.floats(rows.get(4).getList(2))) >= 0.99999);
        assertNull(rows.get(0).get(3));
        assertNull(rows.get(4).get(3));
        for (int i = 1; i <= 3; i++) assertTrue(rows.get(i).isNullAt(2), "row " + i + " has no vector");
        assertTrue(rows.get(1).getString(3).startsWith("the input column 'text' is not valid UTF-8"), rows.get(1).getString(3));
        assertTrue(rows.get(2).getString(3).contains("tokens; an embedding holds at most 512"), rows.get(2).getString(3));
        assertEquals("the input column 'text' is null", rows.get(3).getString(3));

        // truncate: the long row gets a vector
        List<Row> truncated = byId(emb.setLongInput("truncate").transform(df.filter("id = 2")));
        assertNull(truncated.getFirst().get(3));
        assertEquals(MiniLmFixture.HIDDEN, truncated.getFirst().getList(2).size());

        // fail-fast: the task (and so the job) fails with the row's exception
        SparkException failed = assertThrows(SparkException.class,
                () -> emb.setFailFast(true).transform(df).collectAsList());
        assertTrue(failed.getMessage().contains("is not valid UTF-8") || failed.getMessage().contains("is null"), failed.getMessage());
        // no error column: the same
        SparkException noColumn = assertThrows(SparkException.class,
                () -> emb.setFailFast(false).setErrorCol("").transform(df).collectAsList());
        assertTrue(noColumn.getMessage().contains("is not valid UTF-8") || noColumn.getMessage().contains("is null"), noColumn.getMessage());
    }

    @Test
    void aModelThatCannotLoadFailsTheTask(@TempDir Path dir) {
        String missing = dir.resolve("absent.gguf").toString();
        SparkException failed = assertThrows(SparkException.class,
                () -> new LlamaEmbeddings().setModel(missing).transform(texts(TEXTS.subList(0, 1), 1)).collectAsList());
        assertTrue(failed.getMessage().contains("cannot load the model " + missing), failed.getMessage());
        SparkException noFile = assertThrows(SparkException.class,
                () -> new LlamaEmbeddings().setModel("sparkfiles:absent.gguf").transform(texts(TEXTS.subList(0, 1), 1)).collectAsList());
        assertTrue(noFile.getMessage().contains("is not among this node's Spark files"), noFile.getMessage());
    }

    @Test
    void hubReferenceIsDownloadedOncePerNodeAndLoadedOnTheExecutor(@TempDir Path cache) throws Exception {
        List<String> keys = List.of("llamaffm.hub.endpoint", "llamaffm.models.dir");
        java.util.Map<String, String> saved = new java.util.HashMap<>();
        for (String k : keys) saved.put(k, System.getProperty(k));
        try (FakeHub hub = new FakeHub()) {
            hub.addRepo("tester/minilm-GGUF", "0123456789abcdef0123456789abcdef01234567",
                    java.util.Map.of("all-minilm-F32.gguf", java.nio.file.Files.readAllBytes(model)), java.util.Set.of(), null);
            System.setProperty("llamaffm.hub.endpoint", hub.endpoint().toString());
            System.setProperty("llamaffm.models.dir", cache.toString()); // local mode: the executor is this JVM
            LlamaEmbeddings emb = new LlamaEmbeddings().setModel("hf:tester/minilm-GGUF:F32").setThreads(1).setBatchSize(2);
            List<float[]> expected = core(TEXTS, ContextParams.Pooling.MODEL, true, 2);
            for (int run = 0; run < 2; run++) {
                for (Row r : byId(emb.transform(texts(TEXTS, 2)))) {
                    assertNull(r.get(3));
                    assertTrue(SparkTests.cosine(expected.get(r.getInt(0)), SparkTests.floats(r.getList(2))) >= 0.99999);
                }
            }
            assertEquals(1, hub.requests("cdn", "GET").size(), "two jobs, two partitions each, one download");
        } finally {
            for (String k : keys) {
                if (saved.get(k) == null) System.clearProperty(k);
                else System.setProperty(k, saved.get(k));
            }
        }
    }

    @Test
    void sparkFilesLocation() {
        spark.sparkContext().addFile(model.toString());
        String name = model.getFileName().toString();
        List<Row> rows = byId(new LlamaEmbeddings().setModel("sparkfiles:" + name).setThreads(1).setBatchSize(8)
                .transform(texts(TEXTS.subList(0, 2), 1)));
        List<float[]> expected = core(TEXTS.subList(0, 2), ContextParams.Pooling.MODEL, true, 8);
        for (Row r : rows) {
            assertNotNull(r.get(2));
            assertTrue(SparkTests.cosine(expected.get(r.getInt(0)), SparkTests.floats(r.getList(2))) >= 0.99999);
        }
        assertArrayEquals(new String[] {"id", "text", "embedding", "error"}, rows.getFirst().schema().fieldNames());
    }
}
