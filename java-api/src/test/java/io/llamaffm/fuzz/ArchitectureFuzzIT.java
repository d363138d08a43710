package io.llamaffm.fuzz;

import io.llamaffm.TestEnv;
import io.llamaffm.testmodels.SyntheticModels;
import io.llamaffm.testmodels.SyntheticModels.Family;
import io.llamaffm.testmodels.SyntheticQwen;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GGUF fuzz campaign ({@link FuzzCampaign}) per architecture: one seed per {@link Family} of the architecture
 * matrix ({@link SyntheticModels#fuzzSeed}: the family's keys and tensors, 2 layers, stories260K's 512-token
 * vocabulary), the same number of mutants of each (round robin). Every mutant ends as a loaded model that generated
 * (decoders) or embedded (encoders), or as a typed exception; never a JVM crash, a hang, an OutOfMemoryError or an
 * untyped exception. CI runs 60 inputs per architecture; {@code scripts/fuzz.sh --architectures 2000} runs the
 * campaign of RELIABILITY.md (system properties {@code llamaffm.fuzz.perArchitecture}, {@code .seed}, {@code .jobs},
 * {@code .out}, and {@code .families}: a comma-separated subset of {@link Family}, e.g. {@code GEMMA3,PHI3}).
 */
class ArchitectureFuzzIT {
    @Test
    void everyArchitecturesMutantsAreLoadedOrRefusedWithATypedException(@TempDir Path work) throws Exception {
        int perArchitecture = Integer.getInteger("llamaffm.fuzz.perArchitecture", 60);
        Path stories = TestEnv.stories();
        String only = System.getProperty("llamaffm.fuzz.families", "");
        List<Family> families = only.isBlank() ? List.of(Family.values())
                : Arrays.stream(only.split(",")).map(String::strip).map(Family::valueOf).toList();
        List<String> seeds = families.stream()
                .map(f -> (f.spec().encoder() ? "encoder=" : "model=")
                        + SyntheticModels.fuzzSeed(SyntheticQwen.cacheDir(), stories, f))
                .toList();
        int inputs = perArchitecture * seeds.size();
        Path out = Path.of(System.getProperty("llamaffm.fuzz.out", "target/fuzz-architectures"));
        FuzzCampaign.Config config = new FuzzCampaign.Config(Long.getLong("llamaffm.fuzz.seed", 1), inputs,
                Integer.getInteger("llamaffm.fuzz.batch", 250), Integer.getInteger("llamaffm.fuzz.jobs", 2),
                System.getProperty("llamaffm.fuzz.heap", "256m"), Long.getLong("llamaffm.fuzz.timeout", 120),
                work.resolve("work"), out, seeds, true);
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        FuzzCampaign.Result r = FuzzCampaign.run(config, cp);
        System.out.println(r.report());

        assertEquals(inputs, r.outcomes().size());
        assertTrue(r.failures().isEmpty(), r.report());
        Map<String, FuzzCampaign.Figures> perTarget = r.perTarget();
        assertEquals(families.size(), perTarget.size(), "one seed per architecture: " + perTarget.keySet());
        perTarget.forEach((target, f) -> {
            assertEquals(perArchitecture, f.inputs(), target);
            assertEquals(0, f.crashes() + f.hangs() + f.outOfMemory() + f.untyped(), target + ": " + f);
            // not vacuous: each architecture's mutants reach llama.cpp, and some still load and run its graph
            assertTrue(f.reachedLlamaCpp() >= perArchitecture / 4, target + ": " + f);
            assertTrue(f.loadedAndRan() >= Math.max(1, perArchitecture / 30), target + ": " + f);
        });
        assertTrue(r.count("ok:") >= inputs / 10, r.report());
    }
}
