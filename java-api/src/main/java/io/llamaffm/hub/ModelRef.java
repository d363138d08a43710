package io.llamaffm.hub;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model named by where it comes from rather than by a local file: a Hugging Face hub repository, or a URL.
 *
 * <pre>
 * hf:owner/repo:Q4_K_M             the repository's .gguf file for that quantization (case-insensitive)
 * hf:owner/repo                    its Q4_K_M file, else its Q8_0 file, else its first model file (as llama.cpp's -hf)
 * hf:owner/repo/file.gguf          that file
 * hf:owner/repo/sub/dir/file.gguf  a file in a folder of the repository
 * hf:owner/repo:Q4_K_M@v1.0        any of the above at a branch, tag or commit (default main)
 * https://host/path/model.gguf     a plain URL
 * </pre>
 *
 * A file named {@code NAME-00001-of-0000N.gguf} is the first part of a split model: its other parts come with it.
 * {@link ModelDownloader} turns a reference into local files.
 */
public sealed interface ModelRef permits ModelRef.Hub, ModelRef.Url {
    /** What a Hugging Face reference starts with. */
    String HUB_PREFIX = "hf:";

    /** The revision a hub reference without {@code @revision} means. */
    String DEFAULT_REVISION = "main";

    /**
     * Whether {@code text} is a reference ({@code hf:...}, {@code http://...}, {@code https://...}) rather than a local path.
     *
     * @param text a reference or a path
     * @return true for a reference
     */
    static boolean isReference(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        return t.startsWith(HUB_PREFIX) || t.startsWith("https://") || t.startsWith("http://");
    }

    /**
     * Parses a reference.
     *
     * @param text {@code hf:owner/repo[:QUANT][@REVISION]}, {@code hf:owner/repo/path/file.gguf[@REVISION]}, or an
     *             http or https URL
     * @return the reference
     * @throws IllegalArgumentException naming what is wrong and the accepted forms
     */
    static ModelRef parse(String text) {
        String t = text.strip();
        String lower = t.toLowerCase(Locale.ROOT);
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            try {
                return new Url(new URI(t));
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("'" + text + "' is not a valid URL: " + e.getMessage(), e);
            }
        }
        if (!lower.startsWith(HUB_PREFIX)) {
            throw new IllegalArgumentException("'" + text + "' is not a model reference: expected " + Hub.FORMS + " or an https URL");
        }
        String body = t.substring(HUB_PREFIX.length());
        String revision = DEFAULT_REVISION;
        int at = body.indexOf('@');
        if (at >= 0) {
            revision = body.substring(at + 1);
            body = body.substring(0, at);
            if (revision.contains(":")) {
                throw new IllegalArgumentException("'" + text + "': the quantization goes before the revision ("
                        + "hf:owner/repo:Q4_K_M@" + revision.substring(0, revision.indexOf(':')) + ")");
            }
        }
        String quantization = null;
        int colon = body.indexOf(':');
        if (colon >= 0) {
            quantization = body.substring(colon + 1);
            body = body.substring(0, colon);
        }
        String[] segments = body.split("/", 3);
        if (segments.length < 2) {
            throw new IllegalArgumentException("'" + text + "' names no repository: expected " + Hub.FORMS);
        }
        String file = segments.length == 3 ? segments[2] : null;
        if (file != null && quantization != null) {
            throw new IllegalArgumentException("'" + text + "' names both a file and a quantization: give one ("
                    + Hub.FORMS + ")");
        }
        return new Hub(segments[0] + "/" + segments[1], revision, Optional.ofNullable(file), Optional.ofNullable(quantization));
    }

    /**
     * A file, or a quantization, in a Hugging Face hub repository.
     *
     * @param repo         {@code owner/name}
     * @param revision     a branch, tag or commit ({@value ModelRef#DEFAULT_REVISION} by default)
     * @param file         the file's path in the repository (a {@code .gguf} file, possibly in folders); empty when the
     *                     file is chosen by quantization
     * @param quantization the quantization whose file to take ({@code Q4_K_M}, case-insensitive); empty with a file,
     *                     and empty without one for llama.cpp's default choice (Q4_K_M, else Q8_0, else the first model)
     */
    record Hub(String repo, String revision, Optional<String> file, Optional<String> quantization) implements ModelRef {
        static final String FORMS = "hf:owner/repo[:QUANT][@REVISION] or hf:owner/repo/path/file.gguf[@REVISION]";
        private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,95}");
        private static final Pattern QUANT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}");
        private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9_.][A-Za-z0-9._/-]{0,254}");
        private static final Pattern FILE_SEGMENT = Pattern.compile("[^\\\\:*?\"<>|\\p{Cntrl}]{1,255}");

        /** Checks every part: names the hub accepts, a revision and file path that cannot leave the cache folder. */
        public Hub {
            String[] ownerName = repo.split("/", -1);
            if (ownerName.length != 2 || !isName(ownerName[0]) || !isName(ownerName[1])) {
                throw new IllegalArgumentException("'" + repo + "' is not a repository name owner/name (letters, digits, "
                        + "'.', '_', '-'; at most 96 each)");
            }
            if (!REVISION.matcher(revision).matches() || revision.contains("..") || revision.contains("//")
                    || revision.endsWith("/")) {
                throw new IllegalArgumentException("'" + revision + "' is not a revision (a branch, tag or commit of letters, "
                        + "digits, '.', '_', '-', '/')");
            }
            file.ifPresent(Hub::checkFile);
            quantization.ifPresent(q -> {
                if (!QUANT.matcher(q).matches()) {
                    throw new IllegalArgumentException("'" + q + "' is not a quantization tag such as Q4_K_M");
                }
            });
            if (file.isPresent() && quantization.isPresent()) {
                throw new IllegalArgumentException("give a file or a quantization, not both");
            }
        }

        private static boolean isName(String s) {
            return NAME.matcher(s).matches() && !s.contains("..");
        }

        private static void checkFile(String path) {
            if (!path.toLowerCase(Locale.ROOT).endsWith(".gguf")) {
                throw new IllegalArgumentException("'" + path + "' is not a .gguf file (to choose by quantization write "
                        + "hf:owner/repo:Q4_K_M)");
            }
            for (String segment : path.split("/", -1)) {
                if (!FILE_SEGMENT.matcher(segment).matches() || segment.equals(".") || segment.equals("..")) {
                    throw new IllegalArgumentException("'" + path + "' is not a file path in a repository (folders "
                            + "separated by '/', no empty, '.' or '..' parts, none of \\ : * ? \" < > |)");
                }
            }
        }

        /** {@return the repository's owner (user or organization)} */
        public String owner() {
            return repo.substring(0, repo.indexOf('/'));
        }

        /** {@return the repository's name without its owner} */
        public String name() {
            return repo.substring(repo.indexOf('/') + 1);
        }

        /** {@return the reference as text, as {@link ModelRef#parse} reads it} */
        @Override
        public String toString() {
            return HUB_PREFIX + repo + file.map(f -> "/" + f).orElse("") + quantization.map(q -> ":" + q).orElse("")
                    + (revision.equals(DEFAULT_REVISION) ? "" : "@" + revision);
        }
    }

    /**
     * A file at an http or https URL. The hub's token goes with it only when the URL is on the hub's own address.
     *
     * @param uri the absolute URL, with a host and without user information
     */
    record Url(URI uri) implements ModelRef {
        /** Checks the URL: absolute, http or https, a host, no user information, a file name at the end of the path. */
        public Url {
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new IllegalArgumentException("'" + uri + "' is not an http or https URL");
            }
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                throw new IllegalArgumentException("'" + uri + "' names no host");
            }
            if (uri.getRawUserInfo() != null) {
                throw new IllegalArgumentException("'" + uri.getHost() + "...': user information in a URL is not sent; "
                        + "for the hub set HF_TOKEN instead");
            }
            String path = uri.getPath() == null ? "" : uri.getPath();
            if (path.isEmpty() || path.endsWith("/")) {
                throw new IllegalArgumentException("'" + uri + "' names no file (its path must end with a file name)");
            }
        }

        /** {@return the last segment of the URL's path, decoded: the name the file is cached under (made safe)} */
        public String fileName() {
            String path = uri.getPath();
            return path.substring(path.lastIndexOf('/') + 1);
        }

        /** {@return the URL} */
        @Override
        public String toString() {
            return uri.toString();
        }
    }
}
