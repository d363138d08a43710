package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_token_data;
import io.llamaffm.bindings.llama_token_data_array;
import io.llamaffm.grammar.JsonSchemaToGrammar;
import io.llamaffm.grammar.SchemaCases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The converted grammars in llama.cpp itself: its grammar parser accepts every one (a non-NULL grammar sampler),
 * and a grammar sampler allows exactly the tokens of stories260K's vocabulary that can start (or continue) a JSON
 * text matching the schema, and the end of generation only once the text is complete.
 */
class JsonSchemaGrammarIT {
    private static Model model;
    private static MemorySegment vocab;

    @BeforeAll
    static void loadVocabulary() {
        model = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true));
        vocab = LlamaH.llama_model_get_vocab(model.handle());
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void llamaCppParsesEveryConvertedSchema() {
        List<String> rejected = new ArrayList<>();
        int parsed = 0;
        for (SchemaCases.Case c : SchemaCases.all()) {
            if (!c.succeeds()) {
                continue;
            }
            String grammar = JsonSchemaToGrammar.convert(c.schema(), c.options());
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment sampler = LlamaH.llama_sampler_init_grammar(vocab, arena.allocateFrom(grammar),
                        arena.allocateFrom("root"));
                if (sampler.equals(MemorySegment.NULL)) {
                    rejected.add(c.name());
                } else {
                    parsed++;
                    LlamaH.llama_sampler_free(sampler);
                }
            }
        }
        assertEquals(List.of(), rejected, "grammars llama.cpp could not parse");
        assertEquals(148, parsed);
    }

    @Test
    void booleanAllowsPrefixesOfTrueAndFalseThenOnlyTheEnd() {
        try (GrammarSampler sampler = new GrammarSampler(JsonSchemaToGrammar.convert("{\"type\": \"boolean\"}"))) {
            assertEquals(prefixTokens("true", "false"), sampler.allowed());
            sampler.acceptText("true");
            assertEquals(endTokens(), sampler.allowed(), "after \"true\" only the end of generation");
        }
    }

    @Test
    void enumAllowsPrefixesOfItsQuotedValues() {
        String grammar = JsonSchemaToGrammar.convert("{\"enum\": [\"red\", \"green\", 42]}");
        try (GrammarSampler sampler = new GrammarSampler(grammar)) {
            Set<Integer> first = sampler.allowed();
            assertEquals(prefixTokens("\"red\"", "\"green\"", "42"), first);
            sampler.acceptText("\"");
            assertEquals(prefixTokens("red\"", "green\""), sampler.allowed());
            sampler.acceptText("green\"");
            assertEquals(endTokens(), sampler.allowed());
        }
    }

    @Test
    void integerRangeAllowsOnlyNumbersInRange() {
        String grammar = JsonSchemaToGrammar.convert("{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 12}");
        try (GrammarSampler sampler = new GrammarSampler(grammar)) {
            String[] inRange = new String[12];
            Arrays.setAll(inRange, i -> Integer.toString(i + 1));
            assertEquals(prefixTokens(inRange), sampler.allowed());
            sampler.acceptText("1");
            Set<Integer> afterOne = new TreeSet<>(prefixTokens("0", "1", "2"));
            afterOne.addAll(endTokens()); // "1" is complete
            assertEquals(afterOne, sampler.allowed());
        }
    }

    @Test
    void objectStartsWithABraceAndItsRequiredKey() {
        String grammar = JsonSchemaToGrammar.convert(
                "{\"type\": \"object\", \"properties\": {\"ok\": {\"type\": \"boolean\"}}, \"required\": [\"ok\"],"
                        + " \"additionalProperties\": false}");
        try (GrammarSampler sampler = new GrammarSampler(grammar)) {
            assertEquals(prefixTokens("{\"ok\""), sampler.allowed(), "no space is allowed before the brace");
            sampler.acceptText("{");
            Set<Integer> afterBrace = sampler.allowed();
            assertTrue(afterBrace.containsAll(prefixTokens("\"ok\"")));
            assertFalse(afterBrace.stream().anyMatch(id -> Arrays.equals(piece(id), "}".getBytes(StandardCharsets.UTF_8))),
                    "the key is required");
            sampler.acceptText(" \"ok\": true }");
            assertEquals(endTokens(), sampler.allowed());
        }
    }

    /** Tokens whose piece is a non-empty prefix of one of {@code texts} (UTF-8 bytes), end-of-generation excluded. */
    private static Set<Integer> prefixTokens(String... texts) {
        Tokenizer t = model.tokenizer();
        Set<Integer> tokens = new TreeSet<>();
        for (int id = 0; id < t.vocabularySize(); id++) {
            byte[] piece = t.pieceBytes(id, true);
            if (piece.length == 0 || t.isEndOfGeneration(id)) {
                continue;
            }
            for (String text : texts) {
                byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
                if (piece.length <= bytes.length && Arrays.equals(piece, 0, piece.length, bytes, 0, piece.length)) {
                    tokens.add(id);
                }
            }
        }
        return tokens;
    }

    private static byte[] piece(int token) {
        return model.tokenizer().pieceBytes(token, true);
    }

    private static Set<Integer> endTokens() {
        Set<Integer> tokens = new TreeSet<>();
        for (int id = 0; id < model.tokenizer().vocabularySize(); id++) {
            if (model.tokenizer().isEndOfGeneration(id)) {
                tokens.add(id);
            }
        }
        return tokens;
    }

    /** A native grammar sampler over the whole vocabulary; only tokens it has allowed are ever accepted. */
    private static final class GrammarSampler implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        private final MemorySegment sampler;
        private final int vocabularySize = model.tokenizer().vocabularySize();

        GrammarSampler(String grammar) {
            sampler = LlamaH.llama_sampler_init_grammar(vocab, arena.allocateFrom(grammar), arena.allocateFrom("root"));
            assertFalse(sampler.equals(MemorySegment.NULL), "llama.cpp parses the grammar:\n" + grammar);
        }

        /** The tokens the grammar lets through now (all start with the same logit; rejected ones become -inf). */
        Set<Integer> allowed() {
            MemorySegment data = llama_token_data.allocateArray(vocabularySize, arena);
            for (int id = 0; id < vocabularySize; id++) {
                MemorySegment candidate = llama_token_data.asSlice(data, id);
                llama_token_data.id(candidate, id);
                llama_token_data.logit(candidate, 0f);
                llama_token_data.p(candidate, 0f);
            }
            MemorySegment array = llama_token_data_array.allocate(arena);
            llama_token_data_array.data(array, data);
            llama_token_data_array.size(array, vocabularySize);
            llama_token_data_array.selected(array, -1);
            llama_token_data_array.sorted(array, false);
            LlamaH.llama_sampler_apply(sampler, array);
            Set<Integer> allowed = new TreeSet<>();
            for (int i = 0; i < vocabularySize; i++) {
                MemorySegment candidate = llama_token_data.asSlice(data, i);
                if (llama_token_data.logit(candidate) != Float.NEGATIVE_INFINITY) {
                    allowed.add(llama_token_data.id(candidate));
                }
            }
            return allowed;
        }

        /** Accepts {@code text} token by token, each time the allowed token with the longest piece that starts it. */
        void acceptText(String text) {
            byte[] rest = text.getBytes(StandardCharsets.UTF_8);
            while (rest.length > 0) {
                int best = -1;
                int bestLength = 0;
                for (int id : allowed()) {
                    byte[] piece = piece(id);
                    if (piece.length > bestLength && piece.length <= rest.length
                            && Arrays.equals(piece, 0, piece.length, rest, 0, piece.length)) {
                        best = id;
                        bestLength = piece.length;
                    }
                }
                assertTrue(best >= 0, "the grammar allows a token that starts \"" + new String(rest, StandardCharsets.UTF_8) + "\"");
                accept(best);
                rest = Arrays.copyOfRange(rest, bestLength, rest.length);
            }
        }

        /** Advances the grammar by a token; refuses (in Java) one the grammar does not allow, which would abort. */
        void accept(int token) {
            assertTrue(allowed().contains(token), "token " + token + " is allowed before it is accepted");
            LlamaH.llama_sampler_accept(sampler, token);
        }

        @Override
        public void close() {
            LlamaH.llama_sampler_free(sampler);
            arena.close();
        }
    }
}
