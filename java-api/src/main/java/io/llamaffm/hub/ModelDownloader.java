package io.llamaffm.hub;

import io.llamaffm.ModelHeader;
import io.llamaffm.internal.hub.Resolver;

import java.util.Objects;

/**
 * Resolves {@link ModelRef model references} to verified files in the download cache, fetching what is missing.
 *
 * <pre>{@code
 * ModelFiles files = ModelDownloader.create().resolve("hf:owner/repo:Q4_K_M",
 *         p -> { System.err.printf("%s %.0f%%%n", p.file(), 100 * p.fraction()); return true; });
 * try (Model model = files.load(ModelParams.defaults(), null)) { ... }
 * }</pre>
 *
 * <p>The cache ({@link DownloadParams#cacheDir()}, {@code ~/.cache/llama-ffm/models} by default) keeps each hub file
 * under its repository, commit and path, and records which commit each revision was at, so the same reference resolves
 * again with no network: in offline mode ({@code HF_HUB_OFFLINE=1}), when the hub cannot be reached, and at once for a
 * reference pinned to a commit. Online, a branch is asked where it points now (one HEAD per file) and only a new or
 * changed file is fetched.
 *
 * <p>Each file downloads under a lock file, so threads and processes sharing the cache fetch it once and all get the
 * verified file; into {@code FILE.part}, resumed with HTTP ranges after a cut or silent connection (retried
 * {@link DownloadParams#retries()} times, or by the next call); checked against the size and sha256 the hub announces
 * (its LFS ETag) before it takes the file's name in one atomic move. A corrupt download is removed; a cut one is kept
 * to resume. The token goes to the hub's own address only, never to the CDN it redirects downloads to.
 *
 * <p>Instances are immutable and may be shared; each {@link #resolve} call uses its own connections.
 */
public final class ModelDownloader {
    private final DownloadParams params;

    private ModelDownloader(DownloadParams params) {
        this.params = Objects.requireNonNull(params, "params");
    }

    /**
     * A downloader with {@link DownloadParams#defaults()} (read from {@link io.llamaffm.Configuration} now).
     *
     * @return the downloader
     */
    public static ModelDownloader create() {
        return new ModelDownloader(DownloadParams.defaults());
    }

    /**
     * A downloader with the given parameters.
     *
     * @param params the cache, hub address, token, offline mode and timeouts
     * @return the downloader
     */
    public static ModelDownloader create(DownloadParams params) {
        return new ModelDownloader(params);
    }

    /** {@return the parameters} */
    public DownloadParams params() {
        return params;
    }

    /**
     * Resolves a reference without progress reports; see {@link #resolve(ModelRef, DownloadListener)}.
     *
     * @param reference {@code hf:owner/repo:QUANT}, {@code hf:owner/repo/file.gguf}, ... or an https URL
     * @return the verified files
     * @throws IllegalArgumentException if the reference is malformed
     * @throws DownloadException        if it cannot be resolved
     */
    public ModelFiles resolve(String reference) {
        return resolve(ModelRef.parse(reference), null);
    }

    /**
     * Resolves a reference; see {@link #resolve(ModelRef, DownloadListener)}.
     *
     * @param reference {@code hf:owner/repo:QUANT}, {@code hf:owner/repo/file.gguf}, ... or an https URL
     * @param listener  told of the download's progress; may be null
     * @return the verified files
     * @throws IllegalArgumentException if the reference is malformed
     * @throws DownloadException        if it cannot be resolved
     */
    public ModelFiles resolve(String reference, DownloadListener listener) {
        return resolve(ModelRef.parse(reference), listener);
    }

    /**
     * Resolves a reference to verified local files, downloading the ones the cache lacks.
     *
     * @param ref      the reference
     * @param listener told of the download's progress, may cancel it; may be null
     * @return the verified files, in the order to load them
     * @throws DownloadException if the reference cannot be resolved: {@link DownloadException#reason()} says why
     *                           (not found, no file for the quantization, access denied, not cached while offline,
     *                           checksum mismatch, unreachable, interrupted, disk, ...) and the message what to do
     */
    public ModelFiles resolve(ModelRef ref, DownloadListener listener) {
        Objects.requireNonNull(ref, "ref");
        return Resolver.resolve(params, ref, listener);
    }

    /**
     * Reads what a reference's model is and needs ({@link ModelHeader}: its configuration and memory estimate) from
     * its GGUF header alone, before a byte of weights is downloaded. A file in the cache is read from disk; otherwise
     * the file's (each part's, for a split model) first bytes are fetched with HTTP range requests, 256 KiB and then four times more each time
     * (each request continuing where the last ended), until the header parses, and nothing is written to the cache.
     * The file is chosen as {@link #resolve} chooses it (quantization, all parts of a split model); offline
     * mode, the token and retries apply the same way.
     *
     * @param reference {@code hf:owner/repo:QUANT}, {@code hf:owner/repo/file.gguf}, ... or an https URL
     * @return what the header says
     * @throws IllegalArgumentException if the reference is malformed
     * @throws DownloadException        if the header cannot be read: not found, not cached while offline,
     *                                  unreachable, or {@link DownloadException.Reason#BAD_RESPONSE} for a file that
     *                                  is not GGUF
     */
    public ModelHeader readHeader(String reference) {
        return readHeader(ModelRef.parse(reference));
    }

    /**
     * Reads a reference's GGUF header; see {@link #readHeader(String)}.
     *
     * @param ref the reference
     * @return what the header says
     * @throws DownloadException if the header cannot be read
     */
    public ModelHeader readHeader(ModelRef ref) {
        Objects.requireNonNull(ref, "ref");
        return Resolver.header(params, ref, Resolver.HEADER_FIRST_BYTES);
    }
}
