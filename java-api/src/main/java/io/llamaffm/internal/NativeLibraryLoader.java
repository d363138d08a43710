package io.llamaffm.internal;

import io.llamaffm.Configuration;
import io.llamaffm.NativeLibraryException;
import io.llamaffm.bindings.LlamaH;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The one owner of native loading. In order: the override directory ({@link Configuration#LIBRARY_PATH});
 * otherwise the natives jars on the class path for the detected platform and variant, extracted into a
 * versioned cache directory under a file lock (files whose sha256 already matches are kept, others replaced),
 * falling back to a directory under java.io.tmpdir when the cache cannot be written or executed from. The core
 * libraries load in list order; ggml then loads its backend plugins itself, choosing the best CPU variant.
 * On failure one {@link NativeLibraryException} names everything tried.
 */
public final class NativeLibraryLoader {
    /**
     * Every natives id the project packages, in the order {@code auto} prefers them per platform: the first column
     * of {@code native/platforms.list}, which the build copies beside this class.
     */
    static final List<String> KNOWN_IDS = knownIds();
    static final String RESOURCE_ROOT = "io/llamaffm/natives/";

    // core library names when a directory carries no natives.list (e.g. a CMake build folder)
    private static final Pattern BASE = Pattern.compile("(lib)?ggml-base\\.(so(\\.[0-9]+)?|dylib|dll)");
    private static final Pattern GGML = Pattern.compile("(lib)?ggml(\\.[a-z]+)?(\\.v[0-9.]+)?\\.(so(\\.[0-9]+)?|dylib|dll)");
    private static final Pattern LLAMA = Pattern.compile("(lib)?llama(\\.[a-z]+)?(\\.v[0-9.]+)?\\.(so(\\.[0-9]+)?|dylib|dll)");

    /** What was loaded, from where, and how it was found. */
    public record Loaded(Path directory, String platform, String variant, String origin, String source) {}

    private static volatile Loaded loaded;

    private NativeLibraryLoader() {}

    private static List<String> knownIds() {
        try (InputStream in = NativeLibraryLoader.class.getResourceAsStream("platforms.list")) {
            if (in == null) {
                throw new IllegalStateException("platforms.list is missing beside " + NativeLibraryLoader.class.getName()
                        + ": llama-ffm's jar is incomplete");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).map(l -> l.split("\\s+")[0]).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Loads the natives once per JVM; later calls return what the first one loaded. */
    public static Loaded ensureLoaded() {
        Loaded l = loaded;
        if (l == null) {
            synchronized (NativeLibraryLoader.class) {
                l = loaded;
                if (l == null) {
                    l = load();
                    loaded = l;
                }
            }
        }
        return l;
    }

    private static Loaded load() {
        String platform = detectPlatform();
        Optional<String> override = Configuration.LIBRARY_PATH.value();
        if (override.isPresent()) {
            Path dir = Path.of(override.get()).toAbsolutePath();
            trace("override " + Configuration.LIBRARY_PATH.property() + "=" + dir);
            try {
                List<String> order = loadOrderOf(dir);
                loadCore(dir, order);
            } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
                throw new NativeLibraryException("cannot load llama.cpp from " + Configuration.LIBRARY_PATH.property()
                        + "=" + dir + " (only that directory is tried when it is set): " + e.getMessage(), e);
            }
            return initialize(dir, platform, "override", "override", dir.toString());
        }

        String variant = Configuration.variant();
        List<String> tried = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        for (String id : candidates(platform, variant)) {
            URL list = resource(id + "/natives.list");
            if (list == null) {
                tried.add("class path " + RESOURCE_ROOT + id + "/natives.list: not found");
                continue;
            }
            NativesList natives;
            try (InputStream in = list.openStream()) {
                natives = NativesList.parse(in);
            } catch (IOException e) {
                throw new NativeLibraryException("the natives jar for " + id + " is corrupt (" + list + "): " + e.getMessage(), e);
            }
            for (Path dir : extractionDirs(natives)) {
                try {
                    extract(id, natives, dir);
                    loadCore(dir, natives.loadOrder());
                    return initialize(dir, natives.platform(), natives.variant(), natives.origin(), list.toString());
                } catch (IOException | UnsatisfiedLinkError e) {
                    tried.add(dir + ": " + e);
                    causes.add(e);
                    trace("failed at " + dir + ": " + e);
                }
            }
        }
        NativeLibraryException failure = new NativeLibraryException(failureMessage(platform, variant, tried));
        causes.forEach(failure::addSuppressed);
        throw failure;
    }

    static String detectPlatform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux"
                : os.startsWith("mac") || os.contains("darwin") ? "macos"
                : os.startsWith("windows") ? "windows" : null;
        String a = switch (arch) {
            case "amd64", "x86_64", "x64" -> "x64";
            case "aarch64", "arm64" -> "arm64";
            default -> null;
        };
        if (o == null || a == null) {
            List<String> platforms = KNOWN_IDS.stream().map(id -> id.replaceFirst("^([a-z]+-[a-z0-9]+).*", "$1")).distinct().toList();
            throw new NativeLibraryException("llama-ffm has no natives for os.name='" + os + "', os.arch='" + arch
                    + "'. Supported: " + String.join(", ", platforms) + ". Build llama.cpp yourself"
                    + " and point " + Configuration.LIBRARY_PATH.property() + " at the folder holding its libraries.");
        }
        return o + "-" + a;
    }

    /** The natives ids to look for, best first. */
    static List<String> candidates(String platform, String variant) {
        return switch (variant) {
            case "auto" -> KNOWN_IDS.stream().filter(id -> id.equals(platform) || id.startsWith(platform + "-")).toList();
            case "cpu", "metal" -> List.of(platform);
            case "cuda", "vulkan" -> List.of(platform + "-" + variant);
            default -> throw new NativeLibraryException("llamaffm.variant='" + variant
                    + "' is not one of auto, cpu, cuda, vulkan, metal");
        };
    }

    private static URL resource(String path) {
        ClassLoader cl = NativeLibraryLoader.class.getClassLoader();
        URL url = cl == null ? null : cl.getResource(RESOURCE_ROOT + path);
        if (url == null && Thread.currentThread().getContextClassLoader() != null) {
            url = Thread.currentThread().getContextClassLoader().getResource(RESOURCE_ROOT + path);
        }
        return url;
    }

    private static List<Path> extractionDirs(NativesList natives) {
        String sub = natives.release() + "/" + natives.cacheName();
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"), "llama-ffm-" + System.getProperty("user.name", "user"));
        return Stream.of(Configuration.cacheDir(), tmp).map(root -> root.resolve(sub).toAbsolutePath()).distinct().toList();
    }

    /**
     * Extracts the natives of {@code id} into {@code dir} under an exclusive file lock: a file whose sha256
     * matches the list is kept, any other is written to a temporary name and moved into place.
     */
    static void extract(String id, NativesList natives, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (FileChannel lockChannel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockChannel.lock()) {
            for (NativesList.Entry e : natives.files()) {
                Path target = dir.resolve(e.name());
                if (Files.isRegularFile(target) && Files.size(target) == e.size() && sha256(target).equals(e.sha256())) {
                    trace("kept " + target);
                    continue;
                }
                URL url = resource(id + "/" + e.name());
                if (url == null) {
                    throw new IOException("the natives jar for " + id + " lists " + e.name() + " but does not contain it");
                }
                Path temp = Files.createTempFile(dir, "." + e.name(), ".part");
                try {
                    MessageDigest md = sha256();
                    try (InputStream in = new DigestInputStream(url.openStream(), md);
                         OutputStream out = Files.newOutputStream(temp)) {
                        in.transferTo(out);
                    }
                    String got = HexFormat.of().formatHex(md.digest());
                    if (!got.equals(e.sha256())) {
                        throw new IOException("the natives jar for " + id + " is corrupt: " + e.name() + " has sha256 "
                                + got + ", its list says " + e.sha256());
                    }
                    try {
                        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    } catch (AtomicMoveNotSupportedException ex) {
                        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                    trace("extracted " + target);
                } finally {
                    Files.deleteIfExists(temp);
                }
            }
        }
    }

    private static List<String> loadOrderOf(Path dir) throws IOException {
        Path list = dir.resolve("natives.list");
        if (Files.isRegularFile(list)) {
            try (InputStream in = Files.newInputStream(list)) {
                return NativesList.parse(in).loadOrder();
            }
        }
        List<String> order = new ArrayList<>();
        for (Pattern p : List.of(BASE, GGML, LLAMA)) {
            try (Stream<Path> files = Files.list(dir)) {
                order.add(files.map(f -> f.getFileName().toString()).filter(n -> p.matcher(n).matches()).sorted()
                        .findFirst().orElseThrow(() -> new IOException("no library matching " + p + " in " + dir)));
            }
        }
        return order;
    }

    private static void loadCore(Path dir, List<String> order) {
        for (String name : order) {
            Path lib = dir.resolve(name);
            trace("System.load " + lib);
            System.load(lib.toString());
        }
    }

    private static Loaded initialize(Path dir, String platform, String variant, String origin, String source) {
        NativeLog.install();
        try (Arena arena = Arena.ofConfined()) {
            LlamaH.ggml_backend_load_all_from_path(arena.allocateFrom(dir.toString()));
        }
        LlamaH.llama_backend_init();
        trace("loaded " + platform + "/" + variant + " (" + origin + ") from " + dir + "; CPU backend: " + NativeLog.cpuBackendPath());
        return new Loaded(dir, platform, variant, origin, source);
    }

    private static String failureMessage(String platform, String variant, List<String> tried) {
        List<String> present = KNOWN_IDS.stream().filter(id -> resource(id + "/natives.list") != null).toList();
        StringBuilder sb = new StringBuilder("no llama.cpp natives could be loaded for platform ").append(platform)
                .append(" (llamaffm.variant=").append(variant).append(").\nTried:");
        tried.forEach(t -> sb.append("\n  - ").append(t));
        sb.append("\nNatives jars on the class path: ").append(present.isEmpty() ? "none" : String.join(", ", present));
        String wanted = candidates(platform, variant).getLast();
        sb.append("\nAdd natives with Maven: ");
        if (KNOWN_IDS.contains(wanted)) {
            sb.append("this platform's\n  ").append(dependency("llama-ffm-natives", "<classifier>natives-" + wanted
                    + "</classifier>")).append("\nor ");
        } else {
            sb.append("(llama-ffm packs no natives-").append(wanted).append(" jar) ");
        }
        sb.append("every platform's\n  ").append(dependency("llama-ffm-natives-all", "<type>pom</type>"));
        sb.append("\nor point -D").append(Configuration.LIBRARY_PATH.property())
                .append("=DIR at a folder with libllama and ggml; trace the search with -D")
                .append(Configuration.DEBUG_LOADER.property()).append("=true.");
        return sb.toString();
    }

    /** A Maven dependency on one of the natives artifacts of this library's version. */
    private static String dependency(String artifactId, String classifierOrType) {
        return "<dependency><groupId>io.llamaffm</groupId><artifactId>" + artifactId + "</artifactId><version>"
                + Version.PROJECT + "</version>" + classifierOrType + "</dependency>";
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void trace(String message) {
        if (Configuration.debugLoader()) {
            System.err.println("[llama-ffm loader] " + message);
        }
    }
}
