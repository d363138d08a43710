package io.llamaffm.testmodels;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.ModelConfig;
import io.llamaffm.ModelParams;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import io.llamaffm.TokenAttribute;
import io.llamaffm.Tokenizer;
import io.llamaffm.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticQwenIT {
    private static final String PROMPT = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nWhat is the weather in Paris?<|im_end|>\n<|im_start|>assistant\n";

    private static Path vocab() {
        return TestEnv.sourceDir().resolve(SyntheticQwen.VOCAB_FILE);
    }

    private static Path template() {
        return TestEnv.sourceDir().resolve(SyntheticQwen.TEMPLATE_FILE);
    }

    @Test
    void loadsAsASmallGqaQwen2WithTheQwen25Template() throws IOException {
        Path path = SyntheticQwen.path();
        assertTrue(Files.size(path) < 50_000_000L, "size " + Files.size(path));
        try (GgufFile f = GgufFile.open(path)) {
            assertTrue(f.tensor("output.weight").isEmpty(), "the output matrix is tied to token_embd");
            assertTrue(f.tensor("blk.1.attn_k.bias").isPresent(), "Qwen2's attention has q/k/v biases");
        }
        try (Model m = Model.load(path)) {
            ModelConfig c = m.config();
            SyntheticQwen.Spec s = SyntheticQwen.Spec.DEFAULT;
            assertEquals("qwen2", c.architecture());
            assertEquals(s.layers(), c.layerCount());
            assertEquals(s.embedding(), c.embeddingLength());
            assertEquals(s.contextLength(), c.trainedContextLength());
            assertEquals(s.heads(), c.attention().headCount());
            assertEquals(s.kvHeads(), c.attention().kvHeadCount());
            assertEquals(s.headDim(), c.attention().headDim());
            assertEquals(2, c.attention().groupSize());
            assertEquals(ModelConfig.AttentionKind.GQA, c.attention().kind());
            assertEquals(ModelConfig.RopeType.NEOX, c.rope().type());
            assertEquals(1_000_000f, c.rope().frequencyBase());
            assertEquals(new ModelConfig.Vocabulary(ModelConfig.VocabularyType.BPE, 151_936, SyntheticQwen.ENDOFTEXT,
                    SyntheticQwen.IM_END, SyntheticQwen.IM_END), c.vocabulary());
            String qwen25 = Files.readString(template(), StandardCharsets.UTF_8);
            assertEquals(qwen25, m.chatTemplate().orElseThrow());
            assertEquals(qwen25, c.chatTemplate().orElseThrow());
            assertTrue(qwen25.contains("<tool_call>"), "the Qwen2.5 template, which declares tools");
        }
    }

    @Test
    void specialTokensHaveQwen25sIds() {
        try (Model m = Model.load(SyntheticQwen.path(), ModelParams.defaults().withVocabOnly(true))) {
            Tokenizer t = m.tokenizer();
            assertArrayEquals(new int[] {SyntheticQwen.TOOL_CALL}, t.encode("<tool_call>", false, true));
            assertArrayEquals(new int[] {SyntheticQwen.TOOL_CALL_END}, t.encode("</tool_call>", false, true));
            assertArrayEquals(new int[] {SyntheticQwen.IM_START}, t.encode("<|im_start|>", false, true));
            assertArrayEquals(new int[] {SyntheticQwen.IM_END}, t.encode("<|im_end|>", false, true));
            for (int i = 0; i < SyntheticQwen.ADDED_TOKENS.size(); i++) {
                int id = SyntheticQwen.FIRST_ADDED_TOKEN + i;
                assertArrayEquals(new int[] {id}, t.encode(SyntheticQwen.ADDED_TOKENS.get(i), false, true),
                        SyntheticQwen.ADDED_TOKENS.get(i));
                assertEquals(SyntheticQwen.ADDED_TOKENS.get(i), t.vocabularyText(id));
            }
            // as llama.cpp's converter types Qwen2.5's tokens: the chat markers are control tokens, the tool-call tags
            // user-defined ones, which are rendered as text and so reach a tool-call parser
            assertTrue(t.isControl(SyntheticQwen.IM_START));
            assertTrue(t.attributes(SyntheticQwen.TOOL_CALL).contains(TokenAttribute.USER_DEFINED),
                    t.attributes(SyntheticQwen.TOOL_CALL).toString());
            assertFalse(t.isControl(SyntheticQwen.TOOL_CALL));
            assertEquals("<tool_call>\n{}\n</tool_call>", t.decode(t.encode("<tool_call>\n{}\n</tool_call>", false, true)));
            assertTrue(t.isEndOfGeneration(SyntheticQwen.IM_END));
            assertTrue(t.isEndOfGeneration(SyntheticQwen.ENDOFTEXT));
            assertFalse(t.isEndOfGeneration(SyntheticQwen.TOOL_CALL));
            // no BOS is added, as with the real models
            assertArrayEquals(t.encode("Hello", false, true), t.encode("Hello"));
        }
    }

    @Test
    void ordinaryTextTokenizesAsTheVocabularyOnlyFile() throws IOException {
        List<String> texts = new ArrayList<>(List.of("The quick brown fox jumps over the lazy dog.",
                "What's the weather in Paris? 23°C, «sunny» 😀 — 你好，世界！ 12345 tokens",
                "<|im_start|>user\nCall get_weather(city=\"Paris\")<|im_end|>\n<|im_start|>assistant\n",
                "def f(x):\n    return {\"a\": [1, 2.5e-3]}\n\n\n\t  "));
        // llama.cpp's own test inputs for this vocabulary
        String raw = Files.readString(Path.of(vocab() + ".inp"), StandardCharsets.UTF_8);
        texts.addAll(List.of(raw.split("\n__ggml_vocab_test__\n", -1)));
        try (Model synthetic = Model.load(SyntheticQwen.path(), ModelParams.defaults().withVocabOnly(true));
             Model real = Model.load(vocab(), ModelParams.defaults().withVocabOnly(true))) {
            assertEquals(real.tokenizer().vocabularySize(), synthetic.tokenizer().vocabularySize());
            for (String text : texts) {
                for (boolean parseSpecial : new boolean[] {false, true}) {
                    int[] expected = real.tokenizer().encode(text, false, parseSpecial);
                    assertArrayEquals(expected, synthetic.tokenizer().encode(text, false, parseSpecial),
                            "'" + text + "' parseSpecial=" + parseSpecial);
                    assertEquals(real.tokenizer().decode(expected), synthetic.tokenizer().decode(expected));
                }
            }
        }
    }

    @Test
    void greedyGenerationIsDeterministicAndMatchesNativeLlamaCpp() throws Exception {
        Path path = SyntheticQwen.path();
        int n = 16;
        int[] nativeTokens = TestEnv.nativeGreedy(path, n, 2, PROMPT);
        assertEquals(n, nativeTokens.length, "the native run generated its full budget (no end-of-generation token)");
        assertTrue(Arrays.stream(nativeTokens).distinct().count() > n / 2,
                "the weights are large enough that the context, not the last token, decides: " + Arrays.toString(nativeTokens));
        for (int run = 0; run < 2; run++) {
            try (Model m = Model.load(path);
                 Context ctx = m.newContext(ContextParams.defaults().withContextLength(256).withThreads(2))) {
                int[] prompt = m.tokenizer().encode(PROMPT);
                assertEquals(SyntheticQwen.IM_START, prompt[0], "no BOS; the chat markers are single tokens");
                assertEquals(3, Arrays.stream(prompt).filter(id -> id == SyntheticQwen.IM_START).count());
                Completion c = ctx.generate(PROMPT, n, SamplerChain.greedy(), null);
                assertArrayEquals(nativeTokens, c.tokens(), "run " + run);
                assertEquals(Completion.StopReason.MAX_TOKENS, c.stopReason());
                assertEquals(m.tokenizer().decode(c.tokens()), c.text());
            }
        }
    }

    @Test
    void theCachedFileIsReused() throws IOException {
        Path first = SyntheticQwen.path();
        BasicFileAttributes before = Files.readAttributes(first, BasicFileAttributes.class);
        Path second = SyntheticQwen.path();
        assertEquals(first, second);
        BasicFileAttributes after = Files.readAttributes(second, BasicFileAttributes.class);
        assertEquals(before.lastModifiedTime(), after.lastModifiedTime(), "not rewritten");
        assertEquals(before.fileKey(), after.fileKey(), "the same file");
        assertEquals(SyntheticQwen.cacheDir(), first.getParent());
        assertTrue(first.getFileName().toString().matches("qwen2-synthetic-[0-9a-f]{16}\\.gguf"), first.toString());
    }

    @Test
    void concurrentCallersShareOneAtomicallyWrittenFileAndOtherInputsGetOtherFiles(@TempDir Path dir) throws Exception {
        SyntheticQwen.Spec spec = SyntheticQwen.Spec.DEFAULT;
        Path vocab = vocab();
        Path template = template();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Path>> results = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                results.add(pool.submit(() -> SyntheticQwen.ensure(dir, vocab, template, spec)));
            }
            Path p = results.getFirst().get(120, TimeUnit.SECONDS);
            for (Future<Path> f : results) {
                assertEquals(p, f.get(120, TimeUnit.SECONDS));
            }
            assertEquals(SyntheticQwen.path().getFileName(), p.getFileName(), "the name depends on the inputs only");
            assertEquals(-1L, Files.mismatch(SyntheticQwen.path(), p), "the generator is deterministic");
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(p.getFileName().toString()), files.map(f -> f.getFileName().toString())
                        .filter(name -> !name.startsWith(".")).toList(), "no temporary file is left behind");
            }
        } finally {
            pool.shutdownNow();
        }
        Path reseeded = SyntheticQwen.ensure(dir, vocab, template,
                new SyntheticQwen.Spec(spec.layers(), spec.embedding(), spec.heads(), spec.kvHeads(), spec.feedForward(),
                        spec.contextLength(), spec.ropeFreqBase(), spec.rmsEps(), spec.seed() + 1, spec.weightStd()));
        assertNotEquals(SyntheticQwen.path().getFileName(), reseeded.getFileName());
    }
}
