package io.llamaffm.convert;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufValue;
import io.llamaffm.gguf.GgufWriter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Converts a sentence-transformers BERT encoder exported to ONNX (e.g. all-MiniLM-L6-v2), with its Hugging Face
 * {@code tokenizer.json}, to a GGUF file of llama.cpp's {@code bert} architecture, in pure Java.
 *
 * <pre>{@code
 * OnnxToGguf.convert(Path.of("model.onnx"), Path.of("tokenizer.json"), Path.of("minilm-f16.gguf"), GgmlType.F16);
 * try (Model m = Model.load(Path.of("minilm-f16.gguf"))) { ... }
 * }</pre>
 *
 * <p>The tensors are found by following the graph (see {@code BertGraph}), not by initializer names. Matrices are
 * stored in the requested type (F32, F16, BF16 or Q8_0; a Q8_0 matrix whose rows are not a multiple of 32 falls back to
 * F16); vectors (biases, norms) and the token type embeddings stay F32. The GGUF carries the hyperparameters read off
 * the graph, {@code bert.attention.causal = false}, the pooling type (the ONNX export ends at the token embeddings, so
 * the pooling of the sentence-transformers model is an option; MEAN by default) and the WordPiece vocabulary.
 */
public final class OnnxToGguf {
    private OnnxToGguf() {}

    /** How llama.cpp pools token embeddings into one sentence embedding ({@code llama_pooling_type}). */
    public enum Pooling {
        /** No pooling: one vector per token. */
        NONE(0),
        /** The mean of the token vectors (sentence-transformers' usual pooling). */
        MEAN(1),
        /** The first token's vector (CLS). */
        CLS(2),
        /** The last token's vector. */
        LAST(3);

        final int id;

        Pooling(int id) {
            this.id = id;
        }
    }

    /**
     * Conversion options.
     *
     * @param type    element type of the weight matrices: F32, F16, BF16 or Q8_0 (BF16 computes fastest on CPUs with
     *                AVX512-BF16, such as AMD Zen 4 and Intel Sapphire Rapids; see benchmarks/RESULTS.md)
     * @param pooling sentence pooling written to the GGUF
     * @param name    {@code general.name}
     */
    public record Options(GgmlType type, Pooling pooling, String name) {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if the type is not F32, F16, BF16 or Q8_0
         */
        public Options {
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(pooling, "pooling");
            Objects.requireNonNull(name, "name");
            if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16 && type != GgmlType.Q8_0) {
                throw new IllegalArgumentException("the converter writes F32, F16, BF16 or Q8_0, not " + type
                        + " (convert to F16, then use io.llamaffm.Quantizer)");
            }
        }

        /** {@return F16 weights, MEAN pooling, name "bert"} */
        public static Options defaults() {
            return new Options(GgmlType.F16, Pooling.MEAN, "bert");
        }

        /**
         * Sets the element type of the weight matrices.
         *
         * @param t F32, F16, BF16 or Q8_0
         * @return a copy with that change
         */
        public Options withType(GgmlType t) {
            return new Options(t, pooling, name);
        }

        /**
         * Sets the sentence pooling written to the GGUF.
         *
         * @param p the pooling
         * @return a copy with that change
         */
        public Options withPooling(Pooling p) {
            return new Options(type, p, name);
        }

