package io.llamaffm;

import io.llamaffm.grammar.HostileGrammars;
import io.llamaffm.internal.GbnfLimits;
import io.llamaffm.internal.GrammarLimits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile grammars against llama.cpp itself (stories260K's vocabulary): each of {@link HostileGrammars#gbnf()} is
 * refused before llama.cpp sees it, the model generating normally after; and grammars just inside each limit are
 * built by llama.cpp quickly, on a thread with a quarter of the usual stack for the longest chain, while one step
 * past the limit is refused. The limits are the defaults of {@link Configuration}.
 */
class HostileGrammarIT {
    private static final String PROMPT = "Once upon a time";
    private static final long NATIVE_MILLIS = 2000;
    private static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void hostileGrammarsAreRefusedBeforeLlamaCppAndTheModelGoesOn() {
        String before;
        try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(64).withThreads(1))) {
            before = ctx.generate(PROMPT, 8, SamplerChain.of(new SamplerChain.Greedy()), null).text();
        }
        for (HostileGrammars.Case c : HostileGrammars.gbnf()) {
            String text = c.text().get();
            long start = System.nanoTime();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sampler.create(model,
                    SamplerChain.of(SamplerChain.Grammar.of(text), new SamplerChain.Greedy())), c.name());
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(c.exception(), e.getClass().getName(), c.name());
            assertTrue(e.getMessage().contains(c.fragment()), c.name() + ": " + e.getMessage());
            assertTrue(millis <= HostileGrammars.MAX_MILLIS, c.name() + " took " + millis + " ms");
        }
        try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(64).withThreads(1))) {
            assertEquals(before, ctx.generate(PROMPT, 8, SamplerChain.of(new SamplerChain.Greedy()), null).text());
            SamplerChain twoAs = SamplerChain.of(SamplerChain.Grammar.of("root ::= \" a\"{2}"), new SamplerChain.Greedy());
            assertEquals(" a a", ctx.generate(PROMPT, 4, twoAs, null).text());
        }
    }

    /** {@code r_i ::= r_(i+1) | r_(i+1)}: llama.cpp's left-recursion check reads the rules 2^levels times. */
    private static String diamond(int levels) {
        StringBuilder g = new StringBuilder("root ::= r0\n");
        for (int i = 0; i < levels; i++) {
            g.append('r').append(i).append(" ::= r").append(i + 1).append(" | r").append(i + 1).append('\n');
        }
        return g.append('r').append(levels).append(" ::= \"x\"\n").toString();
    }

    /** {@code count} rules of {@code "x"{0,1999}}, each of which llama.cpp expands into 1999 more. */
    private static String repeatedRules(int count) {
        StringBuilder g = new StringBuilder("root ::= r0");
        for (int i = 1; i < count; i++) {
            g.append(" | r").append(i);
        }
        g.append('\n');
        for (int i = 0; i < count; i++) {
            g.append('r').append(i).append(" ::= \"x\"{0,1999}\n");
        }
        return g.toString();
    }

    /** {@code root ::= r0; r0 ::= r1; ...; r(n-1) ::= "a"}: a chain of n+1 rules. */
    private static String chain(int n) {
        StringBuilder g = new StringBuilder("root ::= r0\n");
        for (int i = 0; i < n; i++) {
            g.append('r').append(i).append(" ::= ").append(i + 1 < n ? "r" + (i + 1) : "\"a\"").append('\n');
        }
        return g.toString();
    }

    @Test
    void grammarsJustInsideTheLimitsAreBuiltQuicklyAndOneStepPastIsRefused() throws InterruptedException {
        GrammarLimits limits = GrammarLimits.configured();
        // the left-recursion check's steps: 6 x 2^20 - 2 with 20 levels, twice that past 10^7 with 21
        GbnfLimits.Measure steps = built(diamond(20), 0);
        assertEquals(6 * (1 << 20) - 2, steps.steps());
        refused(diamond(21), "llama.cpp's left-recursion check would read 12582910 elements of the grammar");
        // rules: 32 x 1999 expanded, and 33 x 1999 past 65536
        GbnfLimits.Measure rules = built(repeatedRules(32), 0);
        assertTrue(rules.rules() > limits.maxRules() * 9L / 10 && rules.rules() <= limits.maxRules(), rules.toString());
        refused(repeatedRules(33), "llama.cpp would build more than 65536 rules from the grammar");
        // elements: a literal of 2097 characters 1999 times, and of 2099 past 4194304
        GbnfLimits.Measure elements = built("root ::= \"" + "a".repeat(2097) + "\"{1999}", 0);
        assertTrue(elements.elements() > limits.maxElements() * 9L / 10 && elements.elements() <= limits.maxElements(),
                elements.toString());
        refused("root ::= \"" + "a".repeat(2099) + "\"{1999}", "llama.cpp would expand the grammar into more than 4194304 elements");
        // the longest chain, on a thread with a 256 KB stack (a quarter of the usual): llama.cpp recurses along it
        GbnfLimits.Measure chain = built(chain(4095), 256 * 1024);
        assertEquals(GbnfLimits.MAX_CHAIN, chain.chain());
        refused(chain(4096), "the grammar has a chain of 4097 rules each starting with the next; at most 4096");
        // characters: the largest grammar, a literal, and one character more
        String literal = "root ::= \"" + "a".repeat(limits.maxChars() - 11) + "\"";
        assertEquals(limits.maxChars(), built(literal, 0).chars());
        refused(literal + " ", "the grammar has 1048577 characters; at most 1048576");
    }

    /** Builds a sampler with {@code gbnf} on a thread with {@code stackBytes} of stack (0: the default) within the time bound. */
    private static GbnfLimits.Measure built(String gbnf, long stackBytes) throws InterruptedException {
        GbnfLimits.Measure measure = GbnfLimits.measure(gbnf, "root", GrammarLimits.configured());
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long[] millis = new long[1];
        Thread t = new Thread(null, () -> {
            long start = System.nanoTime();
            try (Sampler s = Sampler.create(model, SamplerChain.of(SamplerChain.Grammar.of(gbnf), new SamplerChain.Greedy()))) {
                millis[0] = (System.nanoTime() - start) / 1_000_000;
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "grammar-at-the-limit", stackBytes);
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError(measure + " was refused", failure.get());
        }
        assertTrue(millis[0] <= NATIVE_MILLIS, measure + " took " + millis[0] + " ms");
        System.out.println("built " + measure + " in " + millis[0] + " ms");
        return measure;
    }

    private static void refused(String gbnf, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SamplerChain.Grammar.of(gbnf));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}
