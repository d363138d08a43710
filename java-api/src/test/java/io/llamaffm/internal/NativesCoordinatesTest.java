package io.llamaffm.internal;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The natives ids the loader looks for, the classifier jars the build packs, the aggregators that name them, and
 * the README's platform table are one and the same set.
 */
class NativesCoordinatesTest {
    private static final Path REPO = Path.of(System.getProperty("llamaffm.repo.dir", ".."));
    private static final Pattern CLASSIFIER = Pattern.compile("<classifier>natives-([a-z0-9-]+)</classifier>");
    private static final Set<String> ALL = new TreeSet<>(NativeLibraryLoader.KNOWN_IDS);

    @Test
    void theNativesModulePacksEveryIdTheLoaderKnows() throws IOException {
        // -Pall-platforms on a linux-x64 host (the default of llamaffm.host.platform; CI and releases): the host's
        // jar, named by that property, and one literal classifier per other platform
        Matcher host = Pattern.compile("<llamaffm.host.platform>([a-z0-9-]+)</llamaffm.host.platform>")
                .matcher(Files.readString(REPO.resolve("pom.xml")));
        assertTrue(host.find(), "llamaffm.host.platform in pom.xml");
        Set<String> packed = classifiers("native/pom.xml");
        packed.add(host.group(1));
        assertEquals(ALL, packed);
    }

    @Test
    void theAggregatorsNameEveryJarOrEveryJarButTheGpuOnlyOnes() throws IOException {
        assertEquals(ALL, classifiers("packaging/natives-all/pom.xml"));
        Set<String> cpu = ALL.stream().filter(id -> !id.endsWith("-cuda") && !id.endsWith("-vulkan"))
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(cpu, classifiers("packaging/natives-cpu/pom.xml"));
    }

    @Test
    void theReadmePlatformTableHasOneRowPerJar() throws IOException {
        Set<String> rows = Files.readAllLines(REPO.resolve("README.md")).stream()
                .map(Pattern.compile("^\\| `natives-([a-z0-9-]+)` \\|")::matcher).filter(Matcher::find)
                .map(m -> m.group(1)).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(ALL, rows);
    }

    private static Set<String> classifiers(String pom) throws IOException {
        return CLASSIFIER.matcher(Files.readString(REPO.resolve(pom))).results().map(m -> m.group(1))
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
