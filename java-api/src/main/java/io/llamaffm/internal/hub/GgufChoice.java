package io.llamaffm.internal.hub;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which .gguf files of a repository make the model a reference asks for, following llama.cpp's {@code -hf}
 * (common/download.cpp of the pinned source): a quantization tag matches a file whose path holds the tag followed by
 * {@code .} or {@code -}, case-insensitively ({@code Q4_K_M} matches {@code Model-Q4_K_M.gguf} and
 * {@code Model.q4_k_m-00001-of-00003.gguf}, not {@code Model-Q4_K_M_L.gguf}); without a tag, Q4_K_M, then Q8_0, then
 * the first model file. Projector, importance-matrix and draft-model files ({@code mmproj}, {@code imatrix},
 * {@code mtp-}, {@code eagle3-}, {@code dflash-}, {@code dspark-}) are never chosen, nor a split part other than the
 * first. One difference: the tag must start after a character that is not a letter or a digit, so {@code Q4_0} does
 * not pick {@code IQ4_0}. Paths are compared in sorted order, so the hub and the cache choose alike.
 */
public final class GgufChoice {
    private static final Pattern SPLIT = Pattern.compile("(?i)(.+)-(\\d{5})-of-(\\d{5})\\.gguf");
    private static final List<String> DEFAULT_TAGS = List.of("Q4_K_M", "Q8_0");
    private static final List<String> NOT_MODELS = List.of("mmproj", "imatrix", "mtp-", "eagle3-", "dflash-", "dspark-");

    private GgufChoice() {}

    /**
     * A part of a split model, from its name.
     *
     * @param prefix the path before {@code -0000N-of-0000M.gguf}
     * @param index  the part's number, from 1
     * @param count  how many parts
     */
    public record SplitName(String prefix, int index, int count) {
        /** {@return the path of part {@code i} (from 1)} */
        String part(int i) {
            return String.format(Locale.ROOT, "%s-%05d-of-%05d.gguf", prefix, i, count);
        }
    }

    /** {@return the split-part naming of {@code path}, if it has one with a count of 2 or more} */
    public static Optional<SplitName> split(String path) {
        Matcher m = SPLIT.matcher(path);
        if (!m.matches()) {
            return Optional.empty();
        }
        int index = Integer.parseInt(m.group(2));
        int count = Integer.parseInt(m.group(3));
        return count >= 2 && index >= 1 && index <= count ? Optional.of(new SplitName(m.group(1), index, count)) : Optional.empty();
    }

    /** {@return whether {@code path} is a .gguf model file (not a projector, an imatrix or a draft model)} */
    public static boolean isModel(String path) {
        if (!path.toLowerCase(Locale.ROOT).endsWith(".gguf")) {
            return false;
        }
        String name = path.substring(path.lastIndexOf('/') + 1);
        return NOT_MODELS.stream().noneMatch(name::contains);
    }

    /** {@return the .gguf paths among {@code paths}, sorted} */
    public static List<String> ggufFiles(List<String> paths) {
        return paths.stream().filter(p -> p.toLowerCase(Locale.ROOT).endsWith(".gguf")).sorted().toList();
    }

    /**
     * Chooses the model file for a quantization tag.
     *
     * @param paths        the repository's file paths
     * @param quantization the tag, or empty for llama.cpp's default (Q4_K_M, Q8_0, else the first model)
     * @return the chosen file (the first part, for a split model), or empty when none fits
     */
    public static Optional<String> choose(List<String> paths, Optional<String> quantization) {
        List<String> models = paths.stream().filter(GgufChoice::isModel)
                .filter(p -> split(p).map(s -> s.index() == 1).orElse(true)).sorted().toList();
        for (String tag : quantization.map(List::of).orElse(DEFAULT_TAGS)) {
            Pattern pattern = Pattern.compile("(?<![A-Za-z0-9])" + Pattern.quote(tag) + "[.-]",
                    Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
            Optional<String> hit = models.stream().filter(p -> pattern.matcher(p).find()).findFirst();
            if (hit.isPresent()) {
                return hit;
            }
        }
        return quantization.isPresent() ? Optional.empty() : models.stream().findFirst();
    }

    /**
     * The files of the model whose first file is {@code first}, derived from its name ({@code -00001-of-00003.gguf}:
     * three parts); a file that is not a split part is alone.
     *
     * @param first the model's file, or any part of a split model
     * @return its files in order
     */
    public static List<String> parts(String first) {
        return split(first).map(s -> {
            List<String> out = new ArrayList<>(s.count());
            for (int i = 1; i <= s.count(); i++) {
                out.add(s.part(i));
            }
            return List.copyOf(out);
        }).orElse(List.of(first));
    }
}
