package io.llamaffm.fuzz;

import io.llamaffm.gguf.GgmlType;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.fuzz.GgufEdit.Tensor;
import io.llamaffm.gguf.GgufValue;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded, structure-aware mutations of one well-formed GGUF file. The same seed file and the same random generator
 * state give the same mutant. Two families:
 *
 * <ul>
 *   <li>byte level, on the file as it is: truncation, bit flips, one count/length/type/dimension/offset field set to
 *       an edge value, key-value pairs and tensor infos deleted, duplicated or swapped (with or without fixing the
 *       count), string contents replaced or resized, bytes inserted or deleted in the header, tensor data overwritten
 *       with NaN or infinities;</li>
 *   <li>semantic, rebuilt with {@link GgufWriter} so that the file stays well-formed and reaches llama.cpp: a metadata
 *       value set to an edge value or another type, keys removed or added (llama.cpp's own key names), another
 *       architecture, tokenizer arrays shortened, lengthened or retyped, tensors reshaped, retyped, renamed, dropped or
 *       added, data replaced by garbage.</li>
 * </ul>
 * A mutant may apply one of each (semantic first). Each carries a one-line description of what was done.
 */
final class GgufMutator {
    /** A mutated file and what was done to it. */
    record Mutant(byte[] bytes, String description) {}

    /** Architectures llama.cpp knows (a sample across families) and some it does not. */
    static final List<String> ARCHITECTURES = List.of("llama", "llama4", "gpt2", "gptneox", "bert", "nomic-bert", "t5",
            "t5encoder", "mamba", "mamba2", "rwkv6", "rwkv7", "qwen2", "qwen2moe", "qwen3moe", "qwen3next", "phi3",
            "gemma", "gemma2", "gemma3", "gemma3n", "deepseek2", "falcon", "falcon-h1", "jamba", "granitehybrid",
            "lfm2", "bitnet", "chatglm", "plamo2", "wavtokenizer-dec", "gpt-oss", "clip", "unknown-arch", "", "LLAMA",
            "llama\u0000", "llama ");
    /** Keys llama.cpp reads for an architecture (after {@code ARCH.}), to add with odd values. */
    static final List<String> ARCH_KEYS = List.of("context_length", "embedding_length", "feed_forward_length",
            "block_count", "attention.head_count", "attention.head_count_kv", "rope.dimension_count",
            "attention.layer_norm_rms_epsilon", "expert_count", "expert_used_count", "expert_shared_count",
            "expert_gating_func", "expert_weights_norm", "expert_weights_scale", "leading_dense_block_count",
            "attention.key_length", "attention.value_length", "attention.sliding_window", "attention.sliding_window_pattern",
            "attention.causal", "attention.clamp_kqv", "attention.layer_norm_epsilon", "rope.freq_base", "rope.scale_linear",
            "rope.scaling.type", "rope.scaling.factor", "rope.scaling.original_context_length", "rope.dimension_sections",
            "rope.scaling.yarn_log_multiplier", "pooling_type", "vocab_size", "embedding_length_out", "attn_logit_softcapping",
            "final_logit_softcapping", "logit_scale", "residual_scale", "embedding_scale", "ssm.conv_kernel",
            "ssm.inner_size", "ssm.state_size", "ssm.time_step_rank", "ssm.group_count", "wkv.head_size",
            "full_attention_interval", "nextn_predict_layers", "attention.shared_kv_layers", "swin_norm",
            "use_parallel_residual", "decoder_start_token_id", "classifier.output_labels");
    /** Tokenizer keys llama.cpp reads. */
    static final List<String> TOKENIZER_KEYS = List.of("tokenizer.ggml.model", "tokenizer.ggml.pre",
            "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
            "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
            "tokenizer.ggml.padding_token_id", "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.cls_token_id",
            "tokenizer.ggml.mask_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id",
            "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
            "tokenizer.ggml.add_space_prefix", "tokenizer.ggml.remove_extra_whitespaces",
            "tokenizer.ggml.precompiled_charsmap", "tokenizer.ggml.suppress_tokens", "tokenizer.ggml.token_type_count",
            "tokenizer.chat_template", "tokenizer.ggml.normalizer.lowercase", "general.alignment", "general.file_type",
            "general.type", "adapter.type", "adapter.lora.alpha", "split.count", "split.no", "split.tensors.count");
    static final List<String> TOKENIZER_MODELS = List.of("llama", "gpt2", "bert", "t5", "rwkv", "ugm", "plamo2",
            "none", "no_vocab", "bpe", "spm", "", "junk");
    static final List<String> PRE_TOKENIZERS = List.of("default", "llama3", "deepseek-llm", "gpt-2", "qwen2",
            "tekken", "chameleon", "superbpe", "kimi-k2", "unknown-pre", "");
    private static final List<GgmlType> TYPES = List.of(GgmlType.values());
    private static final long MAX_TENSOR_BYTES = 8L << 20;

    private final String name;
    private final byte[] seed;
    private final GgufLayout layout;
    private final GgufFile parsed;
    private final String architecture;
    private final long alignment;
    private final long dataOffset;
    /** {@link #ARCH_KEYS} and the seed's own architecture keys that list lacks ({@code deepseek2.attention.kv_lora_rank},
     * {@code expert_group_count}, the YaRN keys...): the keys {@link #addKey} adds with odd values. */
    private final List<String> archKeys;

    /** @param seed a well-formed GGUF file (kept, not copied) */
    GgufMutator(String name, byte[] seed) {
        this.name = name;
        this.seed = seed;
        this.layout = GgufLayout.of(seed);
        this.parsed = GgufFile.read(MemorySegment.ofArray(seed));
        this.architecture = parsed.findString("general.architecture").orElse("llama");
        this.alignment = parsed.alignment();
        this.dataOffset = parsed.dataOffset();
        List<String> keys = new ArrayList<>(ARCH_KEYS);
        parsed.metadata().keySet().stream().filter(k -> k.startsWith(architecture + "."))
                .map(k -> k.substring(architecture.length() + 1)).filter(k -> !keys.contains(k)).forEach(keys::add);
        this.archKeys = List.copyOf(keys);
    }

    String name() {
        return name;
    }

    /** One mutant of the seed file. */
    Mutant mutate(SplittableRandom r) {
        int plan = r.nextInt(100);
        if (plan < 55) {
            return semantic(r);
        }
        if (plan < 85) {
            return bytes(seed, layout, dataOffset, r);
        }
        Mutant first = semantic(r);
        GgufLayout l;
        long data;
        try (GgufFile f = GgufFile.read(MemorySegment.ofArray(first.bytes()))) {
            l = GgufLayout.of(first.bytes());
            data = f.dataOffset();
        } catch (RuntimeException refusedByOurReader) {
            return first; // already malformed: a second mutation would only hide the first
        }
        Mutant second = bytes(first.bytes(), l, data, r);
        return new Mutant(second.bytes(), first.description() + "; then " + second.description());
    }

    // ---- byte level ----------------------------------------------------------------------------------------------

    private Mutant bytes(byte[] src, GgufLayout l, long data, SplittableRandom r) {
        return switch (r.nextInt(12)) {
            case 0 -> truncate(src, l, r);
            case 1 -> flipBits(src, l, r);
            case 2, 3, 4 -> setField(src, l, r);
            case 5 -> setTypeField(src, l, r);
            case 6 -> spliceKeyValue(src, l, data, r);
            case 7 -> spliceTensorInfo(src, l, data, r);
            case 8 -> replaceString(src, l, r);
            case 9 -> resizeString(src, l, data, r);
            case 10 -> insertOrDelete(src, l, r);
            default -> garbageData(src, data, r);
        };
    }

    private static Mutant truncate(byte[] src, GgufLayout l, SplittableRandom r) {
        int n = r.nextBoolean() ? r.nextInt(Math.min(src.length, l.headerEnd() + 64)) : r.nextInt(src.length);
        return new Mutant(Arrays.copyOf(src, n), "truncated to " + n + " of " + src.length + " bytes");
    }

    private static Mutant flipBits(byte[] src, GgufLayout l, SplittableRandom r) {
        byte[] b = src.clone();
        int k = 1 + r.nextInt(8);
        StringBuilder at = new StringBuilder();
        for (int i = 0; i < k; i++) {
            int p = r.nextInt(10) < 7 ? r.nextInt(l.headerEnd()) : r.nextInt(b.length);
            int bit = r.nextInt(8);
            b[p] ^= (byte) (1 << bit);
            at.append(i == 0 ? "" : ",").append(p).append('.').append(bit);
        }
        return new Mutant(b, "flipped " + k + " bit(s) at " + at);
    }

    private static Mutant setField(byte[] src, GgufLayout l, SplittableRandom r) {
        GgufLayout.Kind kind = pick(r, Arrays.stream(GgufLayout.Kind.values())
                .filter(k -> l.fields().stream().anyMatch(f -> f.kind() == k)).toList());
        GgufLayout.Field f = pick(r, l.fields().stream().filter(x -> x.kind() == kind).toList());
        byte[] b = src.clone();
        long old = read(b, f.offset(), f.width());
        long v = edgeValue(r, old, f.width(), src.length);
        write(b, f.offset(), f.width(), v);
        return new Mutant(b, f.kind() + " of " + f.label() + " at byte " + f.offset() + ": " + old + " -> " + v);
    }

    private static Mutant setTypeField(byte[] src, GgufLayout l, SplittableRandom r) {
        List<GgufLayout.Field> types = l.fields().stream().filter(f -> f.kind() == GgufLayout.Kind.VALUE_TYPE
                || f.kind() == GgufLayout.Kind.ARRAY_TYPE || f.kind() == GgufLayout.Kind.TENSOR_TYPE).toList();
        GgufLayout.Field f = pick(r, types);
        int bound = f.kind() == GgufLayout.Kind.TENSOR_TYPE ? 45 : 14;
        long v = r.nextInt(10) < 8 ? r.nextInt(bound) : r.nextInt();
        byte[] b = src.clone();
        long old = read(b, f.offset(), 4);
        write(b, f.offset(), 4, v);
        return new Mutant(b, f.kind() + " of " + f.label() + ": " + old + " -> " + (v & 0xFFFF_FFFFL));
    }

    private Mutant spliceKeyValue(byte[] src, GgufLayout l, long data, SplittableRandom r) {
        return splice(src, l, data, r, l.keyValues(), 16, "key-value pair");
    }

    private Mutant spliceTensorInfo(byte[] src, GgufLayout l, long data, SplittableRandom r) {
        if (l.tensorInfos().isEmpty()) {
            return spliceKeyValue(src, l, data, r);
        }
        return splice(src, l, data, r, l.tensorInfos(), 8, "tensor info");
    }

    /** Deletes, duplicates or swaps entries of the header (fixing the count at {@code countAt} or not). */
    private Mutant splice(byte[] src, GgufLayout l, long data, SplittableRandom r, List<GgufLayout.Span> spans,
                          int countAt, String what) {
        byte[] header = Arrays.copyOf(src, l.headerEnd());
        GgufLayout.Span a = pick(r, spans);
        boolean fixCount = r.nextInt(10) < 7;
        long count = read(header, countAt, 8);
        String desc;
        int op = r.nextInt(3);
        if (op == 0) {
            header = concat(slice(header, 0, a.start()), slice(header, a.end(), header.length));
            count--;
            desc = "deleted " + what + " '" + a.label() + "'";
        } else if (op == 1) {
            header = concat(slice(header, 0, a.end()), slice(header, a.start(), a.end()), slice(header, a.end(), header.length));
            count++;
            desc = "duplicated " + what + " '" + a.label() + "'";
        } else {
            GgufLayout.Span b = pick(r, spans);
            GgufLayout.Span first = a.start() <= b.start() ? a : b;
            GgufLayout.Span second = first == a ? b : a;
            if (first == second) {
                return new Mutant(src.clone(), "swapped " + what + " '" + a.label() + "' with itself (unchanged)");
            }
            header = concat(slice(header, 0, first.start()), slice(header, second.start(), second.end()),
                    slice(header, first.end(), second.start()), slice(header, first.start(), first.end()),
                    slice(header, second.end(), header.length));
            fixCount = false;
            desc = "swapped " + what + "s '" + first.label() + "' and '" + second.label() + "'";
        }
        if (fixCount) {
            write(header, countAt, 8, count);
        }
        return new Mutant(reassemble(header, src, data), desc + (op < 2 ? (fixCount ? ", count fixed" : ", count kept") : ""));
    }

    private static Mutant replaceString(byte[] src, GgufLayout l, SplittableRandom r) {
        GgufLayout.Text t = pickText(l, r);
        byte[] b = src.clone();
        if (t.length() == 0) {
            return new Mutant(b, "empty string of " + t.label() + " left as it is");
        }
        String how;
        switch (r.nextInt(4)) {
            case 0 -> {
                for (int i = 0; i < t.length(); i++) b[t.start() + i] = (byte) r.nextInt(256);
                how = "random bytes";
            }
            case 1 -> {
                b[t.start() + r.nextInt(t.length())] = (byte) 0xFF;
                how = "an invalid UTF-8 byte";
            }
            case 2 -> {
                b[t.start() + r.nextInt(t.length())] = 0;
                how = "a NUL";
            }
            default -> {
                GgufLayout.Text other = pick(r, l.strings());
                int n = Math.min(other.length(), t.length());
                System.arraycopy(src, other.start(), b, t.start(), n);
                how = "the start of " + other.label();
            }
        }
        return new Mutant(b, t.kind() + " content of " + t.label() + " replaced by " + how);
    }

    private Mutant resizeString(byte[] src, GgufLayout l, long data, SplittableRandom r) {
        GgufLayout.Text t = pickText(l, r);
        String original = new String(src, t.start(), t.length(), StandardCharsets.UTF_8);
        byte[] content;
        String what;
        switch (r.nextInt(6)) {
            case 0 -> what = pick(r, ARCHITECTURES);
            case 1 -> what = "";
            case 2 -> what = randomAscii(r, 1 + r.nextInt(80));
            case 3 -> what = "x".repeat(60 + r.nextInt(10)); // around ggml's 64-byte tensor name limit
            case 4 -> what = original + randomAscii(r, 1 + r.nextInt(8));
            default -> { // a copy of another string: duplicate keys and tensor names
                GgufLayout.Text other = pick(r, l.strings());
                what = new String(src, other.start(), other.length(), StandardCharsets.UTF_8);
            }
        }
        content = what.getBytes(StandardCharsets.UTF_8);
        byte[] header = concat(slice(src, 0, t.start()), content, slice(src, t.start() + t.length(), l.headerEnd()));
        write(header, t.lengthAt(), 8, content.length);
        return new Mutant(reassemble(header, src, data), t.kind() + " " + t.label() + " set to '" + printable(what) + "'");
    }

    private static Mutant insertOrDelete(byte[] src, GgufLayout l, SplittableRandom r) {
        int p = 8 + r.nextInt(l.headerEnd() - 8);
        int n = 1 + r.nextInt(16);
        if (r.nextBoolean()) {
            byte[] junk = new byte[n];
            r.nextBytes(junk);
            return new Mutant(concat(slice(src, 0, p), junk, slice(src, p, src.length)), "inserted " + n + " bytes at " + p);
        }
        int end = Math.min(src.length, p + n);
        return new Mutant(concat(slice(src, 0, p), slice(src, end, src.length)), "deleted bytes " + p + ".." + end);
    }

    private static Mutant garbageData(byte[] src, long data, SplittableRandom r) {
        byte[] b = src.clone();
        if (data >= b.length - 4) {
            return flipBits(src, GgufLayout.of(src), r);
        }
        int start = (int) (data + r.nextInt((int) (b.length - data - 4)));
        start -= (int) ((start - data) % 4);
        int n = Math.min((b.length - start) / 4, 1 + r.nextInt(4096));
        int bits = pick(r, List.of(0x7FC00000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFFFFFFFF, 0x00000001));
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            bb.putInt(start + 4 * i, bits);
        }
        return new Mutant(b, n + " floats of tensor data from byte " + start + " set to 0x" + Integer.toHexString(bits));
    }

    private static GgufLayout.Text pickText(GgufLayout l, SplittableRandom r) {
        // keys, tensor names and values equally often (values are mostly token strings)
        GgufLayout.Kind kind = pick(r, List.of(GgufLayout.Kind.KEY_LENGTH, GgufLayout.Kind.STRING_LENGTH, GgufLayout.Kind.NAME_LENGTH));
        List<GgufLayout.Text> of = l.strings().stream().filter(t -> t.kind() == kind).toList();
        return pick(r, of.isEmpty() ? l.strings() : of);
    }

    /** The new header, padded to the alignment, then the seed's tensor data unchanged. */
    private byte[] reassemble(byte[] header, byte[] src, long data) {
        int padded = (int) ((header.length + alignment - 1) / alignment * alignment);
        return concat(Arrays.copyOf(header, padded), slice(src, (int) Math.min(data, src.length), src.length));
    }

    // ---- semantic: rebuilt with the writer -------------------------------------------------------------------------

    private Mutant semantic(SplittableRandom r) {
        for (int attempt = 0; ; attempt++) {
            GgufEdit edit = GgufEdit.of(parsed);
            LinkedHashMap<String, GgufValue> meta = edit.metadata;
            List<Tensor> tensors = edit.tensors;
            String desc;
            try {
                desc = switch (r.nextInt(tensors.isEmpty() ? 6 : 10)) {
                    case 0, 1 -> setValue(meta, r);
                    case 2 -> removeKey(meta, r);
                    case 3 -> addKey(meta, r);
                    case 4 -> otherArchitecture(meta, r);
                    case 5 -> editArray(meta, r);
                    case 6 -> reshapeTensor(tensors, r);
                    case 7 -> retypeTensor(tensors, r);
                    case 8 -> renameDropOrAddTensor(tensors, r);
                    default -> garbageTensor(tensors, r);
                };
                return new Mutant(edit.bytes(), desc);
            } catch (IllegalArgumentException | UnsupportedOperationException cannotExpress) {
                if (attempt >= 20) {
                    return flipBits(seed, layout, r); // a file with nothing the semantic edits can change
                }
            }
        }
    }

    /** A key to edit: mostly the architecture's and the tokenizer's. */
    private String someKey(Map<String, GgufValue> meta, SplittableRandom r) {
        List<String> keys = new ArrayList<>(meta.keySet());
        if (keys.isEmpty()) {
            throw new UnsupportedOperationException("no metadata");
        }
        List<String> important = keys.stream().filter(k -> k.startsWith(architecture + ".") || k.startsWith("tokenizer.")
                || k.startsWith("general.") || k.startsWith("adapter.")).toList();
        return pick(r, important.isEmpty() || r.nextInt(4) == 0 ? keys : important);
    }

    private String setValue(Map<String, GgufValue> meta, SplittableRandom r) {
        String key = someKey(meta, r);
        GgufValue old = meta.get(key);
        GgufValue v = r.nextInt(3) > 0 ? edgeLike(old, r) : randomValue(r);
        meta.put(key, v);
        return "'" + key + "' " + describe(old) + " -> " + describe(v);
    }

    private String removeKey(Map<String, GgufValue> meta, SplittableRandom r) {
        String key = someKey(meta, r);
        meta.remove(key);
        return "removed '" + key + "'";
    }

    private String addKey(Map<String, GgufValue> meta, SplittableRandom r) {
        String key = r.nextBoolean() ? architecture + "." + pick(r, archKeys) : pick(r, TOKENIZER_KEYS);
        GgufValue v = switch (r.nextInt(4)) {
            case 0 -> randomValue(r);
            case 1 -> new GgufValue.UInt32(edgeValue(r, 1, 4, 1 << 20) & 0xFFFF_FFFFL);
            case 2 -> intArray(r, r.nextInt(12), 4);
            default -> edgeLike(meta.getOrDefault(key, new GgufValue.UInt32(4)), r);
        };
        if (key.equals("general.alignment")) {
            v = new GgufValue.UInt32(1L << r.nextInt(12)); // the writer (and the format) insist on a power of two
        }
        meta.put(key, v);
        return "'" + key + "' := " + describe(v);
    }

    private String otherArchitecture(Map<String, GgufValue> meta, SplittableRandom r) {
        String arch = pick(r, ARCHITECTURES);
        meta.put("general.architecture", new GgufValue.Str(arch));
        boolean rename = r.nextBoolean();
        if (rename) {
            for (String k : new ArrayList<>(meta.keySet())) {
                if (k.startsWith(architecture + ".")) {
                    GgufValue v = meta.remove(k);
                    String renamed = arch + k.substring(architecture.length());
                    if (!renamed.startsWith(".")) {
                        meta.put(renamed, v);
                    }
                }
            }
        }
        return "architecture '" + printable(arch) + "'" + (rename ? " with the keys renamed" : "");
    }

    private String editArray(Map<String, GgufValue> meta, SplittableRandom r) {
        List<String> arrays = meta.entrySet().stream().filter(e -> e.getValue() instanceof GgufValue.Array)
                .map(Map.Entry::getKey).toList();
        if (arrays.isEmpty()) {
            throw new UnsupportedOperationException("no arrays");
        }
        String key = pick(r, arrays);
        GgufValue.Array a = (GgufValue.Array) meta.get(key);
        List<GgufValue> elements = new ArrayList<>(a.elements());
        int n = elements.size();
        String desc;
        switch (r.nextInt(5)) {
            case 0 -> {
                int keep = pick(r, List.of(0, 1, n / 2, Math.max(0, n - 1), r.nextInt(n + 1)));
                elements = new ArrayList<>(elements.subList(0, keep));
                desc = "cut to " + keep + " of " + n;
            }
            case 1 -> {
                int more = 1 + r.nextInt(64);
                for (int i = 0; i < more; i++) {
                    elements.add(n > 0 && r.nextBoolean() ? elements.get(r.nextInt(n)) : randomOfType(a.elementType(), r));
                }
                desc = "extended by " + more;
            }
            case 2 -> {
                GgufValue.Type t = pick(r, List.of(GgufValue.Type.values()).stream().filter(x -> x != GgufValue.Type.ARRAY).toList());
                List<GgufValue> retyped = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    retyped.add(randomOfType(t, r));
                }
                elements = retyped;
                desc = "retyped from " + a.elementType() + " to " + t;
            }
            case 3 -> {
                int k = 1 + r.nextInt(Math.max(1, Math.min(n, 16)));
                for (int i = 0; i < k && n > 0; i++) {
                    int at = r.nextInt(n);
                    elements.set(at, edgeLike(elements.get(at), r));
                }
                desc = k + " element(s) set to edge values";
            }
            default -> {
                elements = new ArrayList<>(List.of(randomOfType(a.elementType(), r)));
                meta.put(key + (r.nextBoolean() ? "" : ".extra"), new GgufValue.Array(a.elementType(), elements));
                return "array '" + key + "' replaced by a single element";
            }
        }
        GgufValue.Type type = elements.isEmpty() ? a.elementType() : elements.getFirst().type();
        meta.put(key, new GgufValue.Array(type, elements));
        return "array '" + key + "' " + desc;
    }

    private String reshapeTensor(List<Tensor> tensors, SplittableRandom r) {
        int i = r.nextInt(tensors.size());
        Tensor t = tensors.get(i);
        long[] d = t.dims();
        long[] nd = switch (r.nextInt(6)) {
            case 0 -> d.length > 1 ? swapped(d, r) : new long[] {d[0], 1};
            case 1 -> Arrays.copyOf(d, Math.min(4, d.length + 1)); // an extra dimension (0 fixed below)
            case 2 -> d.length > 1 ? new long[] {d[0] * d[1]} : new long[] {d[0] / 2 + 1, 2};
            case 3 -> scaled(d, r, 2, 1);
            case 4 -> scaled(d, r, 1, 2);
            default -> { long[] x = d.clone(); x[r.nextInt(x.length)] += r.nextBoolean() ? 1 : -1; yield x; }
        };
        for (int k = 0; k < nd.length; k++) {
            if (nd[k] <= 0) nd[k] = 1;
        }
        Tensor n = withData(t.name(), t.type(), nd, r);
        tensors.set(i, n);
        return "tensor '" + t.name() + "' " + Arrays.toString(d) + " -> " + Arrays.toString(nd);
    }

    private String retypeTensor(List<Tensor> tensors, SplittableRandom r) {
        int i = r.nextInt(tensors.size());
        Tensor t = tensors.get(i);
        GgmlType type = pick(r, TYPES);
        tensors.set(i, withData(t.name(), type, t.dims(), r));
        return "tensor '" + t.name() + "' " + t.type() + " -> " + type + " (random data)";
    }

    private String renameDropOrAddTensor(List<Tensor> tensors, SplittableRandom r) {
        int i = r.nextInt(tensors.size());
        Tensor t = tensors.get(i);
        switch (r.nextInt(3)) {
            case 0 -> {
                tensors.remove(i);
                return "dropped tensor '" + t.name() + "'";
            }
            case 1 -> {
                String name = pick(r, List.of("blk.99.attn_q.weight", "blk.-1.attn_q.weight", "output.weight",
                        "token_embd.weight", "rope_freqs.weight", t.name() + ".bias", "blk.0.ffn_gate_exps.weight",
                        randomAscii(r, 1 + r.nextInt(62))));
                if (tensors.stream().anyMatch(x -> x.name().equals(name))) {
                    tensors.remove(i); // the name is taken: the renamed tensor replaces the other one
                    tensors.replaceAll(x -> x.name().equals(name) ? new Tensor(name, t.type(), t.dims(), t.data()) : x);
                } else {
                    tensors.set(i, new Tensor(name, t.type(), t.dims(), t.data()));
                }
                return "renamed tensor '" + t.name() + "' to '" + printable(name) + "'";
            }
            default -> {
                String name = pick(r, List.of("rope_freqs.weight", "blk.0.attn_q.bias", "blk.0.attn_k.bias",
                        "output_norm.bias", "blk.0.ffn_gate_inp.weight", "blk.0.attn_q_norm.weight", "cls.weight",
                        "blk.5.attn_q.weight", "token_types.weight", "position_embd.weight"));
                if (tensors.stream().anyMatch(x -> x.name().equals(name))) {
                    throw new UnsupportedOperationException("present");
                }
                long[] dims = pick(r, List.of(new long[] {64}, new long[] {4}, new long[] {64, 64}, new long[] {64, 8},
                        new long[] {2048, 64}, new long[] {32, 2}, new long[] {1}));
                tensors.add(r.nextInt(tensors.size() + 1), withData(name, GgmlType.F32, dims, r));
                return "added tensor '" + name + "' " + Arrays.toString(dims);
            }
        }
    }

    private String garbageTensor(List<Tensor> tensors, SplittableRandom r) {
        int i = r.nextInt(tensors.size());
        Tensor t = tensors.get(i);
        tensors.set(i, withData(t.name(), t.type(), t.dims(), r));
        return "tensor '" + t.name() + "' filled with random bytes";
    }

    /** A tensor of this shape and type with random (or NaN, or zero) data; refused beyond a few MiB. */
    private static Tensor withData(String name, GgmlType type, long[] dims, SplittableRandom r) {
        long elements = 1;
        for (long d : dims) {
            elements = Math.multiplyExact(elements, d);
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("rows of " + dims[0] + " do not fit blocks of " + type.blockSize());
        }
        long bytes = type.byteSize(elements);
        if (bytes > MAX_TENSOR_BYTES) {
            throw new IllegalArgumentException("too large");
        }
        byte[] data = new byte[(int) bytes];
        switch (r.nextInt(3)) {
            case 0 -> r.nextBytes(data);
            case 1 -> {
                for (int i = 0; i + 3 < data.length; i += 4) { data[i + 2] = (byte) 0xC0; data[i + 3] = 0x7F; } // NaN
            }
            default -> { } // zeros
        }
        return new Tensor(name, type, dims, MemorySegment.ofArray(data));
    }

    private static long[] swapped(long[] d, SplittableRandom r) {
        long[] x = d.clone();
        int a = r.nextInt(x.length);
        int b = r.nextInt(x.length);
        long t = x[a];
        x[a] = x[b];
        x[b] = t;
        return x;
    }

    private static long[] scaled(long[] d, SplittableRandom r, int mul, int div) {
        long[] x = d.clone();
        int k = r.nextInt(x.length);
        x[k] = x[k] * mul / div;
        return x;
    }

    // ---- values ----------------------------------------------------------------------------------------------------

    /** An edge value for an integer field of {@code width} bytes that held {@code old}. */
    static long edgeValue(SplittableRandom r, long old, int width, long fileSize) {
        long max = width == 8 ? -1L : (1L << (8 * width)) - 1;
        long v = switch (r.nextInt(16)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> old + 1;
            case 3 -> old - 1;
            case 4 -> old * 2;
            case 5 -> old / 2;
            case 6 -> max;
            case 7 -> 1L << (8 * width - 1);
            case 8 -> Integer.MAX_VALUE;
            case 9 -> 1L << 31;
            case 10 -> 1L << 32;
            case 11 -> Long.MAX_VALUE;
            case 12 -> fileSize;
            case 13 -> r.nextInt(65);
            case 14 -> old + r.nextInt(-64, 65);
            default -> r.nextLong();
        };
        return width == 8 ? v : v & max;
    }

    /** An edge value of the same type as {@code old} (or a nearby type for arrays and strings). */
    private static GgufValue edgeLike(GgufValue old, SplittableRandom r) {
        return switch (old) {
            case GgufValue.UInt8 v -> new GgufValue.UInt8((int) (edgeValue(r, v.value(), 1, 0) & 0xFF));
            case GgufValue.Int8 v -> new GgufValue.Int8((byte) edgeValue(r, v.value(), 1, 0));
            case GgufValue.UInt16 v -> new GgufValue.UInt16((int) (edgeValue(r, v.value(), 2, 0) & 0xFFFF));
            case GgufValue.Int16 v -> new GgufValue.Int16((short) edgeValue(r, v.value(), 2, 0));
            case GgufValue.UInt32 v -> new GgufValue.UInt32(edgeValue(r, v.value(), 4, 0) & 0xFFFF_FFFFL);
            case GgufValue.Int32 v -> new GgufValue.Int32((int) edgeValue(r, v.value(), 4, 0));
            case GgufValue.UInt64 v -> new GgufValue.UInt64(edgeValue(r, v.value(), 8, 0));
            case GgufValue.Int64 v -> new GgufValue.Int64(edgeValue(r, v.value(), 8, 0));
            case GgufValue.Float32 v -> new GgufValue.Float32(edgeFloat(r, v.value()));
            case GgufValue.Float64 v -> new GgufValue.Float64(edgeFloat(r, (float) v.value()));
            case GgufValue.Bool v -> new GgufValue.Bool(!v.value());
            case GgufValue.Str v -> new GgufValue.Str(switch (r.nextInt(6)) {
                case 0 -> pick(r, ARCHITECTURES);
                case 1 -> pick(r, TOKENIZER_MODELS);
                case 2 -> pick(r, PRE_TOKENIZERS);
                case 3 -> "";
                case 4 -> randomAscii(r, 1 + r.nextInt(4096));
                default -> "{% for m in messages %}{{ m.content " + randomAscii(r, 8) + " }}{% endfor %}";
            });
            case GgufValue.Array a -> {
                List<GgufValue> e = new ArrayList<>(a.elements());
                if (!e.isEmpty()) {
                    int at = r.nextInt(e.size());
                    e.set(at, edgeLike(e.get(at), r));
                }
                yield new GgufValue.Array(a.elementType(), e);
            }
        };
    }

    private static float edgeFloat(SplittableRandom r, float old) {
        return pick(r, List.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, -1f, 1e30f,
                1e-30f, Float.MIN_VALUE, Float.MAX_VALUE, old * 1000, -old));
    }

    private static GgufValue randomValue(SplittableRandom r) {
        GgufValue.Type t = pick(r, List.of(GgufValue.Type.values()));
        return t == GgufValue.Type.ARRAY ? intArray(r, r.nextInt(600), 4) : randomOfType(t, r);
    }

    private static GgufValue randomOfType(GgufValue.Type t, SplittableRandom r) {
        return switch (t) {
            case UINT8 -> new GgufValue.UInt8(r.nextInt(256));
            case INT8 -> new GgufValue.Int8((byte) r.nextInt());
            case UINT16 -> new GgufValue.UInt16(r.nextInt(65536));
            case INT16 -> new GgufValue.Int16((short) r.nextInt());
            case UINT32 -> new GgufValue.UInt32(edgeValue(r, 512, 4, 0) & 0xFFFF_FFFFL);
            case INT32 -> new GgufValue.Int32((int) edgeValue(r, 512, 4, 0));
            case UINT64 -> new GgufValue.UInt64(edgeValue(r, 512, 8, 0));
            case INT64 -> new GgufValue.Int64(edgeValue(r, 512, 8, 0));
            case FLOAT32 -> new GgufValue.Float32(edgeFloat(r, 1f));
            case FLOAT64 -> new GgufValue.Float64(edgeFloat(r, 1f));
            case BOOL -> new GgufValue.Bool(r.nextBoolean());
            case STRING -> new GgufValue.Str(r.nextBoolean() ? randomAscii(r, r.nextInt(24)) : pick(r, ARCHITECTURES));
            case ARRAY -> intArray(r, r.nextInt(8), 4);
        };
    }

    private static GgufValue.Array intArray(SplittableRandom r, int n, int width) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = (int) edgeValue(r, 8, width, 0);
        }
        return GgufValue.Array.ofInt32(v);
    }

    private static String describe(GgufValue v) {
        String s = v instanceof GgufValue.Array a ? "ARRAY " + a.elementType() + "[" + a.size() + "]" : v.toString();
        return printable(s.length() > 80 ? s.substring(0, 80) + "..." : s);
    }

    // ---- bytes -------------------------------------------------------------------------------------------------------

    static String randomAscii(SplittableRandom r, int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append((char) (32 + r.nextInt(95)));
        }
        return sb.toString();
    }

    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().limit(100).forEach(c -> {
            if (c >= 32 && c < 127) sb.append((char) c);
            else sb.append(String.format("\\u%04x", c));
        });
        return sb.toString();
    }

    static <T> T pick(SplittableRandom r, List<T> from) {
        return from.get(r.nextInt(from.size()));
    }

    private static long read(byte[] b, int at, int width) {
        long v = 0;
        for (int i = width - 1; i >= 0; i--) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }

    private static void write(byte[] b, int at, int width, long v) {
        for (int i = 0; i < width; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    private static byte[] slice(byte[] b, int from, int to) {
        return Arrays.copyOfRange(b, from, to);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