        /**
         * Sets {@code general.name}.
         *
         * @param n the model's name
         * @return a copy with that change
         */
        public Options withName(String n) {
            return new Options(type, pooling, n);
        }
    }

    /**
     * What was converted.
     *
     * @param blockCount      encoder layers
     * @param embeddingLength hidden size
     * @param feedForwardLength FFN inner size
     * @param headCount       attention heads
     * @param contextLength   trained positions
     * @param vocabSize       tokens in the GGUF vocabulary
     * @param layerNormEps    layer norm epsilon
     */
    public record Summary(int blockCount, int embeddingLength, int feedForwardLength, int headCount, int contextLength,
                          int vocabSize, float layerNormEps) {}

    /**
     * Converts with {@link Options#defaults()} and the given weight type; see
     * {@link #convert(Path, Path, Path, Options)}.
     *
     * @param onnx          the ONNX model (a BERT encoder)
     * @param tokenizerJson the Hugging Face {@code tokenizer.json} (WordPiece)
     * @param out           the GGUF file written
     * @param type          element type of the weight matrices: F32, F16, BF16 or Q8_0
     * @return what was converted
     */
    public static Summary convert(Path onnx, Path tokenizerJson, Path out, GgmlType type) {
        return convert(onnx, tokenizerJson, out, Options.defaults().withType(type));
    }

    /**
     * Converts {@code onnx} and {@code tokenizerJson} to the GGUF file {@code out} (replaced if it exists).
     *
     * @param onnx          the ONNX model (a BERT encoder)
     * @param tokenizerJson the Hugging Face {@code tokenizer.json} (WordPiece)
     * @param out           the GGUF file written
     * @param options       weight type, pooling and name
     * @return what was converted
     * @throws OnnxFormatException if a file is malformed or the graph is not a BERT encoder the converter understands
     * @throws io.llamaffm.LlamaException if a file cannot be read or written
     */
    public static Summary convert(Path onnx, Path tokenizerJson, Path out, Options options) {
        Objects.requireNonNull(onnx, "onnx");
        Objects.requireNonNull(tokenizerJson, "tokenizerJson");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(options, "options");
        String tokenizerText;
        try {
            tokenizerText = Files.readString(tokenizerJson, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new OnnxFormatException("cannot read tokenizer file " + tokenizerJson + ": " + e);
        }
        try (OnnxGraph graph = OnnxGraph.read(onnx)) {
            BertGraph bert = BertGraph.of(graph);
            GgufWriter w = new GgufWriter();
            Summary summary = write(bert, w, tokenizerText, tokenizerJson.toString(), options);
            w.write(out);
            return summary;
        }
    }

    private static Summary write(BertGraph bert, GgufWriter w, String tokenizerText, String tokenizerSource, Options o) {
        BertGraph.Embeddings e = bert.embeddings;
        int nEmbd = dim(e.word(), 1);
        int nVocab = dim(e.word(), 0);
        int nCtx = dim(e.position(), 0);
        int nLayer = bert.layers.size();
        BertGraph.Layer first = bert.layers.getFirst();
        int nFf = dim(first.up().weight(), 1);
        int nHead = first.headCount();
        check(dim(e.position(), 1) == nEmbd, "position embeddings are " + dim(e.position(), 1) + " wide, not " + nEmbd);
        if (e.tokenTypes() != null) {
            check(dim(e.tokenTypes(), 1) == nEmbd, "token type embeddings are not " + nEmbd + " wide");
        }
        WordPieceVocab vocab = WordPieceVocab.parse(tokenizerText, nVocab, tokenizerSource);
        check(vocab.tokens().size() == nVocab, "the tokenizer has " + vocab.tokens().size() + " tokens, the model "
                + nVocab + " embeddings");

        w.putString("general.architecture", "bert");
        w.putString("general.name", o.name());
        w.putUInt32("general.file_type", switch (o.type()) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 32;
            default -> 7;
        });
        w.putUInt32("bert.context_length", nCtx);
        w.putUInt32("bert.embedding_length", nEmbd);
        w.putUInt32("bert.feed_forward_length", nFf);
        w.putUInt32("bert.block_count", nLayer);
        w.putUInt32("bert.attention.head_count", nHead);
        w.putFloat32("bert.attention.layer_norm_epsilon", e.norm().eps());
        w.putBool("bert.attention.causal", false);
        w.putUInt32("bert.pooling_type", o.pooling().id);
        w.putUInt32("tokenizer.ggml.token_type_count", e.tokenTypes() == null ? 1 : dim(e.tokenTypes(), 0));

        w.putString("tokenizer.ggml.model", "bert");
        w.putArray("tokenizer.ggml.tokens", GgufValue.Array.ofStrings(vocab.tokens()));
        w.putArray("tokenizer.ggml.token_type", GgufValue.Array.ofInt32(vocab.tokenTypes()));
        w.putUInt32("tokenizer.ggml.bos_token_id", vocab.cls());
        w.putUInt32("tokenizer.ggml.eos_token_id", vocab.sep());
        w.putUInt32("tokenizer.ggml.unknown_token_id", vocab.unk());
        w.putUInt32("tokenizer.ggml.seperator_token_id", vocab.sep());
        if (vocab.pad() >= 0) w.putUInt32("tokenizer.ggml.padding_token_id", vocab.pad());
        w.putUInt32("tokenizer.ggml.cls_token_id", vocab.cls());
        if (vocab.mask() >= 0) w.putUInt32("tokenizer.ggml.mask_token_id", vocab.mask());
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_sep_token", true);
        if (vocab.lowercase() != null) w.putBool("tokenizer.ggml.normalizer.lowercase", vocab.lowercase());

        GgmlType t = o.type();
        table(w, "token_embd.weight", e.word(), t);
        if (e.tokenTypes() != null) table(w, "token_types.weight", e.tokenTypes(), GgmlType.F32);
        table(w, "position_embd.weight", e.position(), t);
        norm(w, "token_embd_norm", e.norm(), nEmbd);
        for (int i = 0; i < nLayer; i++) {
            BertGraph.Layer l = bert.layers.get(i);
            check(l.headCount() == nHead, "layer " + i + " has " + l.headCount() + " heads, layer 0 " + nHead);
            String p = "blk." + i + ".";
            linear(w, p + "attn_q", l.q(), nEmbd, nEmbd, t);
            linear(w, p + "attn_k", l.k(), nEmbd, nEmbd, t);
            linear(w, p + "attn_v", l.v(), nEmbd, nEmbd, t);
            linear(w, p + "attn_output", l.output(), nEmbd, nEmbd, t);
            norm(w, p + "attn_output_norm", l.attnNorm(), nEmbd);
            linear(w, p + "ffn_up", l.up(), nEmbd, nFf, t);
            linear(w, p + "ffn_down", l.down(), nFf, nEmbd, t);
            norm(w, p + "layer_output_norm", l.outputNorm(), nEmbd);
        }
        return new Summary(nLayer, nEmbd, nFf, nHead, nCtx, vocab.tokens().size(), e.norm().eps());
    }

    /** An embedding table: ONNX [rows, width] is already ggml {width, rows}. */
    private static void table(GgufWriter w, String name, OnnxTensor table, GgmlType type) {
        long rows = table.dims()[0];
        long width = table.dims()[1];
        w.addTensor(name, fit(type, width), new long[] {width, rows}, table.toFloats());
    }

    /** ONNX MatMul weights are [in, out]; llama.cpp wants ggml {in, out}, i.e. rows of {@code in} per output: transposed. */
    private static void linear(GgufWriter w, String name, BertGraph.Linear l, int in, int out, GgmlType type) {
        long[] d = l.weight().dims();
        check(d.length == 2 && d[0] == in && d[1] == out, name + " weight is " + java.util.Arrays.toString(d)
                + ", expected [" + in + ", " + out + "]");
        float[] src = l.weight().toFloats();
        float[] dst = new float[src.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                dst[o * in + i] = src[i * out + o];
            }
        }
        w.addTensor(name + ".weight", fit(type, in), new long[] {in, out}, dst);
        if (l.bias() != null) {
            check(l.bias().elementCount() == out, name + " bias has " + l.bias().elementCount() + " values, expected " + out);
            w.addTensor(name + ".bias", GgmlType.F32, new long[] {out}, l.bias().toFloats());
        }
    }

    private static void norm(GgufWriter w, String name, BertGraph.LayerNorm n, int width) {
        check(n.weight().elementCount() == width, name + " weight has " + n.weight().elementCount() + " values");
        w.addTensor(name + ".weight", GgmlType.F32, new long[] {width}, n.weight().toFloats());
        float[] bias = n.bias() == null ? new float[width] : n.bias().toFloats();
        check(bias.length == width, name + " bias has " + bias.length + " values");
        w.addTensor(name + ".bias", GgmlType.F32, new long[] {width}, bias);
    }

    private static GgmlType fit(GgmlType type, long rowLength) {
        return rowLength % type.blockSize() == 0 ? type : GgmlType.F16;
    }

    private static int dim(OnnxTensor t, int i) {
        if (t.dims().length != 2) throw new OnnxFormatException("tensor '" + t.name() + "' should be 2-D, is " + t);
        return Math.toIntExact(t.dims()[i]);
    }

    private static void check(boolean ok, String problem) {
        if (!ok) throw new OnnxFormatException("not a BERT encoder graph the converter understands: " + problem);
    }
}
