package io.llamaffm.examples.cli;

import io.llamaffm.chat.PlainChatFormat;

import io.llamaffm.chat.ChatMessage;
import io.llamaffm.hub.DownloadProgress;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's parts that need no natives and no model: argument dispatch, usage errors, JSON, progress, chat format. */
class CliTest {
    record Run(int code, String out, String err) {}

    static Run run(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = LlamaCli.run(args, new ByteArrayInputStream(stdin.getBytes()), new PrintWriter(out), new PrintWriter(err), false);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void argumentsThatAreNotASubcommandOrOptionRunTheGenerateExample() {
        assertFalse(LlamaCli.isCliInvocation(new String[0]));
        assertFalse(LlamaCli.isCliInvocation(new String[] {"model.gguf", "Once upon a time", "32"}));
        assertTrue(LlamaCli.isCliInvocation(new String[] {"generate", "m.gguf", "-p", "x"}));
        assertTrue(LlamaCli.isCliInvocation(new String[] {"--help"}));
        assertTrue(LlamaCli.isCliInvocation(new String[] {"--verbose", "inspect", "m.gguf"}));
        assertEquals(java.util.Set.of("inspect", "tokenize", "generate", "chat", "embed", "search", "convert-onnx", "serve", "extract",
                        "info", "pull", "help"),
                LlamaCli.subcommandNames());
    }

    @Test
    void everySubcommandHasHelp() {
        for (String sub : List.of("inspect", "tokenize", "generate", "chat", "serve", "extract", "info")) {
            Run r = run("", sub, "--help");
            assertEquals(0, r.code(), sub);
            assertTrue(r.out().startsWith("Usage: llama-ffm " + sub), r.out());
        }
        Run gen = run("", "generate", "--help");
        for (String option : List.of("--prompt", "--max-tokens", "--temperature", "--top-k", "--top-p", "--min-p", "--seed",
                "--grammar", "--json-schema", "--stop", "--ctx", "--threads")) {
            assertTrue(gen.out().contains(option), option + " in " + gen.out());
        }
        Run serve = run("", "serve", "--help");
        for (String option : List.of("--model", "--embedding-model", "--host", "--port", "--ctx", "--threads", "--parallel",
                "--queue-timeout", "127.0.0.1")) {
            assertTrue(serve.out().contains(option), option + " in " + serve.out());
        }
        Run inspect = run("", "inspect", "--help");
        for (String option : List.of("--json", "--ctx", "--batch", "--parallel", "--cache-type", "--gpu-layers", "--load")) {
            assertTrue(inspect.out().contains(option), option + " in " + inspect.out());
        }
    }

    @Test
    void usageErrorsAreOneLineAndExitWithTwo() {
        Run missing = run("", "generate", "model.gguf");
        assertEquals(2, missing.code());
        assertEquals("llama-ffm generate: Missing required option: '--prompt=TEXT' (see 'llama-ffm generate --help')\n",
                missing.err());
        Run unknown = run("", "tokenize", "m.gguf", "text", "--frobnicate");
        assertEquals(2, unknown.code());
        assertEquals(1, unknown.err().lines().count(), unknown.err());
        assertTrue(unknown.err().contains("Unknown option: '--frobnicate'"), unknown.err());
        Run badEnum = run("", "inspect", "m.gguf", "--cache-type", "q9_9");
        assertEquals(2, badEnum.code());
        assertTrue(badEnum.err().contains("expected one of [F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1]"), badEnum.err());
        Run noSub = run("", "--verbose");
        assertEquals(2, noSub.code());
        assertTrue(noSub.err().contains("a subcommand is required"), noSub.err());
    }

    @Test
    void aMissingModelIsOneLineWithoutAStackTrace() {
        Run r = run("", "inspect", "/no/such/model.gguf");
        assertEquals(1, r.code());
        assertEquals("error: cannot read model /no/such/model.gguf: no such file\n", r.err());
        Run loading = run("", "inspect", "/no/such/model.gguf", "--load");
        assertEquals(1, loading.code());
        assertEquals("error: cannot load model /no/such/model.gguf: no such file\n", loading.err());
        Run verbose = run("", "inspect", "/no/such/model.gguf", "--load", "--verbose");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("\tat io.llamaffm.Model.load"), verbose.err());
    }

