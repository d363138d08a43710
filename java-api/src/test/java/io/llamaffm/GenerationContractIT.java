package io.llamaffm;

import io.llamaffm.chat.ChatSession;
import io.llamaffm.chat.PlainChatFormat;
import io.llamaffm.decoding.BeamSearch;
import io.llamaffm.decoding.SpeculativeDecoding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same contract for every way of generating: refusal while a generation holds the context, logprobs when asked,
 * cancellation from another thread, stop strings never leaking (not in the text, not streamed), the token budget,
 * end-of-generation handling, timings present. Greedy entry points that continue the same prompt also agree with
 * {@link Context#generate} token for token.
 */
class GenerationContractIT {
    private static final String PROMPT = "Once upon a time";
    private static final String OTHER = "The little dog";

    /** A way of generating; {@code main} has 2 sequences, {@code draft} is a second context of the same model. */
    enum EntryPoint {
        GENERATE(true) {
            @Override
            Completion run(Fixture f, String prompt, GenerationParams p, Consumer<String> onText) {
                return f.main.generate(prompt, p, SamplerChain.greedy(), onText);
            }
        },
        START(true) {
            @Override
            Completion run(Fixture f, String prompt, GenerationParams p, Consumer<String> onText) {
                List<Integer> tokens = new ArrayList<>();
                List<Float> logprobs = new ArrayList<>();
                StringBuilder text = new StringBuilder();
                try (Generation g = f.main.start(prompt, p, SamplerChain.greedy())) {
                    for (int t; (t = g.nextToken()) >= 0; ) {
                        tokens.add(t);
                        if (p.logprobs()) {
                            logprobs.add(g.logprob());
                        }
                        emit(g.text(), text, onText);
                    }
                    emit(g.text(), text, onText);
                    float[] lp = new float[logprobs.size()];
                    for (int i = 0; i < lp.length; i++) {
                        lp[i] = logprobs.get(i);
                    }
                    return new Completion(text.toString(), tokens.stream().mapToInt(Integer::intValue).toArray(), lp,
                            f.model.tokenizer().encode(prompt).length, g.reusedTokens(), g.stopReason(), g.timings());
                }
            }
        },
        GENERATE_ALL(true) {
            @Override
            Completion run(Fixture f, String prompt, GenerationParams p, Consumer<String> onText) {
                return f.main.generateAll(List.of(prompt), p, SamplerChain.greedy(),
                        onText == null ? null : (i, t) -> onText.accept(t)).getFirst();
            }
        },
        SPECULATIVE(true) {
            @Override
            Completion run(Fixture f, String prompt, GenerationParams p, Consumer<String> onText) {
                return SpeculativeDecoding.generate(f.main, f.draft, prompt, p, SamplerChain.greedy(), 3, onText).completion();
            }
        },
        BEAM(true) {
            @Override
            Completion run(Fixture f, String prompt, GenerationParams p, Consumer<String> onText) {
                return BeamSearch.generate(f.main, prompt, p, 1, onText).completion();
            }
        },
        CHAT(false) {
            @Override
            Completion run(Fixture f, String prompt, GenerationParams p, Consumer<String> onText) {
                return new ChatSession(f.main, new PlainChatFormat(), null).send(prompt, p, SamplerChain.greedy(), onText);
            }
        };

        /** Whether it continues the prompt as it is (so greedy output equals {@link Context#generate}'s). */
        final boolean continuesPrompt;

        EntryPoint(boolean continuesPrompt) {
            this.continuesPrompt = continuesPrompt;
        }

        abstract Completion run(Fixture f, String prompt, GenerationParams p, Consumer<String> onText);

        /** Runs it, checking that the streamed text is the completion's text. */
        Completion runStreamed(Fixture f, String prompt, GenerationParams p) {
            StringBuilder streamed = new StringBuilder();
            Completion c = run(f, prompt, p, streamed::append);
            assertEquals(c.text(), streamed.toString(), this + ": streamed text");
            return c;
        }

        private static void emit(CharSequence delta, StringBuilder text, Consumer<String> onText) {
            if (!delta.isEmpty()) {
                text.append(delta);
                if (onText != null) {
                    onText.accept(delta.toString());
                }
            }
        }
    }

    record Fixture(Model model, Context main, Context draft, Context plain) {}

    private static Fixture f;

    @BeforeAll
    static void load() {
        Model m = Model.load(TestEnv.stories());
        f = new Fixture(m, m.newContext(ContextParams.defaults().withContextLength(1024).withSequences(2).withThreads(2)),
                m.newContext(ContextParams.defaults().withContextLength(512).withThreads(2)),
                m.newContext(ContextParams.defaults().withContextLength(512).withThreads(2)));
    }

    @AfterAll
    static void close() {
        f.main.close();
        f.draft.close();
        f.plain.close();
        f.model.close();
    }

    /** The reference: a plain context's own generation of the same prompt. */
    private static Completion reference(GenerationParams p) {
        return f.plain.generate(PROMPT, p, SamplerChain.greedy(), null);
    }

    @ParameterizedTest
    @EnumSource(EntryPoint.class)
    void theTokenBudgetEndsItWithMaxTokens(EntryPoint e) {
        GenerationParams p = GenerationParams.defaults().withMaxTokens(7).withIgnoreEos(true);
        Completion c = e.runStreamed(f, PROMPT, p);
        assertEquals(7, c.tokens().length, e + ": tokens");
        assertEquals(Completion.StopReason.MAX_TOKENS, c.stopReason(), e.toString());
        // (a chat reply's text keeps the space its first token starts with, which decode drops)
        assertEquals(f.model.tokenizer().decode(c.tokens()), e.continuesPrompt ? c.text() : c.text().stripLeading(),
                e + ": the text is the tokens' text");
        if (e.continuesPrompt) {
            Completion ref = reference(p);
            assertArrayEquals(ref.tokens(), c.tokens(), e + ": greedy tokens");
            assertEquals(ref.text(), c.text(), e.toString());
        }
    }

    @ParameterizedTest
    @EnumSource(EntryPoint.class)
    void logprobsComeWhenAskedForEveryToken(EntryPoint e) {
        GenerationParams p = GenerationParams.defaults().withMaxTokens(12).withIgnoreEos(true).withLogprobs(true);
        Completion c = e.runStreamed(f, PROMPT, p);
        float[] lp = c.logprobs();
        assertEquals(c.tokens().length, lp.length, e + ": one logprob per token");
        for (float x : lp) {
            assertTrue(Float.isFinite(x) && x <= 0, e + ": logprob " + x);
        }
        if (e.continuesPrompt) {
            Completion ref = reference(p);
            assertArrayEquals(ref.tokens(), c.tokens(), e.toString());
            for (int i = 0; i < lp.length; i++) {
                assertEquals(ref.logprobs()[i], lp[i], 2e-3, e + ": logprob of token " + i);
            }
        }
        Completion without = e.run(f, PROMPT, p.withLogprobs(false), null);
        assertEquals(0, without.logprobs().length, e + ": none when not asked");
    }

    @ParameterizedTest
    @EnumSource(EntryPoint.class)
    void aStopStringEndsItAndNeverLeaks(EntryPoint e) {
        GenerationParams p = GenerationParams.defaults().withMaxTokens(40).withIgnoreEos(true);
        Completion free = e.run(f, PROMPT, p, null);
        String text = free.text();
        assertTrue(text.length() > 30, e + ": " + text);
        String stop = text.substring(text.length() / 2, text.length() / 2 + 3);
        Completion c = e.runStreamed(f, PROMPT, p.withStopStrings(stop, "\u0000never"));
        assertEquals(Completion.StopReason.STOP_STRING, c.stopReason(), e + ": stop " + stop + " in " + text);
        assertEquals(text.substring(0, text.indexOf(stop)), c.text(), e + ": the text ends right before the stop string");
        assertFalse(c.text().contains(stop), e.toString());
    }

    /**
     * stories260K never reaches its end-of-sequence token greedily, so this loads it with the end-of-sequence id
     * overridden to a token its greedy continuation does produce: generation must end right before it.
     */
    @ParameterizedTest
    @EnumSource(EntryPoint.class)
    void anEndOfGenerationTokenEndsItUnlessIgnored(EntryPoint e) {
        GenerationParams p = GenerationParams.defaults().withMaxTokens(60);
        Completion free = e.run(f, PROMPT, p.withIgnoreEos(true), null);
        int end = free.tokens()[free.tokens().length / 2];
        int first = 0;
        while (free.tokens()[first] != end) {
            first++;
        }
        try (Model m = Model.load(TestEnv.stories(), ModelParams.defaults()
                .withMetadataOverrides(java.util.Map.of("tokenizer.ggml.eos_token_id", end)))) {
            assertTrue(m.tokenizer().isEndOfGeneration(end), "the override makes token " + end + " end generation");
            Fixture eos = new Fixture(m, m.newContext(ContextParams.defaults().withContextLength(1024).withSequences(2)),
                    m.newContext(ContextParams.defaults().withContextLength(512)), null);
            try (Context main = eos.main; Context draft = eos.draft) {
                Completion c = e.runStreamed(eos, PROMPT, p);
                assertEquals(Completion.StopReason.END_OF_GENERATION, c.stopReason(), e + ": " + c.tokens().length + " tokens");
                assertArrayEquals(Arrays.copyOf(free.tokens(), first), c.tokens(), e + ": everything before the end token");
                Completion past = e.run(eos, PROMPT, p.withIgnoreEos(true), null);
                assertEquals(Completion.StopReason.MAX_TOKENS, past.stopReason(), e.toString());
                assertArrayEquals(free.tokens(), past.tokens(), e + ": ignoring it, generation goes past it");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(EntryPoint.class)
    void timingsArePresent(EntryPoint e) {
        f.main.clear();
        Completion c = e.run(f, PROMPT, GenerationParams.defaults().withMaxTokens(10).withIgnoreEos(true), null);
        Timings t = c.timings();
        assertEquals(c.tokens().length, t.generatedTokens(), e.toString());
        assertTrue(t.promptTokens() > 0 && t.promptNanos() > 0, e + ": " + t);
        assertTrue(t.timeToFirstTokenNanos() > 0 && t.generationNanos() > 0 && t.tokensPerSecond() > 0, e + ": " + t);
        assertTrue(c.promptTokens() >= t.promptTokens(), e + ": " + c.promptTokens() + " vs " + t);
    }

    @ParameterizedTest
    @EnumSource(EntryPoint.class)
    void itIsRefusedWhileAGenerationHoldsTheContextAndLeavesThatGenerationAlone(EntryPoint e) {
        GenerationParams p = GenerationParams.defaults().withMaxTokens(20).withIgnoreEos(true);
        int[] expected = f.plain.generate(OTHER, p, SamplerChain.greedy(), null).tokens();
        for (Context held : e == EntryPoint.SPECULATIVE ? List.of(f.main, f.draft) : List.of(f.main)) {
            int[] got = new int[20];
            int n = 0;
            try (Generation g = held.start(OTHER, p, SamplerChain.greedy())) {
                for (; n < 5; n++) {
                    got[n] = g.nextToken();
                }
                IllegalStateException refused = assertThrows(IllegalStateException.class,
                        () -> e.run(f, PROMPT, p, null), e + " while a generation holds " + (held == f.main ? "main" : "draft"));
                assertTrue(refused.getMessage().contains("generation"), refused.getMessage());
                for (int t; (t = g.nextToken()) >= 0; ) {
                    got[n++] = t;
                }
            }
            assertArrayEquals(expected, Arrays.copyOf(got, n), e + ": the open generation went on undisturbed");
        }
    }

    @ParameterizedTest
    @EnumSource(EntryPoint.class)
    void anotherThreadCancelsIt(EntryPoint e) throws Exception {
        GenerationParams p = GenerationParams.defaults().withMaxTokens(Integer.MAX_VALUE).withIgnoreEos(true);
        Completion c;
        if (e == EntryPoint.BEAM) { // no text before the end: cancel while it runs
            AtomicBoolean done = new AtomicBoolean();
            CountDownLatch spinning = new CountDownLatch(1);
            Thread canceller = Thread.ofPlatform().start(() -> {
                while (!done.get()) {
                    f.main.cancel();
                    spinning.countDown();
                    Thread.onSpinWait();
                }
            });
            assertTrue(spinning.await(10, TimeUnit.SECONDS));
            try {
                c = e.run(f, PROMPT, p, null);
            } finally {
                done.set(true);
                canceller.join();
            }
        } else { // the first text reaches this thread; another thread cancels before it goes on
            CountDownLatch firstText = new CountDownLatch(1);
            CountDownLatch cancelled = new CountDownLatch(1);
            Thread canceller = Thread.ofPlatform().start(() -> {
                try {
                    firstText.await();
                    f.main.cancel();
                    cancelled.countDown();
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            });
            c = e.run(f, PROMPT, p, text -> {
                firstText.countDown();
                try {
                    assertTrue(cancelled.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException ex) {
                    throw new AssertionError(ex);
                }
            });
            canceller.join();
        }
        assertEquals(Completion.StopReason.CANCELLED, c.stopReason(), e + ": " + c.tokens().length + " tokens");
        assertTrue(c.tokens().length < 200, e + ": " + c.tokens().length);
        assertTrue(f.model.tokenizer().decode(c.tokens()).startsWith(c.text().stripLeading()), e + ": " + c.text());
        // the context is usable again, and the cancellation is forgotten
        GenerationParams small = GenerationParams.defaults().withMaxTokens(6).withIgnoreEos(true);
        assertArrayEquals(reference(small).tokens(), f.main.generate(PROMPT, small, SamplerChain.greedy(), null).tokens(), e.toString());
    }
}
