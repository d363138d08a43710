package io.llamaffm.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code llama-ffm serve} as a user runs it: the executable jar in a child process on a free port, called over HTTP
 * (as the README's curl example does), then stopped with SIGTERM as Ctrl-C would.
 */
class ServeCommandIT {
    static final Pattern LISTENING = Pattern.compile("^listening on (http://127\\.0\\.0\\.1:\\d+) \\(2 slots of 512 tokens; "
            + "Ctrl-C stops\\)$");
    static Path model;

    @BeforeAll
    static void findModel() {
        model = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(model), "../shared/models/stories260K.gguf is absent");
    }

    static Process serve(Path errFile, String... extra) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", Path.of("target", "llama-ffm-examples.jar").toString(), "serve", "--model", model.toString()));
        command.addAll(List.of(extra));
        return new ProcessBuilder(command).redirectError(errFile.toFile()).start();
    }

    @Test
    void serveAnswersTheReadmesCurlRequestAndStopsOnSigterm() throws Exception {
        Path err = Files.createTempFile("serve", ".err");
        Process p = serve(err, "--port", "0", "--parallel", "2", "--ctx", "1024", "--threads", "1");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertNotNull(line, () -> "no output; stderr: " + read(err));
            Matcher m = LISTENING.matcher(line);
            assertTrue(m.matches(), line);
            URI base = URI.create(m.group(1));
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> models = http.send(HttpRequest.newBuilder(base.resolve("/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, models.statusCode());
            ObjectMapper json = new ObjectMapper();
            assertEquals("stories260K", json.readTree(models.body()).at("/data/0/id").asText());
            // the README's example: curl $URL/v1/chat/completions -d '{...}'
            HttpResponse<String> chat = http.send(HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\","
                            + "\"content\":\"Tell me a story\"}],\"max_tokens\":24,\"temperature\":0}"))
                    .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, chat.statusCode(), chat.body());
            JsonNode reply = json.readTree(chat.body());
            // the chat example gives the same greedy reply to the same message
            CliIT.Result cli = CliIT.cliWithInput("Tell me a story\n", "chat", model.toString(), "--temperature", "0", "-n", "24",
                    "-t", "1");
            assertEquals(cli.out().strip(), reply.at("/choices/0/message/content").asText().strip(), cli::toString);
            assertEquals(24, reply.at("/usage/completion_tokens").asInt(), chat.body());

            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the server did not stop on SIGTERM");
            assertEquals(143, p.exitValue(), () -> "128 + SIGTERM; stderr: " + read(err));
            assertEquals("", read(err), "a clean shutdown says nothing");
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(err);
        }
    }

    @Test
    void aPortInUseIsAOneLineError() throws Exception {
        Path err = Files.createTempFile("serve", ".err");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Process p = serve(err, "--port", Integer.toString(taken.getLocalPort()), "--threads", "1");
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue(), out + read(err));
            assertEquals("", out);
            String message = read(err);
            assertTrue(message.startsWith("error: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": "), message);
            assertEquals(1, message.lines().count(), message);
            assertFalse(message.contains("\tat "), message);
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
