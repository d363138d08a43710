package io.llamaffm.examples.spark;

import io.llamaffm.spark.LlamaEmbeddings;
import io.llamaffm.spark.SparkJvmFlags;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.posexplode;
import static org.apache.spark.sql.functions.split;
import static org.apache.spark.sql.functions.trim;

/**
 * Semantic search with Spark and llama-ffm: {@code index} embeds every paragraph of a folder of text files into a
 * Parquet table (file, paragraph, text, embedding, error); {@code query} embeds a question with the same model and
 * prints the k paragraphs whose vectors are closest (cosine: the vectors are normalized, so a dot product).
 *
 * <pre>
 * SparkEmbed index MODEL CORPUS_DIR OUT.parquet
 * SparkEmbed query MODEL OUT.parquet "question" [K]
 * </pre>
 * MODEL is what {@link LlamaEmbeddings#setModel} takes: a path every node sees, {@code sparkfiles:NAME}, or a hub
 * reference. Under spark-submit the master comes from it; run directly, the example uses {@code local[*]}.
 */
public final class SparkEmbed {
    private SparkEmbed() {}

    /**
     * A paragraph found for a question.
     *
     * @param file      the file's name
     * @param paragraph the paragraph's index in the file, from 0
     * @param score     the cosine similarity to the question
     * @param text      the paragraph
     */
    public record Hit(String file, int paragraph, double score, String text) {}

    /**
     * Runs {@code index} or {@code query}.
     *
     * @param args the command and its arguments (see the class description)
     */
    public static void main(String[] args) {
        SparkJvmFlags.checkJava();
        if (args.length < 4 || !(args[0].equals("index") || args[0].equals("query"))) {
            System.err.println("usage: SparkEmbed index MODEL CORPUS_DIR OUT.parquet\n       SparkEmbed query MODEL TABLE.parquet \"question\" [K]");
            System.exit(2);
        }
        SparkSession.Builder builder = SparkSession.builder().appName("llama-ffm spark-embed");
        if (!new SparkConf().contains("spark.master")) builder.master("local[*]").config("spark.ui.enabled", "false");
        SparkSession spark = builder.getOrCreate();
        try {
            if (args[0].equals("index")) {
                long[] counts = index(spark, args[1], args[2], args[3]);
                System.out.printf("%d paragraphs embedded into %s, %d failed (see the error column)%n", counts[0], args[3], counts[1]);
            } else {
                int k = args.length > 4 ? Integer.parseInt(args[4]) : 3;
                for (Hit h : query(spark, args[1], args[2], args[3], k)) {
                    System.out.printf("%.4f  %s #%d  %s%n", h.score(), h.file(), h.paragraph(), h.text().replaceAll("\\s+", " "));
                }
            }
        } finally {
            spark.stop();
        }
    }

    /** The embedding transformer both commands use: the same model and settings for passages and questions. */
    static LlamaEmbeddings embeddings(String model) {
        return new LlamaEmbeddings().setModel(model).setInputCol("text").setOutputCol("embedding").setNormalize(true)
                .setLongInput("truncate");
    }

    /**
     * Embeds every paragraph (text between blank lines) of the files in {@code corpus} into a Parquet table.
     *
     * @return the paragraphs embedded and those that failed
     */
    public static long[] index(SparkSession spark, String model, String corpus, String out) {
        Dataset<Row> files = spark.read().option("wholetext", true).text(corpus).select(col("_metadata.file_name").as("file"),
                col("value"));
        Dataset<Row> paragraphs = files.select(col("file"), posexplode(split(col("value"), "\\n\\s*\\n")).as(new String[] {"paragraph", "text"}))
                .withColumn("text", trim(col("text"))).filter(length(col("text")).gt(0));
        embeddings(model).transform(paragraphs).write().mode(SaveMode.Overwrite).parquet(out);
        Dataset<Row> table = spark.read().parquet(out);
        return new long[] {table.filter(col("error").isNull()).count(), table.filter(col("error").isNotNull()).count()};
    }

    /**
     * The {@code k} paragraphs of the table closest to the question.
     *
     * @return the hits, best first
     */
    public static List<Hit> query(SparkSession spark, String model, String table, String question, int k) {
        Dataset<Row> q = embeddings(model).setOutputCol("q").setErrorCol("")
                .transform(spark.createDataset(List.of(question), Encoders.STRING()).toDF("text")).select("q");
        List<Row> rows = spark.read().parquet(table).filter(col("error").isNull()).crossJoin(q)
                .withColumn("score", expr("aggregate(zip_with(embedding, q, (x, y) -> x * y), 0D, (acc, v) -> acc + v)"))
                .orderBy(col("score").desc()).limit(k).select("file", "paragraph", "score", "text").collectAsList();
        List<Hit> hits = new ArrayList<>();
        for (Row r : rows) hits.add(new Hit(r.getString(0), r.getInt(1), r.getDouble(2), r.getString(3)));
        return hits;
    }
}
