package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.bindings.llama_model_kv_override;
import io.llamaffm.bindings.llama_model_params;
import io.llamaffm.bindings.llama_progress_callback;
import io.llamaffm.internal.NativeLibraryLoader;
import io.llamaffm.internal.NativeLog;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * <p>LoRA adapters ({@link #loadLoraAdapter(Path)}) belong to the model: closing the model (once no context is open)
 * closes the adapters it still has first, as llama.cpp frees them with the model.
 */
public final class Model implements AutoCloseable {
    private final Path path;
    private final ModelParams params;
    private final Arena arena;
    private final MemorySegment handle; // llama_model*, freed by llama_model_free when the arena closes
    private final Tokenizer tokenizer;
    private final ModelConfig config;
    private final AtomicInteger openContexts = new AtomicInteger();
    private final Set<LoraAdapter> adapters = new LinkedHashSet<>(); // open adapters; guarded by this
    private volatile boolean closed;

    private Model(Path path, ModelParams params, Arena arena, MemorySegment handle) {
        this.path = path;
        this.params = params;
        this.arena = arena;
        this.handle = handle;
        MemorySegment vocab = LlamaH.llama_model_get_vocab(handle).reinterpret(arena, null);
        this.tokenizer = new Tokenizer(this, vocab);
        this.config = ModelConfigReader.read(handle, vocab, path.getFileName().toString(), params.vocabOnly());
    }

    /** Loads a model with {@link ModelParams#defaults()}. */
    public static Model load(Path path) {
        return load(path, ModelParams.defaults());
    }

    /** Loads a GGUF model file; see {@link #load(Path, ModelParams, LoadProgressListener)}. */
    public static Model load(Path path, ModelParams params) {
        return load(path, params, null);
    }

    /**
     * Loads a GGUF model file (the first file of a split model loads the other parts beside it).
     *
     * @param progress told how far the load has come, may cancel it; may be null
     * @throws ModelLoadException if the file is missing, unreadable, not a model llama.cpp can load, or the load was
     *                            cancelled; the exception carries llama.cpp's log lines of the failed load
     */
    public static Model load(Path path, ModelParams params, LoadProgressListener progress) {
        Path p = path.toAbsolutePath();
        if (!Files.isRegularFile(p)) {
            throw new ModelLoadException(p, Files.exists(p) ? "not a regular file" : "no such file", List.of());
        }
        if (!Files.isReadable(p)) {
            throw new ModelLoadException(p, "file is not readable", List.of());
        }
        NativeLibraryLoader.ensureLoaded();
        Arena arena = Arena.ofShared();
        try {
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
            Throwable[] listenerFailure = new Throwable[1];
            boolean[] cancelled = new boolean[1];
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
            MemorySegment raw;
            List<String> log;
            NativeLog.beginCapture();
            try {
                raw = LlamaH.llama_model_load_from_file(arena.allocateFrom(p.toString()), mp);
            } finally {
                log = NativeLog.endCapture();
            }
            if (raw.equals(MemorySegment.NULL)) {
                if (listenerFailure[0] != null) {
                    throw new ModelLoadException(p, "the progress listener failed: " + listenerFailure[0], log, listenerFailure[0]);
                }
                throw new ModelLoadException(p, cancelled[0] ? "the load was cancelled" : "llama.cpp could not load it", log);
            }
            MemorySegment handle = raw.reinterpret(arena, LlamaH::llama_model_free);
            return new Model(p, params, arena, handle);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Writes the overrides as llama.cpp's array of llama_model_kv_override, ended by an entry with an empty key. */
    private static MemorySegment overrides(Arena arena, Map<String, Object> values) {
        long size = llama_model_kv_override.layout().byteSize();
        MemorySegment all = arena.allocate(size * (values.size() + 1), 8);
        int i = 0;
        for (Map.Entry<String, Object> e : values.entrySet()) {
            MemorySegment o = all.asSlice(i++ * size, size);
            byte[] key = e.getKey().getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(key, 0, o, ValueLayout.JAVA_BYTE, 4, key.length);
            // the value union follows tag (4 bytes) and key (128 bytes), aligned to 8
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

    private static final long KV_VALUE = 136;

    /** The file this model was loaded from. */
    public Path path() {
        return path;
    }

    /** The parameters it was loaded with. */
    public ModelParams params() {
        return params;
    }

    /** The model's configuration: architecture, sizes, attention (GQA/MQA), experts, RoPE, vocabulary, metadata. */
    public ModelConfig config() {
        ensureOpen();
        return config;
    }

    /** The model's tokenizer (valid as long as the model is open). */
    public Tokenizer tokenizer() {
        ensureOpen();
        return tokenizer;
    }

    /**
     * The default chat template stored in the model's metadata ({@code tokenizer.chat_template}), a Jinja
     * template; render it with {@code io.llamaffm.chat.ChatTemplate}. Empty if the model has none.
     */
    public Optional<String> chatTemplate() {
        return config().chatTemplate();
    }

    /**
     * A named chat template stored in the model's metadata ({@code tokenizer.chat_template.NAME}, such as
     * {@code tool_use}). Empty if the model has none of that name.
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
        arena.close(); // throws IllegalStateException if a native call is using the model right now
        closed = true;
    }

    /** Whether {@link #close()} has completed. */
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
