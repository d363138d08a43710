package io.llamaffm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llamaffm.Context;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ChatSession;
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

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** LlamaGenerator on local[2] against the core's greedy output, with stories260K (a tiny real LLaMA). */
class LlamaGeneratorIT {
    static final List<String> PROMPTS = List.of("Once upon a time", "The little dog", "Lily wanted to", "One day, Tom");

    static SparkSession spark;
    static Path stories;

    @BeforeAll
    static void start() {
        stories = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        assumeTrue(Files.isRegularFile(stories), "test model " + stories + " is absent");
        spark = SparkTests.session("LlamaGeneratorIT");
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    static Dataset<Row> prompts(List<String> prompts, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) rows.add(RowFactory.create(i, prompts.get(i)));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType);
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    static List<Row> byId(Dataset<Row> df) {
        return df.orderBy("id").collectAsList();
    }

    @Test
    void greedyOutputEqualsTheCores() {
        GenerationParams params = GenerationParams.defaults().withMaxTokens(24);
        List<String> plain = new ArrayList<>();
        List<String> chat = new ArrayList<>();
        try (Model m = Model.load(stories); Context ctx = m.newContext(LlamaGenerator.contextParams(0, 1))) {
            for (String p : PROMPTS) plain.add(ctx.generate(p, params, SamplerChain.greedy(), null).text());
            for (String p : PROMPTS) {
                chat.add(new ChatSession(ctx, ChatFormat.forModel(m), "Tell a story.").send(p, params, SamplerChain.greedy(), null)
                        .text().strip());
            }
        }
        List<Row> rows = byId(new LlamaGenerator().setModel(stories.toString()).setChat(false).setMaxTokens(24).setThreads(1)
                .transform(prompts(PROMPTS, 2)));
        for (Row r : rows) {
            assertNull(r.get(3), "row " + r);
            assertEquals(plain.get(r.getInt(0)), r.getString(2));
        }
        assertTrue(plain.stream().allMatch(s -> s.length() > 20), plain.toString());
        List<Row> chatRows = byId(new LlamaGenerator().setModel(stories.toString()).setSystemPrompt("Tell a story.")
                .setMaxTokens(24).setThreads(1).setBatchSize(3).transform(prompts(PROMPTS, 2)));
        for (Row r : chatRows) assertEquals(chat.get(r.getInt(0)), r.getString(2));
    }

    @Test
    void stopStringsAndMaxTokens() {
        String full;
        try (Model m = Model.load(stories); Context ctx = m.newContext(LlamaGenerator.contextParams(0, 1))) {
            full = ctx.generate(PROMPTS.getFirst(), GenerationParams.defaults().withMaxTokens(24), SamplerChain.greedy(), null).text();
        }
        String stop = full.substring(10, 13);
        Row r = new LlamaGenerator().setModel(stories.toString()).setChat(false).setMaxTokens(24).setStop(new String[] {stop})
                .setThreads(1).transform(prompts(PROMPTS.subList(0, 1), 1)).collectAsList().getFirst();
        assertEquals(full.substring(0, full.indexOf(stop)), r.getString(2));
        Row shortRow = new LlamaGenerator().setModel(stories.toString()).setChat(false).setMaxTokens(3).setThreads(1)
                .transform(prompts(PROMPTS.subList(0, 1), 1)).collectAsList().getFirst();
        assertTrue(full.startsWith(shortRow.getString(2)) && shortRow.getString(2).length() < full.length(), shortRow.getString(2));
    }