    @Test
    void optionValuesAreCheckedBeforeAModelLoads() {
        Run r = run("", "generate", "/no/such/model.gguf", "-p", "x", "--grammar", "/no/such/grammar.gbnf");
        assertEquals(1, r.code());
        assertEquals("error: no such grammar file: /no/such/grammar.gbnf\n", r.err());
        Run both = run("", "generate", "/no/such/model.gguf", "-p", "x", "--grammar", "a", "--json-schema", "b");
        assertEquals("error: --grammar and --json-schema cannot be used together\n", both.err());
        Run tokens = run("", "generate", "/no/such/model.gguf", "-p", "x", "--max-tokens", "0");
        assertEquals("error: --max-tokens must be >= 1, got 0\n", tokens.err());
        Run topK = run("", "generate", "/no/such/model.gguf", "-p", "x", "--top-k", "-1");
        assertEquals("error: --top-k must be >= 0 (0 = off), got -1\n", topK.err());
        Run topP = run("", "chat", "/no/such/model.gguf", "--top-p", "1.5");
        assertEquals("error: --top-p must be in [0, 1] (1 = off), got 1.5\n", topP.err());
        Run repeat = run("", "generate", "/no/such/model.gguf", "-p", "x", "--repeat-penalty", "0");
        assertEquals("error: --repeat-penalty must be a number > 0 (1 = off), got 0.0\n", repeat.err());
        Run port = run("", "serve", "--model", "/no/such/model.gguf", "--port", "70000");
        assertEquals("error: --port must be in 0..65535, got 70000\n", port.err());
        Run parallel = run("", "serve", "--model", "/no/such/model.gguf", "--parallel", "0");
        assertEquals("error: --parallel must be >= 1, got 0\n", parallel.err());
        Run noModel = run("", "serve");
        assertEquals(2, noModel.code());
        assertTrue(noModel.err().contains("Missing required option: '--model=MODEL'"), noModel.err());
        Run schema = run("", "extract", "/no/such/model.gguf", "--schema", "/no/such/schema.json", "text");
        assertEquals("error: no such JSON schema file: /no/such/schema.json\n", schema.err());
        Run noSchema = run("", "extract", "/no/such/model.gguf", "text");
        assertEquals(2, noSchema.code());
    }

    @Test
    void theMostTellingLoadErrorLineIsChosen() {
        assertEquals("gguf_init_from_reader: invalid magic characters: 'root', expected 'GGUF'", LlamaCli.loadFailureCause(List.of(
                "gguf_init_from_reader: invalid magic characters: 'root', expected 'GGUF'",
                "llama_model_load: error loading model: llama_model_loader: failed to load model from x",
                "llama_model_load_from_file_impl: failed to load model")));
        assertEquals("check_tensor_dims: tensor 'token_embd.weight' not found", LlamaCli.loadFailureCause(List.of(
                "load: control-looking token:      2 '</s>' was not control-type",
                "llama_model_load: error loading model: check_tensor_dims: tensor 'token_embd.weight' not found",
                "llama_model_load_from_file_impl: failed to load model")));
        assertEquals("something else", LlamaCli.loadFailureCause(List.of("something else ")));
    }

    @Test
    void jsonWriterEscapesEverythingAndTheResultParses() {
        String tricky = "quote \" backslash \\ newline \n tab \t nul \0 bell \u0007 sep \u2028 emoji 🦙 lone \ud800 end";
        String json = new JsonWriter().beginObject()
                .field("s", tricky)
                .field("n", -42)
                .field("f", 0.95f)
                .field("d", 1e-5)
                .field("whole", 10000.0f)
                .field("nan", Float.NaN)
                .field("yes", true)
                .name("none").nullValue()
                .name("list").beginArray().value(1).value("two").beginObject().endObject().beginArray().endArray().endArray()
                .endObject().toString();
        assertFalse(json.contains("\n"), json);
        Object doc = MiniJson.parse(json);
        assertEquals(tricky, MiniJson.get(doc, "s"));
        assertEquals(-42L, MiniJson.get(doc, "n"));
        assertEquals(0.95, MiniJson.get(doc, "f"));
        assertEquals(1e-5, MiniJson.get(doc, "d"));
        assertEquals(10000L, MiniJson.get(doc, "whole"));
        assertEquals(null, MiniJson.get(doc, "nan"));
        assertEquals(true, MiniJson.get(doc, "yes"));
        assertTrue(((Map<?, ?>) doc).containsKey("none"));
        assertEquals(List.of(1L, "two", Map.of(), List.of()), MiniJson.get(doc, "list"));
        assertTrue(json.contains("\\ud800"), "a lone surrogate is escaped, not written as invalid UTF-16: " + json);
    }

