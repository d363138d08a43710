package io.llamaffm.benchmarks;

import io.llamaffm.BackendInfo;
import io.llamaffm.Llama;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The machine a report was measured on, as a Markdown list. */
final class MachineInfo {
    private MachineInfo() {}

    static String markdown(int threads) {
        BackendInfo info = Llama.backendInfo();
        StringBuilder md = new StringBuilder("## Machine\n\n");
        md.append("- CPU: ").append(cpuInfo("model name").orElse(System.getProperty("os.arch"))).append(", ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores available, ").append(threads)
                .append(" threads used\n");
        md.append("- memory: ").append(memInfo().orElse("?")).append('\n');
        md.append("- OS: ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version")).append('\n');
        md.append("- Java: ").append(System.getProperty("java.vm.name")).append(' ').append(System.getProperty("java.runtime.version")).append('\n');
        md.append("- llama.cpp: ").append(pin("llama.release")).append(" (pinned), natives ").append(info.platform()).append(" / ")
                .append(info.variant()).append(" (").append(info.origin()).append("), CPU backend variant chosen by ggml: ")
                .append(info.cpuVariant().orElse("built in")).append('\n');
        md.append("- CPU features used: ").append(info.systemInfo().strip()).append('\n');
        return md.toString();
    }

    private static Optional<String> cpuInfo(String key) {
        return lines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith(key)).map(l -> l.substring(l.indexOf(':') + 1).strip())
                .findFirst();
    }

    private static Optional<String> memInfo() {
        return lines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
                .map(l -> String.format("%.1f GiB", Long.parseLong(l.replaceAll("\\D", "")) / (1024.0 * 1024.0))).findFirst();
    }

    private static String pin(String key) {
        return lines(Path.of("native/pin.properties")).stream().filter(l -> l.startsWith(key + "=")).map(l -> l.substring(key.length() + 1))
                .findFirst().orElse("?");
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of();
        }
    }
}
