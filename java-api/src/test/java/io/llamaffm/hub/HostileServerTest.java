package io.llamaffm.hub;

import io.llamaffm.hub.DownloadException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Servers that break the protocol, on raw loopback sockets: an endless body, lengths that lie, a server that goes
 * silent before or during its answer, enormous headers, endless redirects, a listing that is not JSON. Each must end in
 * a typed error within the timeouts (1 s idle here), never a hang or an out-of-memory, and a cut transfer keeps its part.
 */
class HostileServerTest {
    static final int SIZE = 1000;

    @TempDir
    Path cache;

    ServerSocket server;
    final List<String> requestLines = new CopyOnWriteArrayList<>();

    /** How the server answers one request: its head (request line and headers) and the socket's output. */
    interface Answer {
        void answer(String head, OutputStream out) throws IOException, InterruptedException;
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    URI serve(Answer answer) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            InputStream in = s.getInputStream();
                            for (String head; (head = head(in)) != null; ) {
                                requestLines.add(head.substring(0, head.indexOf("\r\n")));
                                answer.answer(head, s.getOutputStream());
                            }
                        } catch (IOException | InterruptedException e) {
                            // the client went away
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Reads one request head (the request line and the headers); null at the end of the stream. */
    static String head(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int matched = 0;
        for (int c; (c = in.read()) >= 0; ) {
            b.write(c);
            matched = c == "\r\n\r\n".charAt(matched) ? matched + 1 : c == '\r' ? 1 : 0;
            if (matched == 4) {
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** A HEAD answer announcing SIZE bytes, as a plain file server would. */
    static boolean headOk(String line, OutputStream out) throws IOException {
        if (line.startsWith("HEAD ")) {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + SIZE + "\r\nETag: \"v1\"\r\n\r\n");
            return true;
        }
        return false;
    }

    DownloadParams params(URI endpoint) {
        return new DownloadParams(endpoint, null, cache, false, Duration.ofSeconds(2), Duration.ofSeconds(1), 0);
    }

    DownloadException fails(URI base, String ref, Reason reason) {
        return fails(params(base), ref, reason);
    }

    DownloadException fails(DownloadParams params, String ref, Reason reason) {
        long start = System.nanoTime();
        DownloadException e = assertThrows(DownloadException.class, () -> ModelDownloader.create(params).resolve(ref));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(reason, e.reason(), e::getMessage);
        assertTrue(ms < 10_000, "took " + ms + " ms");
        return e;
    }

    List<Path> cacheFiles() throws IOException {
        try (Stream<Path> s = Files.walk(cache)) {
            return s.filter(Files::isRegularFile).filter(p -> !p.toString().endsWith(".lock")).toList();
        }
    }

    @Test
    void anEndlessBodyStopsAtTheAnnouncedSizeAndTheDownloadIsRemoved() throws Exception {
        URI base = serve((line, out) -> {
            if (!headOk(line, out)) {
                write(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"); // no length: the body ends when the server says
                byte[] junk = new byte[1 << 16];
                while (true) {
                    out.write(junk);
                }
            }
        });
        DownloadException e = fails(base, base + "/m.gguf", Reason.BAD_RESPONSE);
        assertEquals(base + "/m.gguf: the server sent more than the 1000 bytes announced for m.gguf; the download was removed",
                e.getMessage());
        assertEquals(List.of(), cacheFiles().stream().filter(p -> p.toString().endsWith(".part")).toList());
    }

    @Test
    void aContentLengthThatDisagreesWithTheAnnouncedSizeIsRefusedBeforeAnyByteIsWritten() throws Exception {
        URI base = serve((line, out) -> {
            if (!headOk(line, out)) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n");
                out.write(new byte[10]);
            }
        });
        DownloadException e = fails(base, base + "/m.gguf", Reason.BAD_RESPONSE);
        assertEquals(base + "/m.gguf: the server announced 5000000000 bytes for m.gguf from byte 0, but the file has 1000 more",
                e.getMessage());
    }

    @Test
    void aBodyShorterThanItsContentLengthKeepsWhatArrivedForTheNextTry() throws Exception {
        URI base = serve((line, out) -> {
            if (!headOk(line, out)) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + SIZE + "\r\n\r\n");
                out.write(new byte[400]);
                out.flush();
                throw new IOException("hang up");
            }
        });
        DownloadException e = fails(base, base + "/m.gguf", Reason.INTERRUPTED);
        assertTrue(e.getMessage().startsWith(base + "/m.gguf: the connection broke while reading m.gguf: "), e.getMessage());
        List<Path> parts = cacheFiles().stream().filter(p -> p.toString().endsWith("m.gguf.part")).toList();
        assertEquals(1, parts.size());
        assertTrue(Files.size(parts.getFirst()) <= 400);
    }

    @Test
    void aServerSilentInTheMiddleOfTheBodyTimesOutAndKeepsThePart() throws Exception {
        URI base = serve((line, out) -> {
            if (!headOk(line, out)) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + SIZE + "\r\n\r\n");
                out.write(new byte[100]);
                out.flush();
                Thread.sleep(30_000);
            }
        });
        DownloadException e = fails(base, base + "/m.gguf", Reason.INTERRUPTED);
        assertEquals(base + "/m.gguf: the server sent nothing for 1 s while sending m.gguf", e.getMessage());
        List<Path> parts = cacheFiles().stream().filter(p -> p.toString().endsWith("m.gguf.part")).toList();
        assertEquals(1, parts.size(), "the part stays for the next try");
    }

    @Test
    void aServerThatNeverAnswersIsUnreachableAfterTheIdleTimeout() throws Exception {
        URI base = serve((line, out) -> Thread.sleep(30_000));
        DownloadException e = fails(base, base + "/m.gguf", Reason.UNREACHABLE);
        assertEquals(base + "/m.gguf: no answer from " + base + " within 1 s", e.getMessage());
    }

    @Test
    void enormousHeadersAreRefused() throws Exception {
        URI base = serve((line, out) -> {
            write(out, "HTTP/1.1 200 OK\r\n");
            String filler = "X-Filler: " + "a".repeat(8000) + "\r\n";
            for (int i = 0; i < 1000; i++) { // 8 MB of headers, past the client's limit (jdk.http.maxHeaderSize)
                write(out, filler);
            }
            write(out, "Content-Length: 0\r\n\r\n");
        });
        DownloadException e = fails(base, base + "/m.gguf", Reason.BAD_RESPONSE);
        assertTrue(e.getMessage().startsWith(base + "/m.gguf: the response from " + base + " is malformed: "), e.getMessage());
    }

    @Test
    void endlessRedirectsStopAfterTen() throws Exception {
        URI base = serve((line, out) -> write(out, "HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"));
        DownloadException e = fails(base, base + "/m.gguf", Reason.BAD_RESPONSE);
        assertEquals(base + "/m.gguf: more than 10 redirects from " + base + "/m.gguf", e.getMessage());
        assertEquals(11, requestLines.size());
    }

    @Test
    void aListingThatIsNotJsonIsABadResponse() throws Exception {
        URI base = serve((line, out) -> {
            String body = "<html>maintenance</html>";
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        });
        DownloadException e = fails(base, "hf:o/r:Q4_K_M", Reason.BAD_RESPONSE);
        assertTrue(e.getMessage().startsWith("hf:o/r:Q4_K_M: the file listing of o/r at revision main is not the JSON array of "
                + "files expected: invalid JSON at line 1, column 1"), e.getMessage());
        assertEquals("GET /api/models/o/r/tree/main?recursive=true HTTP/1.1", requestLines.getFirst());
    }

    @Test
    void anEndlessListingStopsAtItsLimit() throws Exception {
        URI base = serve((line, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[");
            byte[] junk = "{\"type\":\"file\",\"path\":\"x.gguf\"},".repeat(1000).getBytes(StandardCharsets.US_ASCII);
            while (true) {
                out.write(junk);
            }
        });
        DownloadException e = fails(base, "hf:o/r:Q4_K_M", Reason.BAD_RESPONSE);
        assertEquals("hf:o/r:Q4_K_M: the file listing of o/r at revision main is larger than 16777216 bytes", e.getMessage());
        assertFalse(Files.exists(cache.resolve("hf")), "nothing cached");
    }

    @Test
    void aServerWithoutHeadIsAskedWithGetAlone() throws Exception {
        byte[] body = new byte[SIZE];
        new java.util.Random(5).nextBytes(body);
        URI base = serve((line, out) -> {
            if (line.startsWith("HEAD ")) {
                write(out, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
            } else {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + SIZE + "\r\n\r\n");
                out.write(body);
                out.flush();
            }
        });
        ModelFiles files = ModelDownloader.create(params(base)).resolve(base + "/m.gguf");
        org.junit.jupiter.api.Assertions.assertArrayEquals(body, Files.readAllBytes(files.path()));
        assertEquals(SIZE, files.downloadedBytes());
    }

    @Test
    void aForbiddenPlainUrlSaysWhoRefusedIt() throws Exception {
        URI base = serve((line, out) -> write(out, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
        // not the hub (whose 403 means a gated repository): the message names who refused
        DownloadException e = fails(params(URI.create("http://127.0.0.1:1")), base + "/m.gguf", Reason.ACCESS_DENIED);
        assertEquals(base + "/m.gguf: access denied (HTTP 403) by " + base + " to " + base + "/m.gguf", e.getMessage());
    }

    @Test
    void aResumeAnsweredWithAnotherRangeStartsOverFromTheFirstByte() throws Exception {
        byte[] body = new byte[SIZE];
        new java.util.Random(6).nextBytes(body);
        List<String> ranges = new CopyOnWriteArrayList<>();
        URI base = serve((line, out) -> {
            if (!headOk(line, out)) {
                boolean ranged = line.contains("\r\nRange: bytes=500-\r\n");
                ranges.add(ranged ? "ranged" : "whole");
                write(out, ranged ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-999/1000\r\nContent-Length: 1000\r\n\r\n"
                        : "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
                out.write(body);
                out.flush();
            }
        });
        // a part of 500 bytes from this version of the file ("v1"), which the server then resumes from byte 0
        Path dir = cache.resolve("url").resolve(FakeHub.sha256((base + "/").getBytes(StandardCharsets.UTF_8)).substring(0, 16));
        Files.createDirectories(dir);
        Files.write(dir.resolve("m.gguf.part"), new byte[500]);
        Files.writeString(dir.resolve("m.gguf.part.etag"), "v1");
        ModelFiles files = ModelDownloader.create(params(base)).resolve(base + "/m.gguf");
        org.junit.jupiter.api.Assertions.assertArrayEquals(body, Files.readAllBytes(files.path()));
        assertEquals(List.of("ranged", "whole"), ranges);
    }
}
