package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_model_kv_override;
import io.llamaffm.bindings.llama_model_params;
import io.llamaffm.bindings.llama_progress_callback;
import io.llamaffm.internal.NativeLibraryLoader;
import io.llamaffm.internal.NativeLog;
import io.llamaffm.internal.engine.NativeOwner;

import io.llamaffm.gguf.GgufFile;
import io.llamaffm.hub.DownloadException;
import io.llamaffm.hub.ModelDownloader;
import io.llamaffm.hub.ModelFiles;
import io.llamaffm.hub.ModelRef;
import io.llamaffm.gguf.GgufFormatException;
import io.llamaffm.internal.StreamBytes;
import io.llamaffm.internal.load.MemoryModelLoader;
import io.llamaffm.internal.load.ModelConfigReader;
import io.llamaffm.internal.load.ModelFileCheck;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loaded GGUF model. Immutable once loaded and safe to share between threads; each {@link Context} made
 * from it is used by one thread at a time.
 *
 * <p>Closing is idempotent. A model with open contexts refuses to close ({@link IllegalStateException} naming how
 * many are open): close the contexts first. A close racing with a native call on another thread is refused too
 * (the native handle's arena cannot close while a call uses it). After close every method throws
 * {@link IllegalStateException}.
 *
 * <p>A model loads from a file ({@link #load(Path, ModelParams)}) or from memory: a {@link MemorySegment}
 * ({@link #load(MemorySegment, ModelParams)}), an {@link InputStream} ({@link #load(InputStream, ModelParams)}) or a
 * class-path resource ({@link #loadResource(String, ModelParams)}), so a model can ship inside a jar. Loads from memory
 * validate the whole GGUF in Java first and never write a temporary file.
 *
 * <p>LoRA adapters ({@link #loadLoraAdapter(Path)}) belong to the model: closing the model (once no context is open)
 * closes the adapters it still has first, as llama.cpp frees them with the model.
 */
public final class Model implements AutoCloseable {
    /** What {@link #path()} returns for a model loaded from a {@link MemorySegment} or an {@link InputStream}. */
    public static final Path IN_MEMORY = Path.of("in-memory.gguf");

    private final Path path;
    private final ModelParams params;
    private final NativeOwner owner;    // the llama_model*, freed by llama_model_free when it closes
    private final MemorySegment handle;
    private final Tokenizer tokenizer;
    private final ModelConfig config;
    private final AtomicInteger openContexts = new AtomicInteger();
    private final Set<LoraAdapter> adapters = new LinkedHashSet<>(); // open adapters; guarded by this
    private volatile boolean closed;

    private Model(Path path, ModelParams params, NativeOwner owner, MemoryModelLoader.Stats fromMemory, long expertParameters) {
        this.path = path;
        this.params = params;
        this.owner = owner;
        this.handle = owner.handle();
        MemorySegment vocab = LlamaH.llama_model_get_vocab(handle).reinterpret(owner.arena(), null);
        this.tokenizer = new Tokenizer(this, vocab);
        this.config = ModelConfigReader.read(handle, vocab, path.getFileName().toString(), params.vocabOnly(), fromMemory,
                expertParameters);
    }

    /**
     * Loads a GGUF model file with {@link ModelParams#defaults()}; see {@link #load(Path, ModelParams, LoadProgressListener)}.
     *
     * @param path the model file (the first part of a split model)
     * @return the loaded model, to close when done
     */
    public static Model load(Path path) {
        return load(path, ModelParams.defaults());
    }

    /**
     * Loads a GGUF model file; see {@link #load(Path, ModelParams, LoadProgressListener)}.
     *
     * @param path   the model file (the first part of a split model)
     * @param params how to load it
     * @return the loaded model, to close when done
     */
    public static Model load(Path path, ModelParams params) {
        return load(path, params, null);
    }

    /**
     * Loads a GGUF model file (the first file of a split model loads the other parts beside it).
     *
     * @param path     the model file (the first part of a split model)
     * @param params   how to load it
     * @param progress told how far the load has come, may cancel it; may be null
     * @throws ModelLoadException if the file is missing, unreadable, not a model llama.cpp can load, or the load was
     *                            cancelled; the exception carries llama.cpp's log lines of the failed load
     * @return the loaded model, to close when done
     */
    public static Model load(Path path, ModelParams params, LoadProgressListener progress) {
        return loadFiles(List.of(path), params, progress);
    }

    /**
     * Loads a model named by a reference or a path, with {@link ModelParams#defaults()}; see
     * {@link #load(String, ModelParams, LoadProgressListener)}.
     *
     * @param reference {@code hf:owner/repo:Q4_K_M}, {@code hf:owner/repo/file.gguf}, an https URL, or a file path
     * @return the loaded model, to close when done
     */
    public static Model load(String reference) {
        return load(reference, ModelParams.defaults(), null);
    }

    /**
     * Loads a model named by a reference ({@link ModelRef}: {@code hf:owner/repo:Q4_K_M},
     * {@code hf:owner/repo/sub/file.gguf@revision}, an http or https URL) or, for any other text, by a file path. A
     * reference is resolved by {@link ModelDownloader#create()} (the download cache, {@code HF_TOKEN},
     * {@code HF_HUB_OFFLINE} from {@link Configuration}), downloading what the cache lacks, then every file of the
     * model loads (the parts of a split model with {@link #loadSplits}). For download progress or other settings, use
     * {@link ModelDownloader} and {@link ModelFiles#load}.
     *
     * @param reference a reference or a file path
     * @param params    how to load it
     * @param progress  told how far the load (not the download) has come, may cancel it; may be null
     * @return the loaded model, to close when done
     * @throws DownloadException  if the reference cannot be resolved
     * @throws ModelLoadException if the files cannot be loaded
     */
    public static Model load(String reference, ModelParams params, LoadProgressListener progress) {
        Objects.requireNonNull(reference, "reference");
        if (ModelRef.isReference(reference)) {
            return ModelDownloader.create().resolve(reference).load(params, progress);
        }
        return load(Path.of(reference), params, progress);
    }

    /**
     * Loads a model stored in several GGUF files (parts written by gguf-split: each carries {@code split.no} and
     * {@code split.count}), given in order; use this when the parts are not named {@code NAME-0000N-of-0000M.gguf}
     * (with those names, {@link #load(Path)} of the first part finds the others).
     *
     * @param parts    the parts, in order
     * @param params   how to load them
     * @param progress told how far the load has come, may cancel it; may be null
     * @return the loaded model, to close when done
     * @throws ModelLoadException if a part is missing or the parts do not form one model
     */
    public static Model loadSplits(List<Path> parts, ModelParams params, LoadProgressListener progress) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("no parts given");
        }
        return loadFiles(parts, params, progress);
    }

    private static Model loadFiles(List<Path> files, ModelParams params, LoadProgressListener progress) {
        List<Path> paths = files.stream().map(Path::toAbsolutePath).toList();
        Path p = paths.getFirst();
        for (Path f : paths) {
            if (!Files.isRegularFile(f)) {
                throw new ModelLoadException(f, Files.exists(f) ? "not a regular file" : "no such file", List.of());
            }
            if (!Files.isReadable(f)) {
                throw new ModelLoadException(f, "file is not readable", List.of());
            }
        }
        // llama.cpp aborts the process on some malformed files: our reader checks every file completely first
        Validated first = validateGguf(p, params, true);
        long expertParameters = first.expertParameters();
        if (paths.size() == 1 && first.splitCount() > 1) {
            for (Path part : splitSiblings(p, first.splitCount())) {
                if (Files.isRegularFile(part)) {
                    expertParameters += validateGguf(part, params, false).expertParameters();
                }
            }
        }
        for (Path f : paths.subList(1, paths.size())) {
            expertParameters += validateGguf(f, params, false).expertParameters();
        }
        long experts = expertParameters;
        NativeLibraryLoader.ensureLoaded();
        Throwable[] listenerFailure = new Throwable[1];
        boolean[] cancelled = new boolean[1];
        List<List<String>> log = new java.util.ArrayList<>(1);
        NativeOwner owner = NativeOwner.open(arena -> {
            MemorySegment mp = nativeParams(arena, params);
            if (progress != null) {
                llama_model_params.progress_callback(mp, llama_progress_callback.allocate((fraction, data) -> {
                    // upcall: nothing may escape into native code
                    try {
                        boolean go = progress.onProgress(fraction);
                        cancelled[0] |= !go;
                        return go;
                    } catch (Throwable t) {
                        listenerFailure[0] = t;
                        return false;
                    }
                }, arena));
            }
            NativeLog.beginCapture();
            try {
                if (paths.size() == 1) {
                    return LlamaH.llama_model_load_from_file(arena.allocateFrom(p.toString()), mp);
                }
                MemorySegment array = arena.allocate(java.lang.foreign.ValueLayout.ADDRESS, paths.size());
                for (int i = 0; i < paths.size(); i++) {
                    array.setAtIndex(java.lang.foreign.ValueLayout.ADDRESS, i, arena.allocateFrom(paths.get(i).toString()));
                }
                return LlamaH.llama_model_load_from_splits(array, paths.size(), mp);
            } finally {
                log.add(NativeLog.endCapture());
            }
        }, LlamaH::llama_model_free, () -> listenerFailure[0] != null
                ? new ModelLoadException(p, "the progress listener failed: " + listenerFailure[0], log.getFirst(), listenerFailure[0])
                : new ModelLoadException(p, cancelled[0] ? "the load was cancelled" : "llama.cpp could not load it", log.getFirst()));
        return own(owner, p, params, null, experts);
    }

    /** Makes the model around its native owner; the owner closes if that fails. */
    private static Model own(NativeOwner owner, Path path, ModelParams params, MemoryModelLoader.Stats fromMemory,
                             long expertParameters) {
        try {
            return new Model(path, params, owner, fromMemory, expertParameters);
        } catch (RuntimeException | Error e) {
            owner.close();
            throw e;
        }
    }

    /**
     * What the load needs from a validated file.
     *
     * @param splitCount       its {@code split.count} (1 when not split)
     * @param expertParameters the elements of its routed-expert tensors (see {@link ModelConfigReader#expertParameters})
     */
    record Validated(int splitCount, long expertParameters) {}

    /**
     * Validates a GGUF file with our reader and {@link ModelFileCheck} (as the first file of a model, or a later part).
     */
    static Validated validateGguf(Path file, ModelParams params, boolean first) {
        try (GgufFile f = GgufFile.open(file)) {
            if (first) {
                ModelFileCheck.model(f, file, params);
            } else {
                ModelFileCheck.part(f, file);
            }
            int parts = f.find("split.count").map(v -> {
                try {
                    return f.getInt("split.count");
                } catch (RuntimeException e) {
                    return 1;
                }
            }).orElse(1);
            return new Validated(parts, ModelConfigReader.expertParameters(f));
        } catch (GgufFormatException e) {
            throw new ModelLoadException(file, "not a valid GGUF file: " + e.getMessage(), List.of(), e);
        }
    }

    /** The other parts of a split model named NAME-0000N-of-0000M.gguf, as llama.cpp derives them from the first. */
    private static List<Path> splitSiblings(Path first, int parts) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf")
                .matcher(first.getFileName().toString());
        if (!m.matches()) {
            return List.of();
        }
        List<Path> out = new java.util.ArrayList<>();
        for (int i = 2; i <= parts; i++) {
            out.add(first.resolveSibling(String.format("%s-%05d-of-%05d.gguf", m.group(1), i, parts)));
        }
        return out;
    }

    /**
     * Loads a model from a whole GGUF file in memory, with no temporary file: the bytes are validated by the GGUF
     * reader ({@link GgufFile#read(MemorySegment)}) before llama.cpp sees anything, then llama.cpp allocates the
     * model's own tensors (on the CPU or, with {@link ModelParams#gpuLayers()}, on the GPU) and the tensor data is copied
     * into them. The model keeps no reference to {@code gguf}: the caller must keep it alive (and unchanged) while this
     * method runs, and may free it as soon as it returns. Peak memory is therefore the segment plus the model.
     *
     * <p>{@link ModelParams#useMmap()} and {@link ModelParams#useMlock()} do not apply (llama.cpp reads nothing from a
     * file); the other parameters do. A file split into parts cannot load this way. {@link #path()} of the model is
     * {@link #IN_MEMORY}. The segment may be native or on the heap (heap data is copied through a small buffer).
     *
     * @param gguf   the bytes of a GGUF file, from its first byte to its last
     * @param params how to load it
     * @return the loaded model, to close when done
     * @throws ModelLoadException if the bytes are not well-formed GGUF (the cause is the {@link GgufFormatException}
     *                            naming the offset; llama.cpp was not called), or llama.cpp cannot load the model
     *                            (carrying llama.cpp's log lines), or a tensor does not match what the model expects
     */
    public static Model load(MemorySegment gguf, ModelParams params) {
        Objects.requireNonNull(gguf, "gguf");
        Objects.requireNonNull(params, "params");
        return loadFromMemory(gguf, params, IN_MEMORY);
    }

    /**
     * Loads a model from a stream holding a whole GGUF file, without a temporary file; see
     * {@link #load(InputStream, ModelParams, long)}. At most {@link Configuration#maxStreamBytes()} bytes
     * ({@code llamaffm.load.max.bytes}, default {@value Configuration#DEFAULT_MAX_STREAM_BYTES_TEXT}) are read.
     *
     * @param in     the stream, read to its end and not closed
     * @param params how to load the model
     * @return the loaded model, to close when done
     */
    public static Model load(InputStream in, ModelParams params) {
        return load(in, params, Configuration.maxStreamBytes());
    }

    /**
     * Loads a model from a stream holding a whole GGUF file, without a temporary file. The stream is read to its end
     * into native memory (not the Java heap), which is freed when this method returns: llama.cpp keeps its own copy of
     * the weights (see {@link #load(MemorySegment, ModelParams)}). The stream is not closed. {@link #path()} of the
     * model is {@link #IN_MEMORY}.
     *
     * @param in       the stream, read to its end and not closed
     * @param params   how to load the model
     * @param maxBytes the most bytes to read; a longer stream is refused as soon as it passes this size
     * @return the loaded model, to close when done
     * @throws ModelLoadException if the stream holds more than {@code maxBytes} bytes, reading it fails, the bytes are
     *                            not well-formed GGUF (cause: {@link GgufFormatException}) or llama.cpp cannot load them
     */
    public static Model load(InputStream in, ModelParams params, long maxBytes) {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(params, "params");
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be > 0, got " + maxBytes);
        }
        return loadFromStream(in, -1, maxBytes, params, IN_MEMORY);
    }

    /**
     * Loads a model from a class-path resource of the thread's context class loader (or, without one, of the loader
     * of this library); see {@link #loadResource(ClassLoader, String, ModelParams)}.
     *
     * @param name   the resource name ({@code models/x.gguf}); a leading {@code /} is ignored
     * @param params how to load the model
     * @return the loaded model, to close when done
     */
    public static Model loadResource(String name, ModelParams params) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        return loadResource(loader != null ? loader : Model.class.getClassLoader(), name, params);
    }

    /**
     * Loads a model from a class-path resource, such as a GGUF file packed inside a jar, without a temporary file. A
     * resource in a directory on the class path is memory-mapped; one inside a jar is read into native memory (at most
     * {@link Configuration#maxStreamBytes()} bytes) that is freed when this method returns, as llama.cpp keeps its own
     * copy of the weights. Store large models uncompressed in the jar ({@code jar --no-compress}, or the build tool's
     * equivalent) to save the inflating. {@link #path()} of the model is the resource name.
     *
     * @param loader the class loader to find the resource with
     * @param name   the resource name as {@link ClassLoader#getResource(String)} takes it ({@code models/x.gguf});
     *               a leading {@code /} is ignored
     * @param params how to load the model
     * @return the loaded model, to close when done
     * @throws ModelLoadException if there is no such resource, it cannot be read or is larger than the limit, it is
     *                            not well-formed GGUF (cause: {@link GgufFormatException}) or llama.cpp cannot load it
     */
    public static Model loadResource(ClassLoader loader, String name, ModelParams params) {
        Objects.requireNonNull(loader, "loader");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(params, "params");
        String resource = name.startsWith("/") ? name.substring(1) : name;
        Path label = resourcePath(resource);
        URL url = loader.getResource(resource);
        if (url == null) {
            throw new ModelLoadException(label, "no such resource on the class path of " + loader, List.of());
        }
        if (url.getProtocol().equals("file")) {
            Path file;
            try {
                file = Path.of(url.toURI());
            } catch (URISyntaxException | IllegalArgumentException e) {
                throw new ModelLoadException(label, "cannot map resource URL " + url + ": " + e.getMessage(), List.of(), e);
            }
            try (Arena mapping = Arena.ofConfined();
                 FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                return loadFromMemory(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), mapping), params, label);
            } catch (IOException e) {
                throw new ModelLoadException(label, "cannot read " + file + ": " + e, List.of(), e);
            }
        }
        try {
            URLConnection connection = url.openConnection();
            connection.setUseCaches(false); // closing the stream closes the jar too
            long size = connection.getContentLengthLong();
            try (InputStream in = connection.getInputStream()) {
                return loadFromStream(in, size, Configuration.maxStreamBytes(), params, label);
            }
        } catch (IOException e) {
            throw new ModelLoadException(label, "cannot read resource " + url + ": " + e, List.of(), e);
        }
    }

    /** The resource name as a path (for messages and {@link #path()}), or {@link #IN_MEMORY} if it is no valid path. */
    private static Path resourcePath(String resource) {
        try {
            return Path.of(resource.isEmpty() ? IN_MEMORY.toString() : resource);
        } catch (RuntimeException e) {
            return IN_MEMORY;
        }
    }

    private static Model loadFromStream(InputStream in, long sizeHint, long maxBytes, ModelParams params, Path label) {
        try (Arena buffer = Arena.ofConfined()) {
            MemorySegment bytes;
            try {
                bytes = StreamBytes.readAll(in, sizeHint, maxBytes, buffer);
            } catch (StreamBytes.LimitException e) {
                throw new ModelLoadException(label, e.getMessage() + " (the most a model loaded from a stream may have: "
                        + "raise it with -D" + Configuration.MAX_STREAM_BYTES.property() + "=SIZE or pass a limit)", List.of(), e);
            } catch (IOException e) {
                throw new ModelLoadException(label, "cannot read the stream: " + e, List.of(), e);
            }
            return loadFromMemory(bytes, params, label);
        }
    }

    private static Model loadFromMemory(MemorySegment bytes, ModelParams params, Path label) {
        GgufFile gguf;
        try {
            gguf = GgufFile.read(bytes);
        } catch (GgufFormatException e) {
            throw new ModelLoadException(label, "not a well-formed GGUF file: " + e.getMessage(), List.of(), e);
        }
        try {
            ModelFileCheck.model(gguf, label, params);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
        NativeLibraryLoader.ensureLoaded();
        try {
            NativeOwner owner = NativeOwner.open(arena -> MemoryModelLoader.load(gguf, nativeParams(arena, params), label),
                    LlamaH::llama_model_free, () -> new ModelLoadException(label, "llama.cpp could not load it", List.of()));
            MemoryModelLoader.Stats stats = MemoryModelLoader.Stats.of(gguf, params);
            return own(owner, label, params, stats, ModelConfigReader.expertParameters(gguf));
        } finally {
            gguf.close();
        }
    }

    /** llama.cpp's model parameters for {@code params}, allocated in {@code arena} (which keeps the overrides alive). */
    private static MemorySegment nativeParams(Arena arena, ModelParams params) {
        MemorySegment mp = LlamaH.llama_model_default_params(arena);
        llama_model_params.n_gpu_layers(mp, params.gpuLayers());
        llama_model_params.main_gpu(mp, params.mainGpu());
        llama_model_params.split_mode(mp, switch (params.splitMode()) {
            case NONE -> LlamaH.LLAMA_SPLIT_MODE_NONE();
            case LAYER -> LlamaH.LLAMA_SPLIT_MODE_LAYER();
            case ROW -> LlamaH.LLAMA_SPLIT_MODE_ROW();
        });
        llama_model_params.vocab_only(mp, params.vocabOnly());
        int mode = params.useMmap()
                ? (params.useMlock() ? LlamaH.LLAMA_LOAD_MODE_MMAP_MLOCK() : LlamaH.LLAMA_LOAD_MODE_MMAP())
                : (params.useMlock() ? LlamaH.LLAMA_LOAD_MODE_MLOCK() : LlamaH.LLAMA_LOAD_MODE_NONE());
        llama_model_params.load_mode(mp, mode);
        if (!params.metadataOverrides().isEmpty()) {
            llama_model_params.kv_overrides(mp, overrides(arena, params.metadataOverrides()));
        }
        return mp;
    }

    /** Writes the overrides as llama.cpp's array of llama_model_kv_override, ended by an entry with an empty key. */
    private static MemorySegment overrides(Arena arena, Map<String, Object> values) {
        long size = llama_model_kv_override.layout().byteSize();
        MemorySegment all = arena.allocate(size * (values.size() + 1), 8);
        int i = 0;
        for (Map.Entry<String, Object> e : values.entrySet()) {
            MemorySegment o = all.asSlice(i++ * size, size);
            byte[] key = e.getKey().getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(key, 0, o, ValueLayout.JAVA_BYTE, llama_model_kv_override.key$offset(), key.length);
            switch (e.getValue()) {
                case Long l -> { llama_model_kv_override.tag(o, LlamaH.LLAMA_KV_OVERRIDE_TYPE_INT()); o.set(ValueLayout.JAVA_LONG, KV_VALUE, l); }
                case Integer n -> { llama_model_kv_override.tag(o, LlamaH.LLAMA_KV_OVERRIDE_TYPE_INT()); o.set(ValueLayout.JAVA_LONG, KV_VALUE, n); }
                case Double d -> { llama_model_kv_override.tag(o, LlamaH.LLAMA_KV_OVERRIDE_TYPE_FLOAT()); o.set(ValueLayout.JAVA_DOUBLE, KV_VALUE, d); }
                case Float f -> { llama_model_kv_override.tag(o, LlamaH.LLAMA_KV_OVERRIDE_TYPE_FLOAT()); o.set(ValueLayout.JAVA_DOUBLE, KV_VALUE, f); }
                case Boolean b -> { llama_model_kv_override.tag(o, LlamaH.LLAMA_KV_OVERRIDE_TYPE_BOOL()); o.set(ValueLayout.JAVA_BOOLEAN, KV_VALUE, b); }
                case String str -> {
                    llama_model_kv_override.tag(o, LlamaH.LLAMA_KV_OVERRIDE_TYPE_STR());
                    byte[] v = str.getBytes(StandardCharsets.UTF_8);
                    MemorySegment.copy(v, 0, o, ValueLayout.JAVA_BYTE, KV_VALUE, v.length);
                }
                default -> throw new IllegalArgumentException("unsupported override value " + e.getValue());
            }
        }
        return all;
    }

    /**
     * Where the value union starts: right after the key, aligned to 8 (jextract emits the anonymous union as padding,
     * so it has no accessor of its own).
     */
    private static final long KV_VALUE = Math.ceilDiv(llama_model_kv_override.key$offset()
            + llama_model_kv_override.key$layout().byteSize(), 8) * 8;

    /**
     * {@return the file this model was loaded from; for a model loaded from memory, {@link #IN_MEMORY}, and for one
     * loaded from a class-path resource, the resource name as a relative path}
     */
    public Path path() {
        return path;
    }

    /** {@return the parameters it was loaded with} */
    public ModelParams params() {
        return params;
    }

    /** {@return the model's configuration: architecture, sizes, attention (GQA/MQA), experts, RoPE, vocabulary, metadata} */
    public ModelConfig config() {
        ensureOpen();
        return config;
    }

    /** {@return the model's tokenizer (valid as long as the model is open)} */
    public Tokenizer tokenizer() {
        ensureOpen();
        return tokenizer;
    }

    /**
     * {@return the default chat template stored in the model's metadata ({@code tokenizer.chat_template}), a Jinja
     * template; render it with {@code io.llamaffm.chat.ChatTemplate}. Empty if the model has none}
     */
    public Optional<String> chatTemplate() {
        return config().chatTemplate();
    }

    /**
     * A named chat template stored in the model's metadata ({@code tokenizer.chat_template.NAME}, such as
     * {@code tool_use}).
     *
     * @param name the template's name
     * @return the template, or empty if the model has none of that name
     */
    public Optional<String> chatTemplate(String name) {
        Objects.requireNonNull(name, "name");
        try (Arena local = Arena.ofConfined()) {
            return ModelConfigReader.chatTemplate(handle(), local.allocateFrom(name));
        }
    }

    /**
     * Creates an inference context (which owns its KV cache). Close it before the model.
     *
     * <p>Context creation is serialized with {@link #loadLoraAdapter(Path)} and adapter close: llama.cpp reads the
     * model's adapter list, without a lock, while it plans a new context's compute graph.
     *
     * @param params the context's size, batch, threads, sequences, embeddings and cache options
     * @return the new context, to close before the model
     * @throws IllegalStateException if the model was loaded vocabulary-only or is closed
     */
    public synchronized Context newContext(ContextParams params) {
        ensureOpen();
        if (this.params.vocabOnly()) {
            throw new IllegalStateException("model " + path.getFileName() + " was loaded vocabulary-only: it has no weights to run");
        }
        return new Context(this, params);
    }

    /**
     * Loads a LoRA adapter for this model from a GGUF adapter file ({@code general.type = adapter}, as written by
     * llama.cpp's {@code convert_lora_to_gguf.py}). Apply it with {@link Context#setLoraAdapters(Map)}. The adapter
     * belongs to this model: close it when done, or closing the model closes it.
     *
     * <p><b>Threads.</b> Loading and closing adapters change the model's adapter list, which llama.cpp reads without
     * a lock when a context plans its compute graph: at creation (serialized with this method) and at its first
     * decode after its adapters changed. Do not load or close adapters while another thread decodes, right after
     * changing adapters, on a context of this model; loading adapters up front is always safe.
     *
     * @param path the adapter file
     * @return the loaded adapter, owned by this model
     * @throws ModelLoadException   if the file is missing, not GGUF, not a LoRA adapter, for another architecture, or
     *                              its tensors do not fit this model's weights; with llama.cpp's log lines
     * @throws IllegalStateException if the model was loaded vocabulary-only or is closed
     */
    public synchronized LoraAdapter loadLoraAdapter(Path path) {
        Objects.requireNonNull(path, "path");
        ensureOpen();
        if (params.vocabOnly()) {
            throw new IllegalStateException("model " + this.path.getFileName() + " was loaded vocabulary-only: it has no weights to adapt");
        }
        LoraAdapter adapter = LoraAdapter.load(this, path);
        adapters.add(adapter);
        return adapter;
    }

    /**
     * Closes the model; refused while contexts made from it are open. Closes the LoRA adapters it still has first.
     * Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        int open = openContexts.get();
        if (open > 0) {
            throw new IllegalStateException("model " + path.getFileName() + " still has " + open
                    + " open context(s): close them before the model");
        }
        for (LoraAdapter a : List.copyOf(adapters)) {
            a.close(); // no context is open, so none holds it; llama_adapter_lora_free needs the model alive
        }
        owner.close(); // throws IllegalStateException if a native call is using the model right now
        closed = true;
    }

    /** {@return whether {@link #close()} has completed} */
    public boolean isClosed() {
        return closed;
    }

    MemorySegment handle() {
        ensureOpen();
        return handle;
    }

    synchronized void contextOpened() {
        ensureOpen();
        openContexts.incrementAndGet();
    }

    /** Called by {@link LoraAdapter#close()} with this model's lock held. */
    synchronized void adapterClosed(LoraAdapter adapter) {
        adapters.remove(adapter);
    }

    void contextClosed() {
        openContexts.decrementAndGet();
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model " + path.getFileName() + " is closed");
        }
    }

    @Override
    public String toString() {
        return "Model[" + path + (closed ? ", closed]" : "]");
    }
}
