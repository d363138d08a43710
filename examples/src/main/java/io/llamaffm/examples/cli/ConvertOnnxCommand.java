package io.llamaffm.examples.cli;

import io.llamaffm.convert.OnnxToGguf;
import io.llamaffm.gguf.GgmlType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code convert-onnx MODEL.onnx TOKENIZER.json OUT.gguf}: a sentence-transformers BERT model to GGUF. */
@Command(name = "convert-onnx", mixinStandardHelpOptions = true,
        description = {"Converts a sentence-transformers BERT model (ONNX + tokenizer.json) to a GGUF file for llama.cpp."})
final class ConvertOnnxCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The ONNX model.")
    Path onnx;

    @Parameters(index = "1", paramLabel = "TOKENIZER.json", description = "Its Hugging Face tokenizer.json (WordPiece).")
    Path tokenizer;

    @Parameters(index = "2", paramLabel = "OUT.gguf", description = "The GGUF file to write.")
    Path out;

    @Option(names = "--type", paramLabel = "T", defaultValue = "f16", description = "Weight type: f32, f16 (default), bf16 (fastest on CPUs with AVX512-BF16) or q8_0.")
    String type;

    @Option(names = "--pooling", paramLabel = "P", defaultValue = "mean", description = "mean (default), cls, last or none.")
    String pooling;

    @Override
    public Integer call() {
        GgmlType t = switch (type.toLowerCase(Locale.ROOT)) {
            case "f32" -> GgmlType.F32;
            case "f16" -> GgmlType.F16;
            case "bf16" -> GgmlType.BF16;
            case "q8_0" -> GgmlType.Q8_0;
            default -> throw new CliException("--type must be f32, f16, bf16 or q8_0, got " + type);
        };
        OnnxToGguf.Pooling p;
        try {
            p = OnnxToGguf.Pooling.valueOf(pooling.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CliException("--pooling must be mean, cls, last or none, got " + pooling);
        }
        OnnxToGguf.Summary s = OnnxToGguf.convert(onnx, tokenizer, out, OnnxToGguf.Options.defaults().withType(t).withPooling(p));
        PrintWriter w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "wrote %s: bert, %d layers, %d wide, %d heads, %d tokens, %s weights%n", out, s.blockCount(),
                s.embeddingLength(), s.headCount(), s.vocabSize(), t);
        w.flush();
        return LlamaCli.EXIT_OK;
    }
}
