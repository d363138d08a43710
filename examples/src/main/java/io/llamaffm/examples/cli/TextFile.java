package io.llamaffm.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A text file to index and the id its chunks get: the file name for a file given by name, the folder's name and the
 * path inside it ({@code docs/guide/intro.md}) for a file found under a folder.
 */
record TextFile(Path path, String id, String text) {
    /**
     * The files {@code paths} name: each file, and the UTF-8 text files under each folder (walked in name order;
     * hidden files and folders skipped; a file that is not UTF-8 text, or has NUL bytes, skipped with a note on
     * {@code err}).
     *
     * @throws CliException if a path does not exist or a file given by name is not UTF-8 text
     */
    static List<TextFile> under(List<Path> paths, PrintWriter err) {
        List<TextFile> files = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                for (Path f : walk(p)) {
                    String text = read(f);
                    if (text == null) {
                        err.println("skipped " + f + " (not UTF-8 text)");
                        continue;
                    }
                    String inside = p.relativize(f).toString().replace(java.io.File.separatorChar, '/');
                    Path name = p.toAbsolutePath().normalize().getFileName();
                    files.add(new TextFile(f, (name == null ? "" : name + "/") + inside, text));
                }
            } else if (Files.isRegularFile(p)) {
                String text = read(p);
                if (text == null) {
                    throw new CliException(p + " is not UTF-8 text");
                }
                files.add(new TextFile(p, p.getFileName().toString(), text));
            } else {
                throw new CliException("no such file or folder: " + p);
            }
        }
        return files;
    }

    private static List<Path> walk(Path folder) {
        try (Stream<Path> s = Files.walk(folder)) {
            return s.filter(f -> Files.isRegularFile(f) && !hidden(folder.relativize(f))).sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            throw new CliException("cannot read folder " + folder + ": " + e.getMessage(), e);
        }
    }

    private static boolean hidden(Path relative) {
        for (Path part : relative) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    /** The file's text, or null when it is not UTF-8 text (a NUL byte in its first 8 KiB stops the reading early). */
    private static String read(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(8192);
            for (byte b : head) {
                if (b == 0) {
                    return null; // binary (a model, an image): not read any further
                }
            }
            byte[] rest = in.readAllBytes();
            bytes = new byte[head.length + rest.length];
            System.arraycopy(head, 0, bytes, 0, head.length);
            System.arraycopy(rest, 0, bytes, head.length, rest.length);
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
