package io.llamaffm;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What the loaded llama.cpp backend is made of.
 *
 * @param systemInfo      llama_print_system_info(): the CPU features the loaded CPU backend uses, per backend
 * @param backends        the ggml backends registered (CPU, CUDA, Metal, Vulkan, ...)
 * @param devices         the devices those backends expose
 * @param cpuVariant      the CPU backend variant ggml chose for this machine (e.g. {@code haswell}, {@code sse42},
 *                        {@code icelake}); empty when the CPU backend is not a per-variant plugin
 * @param nativeDirectory the folder the libraries were loaded from
 * @param platform        e.g. {@code linux-x64}
 * @param variant         the natives variant loaded: cpu, cuda, vulkan, metal or override
 * @param origin          how the natives were produced: cmake (from the pinned source), prebuilt, or override
 */
public record BackendInfo(String systemInfo, List<Backend> backends, List<Device> devices, Optional<String> cpuVariant,
                          Path nativeDirectory, String platform, String variant, String origin) {

    /**
     * Copies the lists into unmodifiable ones.
     */
    public BackendInfo {
        backends = List.copyOf(backends);
        devices = List.copyOf(devices);
    }

    /**
     * A registered ggml backend.
     *
     * @param name        the backend's name (CPU, CUDA, Metal, Vulkan, ...)
     * @param deviceCount how many devices it exposes
     */
    public record Backend(String name, int deviceCount) {}

    /**
     * A device a backend exposes; memory in bytes as the backend reports it.
     *
     * @param name        the device's name (e.g. {@code CPU}, {@code CUDA0})
     * @param description what the backend says it is (e.g. the CPU or GPU model)
     * @param type        the kind of device
     * @param freeBytes   free memory in bytes, 0 when unknown
     * @param totalBytes  total memory in bytes, 0 when unknown
     */
    public record Device(String name, String description, DeviceType type, long freeBytes, long totalBytes) {}

    /** The kinds of ggml device. */
    public enum DeviceType {
        /** The CPU. */
        CPU,
        /** A discrete GPU. */
        GPU,
        /** A GPU sharing memory with the CPU. */
        INTEGRATED_GPU,
        /** Another accelerator (e.g. BLAS), used beside a CPU or GPU. */
        ACCELERATOR,
        /** A device standing for several others (ggml's meta device). */
        META,
        /** A type this version of the library does not know. */
        UNKNOWN
    }

    /** {@return a few lines for people: platform, variant, backends, devices, the CPU variant, system info} */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("llama.cpp natives: ").append(platform).append(" / ").append(variant).append(" (").append(origin)
                .append(") from ").append(nativeDirectory).append('\n');
        sb.append("CPU backend variant: ").append(cpuVariant.orElse("(built in)")).append('\n');
        sb.append("backends:");
        backends.forEach(b -> sb.append(' ').append(b.name()).append('(').append(b.deviceCount()).append(')'));
        sb.append('\n');
        for (Device d : devices) {
            sb.append("device: ").append(d.name()).append(" [").append(d.type()).append("] ").append(d.description());
            if (d.totalBytes() > 0) {
                sb.append(String.format(" %.1f/%.1f GiB free", d.freeBytes() / (double) (1L << 30), d.totalBytes() / (double) (1L << 30)));
            }
            sb.append('\n');
        }
        sb.append("system info: ").append(systemInfo.strip());
        return sb.toString();
    }
}
