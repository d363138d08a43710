package io.llamaffm.server;

import io.llamaffm.Model;
import io.llamaffm.chat.ChatTemplateException;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.TensorInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.llamaffm.server.MalformedInputIT.assertError;
import static io.llamaffm.server.OpenAiServerIT.ONE_THREAD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model whose chat template is hostile for some conversations: the server renders it per request, and a request that
 * makes it run away gets a 400 {@code chat_template_limit} naming the limit within two seconds, while the server stays
 * healthy and answers the others. A template that a parse limit refuses stops the server from starting, with the limit
 * named.
 */
class HostileTemplateServerIT {
    /** Plain for two messages; ten billion loop iterations for three; endless recursion for four. */
    static final String TEMPLATE = """
            {%- if messages|length == 3 -%}
              {%- set r = range(100000)|list -%}
              {%- for i in r %}{% for j in r %}{% endfor %}{% endfor -%}
            {%- elif messages|length == 4 -%}
              {%- macro deeper(n) %}{{ deeper(n + 1) }}{% endmacro -%}
              {{- deeper(0) -}}
            {%- endif -%}
            {%- for m in messages %}{{ m.role }}: {{ m.content }}
            {% endfor %}assistant:""";

    @TempDir
    static Path tmp;
    static Model model;
    static OpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        Path stories = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(stories), "../shared/models/stories260K.gguf is absent");
        model = Model.load(withTemplate(stories, Files.createDirectories(tmp.resolve("hostile")).resolve("stories260K.gguf"), TEMPLATE));
        server = OpenAiServer.start(model, null, ServerConfig.defaults().withPort(0).withContext(ONE_THREAD));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (model != null) {
            model.close();
        }
    }

    private static String chat(int messages) {
        StringBuilder m = new StringBuilder("[");
        for (int k = 0; k < messages; k++) {
            m.append(k == 0 ? "" : ",").append("{\"role\":\"").append(k % 2 == 0 ? "user" : "assistant")
                    .append("\",\"content\":\"Tell me about a dog\"}");
        }
        return "{\"model\":\"stories260K\",\"messages\":" + m + "],\"temperature\":0,\"max_tokens\":4}";
    }

    private static long post(String body, OpenAiServerIT.Reply[] reply) throws Exception {
        long start = System.nanoTime();
        reply[0] = OpenAiServerIT.post(server, "/v1/chat/completions", body);
        return (System.nanoTime() - start) / 1_000_000;
    }

    @Test
    void aRunawayRenderIsRefusedWithTheLimitAndTheServerStaysHealthy() throws Exception {
        OpenAiServerIT.Reply[] r = new OpenAiServerIT.Reply[1];
        post(chat(2), r);
        assertEquals(200, r[0].status(), r[0].raw());
        assertEquals(4, r[0].body().get("usage").get("completion_tokens").asInt(), r[0].raw());

        long loops = post(chat(3), r);
        assertError(r[0], 400, "chat_template_limit", "messages", "ten billion loop iterations");
        String message = r[0].body().get("error").get("message").asText();
        assertTrue(message.startsWith("The model's chat template cannot render these messages: chat template stopped at a limit"
                + " (template line 3): the template took more than 2097152 steps"), message);
        assertTrue(message.endsWith("raise TemplateLimits.maxSteps with TemplateLimits.withMaxSteps(..) or "
                + "-Dllamaffm.template.max.steps"), message);
        assertTrue(loops < 2000, "answered in " + loops + " ms");

        long recursion = post(chat(4), r);
        assertError(r[0], 400, "chat_template_limit", "messages", "endless recursion");
        assertTrue(r[0].body().get("error").get("message").asText().contains("raise TemplateLimits.maxNestingDepth"), r[0].raw());
        assertTrue(recursion < 2000, "answered in " + recursion + " ms");

        OpenAiServerIT.Reply health = OpenAiServerIT.send(java.net.http.HttpRequest.newBuilder(server.baseUri().resolve("/health")));
        assertEquals("{\"status\":\"ok\"}", health.raw(), "the server still answers");
        post(chat(2), r);
        assertEquals(200, r[0].status(), "the next request renders as before: " + r[0].raw());
    }

    @Test
    void aTemplateOverAParseLimitStopsTheServerFromStartingWithTheLimitNamed() throws Exception {
        String deep = "{% if true %}".repeat(5000) + "x" + "{% endif %}".repeat(5000);
        Path stories = Path.of(System.getProperty("llamaffm.shared.dir", "../shared"), "models", "stories260K.gguf");
        try (Model deepModel = Model.load(withTemplate(stories, tmp.resolve("deep.gguf"), deep))) {
            ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> OpenAiServer.start(deepModel, null,
                    ServerConfig.defaults().withPort(0).withContext(ONE_THREAD)));
            assertEquals(ChatTemplateException.Kind.LIMIT, e.kind());
            assertTrue(e.getMessage().startsWith("chat template stopped at a limit (template line 1): the template nests deeper "
                    + "than 1000 levels"), e.getMessage());
        }
    }

    /** {@code model} with {@code template} as its chat template, written to {@code out} by the GGUF writer. */
    static Path withTemplate(Path model, Path out, String template) {
        GgufWriter w = new GgufWriter();
        try (GgufFile in = GgufFile.open(model)) {
            in.metadata().forEach((k, v) -> {
                if (!k.equals("tokenizer.chat_template") && !k.startsWith("general.alignment")) {
                    w.put(k, v);
                }
            });
            w.putString("tokenizer.chat_template", template);
            for (TensorInfo t : in.tensors()) {
                w.addTensorBytes(t.name(), t.type(), t.dims(), in.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            w.write(out);
        }
        return out;
    }
}
