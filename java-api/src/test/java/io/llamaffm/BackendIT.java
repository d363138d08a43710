package io.llamaffm;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The backend as loaded from the host's natives jar. */
class BackendIT {
    /** The x86-64 CPU variants ggml is built with (GGML_CPU_ALL_VARIANTS). */
    private static final Set<String> X64_VARIANTS = Set.of("x64", "sse42", "sandybridge", "ivybridge", "piledriver",
            "haswell", "skylakex", "cannonlake", "cascadelake", "icelake", "cooperlake", "zen4", "alderlake",
            "sapphirerapids");

    @Test
    void describesTheLoadedBackend() {
        BackendInfo info = Llama.backendInfo();
        System.out.println(info.describe());
        assertTrue(info.systemInfo().contains("CPU :"), info.systemInfo());
        assertTrue(info.backends().stream().anyMatch(b -> b.name().equals("CPU") && b.deviceCount() == 1), info.backends().toString());
        assertTrue(info.devices().stream().anyMatch(d -> d.type() == BackendInfo.DeviceType.CPU), info.devices().toString());
        assertFalse(info.platform().isEmpty());
        if (info.platform().equals("linux-x64") || info.platform().equals("windows-x64") || info.platform().equals("macos-x64")) {
            String variant = info.cpuVariant().orElseThrow(() -> new AssertionError("no CPU variant reported"));
            assertTrue(X64_VARIANTS.contains(variant), variant);
            // the variant chosen matches the features the loaded CPU backend reports
            if (List.of("haswell", "skylakex", "icelake", "cascadelake", "cooperlake", "zen4", "alderlake", "sapphirerapids",
                    "cannonlake").contains(variant)) {
                assertTrue(info.systemInfo().contains("AVX2 = 1"), info.systemInfo());
            }
        }
        assertEquals(info.nativeDirectory(), Llama.backendInfo().nativeDirectory(), "loaded once per JVM");
    }
}
