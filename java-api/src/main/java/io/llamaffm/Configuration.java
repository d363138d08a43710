package io.llamaffm;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Every user-facing switch of llama-ffm, one typed property each. A system property wins over the
 * environment variable named beside it; both are read when the value is needed.
 */
public final class Configuration {
    private Configuration() {}

    /**
     * A switch: a system property, optionally mirrored by an environment variable.
     *
     * @param property            the system property, {@code llamaffm.AREA.KEY}
     * @param environmentVariable the environment variable read when the property is unset, or null
     * @param description         what the switch does
     */
    public record Option(String property, String environmentVariable, String description) {
        /** {@return the configured value, if any (system property first, then the environment)} */
        public Optional<String> value() {
            String v = System.getProperty(property);
            if ((v == null || v.isBlank()) && environmentVariable != null) {
                v = System.getenv(environmentVariable);
            }
            return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
        }
    }

    /** Load the natives from this directory only (no extraction). */
    public static final Option LIBRARY_PATH = new Option("llamaffm.library.path", "LLAMAFFM_LIBRARY_PATH",
            "directory holding libllama, ggml and the ggml backend plugins; nothing else is tried");

    /** Which natives to use: {@code auto} (GPU jars on the class path first, then CPU), cpu, cuda, vulkan, metal. */
    public static final Option VARIANT = new Option("llamaffm.variant", "LLAMAFFM_VARIANT",
            "auto | cpu | cuda | vulkan | metal");

    /** Where natives jars are extracted; default {@code ~/.cache/llama-ffm}. */
    public static final Option CACHE_DIR = new Option("llamaffm.cache.dir", "LLAMAFFM_CACHE_DIR",
            "extraction cache directory");

    /** Print each step of native loading to stderr. */
    public static final Option DEBUG_LOADER = new Option("llamaffm.debug.loader", "LLAMAFFM_DEBUG_LOADER",
            "true to trace native loading on stderr");

    /**
     * Lowest level of llama.cpp's own log lines forwarded to System.Logger "io.llamaffm.native": ERROR, WARNING,
     * INFO, DEBUG or OFF. Default OFF: nothing reaches stderr; failures still carry their native lines
     * (e.g. {@link ModelLoadException#nativeLog()}).
     */
    public static final Option LOG_LEVEL = new Option("llamaffm.log.level", "LLAMAFFM_LOG_LEVEL",
            "ERROR | WARNING | INFO | DEBUG | OFF (default OFF)");

    /**
     * The most bytes {@link Model#load(java.io.InputStream, ModelParams)} and {@link Model#loadResource(String, ModelParams)}
     * read into memory: a plain number of bytes or one with a binary suffix ({@code 512M}, {@code 8G}, {@code 1T}).
     * Default {@value #DEFAULT_MAX_STREAM_BYTES_TEXT}.
     */
    public static final Option MAX_STREAM_BYTES = new Option("llamaffm.load.max.bytes", "LLAMAFFM_LOAD_MAX_BYTES",
            "most bytes a model loaded from a stream or a class-path resource may have (default 64G)");

    /** The default of {@link #MAX_STREAM_BYTES}. */
    public static final String DEFAULT_MAX_STREAM_BYTES_TEXT = "64G";

    /** {@return the requested variant, lower case; {@code auto} when unset} */
    public static String variant() {
        return VARIANT.value().map(v -> v.toLowerCase(Locale.ROOT)).orElse("auto");
    }

    /** {@return the extraction cache root} */
    public static Path cacheDir() {
        return CACHE_DIR.value().map(Path::of)
                .orElseGet(() -> Path.of(System.getProperty("user.home"), ".cache", "llama-ffm"));
    }

    /** {@return whether loader tracing is on} */
    public static boolean debugLoader() {
        return DEBUG_LOADER.value().map(Boolean::parseBoolean).orElse(false);
    }

    /** {@return the native log threshold} */
    public static System.Logger.Level logLevel() {
        String v = LOG_LEVEL.value().orElse("OFF").toUpperCase(Locale.ROOT);
        try {
            return System.Logger.Level.valueOf(v.equals("WARN") ? "WARNING" : v);
        } catch (IllegalArgumentException e) {
            throw new LlamaException("llamaffm.log.level='" + v + "' is not one of ERROR, WARNING, INFO, DEBUG, OFF");
        }
    }

    /**
     * The configured {@link #MAX_STREAM_BYTES} in bytes.
     *
     * @return the limit in bytes
     * @throws LlamaException if the value is not a positive number of bytes
     */
    public static long maxStreamBytes() {
        return parseBytes(MAX_STREAM_BYTES.value().orElse(DEFAULT_MAX_STREAM_BYTES_TEXT), MAX_STREAM_BYTES.property());
    }

    private static long parseBytes(String text, String property) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        int shift = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            default -> 0;
        };
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1).trim();
        try {
            long n = Long.parseLong(digits);
            if (n <= 0 || n > Long.MAX_VALUE >> shift) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new LlamaException(property + "='" + text + "' is not a positive number of bytes (such as 1048576, 512M, 8G)");
        }
    }
}
