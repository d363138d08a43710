package io.llamaffm.natives;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks every staged natives jar, including those for platforms this machine cannot run: the list matches
 * the files (names, sizes, sha256), nothing but llama.h's libraries is packed, the load order names the core
 * libraries, every function the bindings declare is exported by a core library, and every library a file
 * needs is either in the jar or a documented system/runtime library of that platform.
 */
class NativesJarTest {
    private static final Path STAGED = Path.of(System.getProperty("llamaffm.natives.staged", "target/natives"));
    private static final Path INCLUDES = Path.of(System.getProperty("llamaffm.repo.dir", "..")).resolve("bindings/includes.txt");

    /** What a user's machine must provide, per platform (documented in README.md). */
    private static final Map<String, Pattern> SYSTEM = Map.of(
            "linux", Pattern.compile("lib(c|m|dl|rt|pthread|gcc_s|stdc\\+\\+)\\.so\\.\\d+|ld-linux-(x86-64|aarch64)\\.so\\.\\d"),
            "windows", Pattern.compile("(?i)kernel32\\.dll|advapi32\\.dll|msvcp140(_\\w+)?\\.dll|vcruntime140(_\\d)?\\.dll|api-ms-win-[\\w-]+\\.dll"),
            "macos", Pattern.compile("/usr/lib/lib(System\\.B|c\\+\\+\\.1|objc\\.A)\\.dylib|/System/Library/Frameworks/.+"));
    private static final Map<String, Pattern> GPU_RUNTIME = Map.of(
            "cuda", Pattern.compile("(?i)libcuda\\.so\\.1|libcudart\\.so\\.13|libcublas\\.so\\.13|nvcuda\\.dll|cudart64_13\\.dll|cublas64_13\\.dll"),
            "vulkan", Pattern.compile("libvulkan\\.so\\.1|vulkan-1\\.dll"));

    @TestFactory
    Stream<DynamicTest> everyStagedPlatform() throws IOException {
        List<Path> lists;
        try (Stream<Path> s = Files.walk(STAGED, 6)) {
            lists = s.filter(p -> p.getFileName().toString().equals("natives.list")).sorted().toList();
        }
        assertFalse(lists.isEmpty(), "no staged natives under " + STAGED);
        return lists.stream().map(l -> DynamicTest.dynamicTest(l.getParent().getFileName().toString(), () -> check(l)));
    }

    private static void check(Path listFile) throws Exception {
        Path dir = listFile.getParent();
        String id = dir.getFileName().toString();
        List<String> lines = Files.readAllLines(listFile);
        Map<String, String> header = lines.stream().filter(l -> l.matches("(release|platform|variant|origin) .*"))
                .collect(Collectors.toMap(l -> l.split(" ")[0], l -> l.split(" ")[1]));
        assertEquals(id, header.get("platform"));
        // the jar's manifest (OUT/MANIFEST.MF beside OUT/io/llamaffm/natives/ID): a module name per platform
        Path manifest = dir.getParent().getParent().getParent().getParent().resolve("MANIFEST.MF");
        assertEquals("Automatic-Module-Name: io.llamaffm.natives." + id.replace('-', '.'), Files.readString(manifest).strip());
        List<String> load = lines.stream().filter(l -> l.startsWith("load ")).map(l -> l.substring(5)).toList();
        List<String[]> files = lines.stream().filter(l -> l.startsWith("file ")).map(l -> l.split(" ")).toList();

        // the list and the folder agree exactly
        Set<String> listed = files.stream().map(f -> f[3]).collect(Collectors.toCollection(TreeSet::new));
        Set<String> present;
        try (Stream<Path> s = Files.list(dir)) {
            present = s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("natives.list"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(listed, present, id + ": natives.list and the files differ");
        for (String[] f : files) {
            Path p = dir.resolve(f[3]);
            assertEquals(Long.parseLong(f[2]), Files.size(p), f[3]);
            assertEquals(f[1], HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))), f[3]);
            assertFalse(f[3].contains("llama-common") || f[3].contains("addon") || f[3].endsWith(".node"), f[3]);
        }

        // load order: ggml-base, ggml, llama
        assertEquals(3, load.size(), id + " load order " + load);
        assertTrue(load.get(0).matches("(lib)?ggml-base\\..*"), load.toString());
        assertTrue(load.get(1).matches("(lib)?ggml[.].*"), load.toString());
        assertTrue(load.get(2).matches("(lib)?llama[.].*"), load.toString());
        assertTrue(listed.stream().anyMatch(n -> n.matches("(lib)?ggml-cpu-.*")), id + ": a CPU backend plugin");

        // every function the bindings declare is exported by a core library
        Set<String> exports = new TreeSet<>();
        for (String core : load) {
            exports.addAll(SharedLibrary.read(dir.resolve(core)).exports());
        }
        List<String> functions = Files.readAllLines(INCLUDES).stream().filter(l -> l.startsWith("--include-function "))
                .map(l -> l.substring("--include-function ".length()).trim()).toList();
        List<String> missing = functions.stream().filter(f -> !exports.contains(f)).toList();
        assertEquals(List.of(), missing, id + ": functions of the bindings not exported by " + load);

        // every dependency is in the jar or a documented system / GPU runtime library
        String os = id.startsWith("linux") ? "linux" : id.startsWith("windows") ? "windows" : "macos";
        Pattern gpu = GPU_RUNTIME.get(header.get("variant"));
        Set<String> external = new TreeSet<>();
        List<String> unexpected = new ArrayList<>();
        for (String name : listed) {
            SharedLibrary lib = SharedLibrary.read(dir.resolve(name));
            for (String need : lib.needed()) {
                String local = need.replaceFirst("^@(rpath|loader_path)/", "");
                if (listed.contains(local)) {
                    continue;
                }
                if (SYSTEM.get(os).matcher(need).matches() || (gpu != null && gpu.matcher(need).matches())) {
                    external.add(need);
                } else {
                    unexpected.add(name + " needs " + need);
                }
            }
        }
        assertEquals(List.of(), unexpected, id + ": undocumented dependencies");
        System.out.printf("natives %-18s %-6s %2d files, %,d bytes, %d/%d binding functions exported; needs from the system: %s%n",
                id, header.get("variant"), listed.size(), files.stream().mapToLong(f -> Long.parseLong(f[2])).sum(),
                functions.size() - missing.size(), functions.size(), external);
    }
}
