package io.llamaffm.internal.hub;

import io.llamaffm.hub.DownloadException;
import io.llamaffm.hub.DownloadException.Reason;
import io.llamaffm.hub.DownloadListener;
import io.llamaffm.hub.DownloadProgress;
import io.llamaffm.internal.hub.HubHttp.Checksum;
import io.llamaffm.internal.hub.HubHttp.RemoteFile;
import io.llamaffm.internal.hub.HubHttp.Response;
import io.llamaffm.internal.hub.HubHttp.Watchdog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fetches one file into the cache: under its lock, into {@code FILE.part}, resuming what an earlier try left with
 * {@code Range: bytes=N-} (206 continues it; 200 means the server ignored the range, so the part starts over; 416, or
 * a 206 of another range, drops the part and asks for the whole file), checking every byte count against the announced size (never writing past it), hashing
 * as the bytes arrive (the kept ones read back first), then moving the part over the file's name in one step. A cut or silent connection keeps the part for the
 * next try; a checksum mismatch removes it.
 */
final class FileFetch {
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final long PROGRESS_EVERY_NANOS = 100_000_000L;

    private final HubHttp http;
    private final RemoteFile remote;
    private final Path target;
    private final String label;
    private final int part;
    private final int parts;
    private final DownloadListener listener;
    private final long maxUnknownSize;

    /**
     * @param maxUnknownSize the most bytes taken from a server that announced no size
     */
    FileFetch(HubHttp http, RemoteFile remote, Path target, String label, int part, int parts, DownloadListener listener,
              long maxUnknownSize) {
        this.http = http;
        this.remote = remote;
        this.target = target;
        this.label = label;
        this.part = part;
        this.parts = parts;
        this.listener = listener;
        this.maxUnknownSize = maxUnknownSize;
    }

