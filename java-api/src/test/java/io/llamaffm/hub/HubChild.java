package io.llamaffm.hub;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A second process resolving a reference into a shared cache, for the concurrency test: {@code HubChild ENDPOINT
 * CACHE_DIR REFERENCE}; prints {@code started}, then {@code path=...}, {@code sha256=...}, {@code downloaded=N}.
 */
public final class HubChild {
    private HubChild() {}

    public static void main(String[] args) throws Exception {
        DownloadParams params = new DownloadParams(URI.create(args[0]), null, Path.of(args[1]), false,
                Duration.ofSeconds(10), Duration.ofSeconds(20), 0);
        System.out.println("started");
        System.out.flush();
        ModelFiles files = ModelDownloader.create(params).resolve(args[2]);
        System.out.println("path=" + files.path());
        System.out.println("sha256=" + FakeHub.sha256(Files.readAllBytes(files.path())));
        System.out.println("downloaded=" + files.downloadedBytes());
    }
}
