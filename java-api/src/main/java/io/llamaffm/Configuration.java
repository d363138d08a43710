package io.llamaffm;

import java.net.URI;
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
     * Where models named by reference ({@code hf:owner/repo:Q4_K_M}, an https URL) are downloaded and found again;
     * default {@code models} under {@link #cacheDir()}, i.e. {@code ~/.cache/llama-ffm/models}.
     */
    public static final Option MODELS_DIR = new Option("llamaffm.models.dir", "LLAMAFFM_MODELS_DIR",
            "download cache of models named by reference (default ~/.cache/llama-ffm/models)");

    /** The Hugging Face hub's own address, the default of {@link #HUB_ENDPOINT}. */
    public static final String DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

    /** The Hugging Face hub to ask; default {@value #DEFAULT_HUB_ENDPOINT}. {@code HF_ENDPOINT} as the Python client reads it. */
    public static final Option HUB_ENDPOINT = new Option("llamaffm.hub.endpoint", "HF_ENDPOINT",
            "base URL of the Hugging Face hub (or a mirror), default " + DEFAULT_HUB_ENDPOINT);

    /**
     * An access token for gated or private repositories, sent as {@code Authorization: Bearer} to the hub's own
     * address only (never to the host a download is redirected to). {@code HF_TOKEN} as the Python client reads it.
     */
    public static final Option HUB_TOKEN = new Option("llamaffm.hub.token", "HF_TOKEN",
            "Hugging Face access token for gated or private repositories");

    /**
     * Offline mode: references resolve from the download cache only and nothing touches the network. {@code 1},
     * {@code true}, {@code yes} or {@code on} turn it on; {@code HF_HUB_OFFLINE} as the Python client reads it.
     */
    public static final Option HUB_OFFLINE = new Option("llamaffm.hub.offline", "HF_HUB_OFFLINE",
            "1 / true to resolve model references from the download cache only, never the network");

    /**
     * The most chars a chat template's source may have ({@link io.llamaffm.chat.TemplateLimits#maxSourceChars()}):
     * a number, optionally with a binary suffix ({@code K}, {@code M}, {@code G}).
     */
    public static final Option TEMPLATE_MAX_SOURCE = new Option("llamaffm.template.max.source", "LLAMAFFM_TEMPLATE_MAX_SOURCE",
            "most chars of a chat template's source (default 1M)");

    /** How deeply a chat template may nest ({@link io.llamaffm.chat.TemplateLimits#maxNestingDepth()}). */
    public static final Option TEMPLATE_MAX_DEPTH = new Option("llamaffm.template.max.depth", "LLAMAFFM_TEMPLATE_MAX_DEPTH",
            "deepest nesting of a chat template's blocks, expressions and calls (default 1000)");

    /** The most steps one chat template render may take ({@link io.llamaffm.chat.TemplateLimits#maxSteps()}). */
    public static final Option TEMPLATE_MAX_STEPS = new Option("llamaffm.template.max.steps", "LLAMAFFM_TEMPLATE_MAX_STEPS",
            "most steps of one chat template render (default 2M)");

    /** The most chars one chat template render may write ({@link io.llamaffm.chat.TemplateLimits#maxOutputChars()}). */
    public static final Option TEMPLATE_MAX_OUTPUT = new Option("llamaffm.template.max.output", "LLAMAFFM_TEMPLATE_MAX_OUTPUT",
            "most chars one chat template render writes (default 4M)");

    /**
     * The most chars or items of one string, list or dict a chat template creates
     * ({@link io.llamaffm.chat.TemplateLimits#maxValueLength()}).
     */
    public static final Option TEMPLATE_MAX_VALUE = new Option("llamaffm.template.max.value", "LLAMAFFM_TEMPLATE_MAX_VALUE",
            "most chars or items of one value a chat template creates (default 4M)");

    /**
     * The most bytes (estimated) of all values one chat template render creates
     * ({@link io.llamaffm.chat.TemplateLimits#maxAllocatedBytes()}).
     */
    public static final Option TEMPLATE_MAX_ALLOCATION = new Option("llamaffm.template.max.allocation",
            "LLAMAFFM_TEMPLATE_MAX_ALLOCATION", "most bytes (estimated) of the values one chat template render creates (default 64M)");

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

    /** {@return the download cache of models named by reference} */
    public static Path modelsDir() {
        return MODELS_DIR.value().map(Path::of).orElseGet(() -> cacheDir().resolve("models"));
    }

    /**
     * The configured {@link #HUB_ENDPOINT}, without a trailing slash.
     *
     * @return the hub's base URL
     * @throws LlamaException if the value is not an absolute http or https URL
     */
    public static URI hubEndpoint() {
        String text = HUB_ENDPOINT.value().orElse(DEFAULT_HUB_ENDPOINT);
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        try {
            URI uri = new URI(text);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null && uri.getQuery() == null
                    && uri.getFragment() == null && uri.getUserInfo() == null) {
                return uri;
            }
        } catch (java.net.URISyntaxException e) {
            // the message below says what is expected
        }
        throw new LlamaException(HUB_ENDPOINT.property() + " (or " + HUB_ENDPOINT.environmentVariable() + ")='" + text
                + "' is not an http or https base URL such as " + DEFAULT_HUB_ENDPOINT);
    }

    /** {@return the configured {@link #HUB_TOKEN}, if any} */
    public static Optional<String> hubToken() {
        return HUB_TOKEN.value();
    }

    /**
     * Whether {@link #HUB_OFFLINE} is on.
     *
     * @return true in offline mode
     * @throws LlamaException if the value is neither a yes ({@code 1 true yes on}) nor a no ({@code 0 false no off})
     */
    public static boolean hubOffline() {
        Optional<String> v = HUB_OFFLINE.value();
        if (v.isEmpty()) {
            return false;
        }
        return switch (v.get().toLowerCase(Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off" -> false;
            default -> throw new LlamaException(HUB_OFFLINE.property() + " (or " + HUB_OFFLINE.environmentVariable() + ")='"
                    + v.get() + "' is not one of 1, true, yes, on, 0, false, no, off");
        };
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
        return parseSize(MAX_STREAM_BYTES.value().orElse(DEFAULT_MAX_STREAM_BYTES_TEXT), MAX_STREAM_BYTES.property(),
                "a positive number of bytes (such as 1048576, 512M, 8G)");
    }

    /**
     * A chat template limit: the configured value of {@code option} (a positive number, optionally with a binary suffix,
     * {@code K}, {@code M} or {@code G}), else {@code defaultValue}.
     *
     * @param option       one of the {@code TEMPLATE_MAX_*} options
     * @param defaultValue the value when it is unset
     * @param max          the largest value allowed
     * @return the limit
     * @throws LlamaException if the value is not a positive number up to {@code max}
     */
    public static long templateLimit(Option option, long defaultValue, long max) {
        Optional<String> text = option.value();
        if (text.isEmpty()) {
            return defaultValue;
        }
        long n = parseSize(text.get(), option.property(), "a positive number (such as 100000, 512K, 4M)");
        if (n > max) {
            throw new LlamaException(option.property() + "='" + text.get() + "' is more than the largest allowed, " + max);
        }
        return n;
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

    private static long parseSize(String text, String property, String expected) {
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
            throw new LlamaException(property + "='" + text + "' is not " + expected);
        }
    }
}
