package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.internal.engine.PieceBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A model's tokenizer: text to token ids and back, with llama.cpp's own vocabulary code. Thread-safe; valid
 * while its model is open (afterwards every method throws {@link IllegalStateException}).
 */
public final class Tokenizer {
    private final Model model;
    private final MemorySegment vocab; // const llama_vocab*, lives in the model's arena
    private final int vocabularySize;

    private final String noVocabulary;       // why text cannot be tokenized at all, or null
    private final String cannotAddSpecial;   // why special tokens cannot be added, or null
    private final boolean[] missingBytes;    // SentencePiece bytes without a byte token, or null
    private final boolean hasSpaceToken;     // a SentencePiece vocabulary with a "▁" token

    Tokenizer(Model model, MemorySegment vocab) {
        this.model = model;
        this.vocab = vocab;
        this.vocabularySize = LlamaH.llama_vocab_n_tokens(vocab);
        String name = model.path().getFileName().toString();
        int type = LlamaH.llama_vocab_type(vocab);
        this.noVocabulary = type == LlamaH.LLAMA_VOCAB_TYPE_NONE()
                ? "model " + name + " has no vocabulary (tokenizer.ggml.model is none): it cannot tokenize text" : null;
        this.cannotAddSpecial = missingSpecialToken(vocab, type, name);
        this.missingBytes = type == LlamaH.LLAMA_VOCAB_TYPE_SPM() ? missingByteTokens(vocab, vocabularySize) : null;
        this.hasSpaceToken = missingBytes != null && hasToken(vocab, vocabularySize, SPM_SPACE);
    }

    /**
     * The bytes a SentencePiece vocabulary has no token for (neither {@code <0xXX>} nor the byte itself), or null when
     * it has all 256: llama.cpp falls back to byte tokens for text its pieces do not cover and aborts (an uncaught
     * {@code std::out_of_range}) when one is missing. The text it tokenizes has its spaces replaced by "▁" and one in
     * front, so without a "▁" token those three bytes count as the text's too.
     */
    private static boolean[] missingByteTokens(MemorySegment vocab, int n) {
        boolean[] covered = new boolean[256];
        byte[] b = new byte[7];
        for (int id = 0; id < n; id++) {
            MemorySegment text = LlamaH.llama_vocab_get_text(vocab, id).reinterpret(b.length);
            int len = 0;
            while (len < b.length && (b[len] = text.get(ValueLayout.JAVA_BYTE, len)) != 0) { // never past the NUL
                len++;
            }
            if (len == 1) {
                covered[b[0] & 0xFF] = true;
            } else if (len == 6 && b[0] == '<' && b[1] == '0' && b[2] == 'x' && b[5] == '>' && hex(b[3]) >= 0 && hex(b[4]) >= 0) {
                covered[hex(b[3]) * 16 + hex(b[4])] = true;
            }
        }
        boolean[] missing = new boolean[256];
        boolean any = false;
        for (int i = 0; i < 256; i++) {
            missing[i] = !covered[i];
            any |= missing[i];
        }
        return any ? missing : null;
    }

    /** Whether a token's text is {@code text}. */
    private static boolean hasToken(MemorySegment vocab, int n, byte[] text) {
        for (int id = 0; id < n; id++) {
            MemorySegment t = LlamaH.llama_vocab_get_text(vocab, id).reinterpret(text.length + 1);
            int i = 0;
            while (i < text.length && t.get(ValueLayout.JAVA_BYTE, i) == text[i]) { // a NUL ends it: no byte of text is 0
                i++;
            }
            if (i == text.length && t.get(ValueLayout.JAVA_BYTE, i) == 0) { // never read past the NUL
                return true;
            }
        }
        return false;
    }

    /** SentencePiece's space, U+2581, in UTF-8. */
    private static final byte[] SPM_SPACE = {(byte) 0xE2, (byte) 0x96, (byte) 0x81};

    private void requireByteToken(byte b) {
        if (missingBytes[b & 0xFF]) {
            throw new LlamaException(String.format("the vocabulary of model %s has no token for byte 0x%02X (neither "
                    + "<0x%02X> nor the byte itself), which llama.cpp may need to tokenize this text", model.path()
                    .getFileName(), b & 0xFF, b & 0xFF));
        }
    }

