package io.llamaffm;

import io.llamaffm.gguf.LoraFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Misuse of the API gets a clear exception and leaves everything usable: every public method after close, one
 * context from two threads at once, out-of-range token ids, prompts that do not fit, NUL and invalid UTF-8, empty
 * prompts, GBNF syntax errors and hostile grammars, and sampler chains reused after their sampler closed. (Closing a
 * model with open contexts, max tokens 0 and a long-prompt interrupt are tested in ModelIT and GenerationIT.)
 */
class MisuseIT {
    private static final String PROMPT = "Once upon a time";
    private static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** One thread: these tests are about behaviour, and a busy machine slows a spinning thread pool badly. */
    private static ContextParams params(int contextLength) {
        return ContextParams.defaults().withContextLength(contextLength).withThreads(1);
    }

    // ---- after close ---------------------------------------------------------------------------------------------

    @Test
    void everyPublicMethodOfAClosedObjectThrowsIllegalStateException(@TempDir Path tmp) throws Exception {
        Model m = Model.load(TestEnv.stories());
        Context ctx = m.newContext(params(64));
        Tokenizer tokenizer = m.tokenizer();
        SamplerChain stateful = SamplerChain.of(SamplerChain.Grammar.of("root ::= [a-z ]+"), SamplerChain.Dry.defaults(),
                new SamplerChain.Penalties(16, 1.1f, 0, 0), new SamplerChain.Greedy());
        Sampler outlivesItsModel = Sampler.create(m, stateful);
        Sampler closedSampler = Sampler.create(m, stateful);
        Path loraFile = tmp.resolve("lora.gguf");
        LoraFixture.write(TestEnv.stories(), loraFile, 2, 1, 0.1f);
        LoraAdapter lora = m.loadLoraAdapter(loraFile);
        Map<Class<?>, Object> samples = new HashMap<>(Map.ofEntries(
                Map.entry(String.class, PROMPT), Map.entry(int.class, 0), Map.entry(boolean.class, true),
                Map.entry(int[].class, new int[] {1, 403}), Map.entry(byte[].class, "a".getBytes(StandardCharsets.UTF_8)),
                Map.entry(float[].class, new float[512]), Map.entry(Path.class, tmp.resolve("state.bin")),
                Map.entry(Arena.class, Arena.ofAuto()), Map.entry(List.class, List.of(PROMPT)), Map.entry(Map.class, Map.of()),
                Map.entry(ContextParams.class, ContextParams.defaults()), Map.entry(GenerationParams.class, GenerationParams.defaults()),
                Map.entry(EmbeddingParams.class, EmbeddingParams.defaults()), Map.entry(SamplerChain.class, SamplerChain.greedy()),
                Map.entry(ContextState.class, ctx.saveState(Arena.ofAuto()))));

        closedSampler.close();
        closedSampler.close(); // idempotent
        assertEveryMethodThrows(closedSampler, Set.of("chain", "close"), samples);
        lora.close();
        assertEveryMethodThrows(lora, Set.of("path", "isClosed", "close", "toString"), samples);
        ctx.close();
        // cancel() is for any thread at any time: on a closed context it does nothing
        assertEveryMethodThrows(ctx, Set.of("model", "cancel", "close"), samples);
        m.close();
        assertEveryMethodThrows(m, Set.of("path", "params", "isClosed", "close", "toString"), samples);
        assertEveryMethodThrows(tokenizer, Set.of(), samples);
        assertEveryMethodThrows(outlivesItsModel, Set.of("chain", "close"), samples);
        outlivesItsModel.close(); // frees grammar, DRY and penalty stages after their model: no crash
        assertEquals(stateful, outlivesItsModel.chain());
    }

