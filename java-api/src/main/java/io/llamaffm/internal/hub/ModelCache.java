package io.llamaffm.internal.hub;

import io.llamaffm.hub.ModelRef;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The download cache's layout, laid out so that a reference resolves again without the network:
 *
 * <pre>
 * ROOT/hf/OWNER/NAME/refs/REVISION             the commit REVISION pointed at when last resolved ('/' written %2F)
 * ROOT/hf/OWNER/NAME/blobs/HASH                a verified file, named by its sha256 (or git blob id)
 * ROOT/hf/OWNER/NAME/snapshots/COMMIT/PATH     the files of a commit at their paths: hard links to the blobs (copies
 *                                              where the file system has no links), so a file unchanged by a new
 *                                              commit is not downloaded again
 * ROOT/url/KEY/FILE                            a URL's file (KEY: the first 16 hex digits of the sha256 of the URL's
 *                                              folder, or of the whole URL when it has a query)
 * ROOT/url/KEY/FILE.etag                       the server's version of it (ETag or Last-Modified), to notice a change
 * </pre>
 *
 * Beside each downloaded file (a blob, or a URL's file), while it downloads: {@code FILE.part} (what arrived so far,
 * resumed by the next try) and {@code FILE.lock}, locked by whoever downloads it ({@link #lock}); a file appears under
 * its name only verified and complete (an atomic move), so a reader never sees half a file.
 */
public final class ModelCache {
    private static final Pattern PINNED = Pattern.compile("[A-Za-z0-9_.][A-Za-z0-9._/-]{0,254}");
    private static final ConcurrentHashMap<String, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path root;

    /** @param root the cache folder ({@code llamaffm.models.dir}) */
    public ModelCache(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** {@return the cache folder} */
    public Path root() {
        return root;
    }

    Path repoDir(ModelRef.Hub ref) {
        return root.resolve("hf").resolve(ref.owner()).resolve(ref.name());
    }

    /** The folder of the files of {@code ref} at {@code pinned} (a commit, or a revision when the hub named none). */
    Path snapshotDir(ModelRef.Hub ref, String pinned) {
        return repoDir(ref).resolve("snapshots").resolve(encode(pinned));
    }

    /** Where the verified file with this hash ({@code hex}: lower-case hex, checked by the caller) is kept. */
    Path blob(ModelRef.Hub ref, String hex) {
        return repoDir(ref).resolve("blobs").resolve(hex);
    }

    /**
     * Makes {@code link} (a snapshot's file) name the same file as {@code blob}: a hard link, or a copy where links are
     * not possible; made under a name of its own, then moved over {@code link} in one step.
     */
    static void link(Path blob, Path link) throws IOException {
        Files.createDirectories(link.getParent());
        Path tmp = sibling(link, "." + ProcessHandle.current().pid() + "-" + Thread.currentThread().threadId() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createLink(tmp, blob);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        try {
            Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The file {@code repoPath} ({@code a/b.gguf}) inside {@code dir}; refuses a path that would leave it. */
    static Path inside(Path dir, String repoPath) {
        Path p = dir;
        for (String segment : repoPath.split("/")) {
            p = p.resolve(segment);
        }
        Path normal = p.normalize();
        if (!normal.startsWith(dir) || normal.equals(dir)) {
            throw new IllegalArgumentException("'" + repoPath + "' leaves the cache folder");
        }
        return normal;
    }

    /** {@return what {@code refs/REVISION} records: the commit (or revision) whose snapshot holds its files, if any} */
    Optional<String> pinned(ModelRef.Hub ref) {
        Path file = repoDir(ref).resolve("refs").resolve(encode(ref.revision()));
        try {
            String v = Files.readString(file, StandardCharsets.UTF_8).strip();
            return PINNED.matcher(v).matches() && !v.contains("..") ? Optional.of(v) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Records that {@code ref}'s revision is at {@code pinned} (written to a temporary file, then moved over). */
    void recordPinned(ModelRef.Hub ref, String pinned) throws IOException {
        Path refs = Files.createDirectories(repoDir(ref).resolve("refs"));
        Path tmp = Files.createTempFile(refs, ".ref", ".tmp");
        try {
            Files.writeString(tmp, pinned + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, refs.resolve(encode(ref.revision())), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** {@return the .gguf files under {@code dir}, as repository paths ({@code a/b.gguf}), sorted} */
    static List<String> ggufFilesIn(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> p.toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")).sorted().toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of();
        }
    }

    /** The folder of a URL's file. */
    Path urlDir(URI uri) {
        return root.resolve("url").resolve(sha256Hex(uri.toString()).substring(0, 16));
    }

    /** The name a URL's file is cached under: its last path segment, characters other than {@code [A-Za-z0-9._-]} as '_'. */
    static String safeName(String name) {
        String s = name.replaceAll("[^A-Za-z0-9._-]", "_");
        return s.isEmpty() || s.equals(".") || s.equals("..") ? "model.gguf" : s;
    }

    /** A revision or commit as one folder name: '/' becomes %2F ('%' itself %25). */
    static String encode(String revision) {
        return revision.replace("%", "%25").replace("/", "%2F");
    }

    static Path sibling(Path file, String suffix) {
        return file.resolveSibling(file.getFileName() + suffix);
    }

    /**
     * Takes the download lock of {@code file} ({@code FILE.lock}): first this JVM's lock for it (two channels of one JVM
     * cannot both lock a file), then the file lock that keeps other processes out. Blocks until both are held.
     */
    static Lock lock(Path file) throws IOException, InterruptedException {
        Path lockFile = sibling(file, ".lock");
        Files.createDirectories(lockFile.getParent());
        ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(lockFile.toString(), k -> new ReentrantLock());
        jvm.lockInterruptibly();
        try {
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                return new Lock(jvm, channel, channel.lock());
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            jvm.unlock();
            throw e;
        }
    }

    /** A held download lock; the lock file stays (deleting it would let a third process lock a different file). */
    record Lock(ReentrantLock jvm, FileChannel channel, FileLock fileLock) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            try {
                channel.close(); // releases the file lock
            } finally {
                jvm.unlock();
            }
        }
    }

    static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
