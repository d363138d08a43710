package io.llamaffm.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The native loader in fresh JVMs: concurrent extraction, repair of a corrupted cache, the override, the failure message. */
class NativeLoaderIT {
    private static final String HOST = NativeLibraryLoader.detectPlatform();

    private static NativesList hostList() throws IOException {
        try (InputStream in = NativeLoaderIT.class.getClassLoader()
                .getResourceAsStream(NativeLibraryLoader.RESOURCE_ROOT + HOST + "/natives.list")) {
            assertNotNull(in, "the host natives jar (natives-" + HOST + ") is on the test class path");
            return NativesList.parse(in);
        }
    }

    @Test
    void twoJvmsExtractIntoOneCacheConcurrently(@TempDir Path cache) throws Exception {
        List<Process> jvms = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            jvms.add(probe(List.of("-Dllamaffm.cache.dir=" + cache)));
        }
        List<Map<String, String>> results = new ArrayList<>();
        for (Process p : jvms) {
            results.add(finish(p, 0));
        }
        assertEquals(results.get(0).get("dir"), results.get(1).get("dir"));
        Path dir = Path.of(results.get(0).get("dir"));
        assertTrue(dir.startsWith(cache), dir.toString());
        NativesList list = hostList();
        assertTrue(dir.toString().endsWith(list.release() + "/" + list.cacheName()), dir.toString());
        for (NativesList.Entry e : list.files()) {
            assertEquals(e.sha256(), NativeLibraryLoader.sha256(dir.resolve(e.name())), e.name());
        }
    }

    @Test
    void aCorruptedCachedFileIsDetectedAndReplaced(@TempDir Path cache) throws Exception {
        NativesList list = hostList();
        Path dir = cache.resolve(list.release()).resolve(list.cacheName());
        NativeLibraryLoader.extract(HOST, list, dir);
        NativesList.Entry victim = list.files().stream().filter(e -> e.name().equals(list.loadOrder().getLast())).findFirst().orElseThrow();
        Path file = dir.resolve(victim.name());
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x5A;
        Files.write(file, bytes);
        assertNotEquals(victim.sha256(), NativeLibraryLoader.sha256(file));
        Files.delete(dir.resolve(list.files().getFirst().name())); // and a missing one

        Map<String, String> r = finish(probe(List.of("-Dllamaffm.cache.dir=" + cache)), 0);
        assertEquals(dir.toString(), r.get("dir"));
        for (NativesList.Entry e : list.files()) {
            assertEquals(e.sha256(), NativeLibraryLoader.sha256(dir.resolve(e.name())), e.name());
        }
    }

    @Test
    void theOverrideLoadsFromADirectoryOnly(@TempDir Path tmp) throws Exception {
        NativesList list = hostList();
        Path dir = tmp.resolve("mylibs");
        NativeLibraryLoader.extract(HOST, list, dir);
        Map<String, String> r = finish(probe(List.of("-Dllamaffm.library.path=" + dir,
                "-Dllamaffm.cache.dir=" + tmp.resolve("unused"))), 0);
        assertEquals(dir.toString(), r.get("dir"));
        assertEquals("override", r.get("origin"));
        assertTrue(Files.notExists(tmp.resolve("unused")), "nothing extracted");

        Map<String, String> bad = finish(probe(List.of("-Dllamaffm.library.path=" + tmp.resolve("missing"))), 3);
        assertTrue(bad.get("error").contains("llamaffm.library.path"), bad.get("error"));
    }

    @Test
    void aMissingVariantFailsWithOneMessageNamingEverythingTried(@TempDir Path tmp) throws Exception {
        Map<String, String> r = finish(probe(List.of("-Dllamaffm.variant=vulkan", "-Dllamaffm.cache.dir=" + tmp)), 3);
        String msg = r.get("error");
        assertTrue(msg.contains("platform " + HOST), msg);
        assertTrue(msg.contains(NativeLibraryLoader.RESOURCE_ROOT + HOST + "-vulkan/natives.list: not found"), msg);
        assertTrue(msg.contains("Natives jars on the class path: " + HOST), msg);
        String version = "<version>" + Version.PROJECT + "</version>";
        String vulkan = HOST + "-vulkan";   // a jar of its own on linux-x64; none on the other platforms
        assertTrue(msg.contains(NativeLibraryLoader.KNOWN_IDS.contains(vulkan)
                ? "<dependency><groupId>io.llamaffm</groupId><artifactId>llama-ffm-natives</artifactId>" + version
                        + "<classifier>natives-" + vulkan + "</classifier></dependency>"
                : "llama-ffm packs no natives-" + vulkan + " jar"), msg);
        assertTrue(msg.contains("<dependency><groupId>io.llamaffm</groupId><artifactId>llama-ffm-natives-all</artifactId>"
                + version + "<type>pom</type></dependency>"), msg);
        assertTrue(msg.contains("llamaffm.debug.loader"), msg);
    }

    @Test
    void aCacheThatCannotBeCreatedFallsBackToTheTempDir(@TempDir Path tmp) throws Exception {
        Path blocker = Files.writeString(tmp.resolve("a-file"), "not a directory");
        Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
        Map<String, String> r = finish(probe(List.of("-Dllamaffm.cache.dir=" + blocker.resolve("cache"),
                "-Djava.io.tmpdir=" + javaTmp, "-Dllamaffm.debug.loader=true")), 0);
        NativesList list = hostList();
        assertEquals(javaTmp.resolve("llama-ffm-" + System.getProperty("user.name")).resolve(list.release())
                .resolve(list.cacheName()).toString(), r.get("dir"));
        assertTrue(r.get("trace").contains("failed at " + blocker.resolve("cache")), r.get("trace"));
    }

    /**
     * A cache on a file system mounted noexec: the files extract, but the dynamic linker refuses to map them, and the
     * loader goes on to the temp dir. Mounting needs root (this project's CI runs as root); skipped otherwise.
     */
    @Test
    void aNoexecCacheFallsBackToTheTempDir(@TempDir Path tmp) throws Exception {
        Path noexec = Files.createDirectory(tmp.resolve("noexec"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "noexec,size=256m", "tmpfs", noexec.toString())
                .redirectErrorStream(true).start();
        String mountOut = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assumptions.assumeTrue(mount.waitFor() == 0,
                "cannot mount a noexec tmpfs here (needs root): " + mountOut.strip());
        try {
            Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
            Map<String, String> r = finish(probe(List.of("-Dllamaffm.cache.dir=" + noexec, "-Djava.io.tmpdir=" + javaTmp,
                    "-Dllamaffm.debug.loader=true")), 0);
            NativesList list = hostList();
            Path cached = noexec.resolve(list.release()).resolve(list.cacheName());
            assertTrue(r.get("dir").startsWith(javaTmp.toString()), r.toString());
            String trace = r.get("trace");
            assertTrue(trace.contains("extracted " + cached.resolve(list.loadOrder().getFirst())), trace);
            assertTrue(trace.contains("failed at " + cached) && trace.contains("failed to map segment"), trace);
        } finally {
            new ProcessBuilder("umount", noexec.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void anUnsupportedPlatformGetsAMessageNamingTheSupportedOnes() throws Exception {
        String supported = "Supported: linux-x64, linux-arm64, macos-arm64, macos-x64, windows-x64.";
        Map<String, String> sparc = finish(probe(List.of("-Dos.arch=sparc")), 3);
        assertTrue(sparc.get("error").contains("no natives for os.name='linux', os.arch='sparc'. " + supported), sparc.get("error"));
        assertTrue(sparc.get("error").contains("-Dllamaffm.library.path") || sparc.get("error").contains("llamaffm.library.path"),
                sparc.get("error"));
        Map<String, String> plan9 = finish(probe(List.of("-Dos.name=Plan9")), 3);
        assertTrue(plan9.get("error").contains("os.name='plan9'") && plan9.get("error").contains(supported), plan9.get("error"));
    }

    @Test
    void llamaCppLogsReachStderrOnlyWhenAsked() throws Exception {
        String model = io.llamaffm.TestEnv.stories().toString();
        Process quiet = probe(List.of(), model);
        String quietOut = new String(quiet.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, quiet.waitFor());
        assertTrue(quietOut.contains("vocab=512"), quietOut);
        assertTrue(!quietOut.contains("bad special token") && !quietOut.contains("WARNING"), "nothing on stderr by default: " + quietOut);

        Process loud = probe(List.of("-Dllamaffm.log.level=WARNING"), model);
        String loudOut = new String(loud.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, loud.waitFor());
        assertTrue(loudOut.contains("bad special token"), loudOut);
    }

    private static Process probe(List<String> jvmArgs, String... args) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", cp));
        cmd.addAll(jvmArgs);
        cmd.add(LoaderProbe.class.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static Map<String, String> finish(Process p, int expectedExit) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe JVM timed out");
        assertEquals(expectedExit, p.exitValue(), out);
        Map<String, String> kv = new HashMap<>();
        StringBuilder trace = new StringBuilder();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (line.startsWith("[llama-ffm loader] ")) {
                trace.append(line.substring("[llama-ffm loader] ".length())).append('\n');
            } else if (eq > 0) {
                kv.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        kv.put("trace", trace.toString());
        return kv;
    }
}
