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

    /**
     * The most characters of a GBNF grammar: one given to {@link SamplerChain.Grammar} or built by
     * {@link io.llamaffm.grammar.JsonSchemaToGrammar} (checked while it is built). Default {@value #DEFAULT_GRAMMAR_MAX_CHARS}.
     */
    public static final Option GRAMMAR_MAX_CHARS = new Option("llamaffm.grammar.max.chars", "LLAMAFFM_GRAMMAR_MAX_CHARS",
            "most characters of a grammar, given or converted from a JSON Schema (default 1048576)");

    /** The default of {@link #GRAMMAR_MAX_CHARS}: 1 MiB. */
    public static final int DEFAULT_GRAMMAR_MAX_CHARS = 1 << 20;

    /**
     * The most rules llama.cpp may build from a grammar: its rules, one per group, and the rules it expands each
     * repetition {@code {m,n}}, {@code *}, {@code +}, {@code ?} into ({@code n - m} of them). Default
     * {@value #DEFAULT_GRAMMAR_MAX_RULES}.
     */
    public static final Option GRAMMAR_MAX_RULES = new Option("llamaffm.grammar.max.rules", "LLAMAFFM_GRAMMAR_MAX_RULES",
            "most rules llama.cpp builds from a grammar, groups and expanded repetitions included (default 65536)");

    /** The default of {@link #GRAMMAR_MAX_RULES}. */
    public static final int DEFAULT_GRAMMAR_MAX_RULES = 1 << 16;

    /**
     * The most elements (characters, ranges, rule references, alternatives) llama.cpp may hold for a grammar once its
     * repetitions are expanded: {@code "abc"{5}} is 15 characters. Default {@value #DEFAULT_GRAMMAR_MAX_ELEMENTS}.
     */
    public static final Option GRAMMAR_MAX_ELEMENTS = new Option("llamaffm.grammar.max.elements",
            "LLAMAFFM_GRAMMAR_MAX_ELEMENTS", "most elements llama.cpp holds for a grammar, repetitions expanded (default 4194304)");

    /** The default of {@link #GRAMMAR_MAX_ELEMENTS}. */
    public static final int DEFAULT_GRAMMAR_MAX_ELEMENTS = 1 << 22;

    /**
     * The most steps of work one grammar may cost: schemas visited by a JSON Schema conversion, and the elements
     * llama.cpp's left-recursion check reads when it builds the grammar (it reads a rule again each time a rule
     * starts with it, so a grammar of a few kilobytes can cost billions). Default {@value #DEFAULT_GRAMMAR_MAX_STEPS}.
     */
    public static final Option GRAMMAR_MAX_STEPS = new Option("llamaffm.grammar.max.steps", "LLAMAFFM_GRAMMAR_MAX_STEPS",
            "most steps a schema conversion or llama.cpp's check of a grammar may take (default 10000000)");

    /** The default of {@link #GRAMMAR_MAX_STEPS}. */
    public static final int DEFAULT_GRAMMAR_MAX_STEPS = 10_000_000;

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

    /**
     * The configured {@link #GRAMMAR_MAX_CHARS}.
     *
     * @return the limit
     * @throws LlamaException if the value is not a whole number from 1 to {@link Integer#MAX_VALUE}
     */
    public static int grammarMaxChars() {
        return positiveInt(GRAMMAR_MAX_CHARS, DEFAULT_GRAMMAR_MAX_CHARS);
    }

    /**
     * The configured {@link #GRAMMAR_MAX_RULES}.
     *
     * @return the limit
     * @throws LlamaException if the value is not a whole number from 1 to {@link Integer#MAX_VALUE}
     */
    public static int grammarMaxRules() {
        return positiveInt(GRAMMAR_MAX_RULES, DEFAULT_GRAMMAR_MAX_RULES);
    }

    /**
     * The configured {@link #GRAMMAR_MAX_ELEMENTS}.
     *
     * @return the limit
     * @throws LlamaException if the value is not a whole number from 1 to {@link Integer#MAX_VALUE}
     */
    public static int grammarMaxElements() {
        return positiveInt(GRAMMAR_MAX_ELEMENTS, DEFAULT_GRAMMAR_MAX_ELEMENTS);
    }

    /**
     * The configured {@link #GRAMMAR_MAX_STEPS}.
     *
     * @return the limit
     * @throws LlamaException if the value is not a whole number from 1 to {@link Integer#MAX_VALUE}
     */
    public static int grammarMaxSteps() {
        return positiveInt(GRAMMAR_MAX_STEPS, DEFAULT_GRAMMAR_MAX_STEPS);
    }

    private static int positiveInt(Option option, int fallback) {
        String text = option.value().orElse(null);
        if (text == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(text);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new LlamaException(option.property() + "='" + text + "' is not a whole number from 1 to " + Integer.MAX_VALUE);
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
