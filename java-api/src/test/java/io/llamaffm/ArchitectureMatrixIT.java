package io.llamaffm;

import io.llamaffm.testmodels.EncoderReference;
import io.llamaffm.testmodels.SyntheticModels;
import io.llamaffm.testmodels.SyntheticModels.Family;
import io.llamaffm.testmodels.SyntheticQwen;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The architecture matrix: for each {@link Family} of {@link SyntheticModels} (a small random-weight model with the
 * architecture's real tensors, keys and tokenizer), the model loads from its file and from memory, its
 * {@link ModelConfig} states what the generator wrote, and
 * <ul>
 *   <li>decoders: greedy decoding of {@value #N} tokens is token for token that of the native harness
 *       {@code llamaffm-greedy} (llama.h alone, same build, prompt and threads), from the file and from memory, and a
 *       state saved after the prompt and restored gives the same tokens again;</li>
 *   <li>encoders (bert, nomic-bert, nomic-bert-moe): each token's vector (pooling NONE) and the pooled, normalised
 *       embedding (the model's pooling) are those of {@link EncoderReference}, a plain-Java forward pass over the
 *       file's tensors, within F16 rounding; texts embedded together are embedded alone, and the model loaded from
 *       memory gives the same vectors; a mean-pooling context that llama.cpp would abort on is refused.</li>
 * </ul>
 * One container per family; its models load in the first check and close after the last. Files come from the
 * {@link SyntheticModels} cache (generated on the first run, never committed).
 */
class ArchitectureMatrixIT {
    static final String PROMPT = "The capital of France is Paris, and the capital of Italy is";
    static final int N = 32;
    static final int THREADS = 2;

    /** The loaded models of one family, shared by its checks and closed after them. */
    static final class Loaded implements AutoCloseable {
        Model file;
        Model memory;

        Model file() {
            assertNotNull(file, "the model did not load from its file");
            return file;
        }

        Model memory() {
            assertNotNull(memory, "the model did not load from memory");
            return memory;
        }

        @Override
        public void close() {
            if (memory != null) memory.close();
            if (file != null) file.close();
        }
    }

    @TestFactory
    Stream<DynamicNode> decoders() {
        return Arrays.stream(Family.values()).filter(f -> !f.spec().encoder()).map(ArchitectureMatrixIT::decoder);
    }

    private static DynamicContainer decoder(Family family) {
        Loaded m = new Loaded();
        int[][] nativeTokens = new int[1][];
        Stream<DynamicNode> checks = Stream.of(
                DynamicTest.dynamicTest("loads from file and memory; config as written", () -> {
                    Path path = SyntheticModels.path(family);
                    m.file = Model.load(path);
                    m.memory = Model.load(MemorySegment.ofArray(Files.readAllBytes(path)), ModelParams.defaults());
                    assertConfig(family, m.file.config());
                    assertEquals(m.file.config(), m.memory.config(), "from memory");
                }),
                DynamicTest.dynamicTest("greedy " + N + " tokens = native llamaffm-greedy, from file and memory", () -> {
                    int[] expected = TestEnv.nativeGreedy(SyntheticModels.path(family), N, THREADS, PROMPT);
                    nativeTokens[0] = expected;
                    assertEquals(N, expected.length, "the native run generated its full budget: " + Arrays.toString(expected));
                    assertTrue(Arrays.stream(expected).distinct().count() >= N / 2,
                            "not degenerate (the context decides, not the last token): " + Arrays.toString(expected));
                    assertArrayEquals(expected, greedy(m.file()), "from the file");
                    assertArrayEquals(expected, greedy(m.memory()), "from memory");
                }),
                DynamicTest.dynamicTest("state saved after the prompt restores to the same tokens", () -> {
                    assertNotNull(nativeTokens[0], "no native tokens");
                    stateRoundTrip(m.file(), nativeTokens[0]);
                }));
        return DynamicContainer.dynamicContainer(family.name(), checks.onClose(m::close));
    }

    @TestFactory
    Stream<DynamicNode> encoders() {
        return Arrays.stream(Family.values()).filter(f -> f.spec().encoder()).map(ArchitectureMatrixIT::encoder);
    }

    private static DynamicContainer encoder(Family family) {
        Loaded m = new Loaded();
        Stream<DynamicNode> checks = Stream.of(
                DynamicTest.dynamicTest("loads from file and memory; config as written", () -> {
                    Path path = SyntheticModels.path(family);
                    m.file = Model.load(path);
                    m.memory = Model.load(MemorySegment.ofArray(Files.readAllBytes(path)), ModelParams.defaults());
                    assertConfig(family, m.file.config());
                    assertEquals(m.file.config(), m.memory.config(), "from memory");
                }),
                DynamicTest.dynamicTest("token vectors = the Java reference forward pass", () -> {
                    Path path = SyntheticModels.path(family);
                    try (Context ctx = m.file().newContext(encoderParams().withPooling(ContextParams.Pooling.NONE))) {
                        for (String text : TEXTS) {
                            int[] tokens = m.file().tokenizer().encode(text, true, false);
                            float[][] rows = ctx.embedTokens(text);
                            double[][] expected = EncoderReference.tokenVectors(path, tokens);
                            assertEquals(expected.length, rows.length, "one row per token");
                            for (int i = 0; i < rows.length; i++) {
                                assertClose(expected[i], rows[i], TOKEN_TOLERANCE, "'" + text + "' token " + i);
                            }
                        }
                    }
                }),
                DynamicTest.dynamicTest("pooled embeddings: unit length, = the reference, batched = one by one, file = memory",
                        () -> {
                    Path path = SyntheticModels.path(family);
                    try (Context file = m.file().newContext(encoderParams());
                         Context memory = m.memory().newContext(encoderParams())) {
                        List<Embedding> batched = file.embed(TEXTS, EmbeddingParams.defaults());
                        for (int i = 0; i < TEXTS.size(); i++) {
                            String text = TEXTS.get(i);
                            Embedding one = file.embed(text, EmbeddingParams.defaults());
                            assertEquals(family.spec().embedding(), one.dimension());
                            double squares = 0;
                            for (float x : one.vector()) squares += (double) x * x;
                            assertEquals(1.0, squares, 1e-5, "L2-normalized");
                            int[] tokens = m.file().tokenizer().encode(text, true, false);
                            assertEquals(tokens.length, one.tokens());
                            assertClose(EncoderReference.pooled(path, tokens), one.vector(), POOLED_TOLERANCE, "'" + text + "'");
                            assertClose(toDouble(one.vector()), batched.get(i).vector(), 1e-5, "batched with others: '" + text + "'");
                            assertArrayEquals(one.vector(), memory.embed(text, EmbeddingParams.defaults()).vector(),
                                    "from memory: '" + text + "'");
                            assertArrayEquals(one.vector(), file.embed(text, EmbeddingParams.defaults()).vector(), "again");
                        }
                        assertTrue(cosine(batched.get(0).vector(), batched.get(1).vector()) < 0.99, "different texts differ");
                    }
                    // llama.cpp aborts on mean pooling over 3 sequences in a 512-token micro-batch: refused instead
                    ContextParams three = encoderParams().withSequences(3);
                    if (family == Family.BERT) { // CLS pooling is not affected
                        try (Context ctx = m.file().newContext(three)) {
                            assertEquals(3, ctx.embed(TEXTS.subList(0, 3), EmbeddingParams.defaults()).size());
                        }
                    } else {
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.file().newContext(three));
                        assertTrue(e.getMessage().contains("withMicroBatchSize(510)"), e.getMessage());
                    }
                }));
        return DynamicContainer.dynamicContainer(family.name(), checks.onClose(m::close));
    }

    static final List<String> TEXTS = List.of("The quick brown fox jumps over the lazy dog.",
            "Paris is the capital of France.", "Hello, world! 123", "Embeddings of synthetic encoders");
    /** Per token: llama.cpp rounds GELU's input and output (and attention's K and V with flash attention) to F16. */
    static final double TOKEN_TOLERANCE = 1e-2;
    static final double POOLED_TOLERANCE = 2e-3;

    static ContextParams encoderParams() {
        return ContextParams.defaults().withContextLength(512).withThreads(THREADS).withEmbeddings(true)
                .withSequences(TEXTS.size());
    }

    private static void assertClose(double[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        for (int j = 0; j < expected.length; j++) worst = Math.max(worst, Math.abs(expected[j] - actual[j]));
        System.out.printf("%s: max |diff| %.3g%n", what, worst);
        assertTrue(worst <= tolerance, what + ": max |diff| " + worst + " > " + tolerance);
    }

    private static double[] toDouble(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    static ContextParams contextParams() {
        return ContextParams.defaults().withContextLength(256).withThreads(THREADS);
    }

    private static int[] greedy(Model model) {
        try (Context ctx = model.newContext(contextParams())) {
            Completion c = ctx.generate(PROMPT, N, SamplerChain.greedy(), null);
            assertEquals(Completion.StopReason.MAX_TOKENS, c.stopReason());
            return c.tokens();
        }
    }

    /**
     * Decodes the prompt (and samples one token), saves the state, generates the rest; clears, restores, generates the
     * rest again from the restored cache: both continuations are the native one.
     */
    private static void stateRoundTrip(Model model, int[] nativeTokens) {
        int[] prompt = model.tokenizer().encode(PROMPT);
        GenerationParams rest = GenerationParams.defaults().withMaxTokens(N - 1);
        int[] expected = Arrays.copyOfRange(nativeTokens, 1, N);
        try (Context ctx = model.newContext(contextParams()); Arena arena = Arena.ofConfined()) {
            Completion first = ctx.generate(prompt, GenerationParams.defaults().withMaxTokens(1), SamplerChain.greedy(), null);
            assertArrayEquals(new int[] {nativeTokens[0]}, first.tokens());
            int[] history = IntStream.concat(Arrays.stream(prompt), Arrays.stream(first.tokens())).toArray();
            assertArrayEquals(history, ctx.cachedTokens());
            ContextState state = ctx.saveState(arena);
            assertTrue(state.sizeBytes() > 0);

            Completion a = ctx.generate(history, rest, SamplerChain.greedy(), null);
            assertEquals(history.length - 1, a.reusedTokens(), "the saved cache is reused");
            assertArrayEquals(expected, a.tokens(), "after the save");

            ctx.clear();
            ctx.restoreState(state);
            assertArrayEquals(history, ctx.cachedTokens());
            Completion b = ctx.generate(history, rest, SamplerChain.greedy(), null);
            assertEquals(history.length - 1, b.reusedTokens(), "the restored cache is reused");
            assertArrayEquals(expected, b.tokens(), "after the restore");

            // the cache now holds the continuation too (past any sliding window): reusing its prefix again
            Completion c = ctx.generate(history, rest, SamplerChain.greedy(), null);
            assertArrayEquals(expected, c.tokens(), "reusing the prefix of a longer cache (" + c.reusedTokens() + " reused)");
        }
    }

    /** The routed experts' weights of a family's synthetic model (all experts), from its architecture. */
    static long routedExpertParameters(Family family) {
        SyntheticModels.Spec s = family.spec();
        long e = s.experts();
        long embd = s.embedding();
        return switch (family) {
            // gate, up and down of expert_feed_forward_length in every block
            case QWEN3MOE -> s.layers() * 3 * e * embd * s.expertFeedForward();
            // the first block is dense; shared experts are always active
            case DEEPSEEK2 -> (s.layers() - 1) * 3 * e * embd * s.expertFeedForward();
            // gate, up, down and their biases
            case GPT_OSS -> s.layers() * e * (3 * embd * s.expertFeedForward() + 2L * s.expertFeedForward() + embd);
            // every second block: up and down (GELU, no gate) of feed_forward_length
            case NOMIC_BERT_MOE -> s.layers() / 2 * 2 * e * embd * s.feedForward();
            default -> throw new IllegalArgumentException(family + " has no experts");
        };
    }

    static void assertConfig(Family family, ModelConfig c) throws IOException {
        SyntheticModels.Spec s = family.spec();
        assertEquals(s.architecture(), c.architecture());
        assertEquals(s.layers(), c.layerCount());
        assertEquals(s.embedding(), c.embeddingLength());
        assertEquals(s.contextLength(), c.trainedContextLength());
        assertEquals(ModelConfig.Attention.of(s.heads(), s.kvHeads(), s.headDim(), family.expectedSlidingWindow()),
                c.attention());
        if (s.experts() > 0) {
            ModelConfig.MixtureOfExperts moe = c.moe().orElseThrow(() -> new AssertionError("no experts"));
            assertEquals(s.experts(), moe.expertCount());
            assertEquals(s.expertsUsed(), moe.expertsUsed());
            long routed = routedExpertParameters(family);
            assertEquals(OptionalLong.of(c.parameterCount() - routed / s.experts() * (s.experts() - s.expertsUsed())),
                    moe.activeParameters(), "all but the unused routed experts");
        } else {
            assertEquals(Optional.empty(), c.moe());
        }
        assertEquals(new ModelConfig.Rope(family.ropeType(), s.ropeBase(), s.ropeFrequencyScale(), s.ropeScalingType(),
                s.ropeDimensions()), c.rope());
        // the tokenizer is the vocabulary file's: same kind, size and special tokens
        try (Model vocab = Model.load(TestEnv.sourceDir().resolve(s.vocabularyFile()), ModelParams.defaults().withVocabOnly(true))) {
            ModelConfig.Vocabulary v = vocab.config().vocabulary();
            if (family == Family.QWEN2) { // Qwen2.5-Instruct's end of sequence, see SyntheticQwen
                v = new ModelConfig.Vocabulary(v.type(), v.size(), v.bos(), SyntheticQwen.IM_END, v.eot());
            }
            assertEquals(v, c.vocabulary());
        }
    }
}
