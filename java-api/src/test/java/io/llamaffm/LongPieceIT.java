package io.llamaffm;

import io.llamaffm.testmodels.SyntheticQwen;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pieces longer than any before (Qwen2's vocabulary has tokens of more than 64 bytes, the piece buffer's first size):
 * the buffer grows and the whole piece comes out, in the tokenizer and in generation. Regression: the bytes were read
 * from the old, smaller array before the buffer grew (an IndexOutOfBoundsException in generation, zero bytes in
 * {@link Tokenizer#pieceBytes}).
 */
class LongPieceIT {
    @Test
    void aPieceLongerThanTheFirstBufferComesOutWhole() {
        try (Model model = Model.load(SyntheticQwen.path())) {
            Tokenizer tok = model.tokenizer();
            int longest = -1;
            int longestLength = 0;
            for (int t = 0; t < SyntheticQwen.ENDOFTEXT; t++) {
                int n = tok.vocabularyText(t).length();
                if (n > longestLength) {
                    longestLength = n;
                    longest = t;
                }
            }
            assertTrue(longestLength > 64, "the vocabulary has a long token: " + longestLength);
            byte[] piece = tok.pieceBytes(longest, false);
            assertTrue(piece.length > 64, "piece of " + piece.length + " bytes");
            assertArrayEquals(tok.decodeBytes(new int[] {longest}, false, false), piece);
            assertTrue(piece[piece.length - 1] != 0, "the piece's last byte is its own, not padding");
            try (Context ctx = model.newContext(ContextParams.defaults().withContextLength(256))) {
                SamplerChain forced = SamplerChain.of(new SamplerChain.LogitBias(Map.of(longest, 1000f)), new SamplerChain.Greedy());
                Completion c = ctx.generate("Hello", 2, forced, null);
                assertEquals(longest, c.tokens()[0]);
                assertTrue(c.text().startsWith(new String(piece, StandardCharsets.UTF_8)), c.text());
            }
        }
    }
}
