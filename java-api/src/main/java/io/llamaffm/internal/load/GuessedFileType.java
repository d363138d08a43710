package io.llamaffm.internal.load;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.TensorInfo;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code llama_ftype} llama.cpp guesses for a file without {@code general.file_type}: the file type of the most
 * common tensor type, ties going to the type that reached the count first with the tensors in llama.cpp's order
 * (by layer number, then by name), marked GUESSED. llama.cpp makes this guess only while reading a file's tensor
 * infos, so a model built from memory gets it from here.
 */
public final class GuessedFileType {
    private GuessedFileType() {}

    /** llama.cpp's order of tensor names: layer ({@code blk.N.}, -1 for none) first, then the names' bytes. */
    private static final Comparator<byte[]> WEIGHT_ORDER = Comparator.<byte[]>comparingInt(GuessedFileType::layer)
            .thenComparing(Arrays::compareUnsigned);

    public static int of(List<TensorInfo> tensors) {
        record Named(byte[] name, GgmlType type) {}
        List<Named> ordered = tensors.stream()
                .map(t -> new Named(t.name().getBytes(StandardCharsets.UTF_8), t.type()))
                .sorted(Comparator.comparing(Named::name, WEIGHT_ORDER))
                .toList();
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        int max = 0;
        GgmlType mostCommon = GgmlType.F32;
        for (Named n : ordered) {
            int c = counts.merge(n.type(), 1, Integer::sum);
            if (c > max) {
                max = c;
                mostCommon = n.type();
            }
        }
        return fileType(mostCommon) | LlamaH.LLAMA_FTYPE_GUESSED();
    }

    private static int fileType(GgmlType t) {
        return switch (t) {
            case F16 -> LlamaH.LLAMA_FTYPE_MOSTLY_F16();
            case BF16 -> LlamaH.LLAMA_FTYPE_MOSTLY_BF16();
            case Q4_0 -> LlamaH.LLAMA_FTYPE_MOSTLY_Q4_0();
            case Q4_1 -> LlamaH.LLAMA_FTYPE_MOSTLY_Q4_1();
            case Q5_0 -> LlamaH.LLAMA_FTYPE_MOSTLY_Q5_0();
            case Q5_1 -> LlamaH.LLAMA_FTYPE_MOSTLY_Q5_1();
            case Q8_0 -> LlamaH.LLAMA_FTYPE_MOSTLY_Q8_0();
            case Q2_K -> LlamaH.LLAMA_FTYPE_MOSTLY_Q2_K();
            case Q3_K -> LlamaH.LLAMA_FTYPE_MOSTLY_Q3_K_M();
            case Q4_K -> LlamaH.LLAMA_FTYPE_MOSTLY_Q4_K_M();
            case Q5_K -> LlamaH.LLAMA_FTYPE_MOSTLY_Q5_K_M();
            case Q6_K -> LlamaH.LLAMA_FTYPE_MOSTLY_Q6_K();
            case TQ1_0 -> LlamaH.LLAMA_FTYPE_MOSTLY_TQ1_0();
            case TQ2_0 -> LlamaH.LLAMA_FTYPE_MOSTLY_TQ2_0();
            case IQ2_XXS -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ2_XXS();
            case IQ2_XS -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ2_XS();
            case IQ2_S -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ2_S();
            case IQ3_XXS -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ3_XXS();
            case IQ1_S -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ1_S();
            case IQ1_M -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ1_M();
            case IQ4_NL -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ4_NL();
            case IQ4_XS -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ4_XS();
            case IQ3_S -> LlamaH.LLAMA_FTYPE_MOSTLY_IQ3_S();
            case NVFP4 -> LlamaH.LLAMA_FTYPE_MOSTLY_NVFP4();
            case Q1_0 -> LlamaH.LLAMA_FTYPE_MOSTLY_Q1_0();
            case Q2_0 -> LlamaH.LLAMA_FTYPE_MOSTLY_Q2_0();
            default -> LlamaH.LLAMA_FTYPE_ALL_F32(); // F32 and the types llama.cpp has no file type for
        };
    }

    /** What {@code sscanf(name, "blk.%d.", &layer)} leaves in {@code layer} (initially -1). */
    private static int layer(byte[] name) {
        byte[] prefix = {'b', 'l', 'k', '.'};
        if (name.length < prefix.length || !Arrays.equals(name, 0, prefix.length, prefix, 0, prefix.length)) {
            return -1;
        }
        int i = prefix.length;
        while (i < name.length && (name[i] == ' ' || (name[i] >= '\t' && name[i] <= '\r'))) {
            i++;
        }
        boolean negative = false;
        if (i < name.length && (name[i] == '+' || name[i] == '-')) {
            negative = name[i] == '-';
            i++;
        }
        long value = 0;
        int digits = 0;
        while (i < name.length && name[i] >= '0' && name[i] <= '9') {
            value = Math.min(value * 10 + (name[i] - '0'), Integer.MAX_VALUE); // saturate (overflow is undefined in C)
            i++;
            digits++;
        }
        if (digits == 0) {
            return -1;
        }
        return (int) (negative ? -value : value);
    }
}
