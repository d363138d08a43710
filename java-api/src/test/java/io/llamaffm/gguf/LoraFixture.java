package io.llamaffm.gguf;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * Writes a LoRA adapter for a llama-architecture GGUF model in the layout llama.cpp loads
 * ({@code src/llama-adapter.cpp}): metadata {@code general.type = adapter}, {@code general.architecture} of the base
 * model, {@code adapter.type = lora}, {@code adapter.lora.alpha} (F32); for each adapted weight {@code W} of shape
 * {@code [in, out]} (ggml order) the F32 tensors {@code W.lora_a} of shape {@code [in, rank]} and {@code W.lora_b}
 * of shape {@code [rank, out]}. llama.cpp then adds {@code scale × alpha / rank × B·A} to {@code W·x}.
 *
 * <p>The adapter targets every layer's {@code attn_q} and {@code attn_v} weights. The values are drawn from a seeded
 * generator (the same seed writes the same file): A uniform in [-0.5, 0.5), B uniform in
 * [-{@code amplitudeB}, {@code amplitudeB}); with {@code amplitudeB = 0} B is all zeros and the adapter changes
 * nothing. By default alpha is the rank, so a scale applies the product B·A as it is.
 */
public final class LoraFixture {
    private static final Pattern TARGET = Pattern.compile("blk\\.\\d+\\.attn_(q|v)\\.weight");

    private LoraFixture() {}

    /**
     * Writes the adapter for {@code base} to {@code out}.
     *
     * @throws IllegalArgumentException if the rank or amplitude is invalid, or the model has no attn_q/attn_v weights
     */
    public static void write(Path base, Path out, int rank, long seed, float amplitudeB) {
        write(base, out, rank, rank, seed, amplitudeB);
    }

    /**
     * Writes the adapter for {@code base} to {@code out} with the given alpha (llama.cpp scales the delta by
     * {@code scale × alpha / rank}); the same seed draws the same values whatever the alpha.
     */
    public static void write(Path base, Path out, int rank, float alpha, long seed, float amplitudeB) {
        if (rank < 1) {
            throw new IllegalArgumentException("rank must be >= 1, got " + rank);
        }
        if (!(amplitudeB >= 0) || Float.isInfinite(amplitudeB)) {
            throw new IllegalArgumentException("amplitudeB must be finite and >= 0, got " + amplitudeB);
        }
        SplittableRandom random = new SplittableRandom(seed);
        try (GgufFile in = GgufFile.open(base)) {
            GgufWriter w = header(in.getString("general.architecture"), alpha);
            List<TensorInfo> targets = in.tensors().stream().filter(t -> TARGET.matcher(t.name()).matches()).toList();
            if (targets.isEmpty()) {
                throw new IllegalArgumentException(base + " has no blk.N.attn_q/attn_v.weight tensors");
            }
            for (TensorInfo t : targets) {
                long[] d = t.dims();
                w.addTensor(t.name() + ".lora_a", GgmlType.F32, new long[] {d[0], rank},
                        values(random, Math.toIntExact(d[0] * rank), 0.5f));
                w.addTensor(t.name() + ".lora_b", GgmlType.F32, new long[] {rank, d[1]},
                        values(random, Math.toIntExact(rank * d[1]), amplitudeB));
            }
            w.write(out);
        }
    }

    /** A writer holding the metadata of a LoRA adapter for {@code architecture} with this alpha, and no tensors. */
    public static GgufWriter header(String architecture, float alpha) {
        return new GgufWriter()
                .putString("general.architecture", architecture)
                .putString("general.type", "adapter")
                .putString("general.name", "llama-ffm LoRA test fixture")
                .putString("adapter.type", "lora")
                .putFloat32("adapter.lora.alpha", alpha);
    }

    private static float[] values(SplittableRandom random, int n, float amplitude) {
        float[] v = new float[n];
        if (amplitude > 0) {
            for (int i = 0; i < n; i++) {
                v[i] = (float) ((random.nextDouble() * 2 - 1) * amplitude);
            }
        }
        return v;
    }
}