    @Test
    void jsonWriterRefusesMalformedDocuments() {
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginObject().value(1));
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginArray().name("x"));
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginObject().toString());
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginArray().endObject());
        assertThrows(IllegalStateException.class, () -> new JsonWriter().value(1).value(2));
        assertEquals("[]", new JsonWriter().beginArray().endArray().toString());
        assertEquals("\"x\"", new JsonWriter().value("x").toString());
    }

    @Test
    void progressBarSpinsUntilAFractionIsKnownThenDrawsABar() {
        AtomicLong now = new AtomicLong(0);
        StringWriter sink = new StringWriter();
        ProgressBar bar = new ProgressBar("loading m.gguf", new PrintWriter(sink), now::get);
        now.set(1_250_000_000L);
        assertEquals("| loading m.gguf  1.3 s", bar.render(1_250_000_000L));
        bar.tick();
        assertEquals("/ loading m.gguf  1.3 s", bar.render(1_250_000_000L));
        assertTrue(sink.toString().endsWith("\r/ loading m.gguf  1.3 s"), sink.toString());
        bar.update(0.5);
        assertEquals("loading m.gguf [##########----------]  50%  2.0 s", bar.render(2_000_000_000L));
        bar.update(7);
        assertEquals("loading m.gguf [####################] 100%  2.0 s", bar.render(2_000_000_000L));
        bar.finish("done");
        String drawn = sink.toString();
        assertTrue(drawn.endsWith("\rdone" + " ".repeat("loading m.gguf [####################] 100%  1.3 s".length() - 4)
                + System.lineSeparator()), "the final message covers the longer bar: [" + drawn + "]");
        int length = drawn.length();
        bar.tick();
        bar.finish("again");
        assertEquals(length, sink.toString().length(), "nothing is drawn after finish");
    }

    @Test
    void aDownloadBarShowsBytesRateAndTimeLeft() {
        DownloadProgress p = new DownloadProgress("m-Q4_K_M.gguf", 1, 3, 1L << 20, 4L << 20, 2 << 20);
        assertEquals("1.0 MiB / 4.0 MiB  2.0 MiB/s  ETA 2 s", ModelDownloads.detail(p));
        assertEquals("4.0 MiB / 4.0 MiB  2.0 MiB/s", ModelDownloads.detail(new DownloadProgress("m", 1, 1, 4L << 20, 4L << 20, 2 << 20)),
                "no ETA once done");
        assertEquals("512 B", ModelDownloads.detail(new DownloadProgress("m", 1, 1, 512, -1, 0)), "size and rate unknown");
        assertEquals("59 s", ModelDownloads.eta(Duration.ofMillis(58_001)));
        assertEquals("2 min 5 s", ModelDownloads.eta(Duration.ofSeconds(125)));
        assertEquals("1 h 3 min", ModelDownloads.eta(Duration.ofSeconds(3790)));
        ProgressBar bar = new ProgressBar("pulling m-Q4_K_M.gguf (1/3)", new PrintWriter(new StringWriter()), () -> 0L);
        bar.update(p.fraction(), ModelDownloads.detail(p));
        assertEquals("pulling m-Q4_K_M.gguf (1/3) [#####---------------]  25%  1.0 MiB / 4.0 MiB  2.0 MiB/s  ETA 2 s",
                bar.render(1_000_000_000L));
    }

    @Test
    void thePlainChatFormatRendersTurnsAndEachRenderingExtendsThePrevious() {
        PlainChatFormat f = new PlainChatFormat();
        List<ChatMessage> one = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"));
        List<ChatMessage> two = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello."),
                ChatMessage.user("Bye"));
        assertEquals("Be brief.\n\nUser: Hi\nAssistant:", f.render(one));
        assertEquals("Be brief.\n\nUser: Hi\nAssistant: Hello.\nUser: Bye\nAssistant:", f.render(two));
        assertTrue(f.render(two).startsWith(f.render(one)), "prefix reuse needs each rendering to extend the last");
        assertEquals(List.of("\nUser:"), f.stopStrings());
        assertFalse(f.parseSpecial());
    }

    @Test
    void theChatReplyPrinterDropsOnlyTheLeadingSpace() {
        StringBuilder sb = new StringBuilder();
        io.llamaffm.examples.LeadingSpaceTrimmer t = new io.llamaffm.examples.LeadingSpaceTrimmer(sb::append);
        for (String piece : List.of(" ", " Hello", " there", "\n", " you")) {
            t.accept(piece);
        }
        assertEquals("Hello there\n you", sb.toString());
    }

    @Test
    void anInvalidJsonSchemaIsAOneLineError() {
        CliException e = assertThrows(CliException.class, () -> Grammars.fromJsonSchema(java.nio.file.Path.of("pom.xml")));
        assertTrue(e.getMessage().startsWith("cannot convert the JSON schema in pom.xml"), e.getMessage());
    }

    @Test
    void unitsAreReadable() {
        assertEquals("512 B", Units.bytes(512));
        assertEquals("1.1 MiB", Units.bytes(1_171_200));
        assertEquals("8.0 GiB", Units.bytes(8L << 30));
        assertEquals("292.8 K", Units.count(292_800));
        assertEquals("7.24 B", Units.count(7_241_732_096L));
        assertEquals("' Once'", Units.quoted(" Once"));
        assertEquals("'\\n\\t\\'\\\\\\u200b'", Units.quoted("\n\t'\\\u200b"));
    }
}
