package io.llamaffm.spark;

import io.llamaffm.Context;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.convert.MiniLmFixture;
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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LlamaReranker on local[2] against the core's {@link Context#rank}, with all-MiniLM-L6-v2 given a seeded rank head
 * (as the server's /v1/rerank tests do: no trained cross-encoder is reachable from the build machine).
 */
class LlamaRerankerIT {
    static final String[] QUERIES = {"Where do cats sleep?", "What is Spark?"};
    static final String[] DOCS = {"Cats sleep on warm windowsills.", "Apache Spark is a cluster computing engine.",
            "The weather is sunny today."};

    static SparkSession spark;
    static Path reranker;

    @BeforeAll
    static void start() throws IOException {
        Path dir = Files.createTempDirectory("spark-rerank");
        reranker = MiniLmFixture.RankHead.seeded(7).writeReranker(SparkTests.miniLm(), dir.resolve("minilm-rank.gguf"));
        spark = SparkTests.session("LlamaRerankerIT");
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    static Dataset<Row> pairs(int partitions) {
        List<Row> rows = new ArrayList<>();
        int id = 0;
        for (String q : QUERIES) for (String d : DOCS) rows.add(RowFactory.create(id++, q, d));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("query", DataTypes.StringType)
                .add("document", DataTypes.StringType);
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    @Test
    void scoresEqualTheCores() {
        float[][] expected = new float[QUERIES.length][];
        try (Model m = Model.load(reranker); Context ctx = m.newContext(LlamaReranker.contextParams(0, 1, 64))) {
            for (int q = 0; q < QUERIES.length; q++) expected[q] = ctx.rank(QUERIES[q], List.of(DOCS), EmbeddingParams.defaults());
        }
        List<Row> rows = new LlamaReranker().setModel(reranker.toString()).setThreads(1).transform(pairs(2))
                .orderBy("id").collectAsList();
        assertEquals(6, rows.size());
        assertEquals(DataTypes.FloatType, rows.getFirst().schema().apply("score").dataType());
        for (Row r : rows) {
            int id = r.getInt(0);
            assertNull(r.get(4));
            float want = expected[id / DOCS.length][id % DOCS.length];
            assertEquals(want, r.getFloat(3), 1e-5f * Math.max(1, Math.abs(want)), "pair " + id);
        }
        // a seeded head still separates the pairs: the scores are not all one value
        assertTrue(rows.stream().map(r -> r.getFloat(3)).distinct().count() == 6);
    }

    @Test
    void aNullDocumentIsItsRowsErrorAndSchemaIsChecked() {
        List<Row> in = List.of(RowFactory.create(0, QUERIES[0], DOCS[0]), RowFactory.create(1, QUERIES[0], null));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("query", DataTypes.StringType)
                .add("document", DataTypes.StringType);
        List<Row> rows = new LlamaReranker().setModel(reranker.toString()).setThreads(1)
                .transform(spark.createDataFrame(in, schema).coalesce(1)).orderBy("id").collectAsList();
        assertNull(rows.get(0).get(4));
        assertTrue(rows.get(1).isNullAt(3));
        assertEquals("the input column 'document' is null", rows.get(1).getString(4));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new LlamaReranker().setModel("m.gguf").setDocumentCol("doc").transformSchema(schema));
        assertEquals("LlamaReranker: the document column 'doc' is not in the input; its columns are [id, query, document]",
                missing.getMessage());
    }

    @Test
    void persistence(@TempDir Path dir) throws Exception {
        LlamaReranker rr = new LlamaReranker().setModel(reranker.toString()).setQueryCol("q").setDocumentCol("d")
                .setOutputCol("s").setLongInput("fail").setErrorCol("").setBatchSize(16);
        rr.save(dir.resolve("rr").toString());
        LlamaReranker back = LlamaReranker.load(dir.resolve("rr").toString());
        assertEquals(List.of(reranker.toString(), "q", "d", "s", "fail", "", 16),
                List.of(back.getModel(), back.getQueryCol(), back.getDocumentCol(), back.getOutputCol(), back.getLongInput(),
                        back.getErrorCol(), back.getBatchSize()));
    }
}