    @Test
    void jsonSchemaConstrainedExtractionGivesValidJson() throws Exception {
        String schema = """
                {"type":"object","properties":{"answer":{"type":"string","enum":["yes","no"]},
                 "count":{"type":"integer","minimum":0,"maximum":9}},"required":["answer","count"],"additionalProperties":false}""";
        List<Row> rows = byId(new LlamaGenerator().setModel(stories.toString()).setChat(false).setJsonSchema(schema)
                .setMaxTokens(96).setThreads(1).transform(prompts(PROMPTS, 2)));
        ObjectMapper json = new ObjectMapper();
        for (Row r : rows) {
            assertNull(r.get(3), "row " + r);
            JsonNode n = json.readTree(r.getString(2));
            assertEquals(Set.of("answer", "count"), Set.copyOf(iterable(n.fieldNames())), r.getString(2));
            assertTrue(Set.of("yes", "no").contains(n.get("answer").asText()), r.getString(2));
            assertTrue(n.get("count").isInt() && n.get("count").asInt() >= 0 && n.get("count").asInt() <= 9, r.getString(2));
        }
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> new LlamaGenerator()
                .setModel(stories.toString()).setJsonSchema("{\"type\": 12").transform(prompts(PROMPTS, 1)));
        assertFalse(bad.getMessage().isBlank());
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    @Test
    void aPromptThatDoesNotFitIsItsRowsErrorOrFailsTheTask() {
        List<String> prompts = List.of("Once upon a time", "the dog and the cat ".repeat(40));
        LlamaGenerator gen = new LlamaGenerator().setModel(stories.toString()).setChat(false).setContextLength(64)
                .setMaxTokens(8).setThreads(1);
        List<Row> rows = byId(gen.transform(prompts(prompts, 1)));
        assertNull(rows.get(0).get(3));
        assertFalse(rows.get(0).getString(2).isEmpty());
        assertTrue(rows.get(1).isNullAt(2));
        // llama.cpp pads the context to a multiple of 256
        assertTrue(rows.get(1).getString(3).startsWith("the prompt has 282 tokens but the context holds 256"),
                rows.get(1).getString(3));
        SparkException failed = assertThrows(SparkException.class, () -> gen.setFailFast(true).transform(prompts(prompts, 1)).collectAsList());
        assertTrue(failed.getMessage().contains(rows.get(1).getString(3)), failed.getMessage());
    }

    @Test
    void defaultsAndPersistenceInAPipeline(@TempDir Path dir) throws Exception {
        LlamaGenerator d = new LlamaGenerator();
        assertEquals(List.of("prompt", "text", true, 128, 0f, 40, 0.95f, 0.05f, -1, 8, "error", false),
                List.of(d.getInputCol(), d.getOutputCol(), d.getChat(), d.getMaxTokens(), d.getTemperature(), d.getTopK(),
                        d.getTopP(), d.getMinP(), d.getSeed(), d.getBatchSize(), d.getErrorCol(), d.getFailFast()));
        assertNull(d.getSystemPrompt());
        assertNull(d.getJsonSchema());
        assertNull(d.getGrammar());
        assertArrayEquals(new String[0], d.getStop());
        assertThrows(IllegalArgumentException.class, () -> d.setTopP(1.5));
        assertThrows(IllegalArgumentException.class, () -> d.setMaxTokens(0));

        LlamaGenerator gen = new LlamaGenerator().setModel(stories.toString()).setChat(false).setSystemPrompt("sys")
                .setMaxTokens(12).setTemperature(0.7).setTopK(5).setTopP(0.9).setMinP(0.1).setSeed(1234)
                .setGrammar("root ::= \"yes\" | \"no\"").setStop(new String[] {"\n", "END"}).setThreads(1).setContextLength(128);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {gen}).fit(prompts(PROMPTS, 1));
        fitted.write().overwrite().save(dir.toString());
        LlamaGenerator back = (LlamaGenerator) PipelineModel.load(dir.toString()).stages()[0];
        assertEquals(List.of(stories.toString(), false, "sys", 12, 0.7f, 5, 0.9f, 0.1f, 1234, "root ::= \"yes\" | \"no\"", 1, 128),
                List.of(back.getModel(), back.getChat(), back.getSystemPrompt(), back.getMaxTokens(), back.getTemperature(),
                        back.getTopK(), back.getTopP(), back.getMinP(), back.getSeed(), back.getGrammar(), back.getThreads(),
                        back.getContextLength()));
        assertArrayEquals(new String[] {"\n", "END"}, back.getStop());
        // the grammar and the seed hold: the loaded stage's output is one of the two answers, and the same twice
        List<Row> a = byId(back.transform(prompts(PROMPTS.subList(0, 2), 1)));
        List<Row> b = byId(back.transform(prompts(PROMPTS.subList(0, 2), 1)));
        for (int i = 0; i < 2; i++) {
            assertTrue(Set.of("yes", "no").contains(a.get(i).getString(2)), a.get(i).toString());
            assertEquals(a.get(i).getString(2), b.get(i).getString(2));
        }
    }
}