    /** An upper-case hex digit's value (llama.cpp writes byte tokens that way), or -1. */
    private static int hex(byte c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }

    /**
     * Why llama.cpp could not add the special tokens its tokenizer adds to every text (it asserts that they exist), or
     * null: BOS/EOS when the vocabulary says to add them (SentencePiece, BPE, Unigram), CLS and SEP for WordPiece.
     */
    private static String missingSpecialToken(MemorySegment vocab, int type, String name) {
        boolean wpm = type == LlamaH.LLAMA_VOCAB_TYPE_WPM();
        boolean addsBosEos = type == LlamaH.LLAMA_VOCAB_TYPE_SPM() || type == LlamaH.LLAMA_VOCAB_TYPE_BPE()
                || type == LlamaH.LLAMA_VOCAB_TYPE_UGM();
        String missing = null;
        if ((wpm || addsBosEos && LlamaH.llama_vocab_get_add_bos(vocab)) && LlamaH.llama_vocab_bos(vocab) < 0) {
            missing = wpm ? "a CLS token (tokenizer.ggml.bos_token_id)" : "a BOS token (tokenizer.ggml.bos_token_id)";
        } else if (addsBosEos && LlamaH.llama_vocab_get_add_eos(vocab) && LlamaH.llama_vocab_eos(vocab) < 0) {
            missing = "an EOS token (tokenizer.ggml.eos_token_id)";
        } else if (wpm && LlamaH.llama_vocab_sep(vocab) < 0) {
            missing = "a SEP token (tokenizer.ggml.seperator_token_id)";
        }
        return missing == null ? null : "the vocabulary of model " + name + " adds " + missing
                + " to every text but defines none (or one out of range): encode with addSpecial=false";
    }

    /** {@return the number of tokens in the vocabulary; valid ids are {@code 0 .. vocabularySize()-1}} */
    public int vocabularySize() {
        model.ensureOpen();
        return vocabularySize;
    }

    /**
     * Encodes as a prompt is usually encoded: BOS (and other special tokens the model adds) added, special tokens parsed.
     *
     * @param text the text
     * @return the token ids
     */
    public int[] encode(String text) {
        return encode(text, true, true);
    }

    /**
     * Encodes text into token ids.
     *
     * @param text         the text
     * @param addSpecial   add the special tokens the model's vocabulary adds (e.g. BOS)
     * @param parseSpecial treat special-token text such as {@code <s>} in {@code text} as those tokens
     * @return the token ids
     * @throws IllegalArgumentException if the text is not valid Unicode (an unpaired surrogate)
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        return tokenize(utf8(text), addSpecial, parseSpecial);
    }

    /**
     * Encodes UTF-8 bytes into token ids.
     *
     * @param utf8         the text as UTF-8
     * @param addSpecial   add the special tokens the model's vocabulary adds (e.g. BOS)
     * @param parseSpecial treat special-token text such as {@code <s>} as those tokens
     * @return the token ids
     * @throws IllegalArgumentException if the bytes are not valid UTF-8
     */
    public int[] encode(byte[] utf8, boolean addSpecial, boolean parseSpecial) {
        validateUtf8(utf8);
        return tokenize(utf8, addSpecial, parseSpecial);
    }

