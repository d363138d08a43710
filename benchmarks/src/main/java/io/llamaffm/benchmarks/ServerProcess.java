package io.llamaffm.benchmarks;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP server run as a child process for a benchmark: started with its output in a log file, ready once
 * {@code GET /health} answers 200 (llama-server answers 503 while it loads the model), stopped with SIGTERM and,
 * when it has not ended in 30 s, killed with its descendants. A shutdown hook kills it if the benchmark is stopped.
 */
final class ServerProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;
    private final URI base;
    private final Thread killer;

    private ServerProcess(String name, Process process, Path log, URI base) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.base = base;
        this.killer = new Thread(() -> ChildJvm.kill(process));
        Runtime.getRuntime().addShutdownHook(killer);
    }

    /**
     * Starts {@code command} (which must listen on {@code base}) and waits until it is ready.
     *
     * @throws IOException if it ends, or is not ready within {@code timeout} (it is then killed); the message holds
     *                     the end of its log
     */
    static ServerProcess start(String name, List<String> command, URI base, Path log, Duration timeout)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ServerProcess server = new ServerProcess(name, p, log, base);
        try {
            server.awaitHealthy(timeout);
            return server;
        } catch (IOException | InterruptedException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** A TCP port free on the loopback interface now (the server started next binds it). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    URI baseUri() {
        return base;
    }

    Path log() {
        return log;
    }

    private void awaitHealthy(Duration timeout) throws IOException, InterruptedException {
        HttpRequest health = HttpRequest.newBuilder(base.resolve("/health")).timeout(Duration.ofSeconds(5)).GET().build();
        long deadline = System.nanoTime() + timeout.toNanos();
        // closed when ready, so that its kept-alive connection holds none of the server's threads during the measurement
        try (HttpClient http = ServerLoad.newClient()) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IOException(name + " ended with status " + process.exitValue() + " before it was ready; the end of its log ("
                            + log + "):\n" + ChildJvm.tail(log));
                }
                try {
                    if (http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        return;
                    }
                } catch (IOException notListeningYet) {
                    // connection refused while it starts
                }
                Thread.sleep(100);
            }
        }
        throw new IOException(name + " was not ready within " + timeout + "; the end of its log (" + log + "):\n" + ChildJvm.tail(log));
    }

    /** SIGTERM, then a kill of it and its descendants if it has not ended within 30 s. */
    @Override
    public void close() {
        try {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                ChildJvm.kill(process);
            }
        } catch (InterruptedException e) {
            ChildJvm.kill(process);
            Thread.currentThread().interrupt();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException alreadyShuttingDown) {
                // the hook is running or has run: nothing to remove
            }
        }
    }
}
