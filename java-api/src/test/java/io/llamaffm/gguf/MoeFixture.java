package io.llamaffm.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Derives a Mixture-of-Experts model from a dense llama-architecture GGUF: each layer's feed-forward weights
 * ({@code blk.N.ffn_gate/up/down.weight}, shape {@code [a, b]}) become {@code experts} identical experts
 * ({@code blk.N.ffn_gate/up/down_exps.weight}, shape {@code [a, b, experts]}, llama.cpp's names and shapes for the
 * llama architecture), with a router {@code blk.N.ffn_gate_inp.weight} of shape {@code [embedding, experts]} placed
 * before them; every other tensor and all metadata are copied unchanged, and {@code llama.expert_count} /
 * {@code llama.expert_used_count} (UINT32) are added.
 *
 * <p>The router is all zeros: its logits are 0, the softmax gives every expert exactly 1/experts, and llama.cpp's
 * llama MoE path normalizes the selected weights to sum to one, so each of the {@code used} experts gets exactly
 * 1/used. With identical experts the layer output is then the dense output; bit for bit when {@code used} is a
 * power of two (the weights and their products are exact), up to float rounding otherwise.
 */
public final class MoeFixture {
    private static final Pattern FFN = Pattern.compile("blk\\.(\\d+)\\.ffn_(gate|up|down)\\.weight");

    private MoeFixture() {}

    /**
     * Writes the MoE model derived from {@code dense} to {@code out}.
     *
     * @throws IllegalArgumentException if the counts are invalid or the model is not a llama-architecture model
     */
    public static void write(Path dense, Path out, int experts, int used) {
        if (experts < 1 || used < 1 || used > experts) {
            throw new IllegalArgumentException("need 1 <= used <= experts, got " + used + " of " + experts);
        }
        try (GgufFile in = GgufFile.open(dense)) {
            String arch = in.getString("general.architecture");
            if (!arch.equals("llama")) {
                throw new IllegalArgumentException(dense + " is a '" + arch + "' model; the fixture knows llama's tensor names");
            }
            if (in.find(arch + ".expert_count").isPresent()) {
                throw new IllegalArgumentException(dense + " already is a Mixture-of-Experts model");
            }
            GgufWriter w = new GgufWriter();
            in.metadata().forEach(w::put);
            w.putUInt32(arch + ".expert_count", experts);
            w.putUInt32(arch + ".expert_used_count", used);
            long embedding = in.getLong(arch + ".embedding_length");
            for (TensorInfo t : in.tensors()) {
                Matcher m = FFN.matcher(t.name());
                if (!m.matches()) {
                    w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t));
                    continue;
                }
                String layer = m.group(1);
                if (m.group(2).equals("gate")) {
                    w.addTensor("blk." + layer + ".ffn_gate_inp.weight", GgmlType.F32, new long[] {embedding, experts},
                            new float[Math.toIntExact(embedding * experts)]);
                }
                long[] dims = t.dims();
                w.addTensorBytes("blk." + layer + ".ffn_" + m.group(2) + "_exps.weight", t.type(),
                        new long[] {dims[0], dims[1], experts}, repeat(in.tensorData(t), experts));
            }
            w.write(out);
        }
    }

    private static byte[] repeat(MemorySegment data, int times) {
        int n = Math.toIntExact(data.byteSize());
        byte[] out = new byte[Math.multiplyExact(n, times)];
        for (int i = 0; i < times; i++) {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, out, i * n, n);
        }
        return out;
    }
}
