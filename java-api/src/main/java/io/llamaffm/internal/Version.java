package io.llamaffm.internal;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The project's version, filtered into a resource by the build. */
public final class Version {
    /** This library's version, e.g. {@code 0.1.0}. */
    public static final String PROJECT = read();

    private Version() {}

    private static String read() {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream("/io/llamaffm/internal/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // fall through to the unknown version
        }
        return p.getProperty("version", "unknown");
    }
}
