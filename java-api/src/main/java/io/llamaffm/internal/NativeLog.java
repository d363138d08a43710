package io.llamaffm.internal;

import io.llamaffm.Configuration;
import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.ggml_log_callback;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Routes llama.cpp's and ggml's log lines to {@link System.Logger} "io.llamaffm.native" (nothing goes to stderr
 * on its own), lets a thread capture the lines of one native call (a failed model load explains itself), and
 * remembers which CPU backend variant ggml loaded.
 */
public final class NativeLog {
    private static final System.Logger LOGGER = System.getLogger("io.llamaffm.native");
    private static final String CPU_LOADED = "loaded CPU backend from ";

    private static final ThreadLocal<StringBuilder> PENDING = ThreadLocal.withInitial(StringBuilder::new);
    private static final ThreadLocal<int[]> LAST_LEVEL = ThreadLocal.withInitial(() -> new int[] {LlamaH.GGML_LOG_LEVEL_INFO()});
    private static final ThreadLocal<List<String>> CAPTURE = new ThreadLocal<>();
    private static final ThreadLocal<System.Logger.Level> CAPTURE_LEVEL = new ThreadLocal<>();
    private static final AtomicReference<String> CPU_BACKEND_PATH = new AtomicReference<>();
    private static volatile System.Logger.Level threshold = System.Logger.Level.OFF;
    private static MemorySegment stub;

    private NativeLog() {}

    /** Installs the callback for llama.cpp and ggml; called once by the loader right after the core libraries load. */
    static synchronized void install() {
        if (stub != null) {
            return;
        }
        if (!thresholdSet) {
            threshold = Configuration.logLevel();
        }
        stub = ggml_log_callback.allocate(NativeLog::onLog, Arena.global());
        LlamaH.ggml_log_set(stub, MemorySegment.NULL);
        LlamaH.llama_log_set(stub, MemorySegment.NULL);
    }

    /** Changes the lowest native level forwarded to System.Logger. */
    public static void setThreshold(System.Logger.Level level) {
        threshold = level;
        thresholdSet = true;
    }

    private static volatile boolean thresholdSet;

    /** The file ggml loaded its CPU backend from, if it said so. */
    public static String cpuBackendPath() {
        return CPU_BACKEND_PATH.get();
    }

    /** Starts collecting this thread's warning and error lines; returns them from {@link #endCapture()}. */
    public static void beginCapture() {
        beginCapture(System.Logger.Level.WARNING);
    }

    /**
     * Starts collecting this thread's lines of {@code minimum} severity and above (INFO: what llama.cpp reports of a
     * context it creates, such as its KV cache's size); returns them from {@link #endCapture()}.
     *
     * @param minimum the least severe level collected
     */
    public static void beginCapture(System.Logger.Level minimum) {
        CAPTURE_LEVEL.set(minimum);
        CAPTURE.set(new ArrayList<>());
    }

    /** Stops collecting and returns the collected lines. */
    public static List<String> endCapture() {
        List<String> lines = CAPTURE.get();
        CAPTURE.remove();
        CAPTURE_LEVEL.remove();
        return lines == null ? List.of() : lines;
    }

    // Upcall: must never throw (an exception escaping an upcall ends the JVM).
    private static void onLog(int level, MemorySegment text, MemorySegment userData) {
        try {
            int effective = level == LlamaH.GGML_LOG_LEVEL_CONT() ? LAST_LEVEL.get()[0] : level;
            LAST_LEVEL.get()[0] = effective;
            StringBuilder pending = PENDING.get();
            pending.append(text.reinterpret(Long.MAX_VALUE).getString(0));
            int nl;
            while ((nl = pending.indexOf("\n")) >= 0) {
                String line = pending.substring(0, nl);
                pending.delete(0, nl + 1);
                if (!line.isBlank()) {
                    onLine(effective, line);
                }
            }
        } catch (Throwable t) {
            // nothing may escape; a broken log line is not worth a crash
        }
    }

    private static void onLine(int level, String line) {
        int at = line.indexOf(CPU_LOADED);
        if (at >= 0) {
            CPU_BACKEND_PATH.set(line.substring(at + CPU_LOADED.length()).trim());
        }
        System.Logger.Level javaLevel = toJava(level);
        List<String> capture = CAPTURE.get();
        System.Logger.Level captured = CAPTURE_LEVEL.get();
        if (capture != null && captured != null && javaLevel.getSeverity() >= captured.getSeverity()) {
            capture.add(line);
        }
        System.Logger.Level min = threshold;
        if (min != System.Logger.Level.OFF && javaLevel.getSeverity() >= min.getSeverity()) {
            LOGGER.log(javaLevel, line);
        }
    }

    private static System.Logger.Level toJava(int level) {
        if (level == LlamaH.GGML_LOG_LEVEL_ERROR()) {
            return System.Logger.Level.ERROR;
        } else if (level == LlamaH.GGML_LOG_LEVEL_WARN()) {
            return System.Logger.Level.WARNING;
        } else if (level == LlamaH.GGML_LOG_LEVEL_INFO()) {
            return System.Logger.Level.INFO;
        }
        return System.Logger.Level.DEBUG;
    }
}