    /** Calls every public instance method of {@code target}'s class, except {@code allowed}, expecting ISE. */
    private static void assertEveryMethodThrows(Object target, Set<String> allowed, Map<Class<?>, Object> samples)
            throws IllegalAccessException {
        List<String> checked = new ArrayList<>();
        for (Method method : target.getClass().getDeclaredMethods()) {
            if (!Modifier.isPublic(method.getModifiers()) || Modifier.isStatic(method.getModifiers()) || method.isSynthetic()
                    || allowed.contains(method.getName())) {
                continue;
            }
            Object[] args = new Object[method.getParameterCount()];
            for (int i = 0; i < args.length; i++) {
                Class<?> type = method.getParameterTypes()[i];
                if (type == Consumer.class || type == java.util.function.BiConsumer.class) {
                    continue; // null callbacks are allowed
                }
                assertTrue(samples.containsKey(type), "no sample argument of " + type + " for " + method + ": add one");
                args[i] = samples.get(type);
                if (type == int.class && method.getName().equals("generate")) {
                    args[i] = 1; // maxTokens
                }
            }
            try {
                method.invoke(target, args);
                fail(method + " on a closed " + target.getClass().getSimpleName() + " returned normally");
            } catch (InvocationTargetException e) {
                assertTrue(e.getCause() instanceof IllegalStateException, method + " threw " + e.getCause());
                assertTrue(e.getCause().getMessage().contains("closed"), method + ": " + e.getCause().getMessage());
            }
            checked.add(method.getName());
        }
        assertTrue(checked.size() >= 4, "checked " + checked);
    }

