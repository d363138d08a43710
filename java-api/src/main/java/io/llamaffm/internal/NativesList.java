package io.llamaffm.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The list a natives jar carries beside its libraries (written by native/scripts/stage.sh): which release,
 * platform and variant they are, the core libraries in load order, and each file's sha256 and size.
 */
public record NativesList(String release, String platform, String variant, String origin,
                          List<String> loadOrder, List<Entry> files) {

    /** One file of the jar. */
    public record Entry(String name, String sha256, long size) {}

    public NativesList {
        loadOrder = List.copyOf(loadOrder);
        files = List.copyOf(files);
    }

    /** The cache sub-directory name, e.g. {@code linux-x64-cpu}. */
    public String cacheName() {
        return platform.endsWith("-" + variant) ? platform : platform + "-" + variant;
    }

    public static NativesList parse(InputStream in) throws IOException {
        String release = null, platform = null, variant = null, origin = null;
        List<String> load = new ArrayList<>();
        List<Entry> files = new ArrayList<>();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        int lineNo = 0;
        for (String line; (line = reader.readLine()) != null; ) {
            lineNo++;
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.trim().split(" +");
            switch (f[0]) {
                case "release" -> release = arg(f, 2, lineNo)[1];
                case "platform" -> platform = arg(f, 2, lineNo)[1];
                case "variant" -> variant = arg(f, 2, lineNo)[1];
                case "origin" -> origin = arg(f, 2, lineNo)[1];
                case "load" -> load.add(safeName(arg(f, 2, lineNo)[1], lineNo));
                case "file" -> {
                    arg(f, 4, lineNo);
                    if (!f[1].matches("[0-9a-f]{64}")) {
                        throw new IOException("natives.list line " + lineNo + ": bad sha256 '" + f[1] + "'");
                    }
                    files.add(new Entry(safeName(f[3], lineNo), f[1], Long.parseLong(f[2])));
                }
                default -> throw new IOException("natives.list line " + lineNo + ": unknown key '" + f[0] + "'");
            }
        }
        if (release == null || platform == null || variant == null || load.isEmpty() || files.isEmpty()) {
            throw new IOException("natives.list is incomplete (needs release, platform, variant, load and file lines)");
        }
        for (String l : load) {
            if (files.stream().noneMatch(e -> e.name().equals(l))) {
                throw new IOException("natives.list loads '" + l + "' but lists no such file");
            }
        }
        return new NativesList(release, platform, variant, origin == null ? "unknown" : origin, load, files);
    }

    private static String[] arg(String[] f, int n, int lineNo) throws IOException {
        if (f.length != n) {
            throw new IOException("natives.list line " + lineNo + ": expected " + n + " fields, got " + f.length);
        }
        return f;
    }

    private static String safeName(String name, int lineNo) throws IOException {
        if (name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw new IOException("natives.list line " + lineNo + ": unsafe file name '" + name + "'");
        }
        return name;
    }
}