    /** Whether {@code target} already holds this version of the file (its size; for a file without checksum, its validator). */
    static boolean isCurrent(Path target, RemoteFile remote) {
        try {
            if (!Files.isRegularFile(target) || remote.size() >= 0 && Files.size(target) != remote.size()) {
                return false;
            }
            if (remote.checksum() != null || remote.validator() == null) {
                return true;
            }
            return remote.validator().equals(readValidator(ModelCache.sibling(target, ".etag")));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Fetches the file unless it is current, retrying (and so resuming) transient failures up to {@code retries} more
     * times. Another process or thread fetching the same file holds the lock: this call waits and then finds it current.
     *
     * @return the bytes transferred
     */
    long run(int retries) {
        try (ModelCache.Lock lock = ModelCache.lock(target)) {
            if (isCurrent(target, remote)) {
                return 0; // fetched meanwhile by whoever held the lock
            }
            long transferred = 0; // a stale file stays usable (offline) until the new one moves over it
            for (int attempt = 0; ; attempt++) {
                long[] moved = {0};
                try {
                    once(moved);
                    return transferred + moved[0];
                } catch (DownloadException e) {
                    transferred += moved[0];
                    if (attempt >= retries || !HubHttp.retryable(e)) {
                        throw e;
                    }
                    Thread.sleep(Math.min(5000, 500L * (attempt + 1)));
                }
            }
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) { // a lock wait interrupted closes its channel
                throw http.failure(Reason.CANCELLED, "interrupted while waiting for the lock of " + label, 0, e);
            }
            throw http.failure(Reason.DISK, "cannot use the cache folder " + target.getParent() + ": " + e, 0, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw http.failure(Reason.CANCELLED, "interrupted while fetching " + label, 0, e);
        }
    }

    /** One try: resume or start the part, transfer, verify, move into place. {@code moved[0]} counts the bytes written. */
    private void once(long[] moved) throws IOException {
        Path partFile = ModelCache.sibling(target, ".part");
        Path partValidator = ModelCache.sibling(partFile, ".etag");
        boolean keepsValidator = remote.checksum() == null && remote.validator() != null;
        long size = remote.size();
        long have = Files.isRegularFile(partFile) ? Files.size(partFile) : 0;
        if (have > 0 && (size >= 0 && have > size
                || keepsValidator && !remote.validator().equals(readValidator(partValidator)))) {
            have = 0; // longer than the file, or from another version of it
        }
        if (size >= 0 && have == size) {
            finish(partFile, partValidator, keepsValidator, null);
            return;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        if (have > 0) {
            headers.put("Range", "bytes=" + have + "-");
        }
        Response r = http.follow("GET", remote.downloadUri(), headers);
        try (Response closing = r) {
            // 416: the server holds less than the part; a 206 of another range: it cannot be trusted to resume
            if (have > 0 && (r.status() == 416 || r.status() == 206 && !rangeFits(r, have, size))) {
                closing.close();
                Files.delete(partFile);
                once(moved); // from byte 0, without a range
                return;
            }
            if (r.status() == 200) {
                have = 0; // no range asked, or the server ignored it and sends the whole file
            } else if (r.status() != 206 || have == 0) {
                throw http.statusFailure(r, label, false);
            }
            long length = r.longHeader("Content-Length");
            if (size >= 0 && length >= 0 && length != size - have) {
                throw http.failure(Reason.BAD_RESPONSE, "the server announced " + length + " bytes for " + label + " from byte "
                        + have + ", but the file has " + (size - have) + " more", r.status(), null);
            }
            checkSpace(partFile, size >= 0 ? size - have : length);
            if (have == 0 && keepsValidator) {
                Files.createDirectories(partValidator.getParent());
                Files.writeString(partValidator, remote.validator(), StandardCharsets.UTF_8);
            }
            String digest = transfer(r, partFile, have, moved);
            finish(partFile, partValidator, keepsValidator, digest);
        }
    }

    /** Whether a 206's {@code Content-Range} starts at {@code have} (and, when known, ends the file of {@code size}). */
    private static boolean rangeFits(Response r, long have, long size) {
        Matcher m = CONTENT_RANGE.matcher(r.header("Content-Range").orElse(""));
        try {
            return m.matches() && Long.parseLong(m.group(1)) == have && (size < 0 || Long.parseLong(m.group(2)) == size - 1
                    && (m.group(3).equals("*") || Long.parseLong(m.group(3)) == size));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private void checkSpace(Path partFile, long needed) throws IOException {
        if (needed <= 0) {
            return;
        }
        Files.createDirectories(partFile.getParent());
        FileStore store = Files.getFileStore(partFile.getParent());
        long free = store.getUsableSpace();
        if (free > 0 && free < needed) {
            throw http.failure(Reason.DISK, "not enough disk space for " + label + ": " + needed + " more bytes needed, "
                    + free + " free in " + partFile.getParent(), 0, null);
        }
    }

    /**
     * Copies the body after the {@code have} bytes of the part, never past the announced size; returns the hex digest
     * of the whole part (the kept bytes read back, then the new ones as they arrive), or null without a checksum.
     */
    private String transfer(Response r, Path partFile, long have, long[] moved) throws IOException {
        long size = remote.size();
        long limit = size >= 0 ? size : maxUnknownSize;
        byte[] buf = new byte[1 << 16];
        ByteBuffer wrap = ByteBuffer.wrap(buf);
        try (FileChannel out = FileChannel.open(partFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             Watchdog dog = http.watch(r.body())) {
            out.truncate(have);
            out.position(have);
            MessageDigest md = remote.checksum() == null ? null : digest(remote.checksum().algorithm(), size);
            if (md != null && have > 0) {
                update(md, partFile, have);
            }
            long done = have;
            long start = System.nanoTime();
            long lastReport = 0;
            report(done, 0, true);
            for (int n; (n = http.read(dog, buf, (int) Math.min(buf.length, limit - done + 1), label)) >= 0; ) {
                if (done + n > limit) {
                    out.close();
                    Files.deleteIfExists(partFile);
                    throw http.failure(Reason.BAD_RESPONSE, "the server sent more than the " + limit + " bytes "
                            + (size >= 0 ? "announced" : "allowed (llamaffm.load.max.bytes)") + " for " + label
                            + "; the download was removed", r.status(), null);
                }
                wrap.clear().limit(n);
                try {
                    while (wrap.hasRemaining()) {
                        out.write(wrap);
                    }
                } catch (IOException e) {
                    throw http.failure(Reason.DISK, "cannot write " + partFile + ": " + e.getMessage() + " (is the disk full?); "
                            + "the " + done + " bytes that arrived are kept, run again to resume", 0, e);
                }
                if (md != null) {
                    md.update(buf, 0, n);
                }
                done += n;
                moved[0] += n;
                long now = System.nanoTime();
                if (now - lastReport >= PROGRESS_EVERY_NANOS) {
                    lastReport = now;
                    report(done, (done - have) / Math.max(1e-9, (now - start) / 1e9), false);
                }
            }
            if (size >= 0 && done < size) {
                throw http.failure(Reason.INTERRUPTED, "the connection closed after " + done + " of " + size + " bytes of "
                        + label + "; they are kept, and the next try resumes", r.status(), null);
            }
            out.force(true);
            report(done, (done - have) / Math.max(1e-9, (System.nanoTime() - start) / 1e9), true);
            return md == null ? null : HexFormat.of().formatHex(md.digest());
        }
    }

    private void report(long done, double rate, boolean always) {
        if (listener == null) {
            return;
        }
        boolean go;
        try {
            go = listener.onProgress(new DownloadProgress(label, part, parts, done, remote.size(), rate));
        } catch (RuntimeException e) {
            throw http.failure(Reason.CANCELLED, "the download listener failed: " + e, 0, e);
        }
        if (!go) {
            throw http.failure(Reason.CANCELLED, "cancelled by the download listener after " + done + " bytes of " + label
                    + "; they are kept, and the next try resumes", 0, null);
        }
    }

    /**
     * Verifies the complete part against the checksum and moves it into place; a mismatch removes it. {@code digest}
     * is the part's digest computed while it arrived, or null to read the part back for it.
     */
    private void finish(Path partFile, Path partValidator, boolean keepsValidator, String digest) throws IOException {
        Checksum expected = remote.checksum();
        if (expected != null) {
            String actual = digest != null ? digest : hash(partFile, expected.algorithm(), Files.size(partFile));
            if (!actual.equals(expected.hex())) {
                Files.deleteIfExists(partFile);
                throw http.failure(Reason.CHECKSUM_MISMATCH, label + " is corrupt: its " + expected.algorithm() + " is " + actual
                        + " but the server announced " + expected.hex() + "; the download was removed, run again to fetch it anew",
                        0, null);
            }
        }
        if (keepsValidator) {
            Files.move(partValidator, ModelCache.sibling(target, ".etag"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(partFile, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The hex digest of the file's first {@code length} bytes: SHA-256, or a git blob id (SHA-1 of "blob N\0" + bytes). */
    static String hash(Path file, String algorithm, long length) throws IOException {
        MessageDigest md = digest(algorithm, length);
        update(md, file, length);
        return HexFormat.of().formatHex(md.digest());
    }

    /** A digest for {@code algorithm}; a git blob id starts with its header, so it needs the file's size. */
    private static MessageDigest digest(String algorithm, long size) {
        try {
            if (algorithm.equals("git-SHA-1")) {
                MessageDigest md = MessageDigest.getInstance("SHA-1");
                md.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
                return md;
            }
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Feeds the file's first {@code length} bytes to {@code md}. */
    private static void update(MessageDigest md, Path file, long length) throws IOException {
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            long left = length;
            for (int n; left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0; left -= n) {
                md.update(buf, 0, n);
            }
        }
    }

    private static String readValidator(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
    }
}
