package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_model_quantize_params;
import io.llamaffm.internal.NativeLibraryLoader;
import io.llamaffm.internal.NativeLog;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Quantizes a GGUF model file with llama.cpp's own quantizer (llama_model_quantize). */
public final class Quantizer {
    private Quantizer() {}

    /** The target weight formats (llama.cpp's llama_ftype): 1-D tensors stay F32. */
    public enum Type {
        F16(1), BF16(32), Q8_0(7), Q4_0(2), Q4_1(3), Q5_0(8), Q5_1(9), Q2_K(10), Q3_K_M(12), Q4_K_S(14), Q4_K_M(15),
        Q5_K_S(16), Q5_K_M(17), Q6_K(18), IQ4_NL(25), IQ4_XS(30);

        private final int ftype;

        Type(int ftype) {
            this.ftype = ftype;
        }
    }

    /**
     * Writes a quantized copy of {@code input} to {@code output}. Tensors whose rows do not fit the type's block size
     * fall back to a compatible type, as llama.cpp decides.
     *
     * @param threads worker threads (0: one per CPU)
     * @throws ModelLoadException if the input is missing or llama.cpp cannot quantize it (its log lines attached)
     */
    public static void quantize(Path input, Path output, Type type, int threads) {
        Path in = input.toAbsolutePath();
        Path out = output.toAbsolutePath();
        if (!Files.isRegularFile(in)) {
            throw new ModelLoadException(in, "no such file", List.of());
        }
        if (in.equals(out)) {
            throw new IllegalArgumentException("input and output must be different files: " + in);
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        Model.validateGguf(in, ModelParams.defaults(), true); // llama.cpp must never see a malformed file
        NativeLibraryLoader.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = LlamaH.llama_model_quantize_default_params(arena);
            llama_model_quantize_params.ftype(params, type.ftype);
            llama_model_quantize_params.nthread(params, threads);
            int rc;
            List<String> log;
            NativeLog.beginCapture();
            try {
                rc = LlamaH.llama_model_quantize(arena.allocateFrom(in.toString()), arena.allocateFrom(out.toString()), params);
            } finally {
                log = NativeLog.endCapture();
            }
            if (rc != 0) {
                throw new ModelLoadException(in, "llama.cpp could not quantize it to " + type + " (code " + rc + ")", log);
            }
        }
    }
}
