package io.llamaffm.embeddings;

import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import io.llamaffm.TestEnv;
import io.llamaffm.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chunking with the real tokenizer of stories260K (vocabulary-only load). */
class ChunkerIT {
    private static final String STORY = """
            Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. One day, \
            she saw a big red ball in the park. She ran to the ball and kicked it very high. The ball flew over \
            the tree and landed next to a small dog. The dog was happy and wagged its tail. Lily and the dog \
            played with the ball all day long. When the sun went down, Lily said goodbye to the dog and went home \
            to her mom. Her mom gave her a warm hug and a big bowl of soup. Lily told her mom about the dog and \
            the ball. Her mom smiled and said, "You are a good friend." Lily was very happy. """;

    @Test
    void chunksOfASixHundredTokenTextCoverEveryTokenWithTheOverlap() {
        String text = STORY.repeat(3).strip();
        try (Model model = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true))) {
            Tokenizer tokenizer = model.tokenizer();
            int[] tokens = tokenizer.encode(text, false, false);
            assertEquals(694, tokens.length, "token count");

            List<Chunk> chunks = Chunker.defaults().chunk(tokenizer, text);

            int n = tokens.length;
            assertEquals(List.of("0..256", "192..448", "384..640", "576..694"),
                    chunks.stream().map(c -> c.startToken() + ".." + c.endToken()).toList());
            for (Chunk c : chunks) {
                assertEquals(c.index() * 192, c.startToken());
                assertEquals(Math.min(c.startToken() + 256, n), c.endToken());
                int[] slice = Arrays.copyOfRange(tokens, c.startToken(), c.endToken());
                assertEquals(tokenizer.decode(slice), c.text());
                assertFalse(c.text().isEmpty());
                assertTrue(text.contains(c.text()), "chunk " + c.index() + " is a piece of the text: " + c.text());
            }
            assertEquals(n, chunks.getLast().endToken());
            for (int i = 1; i < chunks.size(); i++) {
                int[] tail = Arrays.copyOfRange(tokens, chunks.get(i - 1).endToken() - 64, chunks.get(i - 1).endToken());
                int[] head = Arrays.copyOfRange(tokens, chunks.get(i).startToken(), chunks.get(i).startToken() + 64);
                assertEquals(Arrays.toString(tail), Arrays.toString(head), "overlap before chunk " + i);
                assertTrue(chunks.get(i - 1).text().endsWith(tokenizer.decode(tail).strip()));
                assertTrue(chunks.get(i).text().startsWith(tokenizer.decode(head)));
            }
        }
    }

    @Test
    void shortAndEmptyTexts() {
        try (Model model = Model.load(TestEnv.stories(), ModelParams.defaults().withVocabOnly(true))) {
            Tokenizer tokenizer = model.tokenizer();
            List<Chunk> one = Chunker.defaults().chunk(tokenizer, "Lily saw a big red ball.");
            assertEquals(1, one.size());
            assertEquals("Lily saw a big red ball.", one.getFirst().text());
            assertEquals(0, one.getFirst().startToken());
            assertEquals(tokenizer.encode("Lily saw a big red ball.", false, false).length, one.getFirst().endToken());
            assertEquals(List.of(), Chunker.defaults().chunk(tokenizer, ""));
        }
    }
}
