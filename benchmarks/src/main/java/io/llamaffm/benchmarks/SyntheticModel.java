package io.llamaffm.benchmarks;

import io.llamaffm.Quantizer;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufWriter;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Realistic-size models for performance work, generated on demand: the shapes of a real model (by default
 * Llama-3.2-1B: LLaMA architecture, 16 layers, embedding 2048, 32 heads, 8 KV heads, FFN 8192, RoPE base 500 000)
 * with seeded random weights, written by llama-ffm's own {@link GgufWriter} as F16, then quantized with
 * {@link Quantizer}. The tokenizer (tokens, scores, types, special ids; SentencePiece-style {@code llama}) is copied
 * from stories260K, so the vocabulary has 512 tokens instead of 128 256 and the 1B shape holds
 * {@value #LLAMA_3_2_1B_PARAMETERS} parameters (the real model's 1.24 B less its large embedding table).
 *
 * <p>Weights are normal with mean 0 and standard deviation {@link Spec#weightStd()} (0.02, as in the usual
 * initialisation; activations stay finite), norms are 1, the output matrix is tied to the token embedding (as in
 * Llama-3.2-1B), and there is no RoPE frequency scaling. The text the model produces is meaningless; its speed is
 * that of the real shape.
 *
 * <p>Files are cached as {@code <cacheDir>/<name>-<type>-<hash>.gguf}, where the hash covers every generator input
 * (the spec, the generator version and the tokenizer file's sha256), and made only when missing: the F16 file first,
 * the quantized ones from it. Writing goes to a temporary name under a lock file and ends with an atomic rename, so
 * an interrupted run leaves no half-written model behind. The quantized files come from the pinned llama.cpp's
 * quantizer, which the hash does not cover: clear the cache after changing the pin.
 */
public final class SyntheticModel {
    /** Parameters of the {@link Spec#LLAMA_3_2_1B} shape with the 512-token vocabulary. */
    public static final long LLAMA_3_2_1B_PARAMETERS = 974_194_688L;

    /** Bump when the generator's output changes for the same spec: it is part of every file's hash. */
    private static final int GENERATOR_VERSION = 1;

    private static final List<String> TOKENIZER_KEYS = List.of("tokenizer.ggml.model", "tokenizer.ggml.tokens",
            "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id");

    private SyntheticModel() {}

    /** The weight formats the cache holds. */
    public enum Type {
        F16(null), Q8_0(Quantizer.Type.Q8_0), Q4_0(Quantizer.Type.Q4_0);

        private final Quantizer.Type quantizerType;

        Type(Quantizer.Type quantizerType) {
            this.quantizerType = quantizerType;
        }
    }

    /**
     * The shape and the generator settings of a synthetic LLaMA-architecture model.
     *
     * @param name          the file name prefix (letters, digits, '.', '-', '_')
     * @param layers        transformer blocks
     * @param embedding     embedding length (a multiple of 32 and of {@code heads})
     * @param heads         attention heads
     * @param kvHeads       key/value heads (divides {@code heads}: grouped-query attention when smaller)
     * @param feedForward   feed-forward length (a multiple of 32)
     * @param ropeFreqBase  RoPE frequency base
     * @param rmsEps        RMS-norm epsilon
     * @param contextLength the trained context length written to the metadata (tokens)
     * @param seed          the seed of the weights
     * @param weightStd     standard deviation of the random weights
     */
    public record Spec(String name, int layers, int embedding, int heads, int kvHeads, int feedForward, float ropeFreqBase,
                       float rmsEps, int contextLength, long seed, float weightStd) {
        /**
         * Llama-3.2-1B's shapes; the trained context is written as 8 192 tokens (the real model says 131 072) so that
         * a context created with the trained length keeps its KV cache at 256 MiB.
         */
        public static final Spec LLAMA_3_2_1B = new Spec("llama-3.2-1b-shape", 16, 2048, 32, 8, 8192, 500_000f, 1e-5f,
                8192, 42, 0.02f);

        public Spec {
            if (!name.matches("[A-Za-z0-9._-]+")) throw new IllegalArgumentException("bad name: " + name);
            if (layers < 1 || heads < 1 || kvHeads < 1 || contextLength < 1) {
                throw new IllegalArgumentException("layers, heads, kvHeads and contextLength must be >= 1");
            }
            if (embedding < 32 || embedding % 32 != 0 || embedding % heads != 0) {
                throw new IllegalArgumentException("embedding must be a multiple of 32 and of heads, got " + embedding);
            }
            if (feedForward < 32 || feedForward % 32 != 0) {
                throw new IllegalArgumentException("feedForward must be a multiple of 32, got " + feedForward);
            }
            if (heads % kvHeads != 0) throw new IllegalArgumentException("kvHeads must divide heads");
            if (!(weightStd > 0) || !Float.isFinite(weightStd)) throw new IllegalArgumentException("weightStd must be > 0");
        }

        /** The dimension of one head. */
        public int headDim() {
            return embedding / heads;
        }

        /** Parameters of the model with a {@code vocabulary}-token vocabulary (tied output: counted once). */
        public long parameterCount(int vocabulary) {
            long e = embedding;
            long kv = (long) headDim() * kvHeads;
            long layer = 2 * e + 2 * e * e + 2 * e * kv + 3 * e * feedForward;
            return vocabulary * e + e + layers * layer;
        }
    }

    /** The default cache folder: {@code ~/.cache/llama-ffm-bench}. */
    public static Path defaultCacheDir() {
        return Path.of(System.getProperty("user.home"), ".cache", "llama-ffm-bench");
    }

    /** stories260K.gguf in the shared models folder ({@code -Dllamaffm.shared.dir}, default {@code ../shared}). */
    public static Path defaultTokenizerSource() {
        return Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
    }

    /** The {@link Spec#LLAMA_3_2_1B} model as {@code type}, made if missing; see {@link #ensure(Path, Type, Spec, Path)}. */
    public static Path ensure(Path cacheDir, Type type) {
        return ensure(cacheDir, type, Spec.LLAMA_3_2_1B, defaultTokenizerSource());
    }

    /**
     * Returns the cached model of {@code spec} as {@code type}, generating it (and the F16 file it is quantized from)
     * when missing.
     *
     * @param tokenizerSource a GGUF model whose SentencePiece-style tokenizer is copied
     * @throws IllegalArgumentException if {@code tokenizerSource} is missing or has no such tokenizer
     * @throws UncheckedIOException     if the cache cannot be written
     */
    public static synchronized Path ensure(Path cacheDir, Type type, Spec spec, Path tokenizerSource) {
        if (!Files.isRegularFile(tokenizerSource)) {
            throw new IllegalArgumentException("tokenizer source " + tokenizerSource + " is missing (it is "
                    + "../shared/models/stories260K.gguf by default; set -Dllamaffm.shared.dir)");
        }
        try {
            Files.createDirectories(cacheDir);
            String hash = hash(spec, tokenizerSource);
            Path target = cacheDir.resolve(fileName(spec, type, hash));
            if (Files.isRegularFile(target)) {
                return target;
            }
            try (FileChannel lockFile = FileChannel.open(cacheDir.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
                 FileLock ignored = lockFile.lock()) {
                Path f16 = cacheDir.resolve(fileName(spec, Type.F16, hash));
                if (!Files.isRegularFile(f16)) {
                    atomically(f16, tmp -> write(spec, tokenizerSource, tmp));
                }
                if (type.quantizerType != null && !Files.isRegularFile(target)) {
                    atomically(target, tmp -> Quantizer.quantize(f16, tmp, type.quantizerType, 0));
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the synthetic model in " + cacheDir + ": " + e.getMessage(), e);
        }
    }

    /** Writes the F16 model of {@code spec} with the tokenizer of {@code tokenizerSource} to {@code out}. */
    static void write(Spec spec, Path tokenizerSource, Path out) {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        w.putString("general.name", spec.name() + " (llama-ffm synthetic, random weights)");
        w.putUInt32("general.file_type", 1); // LLAMA_FTYPE_MOSTLY_F16
        w.putUInt32("llama.context_length", spec.contextLength());
        w.putUInt32("llama.embedding_length", spec.embedding());
        w.putUInt32("llama.block_count", spec.layers());
        w.putUInt32("llama.feed_forward_length", spec.feedForward());
        w.putUInt32("llama.attention.head_count", spec.heads());
        w.putUInt32("llama.attention.head_count_kv", spec.kvHeads());
        w.putUInt32("llama.rope.dimension_count", spec.headDim());
        w.putFloat32("llama.rope.freq_base", spec.ropeFreqBase());
        w.putFloat32("llama.attention.layer_norm_rms_epsilon", spec.rmsEps());
        int vocabulary;
        try (GgufFile tok = GgufFile.open(tokenizerSource)) {
            if (!tok.findString("tokenizer.ggml.model").orElse("").equals("llama")) {
                throw new IllegalArgumentException(tokenizerSource + " has no SentencePiece-style ('llama') tokenizer");
            }
            for (String key : TOKENIZER_KEYS) {
                w.put(key, tok.get(key));
            }
            vocabulary = tok.getArray("tokenizer.ggml.tokens").size();
        }
        long e = spec.embedding();
        long kv = (long) spec.headDim() * spec.kvHeads();
        long ff = spec.feedForward();
        random(w, spec, "token_embd.weight", e, vocabulary); // tied: also the output matrix
        ones(w, "output_norm.weight", e);
        for (int i = 0; i < spec.layers(); i++) {
            String b = "blk." + i + ".";
            ones(w, b + "attn_norm.weight", e);
            random(w, spec, b + "attn_q.weight", e, e);
            random(w, spec, b + "attn_k.weight", e, kv);
            random(w, spec, b + "attn_v.weight", e, kv);
            random(w, spec, b + "attn_output.weight", e, e);
            ones(w, b + "ffn_norm.weight", e);
            random(w, spec, b + "ffn_gate.weight", e, ff);
            random(w, spec, b + "ffn_up.weight", e, ff);
            random(w, spec, b + "ffn_down.weight", ff, e);
        }
        w.write(out);
    }

    /** A matrix of {@code rows} rows of {@code columns} (ggml order: columns first), F16, from its own seeded stream. */
    private static void random(GgufWriter w, Spec spec, String name, long columns, long rows) {
        SplittableRandom rng = new SplittableRandom(spec.seed() * 0x9E3779B97F4A7C15L + name.hashCode());
        float[] values = new float[Math.toIntExact(columns * rows)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (rng.nextGaussian() * spec.weightStd());
        }
        w.addTensor(name, GgmlType.F16, new long[] {columns, rows}, values);
    }

    private static void ones(GgufWriter w, String name, long n) {
        float[] values = new float[Math.toIntExact(n)];
        Arrays.fill(values, 1f);
        w.addTensor(name, GgmlType.F32, new long[] {n}, values);
    }

    private interface FileWriter {
        void writeTo(Path tmp) throws IOException;
    }

    private static void atomically(Path target, FileWriter writer) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".part-" + ProcessHandle.current().pid());
        try {
            writer.writeTo(tmp);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String fileName(Spec spec, Type type, String hash) {
        return spec.name() + "-" + type.name().toLowerCase(Locale.ROOT) + "-" + hash + ".gguf";
    }

    /** The first 12 hex digits of the sha256 of every generator input. */
    static String hash(Spec spec, Path tokenizerSource) throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(tokenizerSource), sha)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        sha.update(("generator=" + GENERATOR_VERSION + ";" + spec).getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Makes the {@link Spec#LLAMA_3_2_1B} model in the given types (default: Q4_0 and Q8_0) and prints each path, size
     * and the time it took.
     *
     * <pre>java -cp "benchmarks/target/classes:benchmarks/target/lib/*" io.llamaffm.benchmarks.SyntheticModel [CACHE_DIR] [f16|q8_0|q4_0 ...]</pre>
     */
    public static void main(String[] args) throws IOException {
        Path cache = args.length > 0 ? Path.of(args[0]) : defaultCacheDir();
        List<String> types = args.length > 1 ? List.of(args).subList(1, args.length) : List.of("q4_0", "q8_0");
        System.out.printf(Locale.ROOT, "%s: %,d parameters%n", Spec.LLAMA_3_2_1B.name(), LLAMA_3_2_1B_PARAMETERS);
        for (String t : types) {
            Type type = Type.valueOf(t.toUpperCase(Locale.ROOT));
            long start = System.nanoTime();
            Path p = ensure(cache, type);
            System.out.printf(Locale.ROOT, "%-5s %s %,d bytes (%.1f s)%n", type, p, Files.size(p),
                    (System.nanoTime() - start) / 1e9);
        }
    }
}
