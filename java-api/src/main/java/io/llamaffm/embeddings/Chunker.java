package io.llamaffm.embeddings;

import io.llamaffm.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Cuts a text into chunks of at most {@code chunkTokens} tokens, each sharing its first {@code overlapTokens}
 * tokens with the end of the chunk before it, e.g. to embed a long document piece by piece.
 *
 * <p>Chunk {@code i} starts at token {@code i * (chunkTokens - overlapTokens)}; the last chunk is the first one
 * that reaches the end of the text (it may be shorter), so together the chunks cover every token and no chunk
 * lies wholly inside the one before. A text of at most {@code chunkTokens} tokens gives one chunk; a text of no
 * tokens gives none.
 *
 * <p>Each chunk's text is the tokenizer's decoding of its own tokens, so a multi-byte character whose bytes
 * are split over two tokens at a chunk boundary comes out as U+FFFD in both chunks. Immutable and thread-safe.
 *
 * @param chunkTokens   the most tokens in one chunk; positive
 * @param overlapTokens tokens shared by neighbouring chunks; {@code 0 <= overlapTokens < chunkTokens}
 */
public record Chunker(int chunkTokens, int overlapTokens) {
    /** {@return common sizes for retrieval: 256-token chunks with 64 tokens of overlap} */
    public static Chunker defaults() {
        return new Chunker(256, 64);
    }

    /**
     * Validates the sizes.
     *
     * @throws IllegalArgumentException unless {@code chunkTokens > overlapTokens >= 0}
     */
    public Chunker {
        if (overlapTokens < 0 || chunkTokens <= overlapTokens) {
            throw new IllegalArgumentException("need chunkTokens > overlapTokens >= 0, got chunkTokens " + chunkTokens
                    + ", overlapTokens " + overlapTokens);
        }
    }

    /**
     * Tokenizes {@code text} (no BOS or other added tokens; special-token text such as {@code <s>} is kept as
     * plain text) and cuts it into chunks decoded with {@link Tokenizer#decode(int[])}.
     *
     * @param tokenizer the model's tokenizer
     * @param text      the text to cut
     * @return the chunks, in order
     */
    public List<Chunk> chunk(Tokenizer tokenizer, String text) {
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(text, "text");
        return chunk(tokenizer.encode(text, false, false), tokenizer::decode);
    }

    /**
     * Cuts a token list into chunks; each chunk's text is {@code decoder} applied to a copy of its tokens.
     * Needs no model: any token ids and any decoder do.
     *
     * @param tokens  the token ids
     * @param decoder turns a chunk's tokens into its text
     * @return the chunks, in order
     */
    public List<Chunk> chunk(int[] tokens, Function<int[], String> decoder) {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(decoder, "decoder");
        List<Chunk> chunks = new ArrayList<>();
        int step = chunkTokens - overlapTokens;
        for (int start = 0; start < tokens.length; start += step) {
            int end = (int) Math.min((long) start + chunkTokens, tokens.length);
            chunks.add(new Chunk(chunks.size(), decoder.apply(Arrays.copyOfRange(tokens, start, end)), start, end));
            if (end == tokens.length) {
                break;
            }
        }
        return List.copyOf(chunks);
    }
}
