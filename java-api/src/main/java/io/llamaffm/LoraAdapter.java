package io.llamaffm;

import io.llamaffm.bindings.LlamaH;
import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.TensorInfo;
import io.llamaffm.internal.NativeLog;
import io.llamaffm.internal.engine.NativeOwner;
import io.llamaffm.internal.load.ModelFileCheck;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A LoRA adapter (low-rank weight deltas, GGUF with {@code general.type = adapter}) loaded for one model with
 * {@link Model#loadLoraAdapter(Path)} and applied to a context with {@link Context#setLoraAdapters(Map)}. An
 * adapter's tensor {@code W.lora_a} (shape {@code [in, rank]}) and {@code W.lora_b} ({@code [rank, out]}) add
 * {@code scale × alpha / rank × B·A} to the model's weight {@code W}; when the file has no alpha the factor is the
 * scale alone.
 *
 * <p><b>Ownership.</b> The adapter belongs to its model: it can only be set on contexts of that model, and closing
 * the model closes the adapters it still has (llama.cpp frees them with the model). A context that has the adapter
 * set holds it: {@link #close()} is refused with {@link IllegalStateException} until every such context has cleared
 * it ({@link Context#clearLoraAdapters()}, or set other adapters) or is closed. The adapter's metadata is read when
 * it loads; the object is immutable and may be shared by threads.
 *
 * <p>Closing is idempotent. After close every method but {@link #path()}, {@link #isClosed()} and
 * {@link #toString()} throws {@link IllegalStateException}.
 */
public final class LoraAdapter implements AutoCloseable {
    /** Element types llama.cpp's matrix products accept for adapter tensors on every backend. */
    private static final Set<GgmlType> TYPES = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K);
    private static final String SUFFIX_A = ".lora_a";
    private static final String SUFFIX_B = ".lora_b";

    private final Model model;
    private final Path path;
    private final NativeOwner owner;    // the llama_adapter_lora*, freed by llama_adapter_lora_free when it closes
    private final MemorySegment handle;
    private final Map<String, String> metadata;
    private final float alpha;
    private final int[] invocationTokens;
    private int users;                  // contexts that have this adapter set; guarded by this
    private volatile boolean closed;

    private LoraAdapter(Model model, Path path, NativeOwner owner) {
        this.model = model;
        this.path = path;
        this.owner = owner;
        this.handle = owner.handle();
        this.metadata = readMetadata(handle);
        this.alpha = parseAlpha(metadata.get("adapter.lora.alpha"));
        int n = (int) LlamaH.llama_adapter_get_alora_n_invocation_tokens(handle);
        this.invocationTokens = n == 0 ? new int[0]
                : LlamaH.llama_adapter_get_alora_invocation_tokens(handle)
                        .reinterpret((long) n * Integer.BYTES).toArray(ValueLayout.JAVA_INT);
    }

    /** Loads an adapter for {@code model}; the caller holds the model's lock and registers the result. */
    static LoraAdapter load(Model model, Path path) {
        Path p = path.toAbsolutePath();
        if (!Files.isRegularFile(p)) {
            throw new ModelLoadException(p, Files.exists(p) ? "not a regular file" : "no such file", List.of());
        }
        if (!Files.isReadable(p)) {
            throw new ModelLoadException(p, "file is not readable", List.of());
        }
        checkTensors(model, p);
        List<List<String>> log = new java.util.ArrayList<>(1);
        NativeOwner owner = NativeOwner.open(arena -> {
            NativeLog.beginCapture();
            try {
                return LlamaH.llama_adapter_lora_init(model.handle(), arena.allocateFrom(p.toString()));
            } finally {
                log.add(NativeLog.endCapture());
            }
        }, LlamaH::llama_adapter_lora_free, () -> new ModelLoadException(p, "llama.cpp could not load it as a LoRA adapter for "
                + model.path().getFileName(), log.getFirst()));
        try {
            return new LoraAdapter(model, p, owner);
        } catch (RuntimeException | Error e) {
            owner.close();
            throw e;
        }
    }

    /**
     * Checks in Java what llama.cpp does not check before it builds a graph with the adapter (where a bad shape is a
     * native abort, not an error): the tensor types, that a matrix for a dense weight is 2-D, that one for an expert
     * weight ({@code *_exps}) has one matrix per expert, and that the two halves of a token-embedding pair agree.
     * Shapes against the model's weights, names and metadata are left to llama.cpp, which reports them.
     */
    private static void checkTensors(Model model, Path p) {
        Map<String, TensorInfo> tensors = new HashMap<>();
        try (GgufFile f = GgufFile.open(p)) {
            ModelFileCheck.adapter(f, p);
            for (TensorInfo t : f.tensors()) {
                tensors.put(t.name(), t);
            }
        } catch (ModelLoadException e) {
            throw e;
        } catch (LlamaException e) { // GgufFormatException, or the file could not be mapped
            throw new ModelLoadException(p, "not a GGUF LoRA adapter: " + e.getMessage(), List.of(), e);
        }
        int experts = model.config().moe().map(ModelConfig.MixtureOfExperts::expertCount).orElse(0);
        for (TensorInfo t : tensors.values()) {
            String name = t.name();
            if (!name.endsWith(SUFFIX_A) && !name.endsWith(SUFFIX_B)) {
                continue;
            }
            if (!TYPES.contains(t.type())) {
                throw new ModelLoadException(p, "tensor " + name + " has type " + t.type().ggmlName()
                        + "; an adapter tensor must be one of " + TYPES, List.of());
            }
            String weight = name.substring(0, name.length() - SUFFIX_A.length());
            long[] d = t.dims();
            boolean expert = weight.contains("_exps");
            int matrices = expert ? 3 : 2;
            for (int i = matrices; i < d.length; i++) {
                if (d[i] != 1) {
                    throw new ModelLoadException(p, "tensor " + name + " has shape " + Arrays.toString(d)
                            + "; it must be " + matrices + "-D", List.of());
                }
            }
            if (expert && (d.length < 3 || d[2] != experts)) {
                throw new ModelLoadException(p, "tensor " + name + " has shape " + Arrays.toString(d)
                        + "; an expert weight's adapter needs one matrix per expert (" + experts + ")", List.of());
            }
            if (weight.endsWith("token_embd.weight") && name.endsWith(SUFFIX_A)) {
                TensorInfo b = tensors.get(weight + SUFFIX_B);
                if (b != null && b.dims()[0] != d[0]) {
                    throw new ModelLoadException(p, "tensors " + name + " and " + b.name() + " disagree on the rank ("
                            + d[0] + " and " + b.dims()[0] + ")", List.of());
                }
            }
        }
    }

    private static Map<String, String> readMetadata(MemorySegment handle) {
        Map<String, String> out = new TreeMap<>();
        try (Arena tmp = Arena.ofConfined()) {
            int n = LlamaH.llama_adapter_meta_count(handle);
            for (int i = 0; i < n; i++) {
                final int index = i;
                String key = readString(tmp, (buf, size) -> LlamaH.llama_adapter_meta_key_by_index(handle, index, buf, size));
                String value = readString(tmp, (buf, size) -> LlamaH.llama_adapter_meta_val_str_by_index(handle, index, buf, size));
                if (key != null && value != null) {
                    out.put(key, value);
                }
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private interface StringCall {
        int call(MemorySegment buf, long size);
    }

    /** Calls a llama.cpp string getter (snprintf-style: returns the full length), growing the buffer once if needed. */
    private static String readString(Arena tmp, StringCall call) {
        MemorySegment buf = tmp.allocate(256);
        int n = call.call(buf, buf.byteSize());
        if (n < 0) {
            return null;
        }
        if (n >= buf.byteSize()) {
            buf = tmp.allocate(n + 1L);
            n = call.call(buf, buf.byteSize());
            if (n < 0) {
                return null;
            }
        }
        return buf.getString(0);
    }

    private static float parseAlpha(String value) {
        if (value == null) {
            return 0f;
        }
        try {
            return Float.parseFloat(value.trim());
        } catch (NumberFormatException e) {
            return 0f;
        }
    }

    /** {@return the file the adapter was loaded from (absolute); available after close} */
    public Path path() {
        return path;
    }

    /** {@return the model the adapter was loaded for; it can only be set on that model's contexts} */
    public Model model() {
        ensureOpen();
        return model;
    }

    /** {@return the adapter type from the metadata ({@code adapter.type}): {@code lora}} */
    public String type() {
        ensureOpen();
        return metadata.getOrDefault("adapter.type", "lora");
    }

    /**
     * {@return the LoRA alpha ({@code adapter.lora.alpha}): a scale set on a context is multiplied by
     * {@code alpha / rank}; 0 when the file has none, and llama.cpp then applies the scale as it is}
     */
    public float alpha() {
        ensureOpen();
        return alpha;
    }

    /**
     * {@return the activation tokens of an activated LoRA (aLoRA, {@code adapter.alora.invocation_tokens}): the
     * adapter applies from where these tokens appear in the prompt. Empty for a plain LoRA. A copy}
     */
    public int[] invocationTokens() {
        ensureOpen();
        return invocationTokens.clone();
    }

    /**
     * {@return the adapter file's scalar metadata as llama.cpp formats it (arrays are left out), sorted by key; for
     * example {@code general.architecture}, {@code adapter.type}, {@code adapter.lora.alpha}}
     */
    public Map<String, String> metadata() {
        ensureOpen();
        return metadata;
    }

    /**
     * One metadata value; see {@link #metadata()}.
     *
     * @param key the metadata key
     * @return its value, or empty if the file has none
     */
    public Optional<String> metadata(String key) {
        ensureOpen();
        return Optional.ofNullable(metadata.get(key));
    }

    /**
     * Frees the adapter. Refused with {@link IllegalStateException} while a context has it set. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        synchronized (model) { // the model's adapter list (native and Java) changes under the model's lock
            synchronized (this) {
                if (closed) {
                    return;
                }
                if (users > 0) {
                    throw new IllegalStateException("LoRA adapter " + path.getFileName() + " is set on " + users
                            + " open context(s): clear it there (Context.clearLoraAdapters) or close them first");
                }
                owner.close();
                closed = true;
            }
            model.adapterClosed(this);
        }
    }

    /** {@return whether {@link #close()} has completed (or the model closed it)} */
    public boolean isClosed() {
        return closed;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("LoRA adapter " + path.getFileName() + " is closed");
        }
    }

    @Override
    public String toString() {
        return "LoraAdapter[" + path + (closed ? ", closed]" : "]");
    }

    // ---- used by Context ----------------------------------------------------------------------------------------

    /** A context sets this adapter: it now holds it until {@link #release()}. */
    synchronized void acquire() {
        ensureOpen();
        users++;
    }

    /** A context no longer has this adapter set. */
    synchronized void release() {
        users--;
    }

    /**
     * Sets the adapters of a native context (llama_set_adapters_lora); an empty map clears them. The caller holds
     * every adapter ({@link #acquire()}) and owns the context.
     */
    static void apply(MemorySegment context, Map<LoraAdapter, Float> scales) {
        try (Arena tmp = Arena.ofConfined()) {
            int n = scales.size();
            MemorySegment adapters = n == 0 ? MemorySegment.NULL : tmp.allocate(ValueLayout.ADDRESS, n);
            MemorySegment values = n == 0 ? MemorySegment.NULL : tmp.allocate(ValueLayout.JAVA_FLOAT, n);
            int i = 0;
            for (Map.Entry<LoraAdapter, Float> e : scales.entrySet()) {
                adapters.setAtIndex(ValueLayout.ADDRESS, i, e.getKey().handle);
                values.setAtIndex(ValueLayout.JAVA_FLOAT, i, e.getValue());
                i++;
            }
            int rc = LlamaH.llama_set_adapters_lora(context, adapters, n, values);
            if (rc != 0) {
                throw new LlamaException("llama_set_adapters_lora failed (" + rc + ")");
            }
        }
    }
}