    private int[] tokenize(byte[] utf8, boolean addSpecial, boolean parseSpecial) {
        model.ensureOpen();
        requireVocabulary();
        if (addSpecial && cannotAddSpecial != null) {
            throw new LlamaException(cannotAddSpecial);
        }
        if (missingBytes != null) {
            for (byte b : utf8) {
                requireByteToken(b);
            }
            if (utf8.length > 0 && !hasSpaceToken) { // "▁" (E2 96 81) for each space and in front of the text
                for (byte b : SPM_SPACE) {
                    requireByteToken(b);
                }
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(Math.max(1, utf8.length));
            MemorySegment.copy(utf8, 0, text, ValueLayout.JAVA_BYTE, 0, utf8.length);
            int capacity = utf8.length + 8; // a token never covers less than one byte; room for BOS/EOS
            MemorySegment tokens = arena.allocate(ValueLayout.JAVA_INT, capacity);
            int n = LlamaH.llama_tokenize(vocab, text, utf8.length, tokens, capacity, addSpecial, parseSpecial);
            if (n < 0) { // more tokens than the estimate: -n is the exact count
                capacity = -n;
                tokens = arena.allocate(ValueLayout.JAVA_INT, capacity);
                n = LlamaH.llama_tokenize(vocab, text, utf8.length, tokens, capacity, addSpecial, parseSpecial);
            }
            if (n < 0) {
                throw new LlamaException("llama_tokenize failed (" + n + ") for a text of " + utf8.length + " bytes");
            }
            return tokens.asSlice(0, (long) n * Integer.BYTES).toArray(ValueLayout.JAVA_INT);
        }
    }

    /**
     * Decodes tokens to text, keeping special tokens out of the text as llama.cpp renders them by default.
     *
     * @param tokens the token ids
     * @return the text
     */
    public String decode(int[] tokens) {
        return decode(tokens, false, false);
    }

    /**
     * Decodes token ids to text. Bytes that do not form valid UTF-8 (a multi-byte character cut by the token
     * list's end) become U+FFFD; use {@link #decodeBytes} for the raw bytes.
     *
     * @param tokens         the token ids
     * @param removeSpecial  drop the BOS/EOS the model would add
     * @param unparseSpecial render special tokens as their text (e.g. {@code <s>})
     * @return the text
     * @throws IllegalArgumentException if a token id is out of range
     */
    public String decode(int[] tokens, boolean removeSpecial, boolean unparseSpecial) {
        return new String(decodeBytes(tokens, removeSpecial, unparseSpecial), StandardCharsets.UTF_8);
    }

    /**
     * Decodes token ids to UTF-8 bytes (see {@link #decode(int[], boolean, boolean)}).
     *
     * @param tokens         the token ids
     * @param removeSpecial  drop the BOS/EOS the model would add
     * @param unparseSpecial render special tokens as their text (e.g. {@code <s>})
     * @return the text's bytes, possibly ending inside a multi-byte character
     */
    public byte[] decodeBytes(int[] tokens, boolean removeSpecial, boolean unparseSpecial) {
        checkTokens(tokens);
        model.ensureOpen();
        requireVocabulary();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocate(ValueLayout.JAVA_INT, Math.max(1, tokens.length));
            MemorySegment.copy(tokens, 0, ids, ValueLayout.JAVA_INT, 0, tokens.length);
            int capacity = tokens.length * 8 + 16;
            MemorySegment text = arena.allocate(capacity);
            int n = LlamaH.llama_detokenize(vocab, ids, tokens.length, text, capacity, removeSpecial, unparseSpecial);
            if (n < 0) {
                capacity = -n;
                text = arena.allocate(capacity);
                n = LlamaH.llama_detokenize(vocab, ids, tokens.length, text, capacity, removeSpecial, unparseSpecial);
            }
            if (n < 0) {
                throw new LlamaException("llama_detokenize failed (" + n + ")");
            }
            return text.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * The raw bytes of one token's piece.
     *
     * @param token   a token id of this vocabulary
     * @param special render a special token as its text
     * @return the piece's bytes (a part of a multi-byte character for byte tokens)
     */
    public byte[] pieceBytes(int token, boolean special) {
        checkToken(token);
        model.ensureOpen();
        requireVocabulary();
        try (Arena arena = Arena.ofConfined()) {
            PieceBuffer buf = new PieceBuffer(arena, 64);
            int n = buf.write(vocab, token, special); // first: a longer piece than any before replaces the array
            return java.util.Arrays.copyOf(buf.bytes(), n);
        }
    }

    /** {@return the vocabulary, for a caller that holds no context: checks the token and that the model is open first} */
    MemorySegment checkedVocabulary(int token) {
        checkToken(token);
        model.ensureOpen();
        requireVocabulary();
        return vocab;
    }

    /** {@return the beginning-of-sequence token, or -1 if the vocabulary has none} */
    public int bos() {
        model.ensureOpen();
        return LlamaH.llama_vocab_bos(vocab);
    }

    /** {@return the end-of-sequence token, or -1 if the vocabulary has none} */
    public int eos() {
        model.ensureOpen();
        return LlamaH.llama_vocab_eos(vocab);
    }

    /** {@return the end-of-turn token, or -1 if the vocabulary has none} */
    public int eot() {
        model.ensureOpen();
        return LlamaH.llama_vocab_eot(vocab);
    }

    /** {@return every token that ends generation (EOS, EOT, and the model's other end-of-generation tokens)} */
    public java.util.Set<Integer> endOfGenerationTokens() {
        model.ensureOpen();
        java.util.Set<Integer> eog = endOfGeneration;
        if (eog == null) {
            java.util.Set<Integer> found = new java.util.TreeSet<>();
            for (int t = 0; t < vocabularySize; t++) {
                if (LlamaH.llama_vocab_is_eog(vocab, t)) {
                    found.add(t);
                }
            }
            endOfGeneration = eog = java.util.Collections.unmodifiableSet(found);
        }
        return eog;
    }

    private volatile java.util.Set<Integer> endOfGeneration;

    /**
     * What kind of token this is.
     *
     * @param token a token id of this vocabulary
     * @return its attributes (normal, control, byte, user-defined, ...)
     */
    public java.util.Set<TokenAttribute> attributes(int token) {
        checkToken(token);
        model.ensureOpen();
        requireVocabulary();
        return TokenAttribute.of(LlamaH.llama_vocab_get_attr(vocab, token));
    }

    /**
     * Whether the token is a control token (BOS, EOS, chat markers): not rendered as text by default.
     *
     * @param token a token id of this vocabulary
     * @return whether it is a control token
     */
    public boolean isControl(int token) {
        checkToken(token);
        model.ensureOpen();
        requireVocabulary();
        return LlamaH.llama_vocab_is_control(vocab, token);
    }

    /**
     * The token's raw vocabulary entry.
     *
     * @param token a token id of this vocabulary
     * @return the entry as the vocabulary stores it (SentencePiece pieces keep their ▁ marks)
     */
    public String vocabularyText(int token) {
        checkToken(token);
        model.ensureOpen();
        requireVocabulary();
        return LlamaH.llama_vocab_get_text(vocab, token).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /**
     * {@return a decoder for a stream of tokens that returns text only in whole characters: bytes of a multi-byte
     * UTF-8 character split over several tokens wait for the rest. One per stream, one thread at a time}
     */
    public StreamingDecoder streamingDecoder() {
        model.ensureOpen();
        return new StreamingDecoder(this);
    }

    /**
     * Whether generating this token ends generation (EOS, EOT and the like).
     *
     * @param token a token id of this vocabulary
     * @return whether it ends generation
     */
    public boolean isEndOfGeneration(int token) {
        checkToken(token);
        model.ensureOpen();
        return LlamaH.llama_vocab_is_eog(vocab, token);
    }

    MemorySegment vocab() {
        model.ensureOpen();
        return vocab;
    }

    /** llama.cpp asserts on every text operation of a model without a vocabulary (its tokens are placeholders). */
    private void requireVocabulary() {
        if (noVocabulary != null) {
            throw new LlamaException(noVocabulary);
        }
    }

    void checkToken(int token) {
        if (token < 0 || token >= vocabularySize) {
            throw new IllegalArgumentException("token id " + token + " is out of range 0.." + (vocabularySize - 1));
        }
    }

    /**
     * Checks token ids against the vocabulary.
     *
     * @param tokens the ids
     * @throws IllegalArgumentException naming the first id out of range
     * @throws IllegalStateException    if the model is closed
     */
    public void checkTokens(int[] tokens) {
        model.ensureOpen();
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabularySize) {
                throw new IllegalArgumentException("token id " + tokens[i] + " at index " + i + " is out of range 0.."
                        + (vocabularySize - 1));
            }
        }
    }

    private static byte[] utf8(String text) {
        try {
            ByteBuffer bb = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(text));
            byte[] out = new byte[bb.remaining()];
            bb.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("text is not valid Unicode (unpaired surrogate): " + e.getMessage(), e);
        }
    }

    private static void validateUtf8(byte[] utf8) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("input is not valid UTF-8: " + e.getMessage(), e);
        }
    }
}