    @Test
    void aClosedGenerationEndsAndOneWhoseContextClosedRefuses() {
        try (Context ctx = model.newContext(params(64))) {
            Generation g = ctx.start(PROMPT, GenerationParams.defaults().withMaxTokens(8), SamplerChain.greedy());
            assertTrue(g.nextToken() >= 0);
            g.close();
            g.close();
            assertEquals(-1, g.nextToken());
            assertFalse(g.hasNext());
            assertEquals(Completion.StopReason.CANCELLED, g.stopReason());
            assertEquals(1, g.generatedTokens());
            assertEquals(8, ctx.generate(PROMPT, 8, SamplerChain.greedy(), null).tokens().length, "the context is free again");

            Generation open = ctx.start(PROMPT, GenerationParams.defaults().withMaxTokens(8), SamplerChain.greedy());
            ctx.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, open::nextToken);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            open.close();
        }
    }

    // ---- threads ---------------------------------------------------------------------------------------------------

    @Test
    void twoThreadsRacingForOneContextGetCorrectTextOrIllegalStateException() throws Exception {
        try (Context ctx = model.newContext(params(128))) {
            String expected = ctx.generate(PROMPT, 8, SamplerChain.greedy(), null).text();
            int rounds = 40;
            CyclicBarrier start = new CyclicBarrier(2);
            AtomicInteger done = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            AtomicReference<Throwable> wrong = new AtomicReference<>();
            Runnable worker = () -> {
                for (int r = 0; r < rounds; r++) {
                    try {
                        start.await(30, TimeUnit.SECONDS);
                        assertEquals(expected, ctx.generate(PROMPT, 8, SamplerChain.greedy(), null).text());
                        done.incrementAndGet();
                    } catch (IllegalStateException e) {
                        if (!e.getMessage().contains("another thread") && !e.getMessage().contains("close it first")) {
                            wrong.compareAndSet(null, e);
                        }
                        refused.incrementAndGet();
                    } catch (Throwable t) {
                        wrong.compareAndSet(null, t);
                    }
                }
            };
            Thread a = Thread.ofPlatform().start(worker);
            Thread b = Thread.ofPlatform().start(worker);
            a.join(120_000);
            b.join(120_000);
            assertNull(wrong.get(), String.valueOf(wrong.get()));
            assertEquals(2 * rounds, done.get() + refused.get());
            assertTrue(done.get() >= rounds, "one of each pair gets in: " + done.get());
            assertTrue(refused.get() >= 1, "the threads met at least once in " + rounds + " rounds");
            assertEquals(expected, ctx.generate(PROMPT, 8, SamplerChain.greedy(), null).text(), "the context is intact");
        }
    }

    // ---- input -----------------------------------------------------------------------------------------------------

    @Test
    void outOfRangeTokenIdsAreRefusedBeforeNativeCode() {
        try (Context ctx = model.newContext(params(64))) {
            GenerationParams p = GenerationParams.defaults().withMaxTokens(4);
            for (int bad : new int[] {512, -1, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> ctx.generate(new int[] {1, bad}, p, SamplerChain.greedy(), null));
                assertEquals("token id " + bad + " at index 1 is out of range 0..511", e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> ctx.start(new int[] {bad}, p, SamplerChain.greedy()));
                assertThrows(IllegalArgumentException.class, () -> ctx.score(new int[] {1, bad}));
                assertThrows(IllegalArgumentException.class, () -> model.tokenizer().isEndOfGeneration(bad));
                assertThrows(IllegalArgumentException.class, () -> model.tokenizer().vocabularyText(bad));
                assertThrows(IllegalArgumentException.class, () -> model.tokenizer().streamingDecoder().push(bad));
            }
            assertEquals(4, ctx.generate(new int[] {1, 403}, p, SamplerChain.greedy(), null).tokens().length);
        }
    }

    @Test
    void promptsThatDoNotFitTheirSequenceAreRefusedAndAFullSequenceStops() {
        // four sequences share the cache: each holds a quarter, and that share is the limit, never a silent cut
        try (Context ctx = model.newContext(params(1024).withSequences(4))) {
            int share = ctx.contextLength() / 4;
            String longPrompt = PROMPT + " Lily".repeat(share);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ctx.generate(longPrompt, 4, SamplerChain.greedy(), null));
            assertTrue(e.getMessage().contains("context holds " + share + " per sequence"), e.getMessage());
            String fits = PROMPT + " Lily".repeat(share - 20);
            int promptTokens = model.tokenizer().encode(fits).length;
            Completion c = ctx.generate(fits, GenerationParams.defaults().withMaxTokens(500).withIgnoreEos(true),
                    SamplerChain.greedy(), null);
            assertEquals(Completion.StopReason.CONTEXT_FULL, c.stopReason());
            assertEquals(share - promptTokens, c.tokens().length);
            assertThrows(IllegalArgumentException.class, () -> ctx.score(longPrompt));
            assertEquals(4, ctx.generate(PROMPT, 4, SamplerChain.greedy(), null).tokens().length);
        }
    }

    @Test
    void nulAndInvalidUtf8InPrompts() {
        Tokenizer t = model.tokenizer();
        int[] withNul = t.encode("Once\0upon");
        assertTrue(Arrays.stream(withNul).anyMatch(id -> id == 3), "NUL is the byte token <0x00> (3): " + Arrays.toString(withNul));
        assertEquals(" Once\0upon", t.decode(withNul, true, false));
        try (Context ctx = model.newContext(params(64))) {
            Completion fromText = ctx.generate("Once\0upon", 6, SamplerChain.greedy(), null);
            Completion fromTokens = ctx.generate(withNul, GenerationParams.defaults().withMaxTokens(6), SamplerChain.greedy(), null);
            assertArrayEquals(fromTokens.tokens(), fromText.tokens());
            assertEquals(6, fromText.tokens().length);
        }
        for (byte[] bad : List.of(new byte[] {(byte) 0xff}, new byte[] {'a', (byte) 0xc3}, new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
                new byte[] {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encode(bad, true, false));
            assertTrue(e.getMessage().startsWith("input is not valid UTF-8"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> t.encode("\uDC00 lone low surrogate"));
        assertThrows(IllegalArgumentException.class, () -> GenerationParams.defaults().withStopStrings(""));
    }

    @Test
    void anEmptyPromptStartsFromBosAndNoTokensAtAllIsRefused() {
        try (Context ctx = model.newContext(params(64))) {
            assertArrayEquals(new int[] {1}, model.tokenizer().encode(""));
            Completion fromBos = ctx.generate("", 6, SamplerChain.greedy(), null);
            assertEquals(6, fromBos.tokens().length);
            assertEquals(ctx.generate(new int[] {1}, GenerationParams.defaults().withMaxTokens(6), SamplerChain.greedy(), null).text(),
                    fromBos.text());
            assertArrayEquals(new int[0], model.tokenizer().encode("", false, false));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ctx.generate(new int[0], GenerationParams.defaults(), SamplerChain.greedy(), null));
            assertEquals("the prompt has no tokens", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ctx.score(""), "one token cannot be scored");
        }
    }

    // ---- grammars --------------------------------------------------------------------------------------------------

    /**
     * A grammar is read as llama.cpp will read it before llama.cpp sees it (llama.cpp prints the position of a syntax
     * error to stderr and logs only "failed to parse grammar"): the message says where and what.
     */
    @Test
    void grammarSyntaxErrorsAreIllegalArgumentExceptionsSayingWhereAndWhat() {
        Map<String, String> bad = Map.of(
                "root ::= (", "invalid GBNF grammar at line 1, column 10: unexpected end of input: '(' is not closed",
                "root ::= \"unterminated", "invalid GBNF grammar at line 1, column 23: unexpected end of input in a string literal",
                "root ::= [a-", "invalid GBNF grammar at line 1, column 12: unexpected end of input in a character class",
                "root ::= undefined-rule", "invalid GBNF grammar: the rule 'undefined-rule' is used but not defined",
                "root ::= \"\\q\"", "invalid GBNF grammar at line 1, column 11: unknown escape \\q",
                "root = \"x\"", "invalid GBNF grammar at line 1, column 6: expecting ::=",
                "other ::= \"x\"", "invalid GBNF grammar: it has no rule 'root' to start from",
                "root ::= root \"a\"", "invalid GBNF grammar: it is left-recursive, the rule 'root' can start with itself "
                        + "(root -> root); llama.cpp refuses left recursion");
        bad.forEach((gbnf, reason) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Sampler.create(model, SamplerChain.of(SamplerChain.Grammar.of(gbnf), new SamplerChain.Greedy())), gbnf);
            assertEquals(reason, e.getMessage(), gbnf);
        });
        // what only llama.cpp can tell, a token by its text that is not one token of the vocabulary: its log line
        IllegalArgumentException token = assertThrows(IllegalArgumentException.class, () -> Sampler.create(model,
                SamplerChain.of(SamplerChain.Grammar.of("root ::= <not-a-token>"), new SamplerChain.Greedy())));
        assertEquals("invalid GBNF grammar (root 'root'): failed to parse grammar", token.getMessage().replaceAll(" / .*", ""));
        // what llama.cpp would take without a word: nothing (no constraint at all), and a repetition it expands forever
        assertEquals("the grammar is empty", assertThrows(IllegalArgumentException.class, () -> SamplerChain.Grammar.of("")).getMessage());
        assertEquals("the repetition {5,2} of the grammar has its maximum below its minimum", assertThrows(
                IllegalArgumentException.class, () -> SamplerChain.Grammar.of("root ::= \"a\" { 5 , 2 }")).getMessage());
        try (Context ctx = model.newContext(params(64))) {
            SamplerChain twoAs = SamplerChain.of(SamplerChain.Grammar.of("root ::= \"a\"{2,2} # not {9,1}, a comment"),
                    new SamplerChain.Greedy());
            assertEquals("aa", ctx.generate(PROMPT, 4, twoAs, null).text());
        }
    }

    @Test
    void deepOrLongGrammarsAreRefusedBeforeTheyCanOverflowTheStack() {
        String deep = "root ::= " + "(".repeat(300) + "\"a\"" + ")".repeat(300);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SamplerChain.Grammar.of(deep));
        assertEquals("the grammar nests groups 300 deep; at most 256 (llama.cpp's parser recurses once per level on the "
                + "thread's stack)", e.getMessage());
        IllegalArgumentException chain = assertThrows(IllegalArgumentException.class, () -> SamplerChain.Grammar.of(chain(5000)));
        assertEquals("the grammar has a chain of 5001 rules each starting with the next; at most 4096 (llama.cpp's "
                + "left-recursion check recurses once per rule on the thread's stack)", chain.getMessage());
        // brackets, parentheses and '::=' inside strings, classes and comments do not count
        String quoted = "root ::= \"((((\\\"((\" [(((\\]] # ((((::=\n";
        SamplerChain.Grammar.of(quoted.repeat(1)); // accepted
        // at the limits, llama.cpp runs them on this thread's stack: a nested group of 256 levels and a chain of 4096
        // rules (root, r0 ... r4093, and the first rule of the repetition)
        try (Context ctx = model.newContext(params(64))) {
            String nested = "root ::= " + "(".repeat(256) + "\" a\"" + ")".repeat(256);
            assertEquals(" a", ctx.generate(PROMPT, 4, SamplerChain.of(SamplerChain.Grammar.of(nested), new SamplerChain.Greedy()), null).text());
            String repeated = chain(4094).replace("\" a\"", "\" a\"{0,1999}");
            assertTrue(ctx.generate(PROMPT, 3, SamplerChain.of(SamplerChain.Grammar.of(repeated), new SamplerChain.Greedy()), null)
                    .text().matches("( a)*"));
        }
    }

    /** {@code root ::= r0; r0 ::= r1; ...; r(n-1) ::= " a"}: n+1 rules in one chain. */
    private static String chain(int n) {
        StringBuilder g = new StringBuilder("root ::= r0\n");
        for (int i = 0; i < n; i++) {
            g.append('r').append(i).append(" ::= ").append(i + 1 < n ? "r" + (i + 1) : "\" a\"").append('\n');
        }
        return g.toString();
    }

    @Test
    void mutatedGrammarsAreAcceptedOrRefusedNeverACrash() {
        String json = "root ::= object\nvalue ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
                + "object ::= \"{\" ws ( string \":\" ws value (\",\" ws string \":\" ws value)* )? \"}\" ws\n"
                + "array ::= \"[\" ws ( value (\",\" ws value)* )? \"]\" ws\n"
                + "string ::= \"\\\"\" ( [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4}) )* \"\\\"\" ws\n"
                + "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n"
                + "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";
        String alphabet = "()[]{}\"\\|*+?:=-^#<>,0123456789 \nabcxyz";
        SplittableRandom r = new SplittableRandom(11);
        int accepted = 0;
        int refused = 0;
        try (Context ctx = model.newContext(params(64))) {
            for (int i = 0; i < 200; i++) {
                StringBuilder g = new StringBuilder(json);
                for (int k = 1 + r.nextInt(3); k > 0 && !g.isEmpty(); k--) {
                    int at = r.nextInt(g.length());
                    switch (r.nextInt(3)) {
                        case 0 -> g.deleteCharAt(at);
                        case 1 -> g.insert(at, alphabet.charAt(r.nextInt(alphabet.length())));
                        default -> g.setLength(at);
                    }
                }
                try {
                    SamplerChain chain = SamplerChain.of(SamplerChain.Grammar.of(g.toString()), new SamplerChain.Greedy());
                    ctx.generate(PROMPT, 3, chain, null);
                    accepted++;
                } catch (IllegalArgumentException e) {
                    refused++;
                } catch (DecodeException | IllegalStateException e) {
                    fail("mutant " + i + " gave " + e + ":\n" + g, e);
                } catch (LlamaException e) {
                    accepted++; // the grammar allows nothing the model can say: llama.cpp reports it
                }
            }
        }
        assertEquals(200, accepted + refused);
        assertTrue(accepted > 10 && refused > 50, accepted + " accepted, " + refused + " refused");
    }

    // ---- samplers --------------------------------------------------------------------------------------------------

    @Test
    void aChainOutlivesItsSamplersAndAClosedSamplerRefuses() {
        SamplerChain chain = SamplerChain.sampling(0.9f, 40, 0.95f, 0.05f, 77);
        try (Context ctx = model.newContext(params(64))) {
            String first = ctx.generate(PROMPT, 12, chain, null).text();
            assertEquals(first, ctx.generate(PROMPT, 12, chain, null).text(), "each generation builds a fresh native sampler");
            Sampler s = Sampler.create(model, chain);
            float[] logits = new float[512];
            logits[7] = 5;
            int picked = s.sample(logits);
            s.close();
            assertThrows(IllegalStateException.class, () -> s.sample(logits));
            assertThrows(IllegalStateException.class, () -> s.apply(logits));
            assertThrows(IllegalStateException.class, () -> s.accept(picked));
            assertThrows(IllegalStateException.class, s::reset);
            try (Sampler again = Sampler.create(model, s.chain())) {
                assertEquals(picked, again.sample(logits), "same chain, same seed, same pick");
            }
            assertEquals(first, ctx.generate(PROMPT, 12, chain, null).text());
        }
    }
}
