package io.llamaffm.fuzz;

import io.llamaffm.TestEnv;
import io.llamaffm.gguf.LoraFixture;
import io.llamaffm.gguf.MoeFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GGUF fuzz campaign ({@link FuzzCampaign}) over stories260K, the MoE model and the LoRA adapter derived from it,
 * and three of llama.cpp's vocabulary files: every mutant ends as a loaded model or a typed exception, never a JVM
 * crash, a hang or an OutOfMemoryError. CI runs 1000 inputs; {@code scripts/fuzz.sh 10000} runs the long campaign
 * (system properties {@code llamaffm.fuzz.inputs}, {@code .seed}, {@code .jobs}, {@code .out}).
 */
class GgufFuzzIT {
    private static final List<String> VOCABULARIES = List.of("ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf",
            "ggml-vocab-gpt-2.gguf");

    @Test
    void everyMutantIsLoadedOrRefusedWithATypedException(@TempDir Path work) throws Exception {
        int inputs = Integer.getInteger("llamaffm.fuzz.inputs", 1000);
        Path stories = TestEnv.stories();
        Path moe = work.resolve("stories260K-moe4.gguf");
        MoeFixture.write(stories, moe, 4, 2);
        Path lora = work.resolve("stories260K-lora.gguf");
        LoraFixture.write(stories, lora, 4, 7, 0.1f);
        List<String> seeds = new ArrayList<>(List.of("model=" + stories, "model=" + moe, "lora=" + lora));
        TestEnv.sourceDirIfPresent().ifPresent(src -> VOCABULARIES.stream().map(v -> src.resolve("models").resolve(v))
                .filter(Files::isRegularFile).forEach(v -> seeds.add("vocab=" + v)));
        Path out = Path.of(System.getProperty("llamaffm.fuzz.out", "target/fuzz"));
        FuzzCampaign.Config config = new FuzzCampaign.Config(Long.getLong("llamaffm.fuzz.seed", 1), inputs,
                Integer.getInteger("llamaffm.fuzz.batch", 250), Integer.getInteger("llamaffm.fuzz.jobs", 2),
                System.getProperty("llamaffm.fuzz.heap", "256m"), Long.getLong("llamaffm.fuzz.timeout", 120),
                work.resolve("work"), out, seeds);
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        FuzzCampaign.Result r = FuzzCampaign.run(config, cp);
        System.out.println(r.report());

        assertEquals(inputs, r.outcomes().size());
        assertTrue(r.failures().isEmpty(), r.report());
        assertEquals(0, r.crashes() + r.hangs() + r.outOfMemory() + r.untyped(), r.report());
        // the campaign is not vacuous: many mutants get past our reader to llama.cpp, and many still run
        assertTrue(r.reachedLlamaCpp() >= inputs / 4, r.report());
        assertTrue(r.count("ok:") >= inputs / 20, r.report());
        assertTrue(r.count("load:ModelLoadException(reader)") >= inputs / 5, r.report());
    }
}
