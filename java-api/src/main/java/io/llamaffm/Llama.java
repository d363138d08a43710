package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.internal.NativeLibraryLoader;
import io.llamaffm.internal.NativeLog;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Entry point to the native backend: loads it on first use and describes it. */
public final class Llama {
    private Llama() {}

    /**
     * Loads the llama.cpp natives if that has not happened yet (see {@link Configuration} for the switches).
     *
     * @throws NativeLibraryException when no natives can be loaded; the message says what was tried
     */
    public static void initialize() {
        NativeLibraryLoader.ensureLoaded();
    }

    /**
     * Sets the lowest level of llama.cpp's own log lines forwarded to {@link System.Logger} "io.llamaffm.native"
     * ({@link System.Logger.Level#OFF}, the default unless {@code llamaffm.log.level} says otherwise, forwards none).
     *
     * @param level the lowest level forwarded
     */
    public static void setLogLevel(System.Logger.Level level) {
        NativeLog.setThreshold(java.util.Objects.requireNonNull(level, "level"));
    }

    /** {@return the loaded backend: system info, backends, devices and the chosen CPU variant (loads the natives if needed)} */
    public static BackendInfo backendInfo() {
        NativeLibraryLoader.Loaded loaded = NativeLibraryLoader.ensureLoaded();
        String systemInfo = LlamaH.llama_print_system_info().getString(0);
        List<BackendInfo.Backend> backends = new ArrayList<>();
        for (long i = 0, n = LlamaH.ggml_backend_reg_count(); i < n; i++) {
            MemorySegment reg = LlamaH.ggml_backend_reg_get(i);
            backends.add(new BackendInfo.Backend(LlamaH.ggml_backend_reg_name(reg).getString(0),
                    (int) LlamaH.ggml_backend_reg_dev_count(reg)));
        }
        List<BackendInfo.Device> devices = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            for (long i = 0, n = LlamaH.ggml_backend_dev_count(); i < n; i++) {
                MemorySegment dev = LlamaH.ggml_backend_dev_get(i);
                LlamaH.ggml_backend_dev_memory(dev, free, total);
                devices.add(new BackendInfo.Device(LlamaH.ggml_backend_dev_name(dev).getString(0),
                        LlamaH.ggml_backend_dev_description(dev).getString(0), deviceType(LlamaH.ggml_backend_dev_type(dev)),
                        free.get(ValueLayout.JAVA_LONG, 0), total.get(ValueLayout.JAVA_LONG, 0)));
            }
        }
        return new BackendInfo(systemInfo, backends, devices, cpuVariant(NativeLog.cpuBackendPath()), loaded.directory(),
                loaded.platform(), loaded.variant(), loaded.origin());
    }

    private static BackendInfo.DeviceType deviceType(int type) {
        if (type == LlamaH.GGML_BACKEND_DEVICE_TYPE_CPU()) return BackendInfo.DeviceType.CPU;
        if (type == LlamaH.GGML_BACKEND_DEVICE_TYPE_GPU()) return BackendInfo.DeviceType.GPU;
        if (type == LlamaH.GGML_BACKEND_DEVICE_TYPE_IGPU()) return BackendInfo.DeviceType.INTEGRATED_GPU;
        if (type == LlamaH.GGML_BACKEND_DEVICE_TYPE_ACCEL()) return BackendInfo.DeviceType.ACCELERATOR;
        if (type == LlamaH.GGML_BACKEND_DEVICE_TYPE_META()) return BackendInfo.DeviceType.META;
        return BackendInfo.DeviceType.UNKNOWN;
    }

    /** {@code .../libggml-cpu-haswell.so} → {@code haswell}. */
    static Optional<String> cpuVariant(String path) {
        if (path == null) {
            return Optional.empty();
        }
        String name = Path.of(path).getFileName().toString();
        int start = name.indexOf("ggml-cpu-");
        int end = name.indexOf('.', Math.max(start, 0));
        return start < 0 || end < 0 ? Optional.empty() : Optional.of(name.substring(start + "ggml-cpu-".length(), end));
    }
}
