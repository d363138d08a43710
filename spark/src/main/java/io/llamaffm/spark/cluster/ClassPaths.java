package io.llamaffm.spark.cluster;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The jars a {@link LocalStandaloneCluster} and its applications need, taken from this JVM's class path: the Spark
 * jars (the cluster's {@code SPARK_HOME/jars}) and the application's jars ({@code spark.jars}: llama-ffm, its natives
 * jar, the job's own code).
 */
public final class ClassPaths {
    private ClassPaths() {}

    /**
     * This JVM's class path, one entry per element: the test class path under Maven's surefire and failsafe (which
     * run tests from a manifest-only jar and name the real class path in {@code surefire.test.class.path}), else
     * {@code java.class.path}; a {@code dir/*} entry stands for the jars in {@code dir}.
     */
    public static List<Path> current() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Set<Path> out = new LinkedHashSet<>();
        for (String e : cp.split(File.pathSeparator)) {
            if (e.isEmpty()) {
                continue;
            }
            if (e.endsWith("*")) {
                Path dir = Path.of(e.substring(0, e.length() - 1));
                try (Stream<Path> s = Files.list(dir)) {
                    s.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().forEach(out::add);
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            } else {
                out.add(Path.of(e).toAbsolutePath());
            }
        }
        return List.copyOf(out);
    }

    /**
     * The jars of {@code classPath} that a Spark installation would hold: every jar file except llama-ffm's own
     * ({@code llama-ffm*.jar}), which an application ships in {@code spark.jars}. Directories (class folders) are left
     * out too: an installation's {@code jars/} holds only jars.
     */
    public static List<Path> sparkJars(List<Path> classPath) {
        List<Path> out = new ArrayList<>();
        for (Path p : classPath) {
            String name = p.getFileName().toString();
            if (name.endsWith(".jar") && !name.startsWith("llama-ffm") && Files.isRegularFile(p)) {
                out.add(p);
            }
        }
        if (out.stream().noneMatch(p -> p.getFileName().toString().startsWith("spark-core_"))) {
            throw new IllegalStateException("no spark-core jar on the class path " + classPath);
        }
        return out;
    }

    /**
     * The jar that holds {@code type}; a class folder (a build's {@code target/classes}, an IDE's output) is packed
     * into {@code dir} as {@code NAME.jar} first, since {@code spark.jars} takes files.
     */
    public static Path jarOf(Class<?> type, Path dir, String name) throws IOException {
        Path location;
        try {
            location = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("no code source for " + type.getName(), e);
        }
        if (Files.isRegularFile(location)) {
            return location;
        }
        Files.createDirectories(dir);
        return pack(location, dir.resolve(name + ".jar"));
    }

    /**
     * The jars on this JVM's class loader that hold llama-ffm's natives ({@code io/llamaffm/natives/}), e.g.
     * {@code llama-ffm-natives-VERSION-natives-linux-x64.jar}.
     *
     * @throws IllegalStateException if there is none
     */
    public static List<Path> nativesJars() throws IOException {
        List<Path> out = new ArrayList<>();
        Enumeration<URL> urls = ClassPaths.class.getClassLoader().getResources("io/llamaffm/natives/");
        for (URL u : Collections.list(urls)) {
            if (u.getProtocol().equals("jar")) {
                try {
                    out.add(Path.of(((JarURLConnection) u.openConnection()).getJarFileURL().toURI()));
                } catch (URISyntaxException e) {
                    throw new IOException(e);
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no llama-ffm natives jar (io/llamaffm/natives/) on the class path: add "
                    + "io.llamaffm:llama-ffm-natives with the classifier of this platform");
        }
        return out;
    }

    /** Packs the class folder {@code dir} into the jar {@code jar} (replacing it). */
    static Path pack(Path dir, Path jar) throws IOException {
        Path tmp = Files.createTempFile(jar.getParent(), jar.getFileName().toString(), ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp); JarOutputStream out = new JarOutputStream(os);
             Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted().toList()) {
                if (Files.isRegularFile(f)) {
                    out.putNextEntry(new JarEntry(dir.relativize(f).toString().replace(File.separatorChar, '/')));
                    Files.copy(f, out);
                    out.closeEntry();
                }
            }
        }
        return Files.move(tmp, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
