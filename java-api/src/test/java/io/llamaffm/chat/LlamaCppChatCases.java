package io.llamaffm.chat;

import io.llamaffm.TestEnv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The test cases of llama.cpp's tests/test-chat-template.cpp, read from the pinned source: each template with
 * the expected rendering of llama.cpp's built-in formatter and of its Jinja path, for the conversation below
 * (plus a case's extra messages). The C++ initializer list is parsed with a small tokenizer for its literals.
 */
final class LlamaCppChatCases {
    /** The conversation every case renders (test-chat-template.cpp's {@code conversation}). */
    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are a helpful assistant"),
            ChatMessage.user("Hello"),
            ChatMessage.assistant("Hi there"),
            ChatMessage.user("Who are you"),
            ChatMessage.assistant("   I am an assistant   "),
            ChatMessage.user("Another question"));

    /** One case; {@code expectedJinja} is already resolved (the file's empty value means "same as expected"). */
    record Case(String name, String template, String expected, String expectedJinja, String bos, String eos,
                boolean supportedWithJinja, boolean jinjaSameAsBuiltin, List<ChatMessage> extra) {
        List<ChatMessage> messages() {
            List<ChatMessage> all = new ArrayList<>(CONVERSATION);
            all.addAll(extra);
            return all;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private LlamaCppChatCases() {}

    static Path file() {
        return TestEnv.sourceDir().resolve("tests/test-chat-template.cpp");
    }

    static List<Case> load() {
        String src;
        try {
            src = Files.readString(file());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String marker = "std::vector<TestCase> test_cases";
        int start = src.indexOf('{', src.indexOf(marker) + marker.length());
        Cursor c = new Cursor(src, start);
        List<Case> cases = new ArrayList<>();
        for (Object item : c.braceList()) {
            cases.add(toCase((List<?>) item));
        }
        return cases;
    }

    private static Case toCase(List<?> f) {
        String expected = (String) f.get(2);
        String jinja = (String) f.get(3);
        List<ChatMessage> extra = new ArrayList<>();
        if (f.size() > 7) {
            for (Object m : (List<?>) f.get(7)) {
                List<?> pair = (List<?>) m;
                extra.add(new ChatMessage((String) pair.get(0), (String) pair.get(1)));
            }
        }
        return new Case((String) f.get(0), (String) f.get(1), expected, jinja.isEmpty() ? expected : jinja,
                f.size() > 4 ? (String) f.get(4) : "", f.size() > 5 ? (String) f.get(5) : "",
                f.size() <= 6 || (Boolean) f.get(6), jinja.isEmpty(), extra);
    }

    /** Reads C++ values: brace lists, adjacent string literals, U8C(...), true/false; skips comments. */
    private static final class Cursor {
        private final String s;
        private int p;

        Cursor(String s, int p) {
            this.s = s;
            this.p = p;
        }

        List<Object> braceList() {
            expect('{');
            List<Object> items = new ArrayList<>();
            while (true) {
                skip();
                if (s.charAt(p) == '}') {
                    p++;
                    return items;
                }
                items.add(value());
                skip();
                if (s.charAt(p) == ',') {
                    p++;
                }
            }
        }

        private Object value() {
            skip();
            char ch = s.charAt(p);
            if (ch == '{') {
                return braceList();
            }
            if (ch == '"') {
                StringBuilder sb = new StringBuilder();
                while (p < s.length() && s.charAt(p) == '"') {
                    sb.append(string());
                    skip();
                }
                return sb.toString();
            }
            if (s.startsWith("U8C(", p)) {
                p += 4;
                Object v = value();
                skip();
                expect(')');
                return v;
            }
            if (s.startsWith("true", p)) {
                p += 4;
                return true;
            }
            if (s.startsWith("false", p)) {
                p += 5;
                return false;
            }
            throw new IllegalStateException("unexpected C++ at offset " + p + ": " + s.substring(p, Math.min(s.length(), p + 40)));
        }

        private String string() {
            expect('"');
            StringBuilder sb = new StringBuilder();
            while (s.charAt(p) != '"') {
                char ch = s.charAt(p++);
                if (ch != '\\') {
                    sb.append(ch);
                    continue;
                }
                char e = s.charAt(p++);
                sb.append(switch (e) {
                    case 'n' -> '\n';
                    case 't' -> '\t';
                    case 'r' -> '\r';
                    default -> e; // \" \\ \'
                });
            }
            p++;
            return sb.toString();
        }

        private void skip() {
            while (p < s.length()) {
                if (Character.isWhitespace(s.charAt(p))) {
                    p++;
                } else if (s.startsWith("/*", p)) {
                    p = s.indexOf("*/", p) + 2;
                } else if (s.startsWith("//", p)) {
                    p = s.indexOf('\n', p);
                } else {
                    return;
                }
            }
        }

        private void expect(char ch) {
            skip();
            if (s.charAt(p) != ch) {
                throw new IllegalStateException("expected '" + ch + "' at offset " + p + " of test-chat-template.cpp");
            }
            p++;
        }
    }
}
