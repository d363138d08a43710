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
        /** IEEE half precision, 16 bits per weight. */
        F16(1),
        /** bfloat16, 16 bits per weight. */
        BF16(32),
        /** 8-bit blocks of 32 with an F16 scale, 8.5 bits per weight. */
        Q8_0(7),
        /** 4-bit blocks of 32 with a scale, 4.5 bits per weight. */
        Q4_0(2),
        /** 4-bit blocks of 32 with a scale and a minimum, 5 bits per weight. */
        Q4_1(3),
        /** 5-bit blocks of 32 with a scale, 5.5 bits per weight. */
        Q5_0(8),
        /** 5-bit blocks of 32 with a scale and a minimum, 6 bits per weight. */
        Q5_1(9),
        /** k-quant mix, mostly 2-bit super-blocks of 256. */
        Q2_K(10),
        /** k-quant mix, mostly 3-bit, medium. */
        Q3_K_M(12),
        /** k-quant mix, mostly 4-bit, small. */
        Q4_K_S(14),
        /** k-quant mix, mostly 4-bit, medium (keeps some tensors in 6-bit). */
        Q4_K_M(15),
        /** k-quant mix, mostly 5-bit, small. */
        Q5_K_S(16),
        /** k-quant mix, mostly 5-bit, medium. */
        Q5_K_M(17),
        /** 6-bit k-quant, 6.5625 bits per weight. */
        Q6_K(18),
        /** 4-bit non-linear blocks of 32, 4.5 bits per weight. */
        IQ4_NL(25),
        /** 4-bit non-linear super-blocks of 256, 4.25 bits per weight. */
        IQ4_XS(30);

        private final int ftype;

        Type(int ftype) {
            this.ftype = ftype;
        }
    }

    /**
     * Writes a quantized copy of {@code input} to {@code output}. Tensors whose rows do not fit the type's block size
     * fall back to a compatible type, as llama.cpp decides.
     *
     * @param input   the model file to quantize
     * @param output  the file written (replaced if it exists)
     * @param type    the target weight format
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
