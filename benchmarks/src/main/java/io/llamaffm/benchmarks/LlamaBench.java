package io.llamaffm.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Native llama-bench (built from the pinned source) run once per call, its JSON output parsed. */
final class LlamaBench {
    private final Path binary;

    LlamaBench(Path binary) {
        if (!Files.isExecutable(binary)) {
            throw new IllegalArgumentException("llama-bench not found at " + binary);
        }
        this.binary = binary;
    }

    /**
     * Tokens/s of one repetition: one value per prompt size (pp tests, in order), then the tg test; each the mean of
     * {@code runs} runs (llama-bench's {@code -r}, its {@code avg_ts}), after its own unmeasured run.
     */
    double[] run(Path model, int threads, int[] promptSizes, int generate, int runs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(binary.toString(), "-m", model.toString(), "-t", Integer.toString(threads),
                "-r", Integer.toString(runs), "-o", "json", "-n", Integer.toString(generate), "-p"));
        StringBuilder p = new StringBuilder();
        for (int size : promptSizes) {
            p.append(p.isEmpty() ? "" : ",").append(size);
        }
        cmd.add(p.toString());
        Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String json = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!proc.waitFor(20, TimeUnit.MINUTES) || proc.exitValue() != 0) {
            proc.destroyForcibly();
            throw new IOException("llama-bench failed (" + String.join(" ", cmd) + "): " + json);
        }
        double[] out = new double[promptSizes.length + 1];
        java.util.Arrays.fill(out, -1);
        for (JsonNode test : new ObjectMapper().readTree(json)) {
            int nPrompt = test.path("n_prompt").asInt();
            int nGen = test.path("n_gen").asInt();
            double ts = test.path("avg_ts").asDouble();
            if (nGen > 0 && nPrompt == 0) {
                out[promptSizes.length] = ts;
            }
            for (int i = 0; i < promptSizes.length; i++) {
                if (nGen == 0 && nPrompt == promptSizes[i]) {
                    out[i] = ts;
                }
            }
        }
        for (double v : out) {
            if (v < 0) {
                throw new IOException("llama-bench output lacks a test: " + json);
            }
        }
        return out;
    }
}
