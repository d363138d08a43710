package io.llamaffm.examples.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code llama-ffm} CLI as a user runs it: the executable jar in a child process, on stories260K (tiny LLaMA:
 * 8 query heads sharing 4 KV heads, a 512-token SentencePiece vocabulary). One thread per generation keeps the
 * timings sane on a busy machine.
 */
class CliIT {
    static final String GREEDY = ", there was a little girl named Lily. She loved to play outside in the park.";

    static Path model;

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    @BeforeAll
    static void findModel() {
        model = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(model), "../shared/models/stories260K.gguf is absent");
        assertTrue(Files.isRegularFile(Path.of("target", "llama-ffm-examples.jar")), "the shaded jar is built in the package phase");
    }

    static Result cliWithInput(String stdin, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", Path.of("target", "llama-ffm-examples.jar").toString()));
        command.addAll(List.of(args));
        Path errFile = Files.createTempFile("cli-stderr", ".txt");
        try {
            Process p = new ProcessBuilder(command).redirectError(errFile.toFile()).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            String out;
            try (InputStream o = p.getInputStream()) {
                out = new String(o.readAllBytes(), StandardCharsets.UTF_8);
            }
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the CLI did not finish: " + command);
            return new Result(p.exitValue(), out, Files.readString(errFile, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(errFile);
        }
    }

    static Result cli(String... args) throws Exception {
        return cliWithInput("", args);
    }

    @Test
    void inspectShowsGroupedQueryAttentionAndTheMemoryEstimate() throws Exception {
        Result r = cli("inspect", model.toString());
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("attention          GQA: 8 heads, 4 KV heads, head dim 8, group size 2\n"), r::toString);
        assertTrue(r.out().contains("architecture       llama\n"), r::toString);
        assertTrue(r.out().contains("layers             5\n"), r::toString);
        assertTrue(r.out().contains("vocabulary         SPM, 512 tokens, BOS 1, EOS 2, EOT -1\n"), r::toString);
        assertTrue(r.out().contains("experts            none\n"), r::toString);
        // 2 (K and V) x 5 layers x 2048 tokens x 4 KV heads x 8 dims x 2 bytes = 1.25 MiB
        assertTrue(r.out().contains("memory for 2048 tokens x 1 sequence, F16 cache, no GPU found: all on the CPU\n"),
                r::toString);
        assertTrue(r.out().contains("  KV cache         1.3 MiB\n"), r::toString);
        assertTrue(r.out().contains("read               GGUF header only ("), r::toString);
        assertTrue(Pattern.compile("\n  fits             yes: [0-9.]+ [KMG]i?B in RAM of [0-9.]+ [KMGT]iB available\n")
                .matcher(r.out()).find(), r::toString);
        assertFalse(r.err().contains("loading"), "no progress line when stderr is not a terminal: " + r.err());
    }

    @Test
    void inspectJsonIsOneParsableObject() throws Exception {
        Result r = cli("inspect", model.toString(), "--json", "--ctx", "256", "--batch", "2", "--cache-type", "q8_0");
        assertEquals(0, r.code(), r::toString);
        assertEquals(1, r.out().lines().count(), r::toString);
        Object doc = MiniJson.parse(r.out());
        assertEquals("llama", MiniJson.get(doc, "architecture"));
        assertEquals(8L, MiniJson.get(doc, "attention", "heads"));
        assertEquals(4L, MiniJson.get(doc, "attention", "kvHeads"));
        assertEquals(8L, MiniJson.get(doc, "attention", "headDim"));
        assertEquals("GQA", MiniJson.get(doc, "attention", "kind"));
        assertEquals(2L, MiniJson.get(doc, "attention", "groupSize"));
        assertEquals(0L, MiniJson.get(doc, "attention", "slidingWindow"));
        assertEquals(5L, MiniJson.get(doc, "layers"));
        assertEquals(64L, MiniJson.get(doc, "embeddingLength"));
        assertEquals(null, MiniJson.get(doc, "experts"));
        assertEquals("NORM", MiniJson.get(doc, "rope", "type"));
        assertEquals(10000L, MiniJson.get(doc, "rope", "frequencyBase"));
        assertEquals("SPM", MiniJson.get(doc, "vocabulary", "type"));
        assertEquals(512L, MiniJson.get(doc, "vocabulary", "size"));
        assertEquals(null, MiniJson.get(doc, "chatTemplate"));
        assertEquals(256L, MiniJson.get(doc, "memory", "contextLength"));
        assertEquals(2L, MiniJson.get(doc, "memory", "sequences"));
        assertEquals("Q8_0", MiniJson.get(doc, "memory", "cacheType"));
        // 2 x 5 layers x 256 tokens x 2 sequences = 5120 rows of 32 values; one Q8_0 block of 32 values is 34 bytes
        assertEquals(5120L * 34, MiniJson.get(doc, "memory", "kvCacheBytes"));
        long weights = (Long) MiniJson.get(doc, "memory", "weightsBytes");
        assertEquals(MiniJson.get(doc, "sizeBytes"), weights);
        assertEquals(weights + 5120L * 34, MiniJson.get(doc, "memory", "totalBytes"));
    }

    @Test
    void inspectReadsAVocabularyOnlyFileWithAChatTemplate() throws Exception {
        Path vocab = llamaCppModels().resolve("ggml-vocab-phi-3.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(vocab), "no " + vocab);
        Result loaded = cli("inspect", vocab.toString(), "--load");
        assertEquals(1, loaded.code(), loaded::toString);
        assertEquals(1, loaded.err().lines().count(), loaded::toString);
        assertTrue(loaded.err().contains("tensor 'token_embd.weight' not found"), loaded::toString);
        // the header alone reads: no weights, a KV cache sized from the metadata
        Result header = cli("inspect", vocab.toString(), "--json");
        assertEquals(0, header.code(), header::toString);
        Object h = MiniJson.parse(header.out());
        assertEquals("header", MiniJson.get(h, "read"));
        assertEquals("phi3", MiniJson.get(h, "architecture"));
        assertEquals(32064L, MiniJson.get(h, "vocabulary", "size"));
        assertEquals(0L, MiniJson.get(h, "memory", "weightsBytes"));
        assertTrue(((String) MiniJson.get(h, "chatTemplate")).contains("<|assistant|>"), header::toString);
        Result r = cli("inspect", vocab.toString(), "--vocab-only", "--json");
        assertEquals(0, r.code(), r::toString);
        Object doc = MiniJson.parse(r.out());
        assertEquals(true, MiniJson.get(doc, "vocabOnly"));
        assertEquals("phi3", MiniJson.get(doc, "architecture"));
        assertEquals(32064L, MiniJson.get(doc, "vocabulary", "size"));
        assertTrue(((String) MiniJson.get(doc, "chatTemplate")).contains("<|assistant|>"), r::toString);
        assertEquals(null, MiniJson.get(doc, "memory"));
    }

    @Test
    void inspectReadsAFileCutAfterItsHeaderAndOneWithoutTokenizer(@TempDir Path tmp) throws Exception {
        long headerSize;
        try (io.llamaffm.gguf.GgufFile f = io.llamaffm.gguf.GgufFile.open(model)) {
            headerSize = f.headerSize();
        }
        byte[] bytes = Files.readAllBytes(model);
        Path cut = Files.write(tmp.resolve("cut.gguf"), java.util.Arrays.copyOf(bytes, (int) headerSize));
        Result whole = cli("inspect", model.toString(), "--json", "--ctx", "4096", "--parallel", "2");
        Result r = cli("inspect", cut.toString(), "--json", "--ctx", "4096", "--parallel", "2");
        assertEquals(0, r.code(), r::toString);
        Object w = MiniJson.parse(whole.out());
        Object c = MiniJson.parse(r.out());
        assertEquals(headerSize, MiniJson.get(c, "headerBytes"));
        for (String field : List.of("parameters", "sizeBytes", "layers", "description")) {
            assertEquals(MiniJson.get(w, field), MiniJson.get(c, field), field);
        }
        assertEquals(292_800L, MiniJson.get(c, "parameters"));
        // 5 layers x 2 sequences x 2 048 cells x (32 + 32 values) x 2 bytes
        assertEquals(5L * 2 * 2048 * 64 * 2, MiniJson.get(c, "memory", "kvCacheBytes"));
        for (String field : List.of("weightsBytes", "kvCacheBytes", "gpuWeightsBytes", "gpuKvCacheBytes", "fits")) {
            assertEquals(MiniJson.get(w, "memory", field), MiniJson.get(c, "memory", field), field);
        }
        assertEquals(1, cli("inspect", cut.toString(), "--load").code(), "llama.cpp needs the weights");

        Path bare = tmp.resolve("bare.gguf");
        new io.llamaffm.gguf.GgufWriter().putString("general.architecture", "qwen3").putUInt32("qwen3.block_count", 28)
                .putUInt32("qwen3.context_length", 40960).putUInt32("qwen3.embedding_length", 1024)
                .putUInt32("qwen3.attention.head_count", 16).putUInt32("qwen3.attention.head_count_kv", 8)
                .putUInt32("qwen3.attention.key_length", 128).putUInt32("qwen3.attention.value_length", 128)
                .write(bare);
        Result b = cli("inspect", bare.toString(), "--ctx", "8192");
        assertEquals(0, b.code(), b::toString);
        assertTrue(b.out().contains("vocabulary         NONE, 0 tokens, BOS -1, EOS -1, EOT -1\n"), b::toString);
        assertTrue(b.out().contains("attention          GQA: 16 heads, 8 KV heads, head dim 128, group size 2\n"), b::toString);
        // Qwen3-0.6B's cache: 28 layers x 8 192 cells x 2 x 8 x 128 values x 2 bytes = 896 MiB
        assertTrue(b.out().contains("  KV cache         896.0 MiB\n"), b::toString);
        assertTrue(b.out().contains("no GPU found: all on the CPU"), b::toString);
    }

    @Test
    void tokenizeGivesIdsAndPieces() throws Exception {
        Result ids = cli("tokenize", model.toString(), "Once upon a time", "--ids");
        assertEquals(0, ids.code(), ids::toString);
        assertEquals("1 403 407 261 378\n", ids.out());
        Result noBos = cli("tokenize", model.toString(), "Once upon a time", "--ids", "--no-bos");
        assertEquals("403 407 261 378\n", noBos.out(), noBos::toString);
        Result text = cli("tokenize", model.toString(), "Once upon a time");
        assertEquals("      1  '<s>'\n    403  ' Once'\n    407  ' upon'\n    261  ' a'\n    378  ' time'\n5 tokens\n", text.out(),
                text::toString);
        Result json = cli("tokenize", model.toString(), "Once upon a time", "--json");
        Object doc = MiniJson.parse(json.out());
        assertEquals(List.of(1L, 403L, 407L, 261L, 378L), MiniJson.get(doc, "ids"));
        assertEquals(" Once", MiniJson.get(doc, "tokens", 1, "piece"));
        assertEquals(5L, MiniJson.get(doc, "count"));
        Result stdin = cliWithInput("Once upon a time", "tokenize", model.toString(), "-", "--ids");
        assertEquals("1 403 407 261 378\n", stdin.out(), stdin::toString);
    }

    @Test
    void tokenizeShowsBytesOfPartialCharactersAndParsesSpecialTokensUnlessTold() throws Exception {
        Result special = cli("tokenize", model.toString(), "🦙<s>", "--no-bos");
        assertTrue(special.out().contains("'\\xf0'\n"), special::toString); // the llama emoji falls back to byte tokens
        assertTrue(special.out().endsWith("      1  '<s>'\n6 tokens\n"), special::toString);
        Result plain = cli("tokenize", model.toString(), "🦙<s>", "--no-bos", "--no-special", "--json");
        Object doc = MiniJson.parse(plain.out());
        assertFalse(((List<?>) MiniJson.get(doc, "ids")).contains(1L), plain::toString);
        assertEquals(List.of(410L, 243L, 162L, 169L, 156L, 504L, 419L, 505L), MiniJson.get(doc, "ids"), plain::toString);
        assertEquals(List.of(240L), MiniJson.get(doc, "tokens", 1, "bytes")); // U+1F999 is F0 9F A6 99 in UTF-8
        assertEquals(null, MiniJson.get(doc, "tokens", 0, "bytes"), "whole characters need no bytes");
    }

    @Test
    void greedyGenerationStreamsTheKnownContinuationAndReportsTimings() throws Exception {
        Result r = cli("generate", model.toString(), "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "16",
                "--threads", "1");
        assertEquals(0, r.code(), r::toString);
        assertEquals(", there was a little girl named Lily. She loved to play\n", r.out(), r::toString);
        assertTrue(GREEDY.startsWith(r.out().strip()));
        assertEquals(1, r.err().lines().count(), r::toString);
        assertTrue(Pattern.compile("^prompt: 5 tokens, [0-9.]+ tokens/s \\| generated: 16 tokens, [0-9.]+ tokens/s "
                + "\\| first token: [0-9.]+ m?s \\| stop: max tokens\n$").matcher(r.err()).matches(), r::toString);
    }

    @Test
    void generationStopsAtAStopString() throws Exception {
        Result r = cli("generate", model.toString(), "-p", "Once upon a time", "--temperature", "0", "-n", "32", "-t", "1",
                "--stop", "Lily", "--stop", "nothing like this");
        assertEquals(0, r.code(), r::toString);
        assertEquals(", there was a little girl named \n", r.out(), r::toString);
        assertTrue(r.err().contains("stop: stop string"), r::toString);
    }

    @Test
    void aGrammarConstrainsGreedyAndSampledOutput(@TempDir Path dir) throws Exception {
        Path grammar = dir.resolve("pet.gbnf");
        Files.writeString(grammar, """
                # a pet and its name
                root ::= " there was a " pet " named " name "."
                pet  ::= "cat" | "dog"
                name ::= [A-Z] [a-z]+
                """);
        Pattern shape = Pattern.compile(" there was a (cat|dog) named [A-Z][a-z]+\\.\n");
        Result greedy = cli("generate", model.toString(), "-p", "Once upon a time,", "--grammar", grammar.toString(),
                "--temperature", "0", "-n", "32", "-t", "1");
        assertEquals(0, greedy.code(), greedy::toString);
        assertTrue(shape.matcher(greedy.out()).matches(), greedy::toString);
        assertTrue(greedy.err().contains("stop: end of generation"), "a complete grammar allows only the end: " + greedy);
        Result free = cli("generate", model.toString(), "-p", "Once upon a time,", "--temperature", "0", "-n", "12", "-t", "1");
        assertFalse(shape.matcher(free.out()).matches(), "without the grammar the model says something else: " + free);
        for (String seed : List.of("1", "2", "3")) {
            Result sampled = cli("generate", model.toString(), "-p", "Once upon a time,", "--grammar", grammar.toString(),
                    "--temperature", "1.5", "--seed", seed, "-n", "32", "-t", "1");
            assertEquals(0, sampled.code(), sampled::toString);
            assertTrue(shape.matcher(sampled.out()).matches(), sampled::toString);
        }
    }

    @Test
    void aBadGrammarIsAOneLineError(@TempDir Path dir) throws Exception {
        Path grammar = Files.writeString(dir.resolve("bad.gbnf"), "root ::= \"x\" (\n");
        Result r = cli("generate", model.toString(), "-p", "x", "--grammar", grammar.toString(), "-t", "1");
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("error: invalid GBNF grammar")), r::toString);
        assertFalse(r.err().contains("\tat "), r::toString);
    }

    @Test
    void jsonSchemaConstrainsTheOutputToMatchingJson(@TempDir Path dir) throws Exception {
        Path schema = Files.writeString(dir.resolve("s.json"),
                "{\"type\":\"object\",\"properties\":{\"mood\":{\"enum\":[\"happy\",\"sad\"]}},\"required\":[\"mood\"]}");
        Result r = cli("generate", model.toString(), "-p", "Once upon a time", "--json-schema", schema.toString(),
                "--temperature", "0", "-n", "32", "-t", "1");
        assertEquals(0, r.code(), r::toString);
        Object parsed = MiniJson.parse(r.out().strip());
        assertTrue(parsed instanceof java.util.Map<?, ?> m && java.util.List.of("happy", "sad").contains(m.get("mood")), r::toString);
    }

    @Test
    void embedPrintsOneNormalizedVectorPerText() throws Exception {
        Result r = cli("embed", model.toString(), "Lily went to the park.", "The dog ran.", "--pooling", "MEAN", "-t", "1");
        assertEquals(0, r.code(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r::toString);
        for (String line : lines) {
            double sq = 0;
            String[] xs = line.trim().split(" ");
            assertEquals(64, xs.length);
            for (String x : xs) {
                sq += Double.parseDouble(x) * Double.parseDouble(x);
            }
            assertEquals(1.0, sq, 1e-3);
        }
        Result json = cli("embed", model.toString(), "Hi.", "--json", "--pooling", "MEAN", "-t", "1");
        assertEquals(0, json.code(), json::toString);
        Object doc = MiniJson.parse(json.out());
        assertTrue(doc instanceof List<?> l && l.size() == 1, json::toString);
    }

    @Test
    void searchIndexesFilesAndFindsTheChunkAQueryRepeats(@TempDir Path dir) throws Exception {
        Path doc = Files.writeString(dir.resolve("story.txt"),
                "Lily had a red ball. She played with it in the park every day. ".repeat(6)
                        + "Tom had a big dog. The dog liked to run and bark at the birds. ".repeat(6));
        Path index = dir.resolve("story.idx");
        Result added = cli("search", model.toString(), "--index", index.toString(), "--add", doc.toString(),
                "--chunk", "48", "--overlap", "8", "--pooling", "MEAN", "-t", "1");
        assertEquals(0, added.code(), added::toString);
        assertTrue(added.err().contains("added "), added::toString);
        assertTrue(Files.size(index) > 0);
        // a query that is exactly one chunk's text finds that chunk first, with cosine 1
        io.llamaffm.embeddings.VectorIndex idx = io.llamaffm.embeddings.VectorIndex.load(index);
        String chunk1 = idx.get("story.txt#1").orElseThrow().metadata();
        Result q = cli("search", model.toString(), "--index", index.toString(), "--query", chunk1, "-k", "2",
                "--pooling", "MEAN", "-t", "1");
        assertEquals(0, q.code(), q::toString);
        List<String> hits = q.out().lines().toList();
        assertEquals(2, hits.size(), q::toString);
        assertTrue(hits.getFirst().startsWith("1.0000  story.txt#1"), q::toString);
        Result none = cli("search", model.toString(), "--index", dir.resolve("missing.idx").toString(), "--query", "x");
        assertEquals(1, none.code(), none::toString);
    }

    @Test
    void searchIndexesEveryTextFileUnderAFolder(@TempDir Path dir) throws Exception {
        Path docs = Files.createDirectories(dir.resolve("docs"));
        Files.writeString(docs.resolve("lily.txt"), "Lily had a red ball. She played with it in the park every day.");
        Files.createDirectories(docs.resolve("sub"));
        Files.writeString(docs.resolve("sub").resolve("tom.md"), "Tom had a big dog. The dog liked to run and bark at the birds.");
        Files.createDirectories(docs.resolve(".git"));
        Files.writeString(docs.resolve(".git").resolve("config"), "hidden folders are not indexed");
        Files.write(docs.resolve("image.bin"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0, (byte) 0xff});
        Path index = dir.resolve("docs.idx");
        Result added = cli("search", model.toString(), "--index", index.toString(), "--add", docs.toString(), "--pooling", "MEAN",
                "-t", "1");
        assertEquals(0, added.code(), added::toString);
        assertEquals(List.of("skipped " + docs.resolve("image.bin") + " (not UTF-8 text)", "added 1 chunks of "
                + docs.resolve("lily.txt"), "added 1 chunks of " + docs.resolve("sub").resolve("tom.md")), added.err().lines().toList());
        io.llamaffm.embeddings.VectorIndex idx = io.llamaffm.embeddings.VectorIndex.load(index);
        assertEquals(List.of("docs/lily.txt#0", "docs/sub/tom.md#0"), idx.ids().stream().sorted().toList());
        Result q = cli("search", model.toString(), "--index", index.toString(), "--query",
                "Tom had a big dog. The dog liked to run and bark at the birds.", "-k", "1", "--pooling", "MEAN", "-t", "1");
        assertTrue(q.out().startsWith("1.0000  docs/sub/tom.md#0  Tom had a big dog."), q::toString);
        Result missing = cli("search", model.toString(), "--index", index.toString(), "--add", dir.resolve("nope").toString());
        assertEquals("error: no such file or folder: " + dir.resolve("nope") + "\n", missing.err(), missing::toString);
    }

    @Test
    void convertOnnxThenSemanticSearchFindsTheRightDocument(@TempDir Path dir) throws Exception {
        Path onnx = dir.resolve("all-minilm-l6-v2.onnx");
        Path tokenizer = dir.resolve("all-minilm-l6-v2-tokenizer.json");
        for (Path p : List.of(onnx, tokenizer)) {
            try (java.io.InputStream in = CliIT.class.getClassLoader().getResourceAsStream(p.getFileName().toString())) {
                Files.copy(java.util.Objects.requireNonNull(in, "MiniLM artifact on the test class path"), p);
            }
        }
        Path gguf = dir.resolve("minilm.gguf");
        Result converted = cli("convert-onnx", onnx.toString(), tokenizer.toString(), gguf.toString(), "--type", "f16");
        assertEquals(0, converted.code(), converted::toString);
        assertTrue(converted.out().contains("bert, 6 layers, 384 wide, 12 heads, 30522 tokens, F16"), converted::toString);

        Path index = dir.resolve("docs.idx");
        Path pasta = Files.writeString(dir.resolve("pasta.txt"), "Boil salted water, add the spaghetti and cook it for "
                + "nine minutes. Drain the pasta and toss it with tomato sauce and grated parmesan cheese.");
        Path natives = Files.writeString(dir.resolve("natives.txt"), "The loader extracts the shared libraries from the "
                + "jar into a cache folder, checks their checksums and loads them with System.load before calling llama.cpp.");
        Path planets = Files.writeString(dir.resolve("planets.txt"), "Jupiter is the largest planet of the solar system; "
                + "Saturn has bright rings made of ice, and Mars is a cold desert world.");
        Result added = cli("search", gguf.toString(), "--index", index.toString(), "--add", pasta.toString(),
                natives.toString(), planets.toString(), "-t", "2");
        assertEquals(0, added.code(), added::toString);
        Path hnsw = dir.resolve("docs-hnsw");
        Result addedHnsw = cli("search", gguf.toString(), "--index-type", "hnsw", "--index", hnsw.toString(), "--add",
                pasta.toString(), natives.toString(), planets.toString(), "-t", "2");
        assertEquals(0, addedHnsw.code(), addedHnsw::toString);
        assertTrue(Files.isDirectory(hnsw), addedHnsw::toString);
        for (String[] q : new String[][] {{"how are the native libraries loaded?", "natives.txt#0"},
                {"what should I cook for dinner tonight?", "pasta.txt#0"}, {"which planet has rings?", "planets.txt#0"}}) {
            Result hits = cli("search", gguf.toString(), "--index", index.toString(), "--query", q[0], "-k", "3", "-t", "2");
            assertEquals(0, hits.code(), hits::toString);
            assertEquals(3, hits.out().lines().count(), hits::toString);
            assertTrue(hits.out().lines().findFirst().orElseThrow().contains(q[1]), q[0] + " → " + hits);
            // the HNSW index answers the same: same chunks in the same order, same cosines (to float rounding)
            Result hnswHits = cli("search", gguf.toString(), "--index-type", "hnsw", "--index", hnsw.toString(),
                    "--query", q[0], "-k", "3", "-t", "2");
            assertEquals(0, hnswHits.code(), hnswHits::toString);
            List<String> flatLines = hits.out().lines().toList();
            List<String> hnswLines = hnswHits.out().lines().toList();
            assertEquals(3, hnswLines.size(), hnswHits::toString);
            for (int i = 0; i < 3; i++) {
                String[] f = flatLines.get(i).split("  ", 2);
                String[] h = hnswLines.get(i).split("  ", 2);
                assertEquals(f[1], h[1], hnswHits::toString);
                assertEquals(Double.parseDouble(f[0]), Double.parseDouble(h[0]), 1.5e-4, hnswHits::toString);
            }
        }
        Result none = cli("search", gguf.toString(), "--index-type", "hnsw", "--index", dir.resolve("none").toString(),
                "--query", "x", "-t", "2");
        assertEquals(1, none.code(), none::toString);
        assertTrue(none.err().contains("no index at " + dir.resolve("none")), none::toString);
    }

    @Test
    void chatAnswersTwoTurnsFromPipedInputReusingTheFirstTurnAndExitsAtEndOfInput() throws Exception {
        Result r = cliWithInput("Hello\n\nTell me a story\n", "chat", model.toString(), "--temperature", "0", "-n", "24", "-t", "1");
        assertEquals(0, r.code(), r::toString);
        List<String> turns = r.err().lines().filter(l -> l.startsWith("prompt: ")).toList();
        assertEquals(2, turns.size(), r::toString);
        assertFalse(turns.get(0).contains("reused"), r::toString);
        assertTrue(Pattern.compile("prompt: \\d+ tokens, [0-9.]+ tokens/s \\(\\d+ reused from the cache\\)").matcher(turns.get(1)).find(),
                "the second turn decodes only what the first did not leave in the KV cache: " + r);
        List<String> replies = r.out().lines().toList();
        assertEquals(2, replies.size(), r::toString);
        assertFalse(replies.get(0).isBlank(), r::toString);
        assertFalse(replies.get(0).startsWith(" "), r::toString);
        // the second reply is what the model says after the whole conversation, not after the last message alone
        String conversation = "User: Hello\nAssistant: " + replies.get(0) + "\nUser: Tell me a story\nAssistant:";
        Result full = cli("generate", model.toString(), "-p", conversation, "--temperature", "0", "-n", "24", "-t", "1");
        assertEquals(replies.get(1), full.out().strip(), () -> r + "\n" + full);
        Result alone = cli("generate", model.toString(), "-p", "User: Tell me a story\nAssistant:", "--temperature", "0",
                "-n", "24", "-t", "1");
        assertNotEquals(replies.get(1), alone.out().strip(), () -> r + "\n" + alone);
    }

    @Test
    void chatCommandsResetAndExit() throws Exception {
        Result r = cliWithInput("Hello\n/reset\nHello\n/exit\nnever read\n", "chat", model.toString(), "--temperature", "0", "-n", "8",
                "-t", "1");
        assertEquals(0, r.code(), r::toString);
        List<String> replies = r.out().lines().toList();
        assertEquals(2, replies.size(), r::toString);
        assertEquals(replies.get(0), replies.get(1), "after /reset the same message gets the same greedy reply: " + r);
        assertTrue(r.err().contains("(new conversation)"), r::toString);
        assertEquals(2, r.err().lines().filter(l -> l.startsWith("prompt: ")).count(), r::toString);
    }

    /** The README's extraction schema. */
    static final Path PET_SCHEMA = Path.of("pet.schema.json");

    @Test
    void extractPrintsSchemaValidJsonEqualToTheLibrarysExtraction(@TempDir Path dir) throws Exception {
        Path schema = PET_SCHEMA;
        String text = "Tom is a big brown dog. He is 7 years old.";
        Result r = cli("extract", model.toString(), "--schema", schema.toString(), text, "-t", "1");
        assertEquals(0, r.code(), r::toString);
        String expected;
        try (io.llamaffm.Model m = io.llamaffm.Model.load(model);
             io.llamaffm.Context ctx = m.newContext(io.llamaffm.ContextParams.defaults().withThreads(1))) {
            expected = new io.llamaffm.examples.JsonExtractor(ctx, Files.readString(schema)).extract(text, 512).json();
        }
        assertEquals(expected + "\n", r.out(), r::toString);
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode json = mapper.readTree(r.out());
        List<String> fields = new ArrayList<>();
        json.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("name", "animal", "age"), fields, r::toString);
        assertTrue(json.get("name").isTextual() && json.get("name").asText().length() <= 12, r::toString);
        assertTrue(List.of("cat", "dog", "bird").contains(json.get("animal").asText()), r::toString);
        assertTrue(json.get("age").isInt() && json.get("age").asInt() >= 1 && json.get("age").asInt() <= 20, r::toString);
        assertTrue(r.err().contains("stop: end of generation"), r::toString);

        Result pretty = cliWithInput(text, "extract", model.toString(), "--schema", schema.toString(), "-", "--pretty", "-t", "1");
        assertEquals(0, pretty.code(), pretty::toString);
        assertEquals(json, mapper.readTree(pretty.out()), "the text from stdin gives the same JSON");
        assertTrue(pretty.out().startsWith("{\n  \"name\" : "), pretty::toString);

        Result cut = cli("extract", model.toString(), "--schema", schema.toString(), text, "-n", "5", "-t", "1");
        assertEquals(1, cut.code(), cut::toString);
        assertEquals("error: the model did not finish the JSON within 5 tokens (stopped: MAX_TOKENS); allow more tokens "
                + "(--max-tokens)\n", cut.err(), cut::toString);
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"type\": \"tree\"}");
        Result unsupported = cli("extract", model.toString(), "--schema", bad.toString(), text);
        assertEquals(1, unsupported.code(), unsupported::toString);
        assertTrue(unsupported.err().startsWith("error: cannot convert the JSON schema in " + bad), unsupported::toString);
    }

    @Test
    void chatDrawsTheLoadProgressBarWhenAsked() throws Exception {
        Result r = cliWithInput("Hello\n", "--progress=always", "chat", model.toString(), "--temperature", "0", "-n", "4", "-t", "1");
        assertEquals(0, r.code(), r::toString);
        assertTrue(Pattern.compile("\rloading stories260K\\.gguf \\[#+-+\\] +[1-9][0-9]?%  [0-9.]+ s").matcher(r.err()).find(),
                "a partly filled bar while it loads: " + r);
        assertTrue(r.err().contains("\rloading stories260K.gguf [####################] 100%"), r::toString);
        assertTrue(Pattern.compile("\rloaded stories260K\\.gguf \\([0-9.]+ [KM]iB\\) in [0-9.]+ s *\n").matcher(r.err()).find(),
                r::toString);
        assertEquals(1, r.out().lines().count(), r::toString);
    }

    @Test
    void aMissingModelIsAClearOneLineError() throws Exception {
        for (String sub : List.of("inspect", "tokenize", "generate", "chat")) {
            List<String> args = new ArrayList<>(List.of(sub, "no/such/model.gguf"));
            if (sub.equals("tokenize")) {
                args.add("text");
            } else if (sub.equals("generate")) {
                args.addAll(List.of("-p", "text"));
            }
            Result r = cli(args.toArray(String[]::new));
            assertEquals(1, r.code(), r::toString);
            // inspect reads the header itself (no load): it names the path as given
            assertEquals(sub.equals("inspect") ? "error: cannot read model no/such/model.gguf: no such file\n"
                    : "error: cannot load model " + Path.of("no/such/model.gguf").toAbsolutePath() + ": no such file\n",
                    r.err(), r::toString);
            assertEquals("", r.out(), r::toString);
        }
        Result usage = cli("generate", model.toString());
        assertEquals(2, usage.code(), usage::toString);
        assertEquals(1, usage.err().lines().count(), usage::toString);
    }

    @Test
    void theProgressLineCanBeForcedOnAndEndsWithTheLoadedSize() throws Exception {
        Result r = cli("--progress=always", "tokenize", model.toString(), "Once", "--ids");
        assertEquals(0, r.code(), r::toString);
        assertEquals("1 403\n", r.out(), r::toString);
        assertTrue(r.err().startsWith("\r| loading stories260K.gguf  0.0 s"), r::toString);
        assertTrue(Pattern.compile("\rloaded stories260K\\.gguf \\([0-9.]+ [KM]iB\\) in [0-9.]+ s *\n$").matcher(r.err()).find(),
                r::toString);
    }

    @Test
    void withoutASubcommandTheJarIsStillTheGenerateExample() throws Exception {
        Result r = cli(model.toString(), "Once upon a time", "8");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("CPU backend variant: "), r::toString);
        assertTrue(r.out().contains("Once upon a time, there was a little girl\n"), r::toString);
        assertTrue(r.out().contains("[5 prompt tokens, 8 generated, stopped: MAX_TOKENS]"), r::toString);
        Result version = cli("--version");
        assertEquals(0, version.code(), version::toString);
        assertTrue(version.out().startsWith("llama-ffm "), version::toString);
    }

    /** The pinned llama.cpp source's models/ folder (vocabulary-only GGUFs), from the native build's properties. */
    private static Path llamaCppModels() throws IOException {
        String props = System.getProperty("llamaffm.native.build");
        Assumptions.assumeTrue(props != null && Files.isRegularFile(Path.of(props)), "no native build properties");
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(props))) {
            p.load(in);
        }
        String source = p.getProperty("source.dir");
        assertNotNull(source, "source.dir in " + props);
        return Path.of(source, "models");
    }
}
