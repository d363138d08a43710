package io.llamaffm.convert;

import io.llamaffm.internal.JsonParser;

import java.math.BigDecimal;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A WordPiece vocabulary read from a Hugging Face {@code tokenizer.json}, laid out as llama.cpp's {@code bert}
 * tokenizer expects: every id has a token, special (control) tokens stay as they are, a word-continuation piece
 * {@code ##x} becomes {@code x} and a word-initial piece {@code x} becomes {@code ▁x} (U+2581, the "phantom space").
 */
record WordPieceVocab(List<String> tokens, int[] tokenTypes, int cls, int sep, int unk, int pad, int mask,
                      Boolean lowercase) {
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int UNUSED = 5;

    /**
     * Parses tokenizer.json text.
     *
     * @param minSize the vocabulary is padded to this many ids with unused {@code [PADn]} tokens (the model's rows)
     * @throws OnnxFormatException if it is not a WordPiece tokenizer or lacks [CLS], [SEP] or the unknown token
     */
    static WordPieceVocab parse(String json, int minSize, String source) {
        Object root;
        try {
            root = JsonParser.parse(json);
        } catch (JsonParser.ParseException e) {
            throw new OnnxFormatException(source + ": " + e.getMessage());
        }
        Map<String, Object> top = object(root, "the top level", source);
        Map<String, Object> model = object(top.get("model"), "\"model\"", source);
        if (!"WordPiece".equals(model.get("type"))) {
            throw new OnnxFormatException(source + ": the tokenizer model is " + model.get("type")
                    + ", only WordPiece (BERT) tokenizers convert to llama.cpp's bert vocabulary");
        }
        Map<String, Object> vocab = object(model.get("vocab"), "\"model.vocab\"", source);
        int size = minSize;
        Map<Integer, String> byId = new HashMap<>();
        for (var e : vocab.entrySet()) {
            int id = intValue(e.getValue(), "the id of token " + e.getKey(), source);
            if (id < 0 || id >= 10_000_000) throw new OnnxFormatException(source + ": token id " + id + " out of range");
            if (byId.put(id, e.getKey()) != null) throw new OnnxFormatException(source + ": token id " + id + " is used twice");
            size = Math.max(size, id + 1);
        }
        Map<Integer, Boolean> special = new HashMap<>();
        if (top.get("added_tokens") instanceof List<?> added) {
            for (Object o : added) {
                Map<String, Object> t = object(o, "an added token", source);
                int id = intValue(t.get("id"), "an added token's id", source);
                if (id < 0 || id >= 10_000_000) throw new OnnxFormatException(source + ": token id " + id + " out of range");
                String content = (String) t.get("content");
                byId.putIfAbsent(id, content);
                size = Math.max(size, id + 1);
                special.put(id, Boolean.TRUE.equals(t.get("special")));
            }
        }
        String[] tokens = new String[size];
        int[] types = new int[size];
        for (int i = 0; i < size; i++) {
            String t = byId.get(i);
            if (t == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            } else if (Boolean.TRUE.equals(special.get(i))) {
                tokens[i] = t;
                types[i] = CONTROL;
            } else {
                tokens[i] = t.startsWith("##") ? t.substring(2) : "\u2581" + t;
                types[i] = NORMAL;
            }
        }
        Map<String, Integer> ids = new HashMap<>();
        byId.forEach((id, t) -> ids.put(t, id));
        String unkToken = model.get("unk_token") instanceof String s ? s : "[UNK]";
        int unk = required(ids, unkToken, source);
        int cls = required(ids, templateEdge(top, true).orElse("[CLS]"), source);
        int sep = required(ids, templateEdge(top, false).orElse("[SEP]"), source);
        int pad = top.get("padding") instanceof Map<?, ?> p && p.get("pad_id") instanceof BigDecimal b ? b.intValueExact()
                : ids.getOrDefault("[PAD]", -1);
        int mask = ids.getOrDefault("[MASK]", -1);
        Boolean lowercase = top.get("normalizer") instanceof Map<?, ?> n && n.get("lowercase") instanceof Boolean l ? l : null;
        return new WordPieceVocab(List.of(tokens), types, cls, sep, unk, pad, mask, lowercase);
    }

    /** The first (or last) special token of the single-sequence template, e.g. [CLS] / [SEP]. */
    private static java.util.Optional<String> templateEdge(Map<String, Object> top, boolean first) {
        if (top.get("post_processor") instanceof Map<?, ?> pp && pp.get("single") instanceof List<?> single && !single.isEmpty()
                && single.get(first ? 0 : single.size() - 1) instanceof Map<?, ?> item
                && item.get("SpecialToken") instanceof Map<?, ?> st && st.get("id") instanceof String id) {
            return java.util.Optional.of(id);
        }
        return java.util.Optional.empty();
    }

    private static int required(Map<String, Integer> ids, String token, String source) {
        Integer id = ids.get(token);
        if (id == null) throw new OnnxFormatException(source + ": the vocabulary has no " + token + " token");
        return id;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Object o, String what, String source) {
        if (!(o instanceof Map<?, ?> m)) throw new OnnxFormatException(source + ": " + what + " should be a JSON object");
        return (Map<String, Object>) m;
    }

    private static int intValue(Object o, String what, String source) {
        if (!(o instanceof BigDecimal b)) throw new OnnxFormatException(source + ": " + what + " should be a number");
        try {
            return b.intValueExact();
        } catch (ArithmeticException e) {
            throw new OnnxFormatException(source + ": " + what + " is not an int: " + b);
        }
    }
}
