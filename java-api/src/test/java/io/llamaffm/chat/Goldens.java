package io.llamaffm.chat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The renderings of Python's Jinja2 set up as Hugging Face's transformers (scripts/chat-template-goldens.py),
 * in golden/SCENARIO.txt: records {@code ### NAME ok LENGTH} followed by LENGTH chars and a newline, or
 * {@code ### NAME error TYPE} where Jinja2 fails on that input. The scenarios' inputs are rebuilt here.
 */
final class Goldens {
    /** The goldens' clock for strftime_now: 2026-01-15 10:30 UTC. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-15T10:30:00Z"), ZoneOffset.UTC);

    /** One rendering; {@code expected} is null where Jinja2 fails on that input. */
    record Golden(String name, String expected) {}

    private Goldens() {}

    static List<Golden> read(String scenario) {
        String text;
        try (InputStream in = Goldens.class.getResourceAsStream("golden/" + scenario + ".txt")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Golden> out = new ArrayList<>();
        int p = 0;
        while (p < text.length()) {
            int eol = text.indexOf('\n', p);
            String[] header = text.substring(p, eol).split(" ");
            p = eol + 1;
            if (header[2].equals("ok")) {
                int length = Integer.parseInt(header[3]);
                out.add(new Golden(header[1], text.substring(p, p + length)));
                p += length + 1;
            } else {
                out.add(new Golden(header[1], null));
            }
        }
        return out;
    }

    /** The inputs of scripts/chat-template-goldens.py (keep in step with its SCENARIOS). */
    static Map<String, Map<String, Object>> scenarios() {
        List<Map<String, Object>> conversation = LlamaCppChatCases.CONVERSATION.stream().map(m -> message(m.role(), m.content())).toList();
        Map<String, Object> parameters = map("type", "object", "properties", map("city", map("type", "string")),
                "required", List.of("city"));
        List<Object> tools = List.of(map("type", "function", "function",
                map("name", "get_weather", "description", "Weather of a city", "parameters", parameters)));
        Map<String, Object> call = map("id", "call00001", "type", "function",
                "function", map("name", "get_weather", "arguments", map("city", "Zürich")));
        List<Object> toolMessages = List.of(message("user", "Weather in Zürich?"),
                map("role", "assistant", "content", "", "tool_calls", List.of(call)),
                map("role", "tool", "tool_call_id", "call00001", "name", "get_weather", "content", "{\"temp_c\": 21.5}"),
                message("assistant", "It is 21.5 °C in Zürich."));
        Map<String, Map<String, Object>> s = new LinkedHashMap<>();
        s.put("conversation", map("messages", conversation, "add_generation_prompt", true));
        s.put("no-generation-prompt", map("messages", conversation, "add_generation_prompt", false));
        s.put("tools", map("messages", toolMessages, "tools", tools, "add_generation_prompt", true));
        return s;
    }

    static Map<String, Object> message(String role, String content) {
        return map("role", role, "content", content);
    }

    /** A mutable map of alternating keys and values (null values allowed). */
    static Map<String, Object> map(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int k = 0; k < keyValues.length; k += 2) {
            m.put((String) keyValues[k], keyValues[k + 1]);
        }
        return m;
    }
}
