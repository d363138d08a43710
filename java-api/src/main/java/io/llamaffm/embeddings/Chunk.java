package io.llamaffm.embeddings;

import java.util.Objects;

/**
 * One piece of a text cut by a {@link Chunker}.
 *
 * @param index      position of this chunk in the text's list of chunks, from 0
 * @param text       the decoded text of tokens {@code startToken .. endToken-1}
 * @param startToken index of the chunk's first token in the text's tokens
 * @param endToken   index one past the chunk's last token (exclusive)
 */
public record Chunk(int index, String text, int startToken, int endToken) {
    /** Validates the chunk: a non-negative index, a non-empty token range, a non-null text. */
    public Chunk {
        Objects.requireNonNull(text, "text");
        if (index < 0 || startToken < 0 || endToken <= startToken) {
            throw new IllegalArgumentException("invalid chunk: index " + index + ", tokens " + startToken + ".." + endToken);
        }
    }

    /** {@return the number of tokens in this chunk} */
    public int tokenCount() {
        return endToken - startToken;
    }
}
