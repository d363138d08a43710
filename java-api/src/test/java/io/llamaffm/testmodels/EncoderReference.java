package io.llamaffm.testmodels;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.TensorInfo;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A plain-Java forward pass of the BERT-family encoders that {@link SyntheticModels} writes ({@code bert},
 * {@code nomic-bert}, {@code nomic-bert-moe}), from the GGUF file's own tensors and keys, in double precision: the
 * independent reference the architecture matrix compares llama.cpp's embeddings with (the native harnesses have none).
 * It follows the graph of the pinned llama.cpp's {@code models/bert.cpp}: token + first token-type (+ absolute
 * position) embedding, layer norm; per layer non-causal multi-head attention (NeoX RoPE for the nomic families), output
 * projection, residual and layer norm, feed-forward (GELU for bert, SwiGLU for nomic-bert, routed GELU experts every
 * second layer for nomic-bert-moe: softmax gate, top-k, weights not renormalised), residual and layer norm. GELU is the
 * tanh approximation ggml computes (ggml rounds its input and output to F16, hence the tests' tolerance).
 */
public final class EncoderReference {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final GgufFile file;
    private final String arch;
    private final int embedding;
    private final int heads;
    private final int headDim;
    private final int layers;
    private final int experts;
    private final int expertsUsed;
    private final int moeEvery;
    private final float eps;
    private final float ropeBase;

    private EncoderReference(GgufFile file) {
        this.file = file;
        this.arch = file.getString("general.architecture");
        this.embedding = file.getInt(arch + ".embedding_length");
        this.heads = file.getInt(arch + ".attention.head_count");
        this.headDim = embedding / heads;
        this.layers = file.getInt(arch + ".block_count");
        this.experts = file.findInt(arch + ".expert_count").orElse(0);
        this.expertsUsed = file.findInt(arch + ".expert_used_count").orElse(0);
        this.moeEvery = file.findInt(arch + ".moe_every_n_layers").orElse(0);
        this.eps = file.getFloat(arch + ".attention.layer_norm_epsilon");
        this.ropeBase = file.findFloat(arch + ".rope.freq_base").orElse(10_000f);
        if (!arch.equals("bert") && !arch.equals("nomic-bert") && !arch.equals("nomic-bert-moe")) {
            throw new IllegalArgumentException("not a BERT-family encoder: " + arch);
        }
    }

    /**
     * The final hidden state of each token (llama.cpp's embeddings with pooling NONE).
     *
     * @param model  the GGUF file
     * @param tokens the token ids, as the tokenizer gives them (CLS/BOS and SEP/EOS included)
     * @return one row of the embedding length per token
     */
    public static double[][] tokenVectors(Path model, int[] tokens) {
        try (GgufFile f = GgufFile.open(model)) {
            return new EncoderReference(f).forward(tokens);
        }
    }

    /**
     * The model's own pooling ({@code pooling_type}: 1 mean, 2 CLS) of {@link #tokenVectors}, L2-normalised.
     *
     * @param model  the GGUF file
     * @param tokens the token ids
     * @return the unit-length sequence embedding
     */
    public static double[] pooled(Path model, int[] tokens) {
        int pooling;
        try (GgufFile f = GgufFile.open(model)) {
            pooling = f.getInt(f.getString("general.architecture") + ".pooling_type");
        }
        double[][] rows = tokenVectors(model, tokens);
        double[] v = switch (pooling) {
            case 1 -> {
                double[] mean = new double[rows[0].length];
                for (double[] r : rows) {
                    for (int j = 0; j < r.length; j++) mean[j] += r[j] / rows.length;
                }
                yield mean;
            }
            case 2 -> rows[0].clone();
            default -> throw new IllegalArgumentException("pooling type " + pooling);
        };
        double norm = Math.sqrt(Arrays.stream(v).map(x -> x * x).sum());
        return Arrays.stream(v).map(x -> x / norm).toArray();
    }

    private double[][] forward(int[] tokens) {
        int n = tokens.length;
        double[] types = tensor("token_types.weight");
        double[] positions = arch.equals("bert") ? tensor("position_embd.weight") : null;
        double[][] x = new double[n][embedding];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < embedding; j++) {
                x[i][j] = types[j] + (positions == null ? 0 : positions[i * embedding + j]);
            }
            double[] row = tokenEmbedding(tokens[i]);
            for (int j = 0; j < embedding; j++) {
                x[i][j] += row[j];
            }
            x[i] = layerNorm(x[i], "token_embd_norm");
        }
        for (int il = 0; il < layers; il++) {
            String b = "blk." + il + ".";
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int i = 0; i < n; i++) {
                if (arch.equals("bert")) {
                    q[i] = linear(b + "attn_q", x[i]);
                    k[i] = linear(b + "attn_k", x[i]);
                    v[i] = linear(b + "attn_v", x[i]);
                } else {
                    double[] qkv = linear(b + "attn_qkv", x[i]);
                    q[i] = Arrays.copyOfRange(qkv, 0, embedding);
                    k[i] = Arrays.copyOfRange(qkv, embedding, 2 * embedding);
                    v[i] = Arrays.copyOfRange(qkv, 2 * embedding, 3 * embedding);
                    rope(q[i], i);
                    rope(k[i], i);
                }
            }
            double[][] next = new double[n][];
            for (int i = 0; i < n; i++) {
                double[] attn = new double[embedding];
                for (int h = 0; h < heads; h++) {
                    int o = h * headDim;
                    double[] scores = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t < n; t++) { // non-causal: every token of the sequence
                        double dot = 0;
                        for (int d = 0; d < headDim; d++) dot += q[i][o + d] * k[t][o + d];
                        scores[t] = dot / Math.sqrt(headDim);
                        max = Math.max(max, scores[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t < n; t++) {
                        scores[t] = Math.exp(scores[t] - max);
                        sum += scores[t];
                    }
                    for (int t = 0; t < n; t++) {
                        for (int d = 0; d < headDim; d++) attn[o + d] += scores[t] / sum * v[t][o + d];
                    }
                }
                double[] h1 = layerNorm(add(linear(b + "attn_output", attn), x[i]), b + "attn_output_norm");
                double[] ffn;
                if (moeEvery > 0 && il % moeEvery == 1) {
                    ffn = experts(b, h1);
                } else if (arch.equals("nomic-bert")) {
                    double[] gate = linear(b + "ffn_gate", h1);
                    double[] up = linear(b + "ffn_up", h1);
                    for (int j = 0; j < up.length; j++) up[j] *= gate[j] / (1 + Math.exp(-gate[j]));
                    ffn = linear(b + "ffn_down", up);
                } else {
                    double[] up = linear(b + "ffn_up", h1);
                    for (int j = 0; j < up.length; j++) up[j] = gelu(up[j]);
                    ffn = linear(b + "ffn_down", up);
                }
                next[i] = layerNorm(add(ffn, h1), b + "layer_output_norm");
            }
            x = next;
        }
        return x;
    }

    /** Softmax routing over all experts, the top {@code expertsUsed} by probability, weighted sum of GELU experts. */
    private double[] experts(String b, double[] in) {
        double[] logits = linear(b + "ffn_gate_inp", in);
        double max = Arrays.stream(logits).max().orElseThrow();
        double[] p = Arrays.stream(logits).map(l -> Math.exp(l - max)).toArray();
        double sum = Arrays.stream(p).sum();
        for (int e = 0; e < p.length; e++) p[e] /= sum;
        int[] chosen = IntStream.range(0, experts).boxed().sorted(Comparator.comparingDouble(e -> -p[e]))
                .limit(expertsUsed).mapToInt(Integer::intValue).toArray();
        double[] up = tensor(b + "ffn_up_exps.weight");
        double[] down = tensor(b + "ffn_down_exps.weight");
        int ff = Math.toIntExact(info(b + "ffn_up_exps.weight").dims()[1]);
        double[] out = new double[embedding];
        for (int e : chosen) {
            double[] hidden = new double[ff];
            for (int r = 0; r < ff; r++) {
                double s = 0;
                for (int c = 0; c < embedding; c++) s += up[(e * ff + r) * embedding + c] * in[c];
                hidden[r] = gelu(s);
            }
            for (int r = 0; r < embedding; r++) {
                double s = 0;
                for (int c = 0; c < ff; c++) s += down[(e * embedding + r) * ff + c] * hidden[c];
                out[r] += p[e] * s;
            }
        }
        return out;
    }

    /** NeoX RoPE of each head at position {@code pos}: dimension j turns with j + headDim/2. */
    private void rope(double[] x, int pos) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int o = h * headDim;
            for (int j = 0; j < half; j++) {
                double theta = pos * Math.pow(ropeBase, -2.0 * j / headDim);
                double x0 = x[o + j];
                double x1 = x[o + j + half];
                x[o + j] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
                x[o + j + half] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
            }
        }
    }

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * x * (1 + 0.044715 * x * x)));
    }

    /** {@code name.weight · in (+ name.bias)}: ggml's matrix of {@code dims[1]} rows of {@code dims[0]}. */
    private double[] linear(String name, double[] in) {
        TensorInfo t = info(name + ".weight");
        int cols = Math.toIntExact(t.dims()[0]);
        int rows = Math.toIntExact(t.dims()[1]);
        if (cols != in.length) throw new IllegalArgumentException(name + " takes " + cols + " inputs, got " + in.length);
        double[] w = tensor(name + ".weight");
        double[] bias = file.tensor(name + ".bias").isPresent() ? tensor(name + ".bias") : new double[rows];
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = bias[r];
            for (int c = 0; c < cols; c++) s += w[r * cols + c] * in[c];
            out[r] = s;
        }
        return out;
    }

    private double[] layerNorm(double[] x, String name) {
        double mean = Arrays.stream(x).average().orElseThrow();
        double var = Arrays.stream(x).map(v -> (v - mean) * (v - mean)).average().orElseThrow();
        double[] w = tensor(name + ".weight");
        double[] b = tensor(name + ".bias");
        double[] out = new double[x.length];
        for (int j = 0; j < x.length; j++) {
            out[j] = (x[j] - mean) / Math.sqrt(var + eps) * w[j] + b[j];
        }
        return out;
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int j = 0; j < a.length; j++) out[j] = a[j] + b[j];
        return out;
    }

    private TensorInfo info(String name) {
        return file.tensor(name).orElseThrow(() -> new IllegalArgumentException("no tensor " + name));
    }

    /** One row of {@code token_embd} (F16), read alone: the table is most of the file. */
    private double[] tokenEmbedding(int token) {
        TensorInfo t = info("token_embd.weight");
        if (t.type() != GgmlType.F16) throw new IllegalArgumentException("token_embd is " + t.type());
        MemorySegment data = file.tensorData(t);
        double[] row = new double[embedding];
        for (int j = 0; j < embedding; j++) {
            row[j] = Float.float16ToFloat(data.getAtIndex(F16, (long) token * embedding + j));
        }
        return row;
    }

    /** A tensor's elements (F32 or F16) in ggml order. */
    private double[] tensor(String name) {
        TensorInfo t = info(name);
        MemorySegment data = file.tensorData(t);
        long n = 1;
        for (long d : t.dims()) n *= d;
        double[] out = new double[Math.toIntExact(n)];
        if (t.type() == GgmlType.F32) {
            for (int i = 0; i < out.length; i++) out[i] = data.getAtIndex(F32, i);
        } else if (t.type() == GgmlType.F16) {
            for (int i = 0; i < out.length; i++) {
                out[i] = Float.float16ToFloat(data.getAtIndex(F16, i));
            }
        } else {
            throw new IllegalArgumentException(name + " is " + t.type());
        }
        return out;
    }
}
