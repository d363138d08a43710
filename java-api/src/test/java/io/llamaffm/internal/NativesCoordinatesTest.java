package io.llamaffm.internal;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code native/platforms.list} is the one list of natives ids. The scripts and the loader read it; what cannot read
 * it (Maven poms, which cannot loop, and documents) is checked against it here: the natives module's classifier jars,
 * the aggregators that name them, the host profiles, the natives' Javadoc page and the README's platform table.
 */
class NativesCoordinatesTest {
    private static final Path REPO = Path.of(System.getProperty("llamaffm.repo.dir", ".."));
    private static final String CLASSIFIER = "<classifier>natives-([a-z0-9-]+)</classifier>";

    /** One line of platforms.list. */
    private record Platform(String id, String variant, String npmPackage) {
        /** cpu and metal builds run on any machine of their platform; cuda and vulkan ones are GPU-only extras. */
        boolean gpuOnly() {
            return variant.equals("cuda") || variant.equals("vulkan");
        }
    }

    private static final List<Platform> PLATFORMS = read();
    private static final Set<String> ALL = ids(PLATFORMS.stream());

    @Test
    void theLoaderKnowsTheListInItsOrder() {
        assertEquals(PLATFORMS.stream().map(Platform::id).toList(), NativeLibraryLoader.KNOWN_IDS);
    }

    @Test
    void everyPlatformHasAPinnedPrebuiltPackage() throws IOException {
        String pin = Files.readString(REPO.resolve("native/pin.properties"));
        for (Platform p : PLATFORMS) {
            assertTrue(Set.of("cpu", "metal", "cuda", "vulkan").contains(p.variant()), p.toString());
            for (String key : List.of("package", "sha256")) {
                assertTrue(pin.contains("\nprebuilt." + p.npmPackage() + "." + key + "="), p.id() + ": prebuilt."
                        + p.npmPackage() + "." + key + " in native/pin.properties");
            }
        }
    }

    @Test
    void theNativesModulePacksEveryId() throws IOException {
        // -Pall-platforms on a linux-x64 host (the default of llamaffm.host.platform; CI and releases): the host's
        // jar, named by that property, and one literal classifier per other platform
        Matcher host = Pattern.compile("<llamaffm.host.platform>([a-z0-9-]+)</llamaffm.host.platform>")
                .matcher(Files.readString(REPO.resolve("pom.xml")));
        assertTrue(host.find(), "llamaffm.host.platform in pom.xml");
        Set<String> packed = found("native/pom.xml", CLASSIFIER);
        packed.add(host.group(1));
        assertEquals(ALL, packed);
    }

    @Test
    void theAggregatorsNameEveryJarOrEveryJarButTheGpuOnlyOnes() throws IOException {
        assertEquals(ALL, found("packaging/natives-all/pom.xml", CLASSIFIER));
        assertEquals(ids(PLATFORMS.stream().filter(p -> !p.gpuOnly())), found("packaging/natives-cpu/pom.xml", CLASSIFIER));
    }

    @Test
    void theHostProfilesCoverEveryPlatformAJvmCanDetect() throws IOException {
        Set<String> detectable = ids(PLATFORMS.stream().filter(p -> !p.gpuOnly()));
        // every literal value of the property: its default and the one of each host profile
        assertEquals(detectable, found("pom.xml", "<llamaffm.host.platform>([a-z0-9-]+)</llamaffm.host.platform>"));
        assertEquals(detectable, found("packaging/consumer/pom.xml", "<host.platform>([a-z0-9-]+)</host.platform>"));
    }

    @Test
    void theDocumentsNameEveryJar() throws IOException {
        assertEquals(ALL, found("README.md", "(?m)^\\| `natives-([a-z0-9-]+)` \\|"), "README.md's platform table");
        assertEquals(ALL, found("native/src/javadoc/index.html", "<code>natives-([a-z0-9-]+)</code>"),
                "native/src/javadoc/index.html");
    }

    private static List<Platform> read() {
        try {
            return Files.readAllLines(REPO.resolve("native/platforms.list")).stream().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).map(l -> l.split("\\s+"))
                    .map(c -> {
                        assertEquals(3, c.length, "platforms.list: " + String.join(" ", c));
                        return new Platform(c[0], c[1], c[2]);
                    }).toList();
        } catch (IOException e) {
            throw new IllegalStateException("native/platforms.list under " + REPO.toAbsolutePath(), e);
        }
    }

    private static Set<String> ids(Stream<Platform> platforms) {
        return platforms.map(Platform::id).collect(Collectors.toCollection(TreeSet::new));
    }

    /** The first group of every match of {@code regex} in a file of the repository. */
    private static Set<String> found(String file, String regex) throws IOException {
        return Pattern.compile(regex).matcher(Files.readString(REPO.resolve(file))).results().map(m -> m.group(1))
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
