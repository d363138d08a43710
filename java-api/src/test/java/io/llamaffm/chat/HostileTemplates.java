package io.llamaffm.chat;

import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import io.llamaffm.gguf.GgufFile;
import io.llamaffm.gguf.GgufWriter;
import io.llamaffm.gguf.TensorInfo;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The corpus of hostile chat templates and its runner. The corpus is the files of {@code hostile-templates/} (test
 * resources), each starting with {@code {#- expect: KIND FRAGMENT -#}} (the exception's kind and a fragment of its
 * reason: for a limit, the {@code TemplateLimits} component it names), and the cases built here, too large or too deep to
 * keep as files (nesting 10 000 deep, sources over the length limit).
 *
 * <p>{@link #main} is the child JVM of {@link HostileTemplatesTest} and {@link HostileTemplateModelIT}: it runs every
 * case, or those named in its arguments, and reports each on stdout, {@code B NAME} before and
 * {@code E NAME OUTCOME MILLIS REASON} after, where OUTCOME is the exception's kind, {@code NONE} when the template
 * rendered, {@code UNTYPED:Class} for another exception, or {@code OOM} and {@code SOE} for an OutOfMemoryError and a
 * StackOverflowError (after which it exits with status {@value #OOM_EXIT}). With {@code --model=GGUF --work=DIR} each
 * case takes the path of a model's own template: written into a copy of the model's metadata
 * ({@code tokenizer.chat_template}) in DIR, loaded (vocabulary only) and rendered by {@link ChatFormat#forModel}; the time
 * counts from the model loaded to the exception.
 */
public final class HostileTemplates {
    static final int OOM_EXIT = 42;
    /** What every case renders: a short conversation, as a chat would. */
    static final List<ChatMessage> CHAT = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hello"),
            ChatMessage.assistant("Hi!"), ChatMessage.user("What is 2 + 2?"));

    /** One case: its source and what it must end with. */
    record Case(String name, String source, ChatTemplateException.Kind kind, String fragment) {}

    private HostileTemplates() {}

    /** Every case: the files, then the built ones. */
    static List<Case> all() {
        List<Case> out = new ArrayList<>(files());
        out.addAll(built());
        return out;
    }

    /** The cases of {@code hostile-templates/*.jinja}. */
    static List<Case> files() {
        try (Stream<Path> files = Files.list(Path.of(HostileTemplates.class.getResource("hostile-templates").toURI()))) {
            List<Case> out = new ArrayList<>();
            for (Path f : files.filter(p -> p.toString().endsWith(".jinja")).sorted().toList()) {
                String source = Files.readString(f, StandardCharsets.UTF_8);
                String header = source.substring("{#- expect: ".length(), source.indexOf(" -#}"));
                int space = header.indexOf(' ');
                String name = f.getFileName().toString();
                out.add(new Case(name.substring(0, name.length() - ".jinja".length()), source,
                        ChatTemplateException.Kind.valueOf(header.substring(0, space)), header.substring(space + 1)));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cases too large or too deep to keep as files. */
    static List<Case> built() {
        int deep = 10_000;
        ChatTemplateException.Kind limit = ChatTemplateException.Kind.LIMIT;
        Map<String, String> nesting = new LinkedHashMap<>();
        nesting.put("nested-parens-1e4", "{{ " + "(".repeat(deep) + "1" + ")".repeat(deep) + " }}");
        nesting.put("nested-lists-1e4", "{{ " + "[".repeat(deep) + "]".repeat(deep) + " }}");
        nesting.put("nested-dicts-1e4", "{{ " + "{'k': ".repeat(deep) + "1" + "}".repeat(deep) + " }}");
        nesting.put("nested-calls-1e4", "{{ " + "range(".repeat(deep) + "1" + ")".repeat(deep) + " }}");
        nesting.put("nested-ifs-1e4", "{% if true %}".repeat(deep) + "x" + "{% endif %}".repeat(deep));
        nesting.put("nested-fors-1e4", "{% for x in [1] %}".repeat(deep) + "x" + "{% endfor %}".repeat(deep));
        nesting.put("nested-macros-1e4", "{% macro m() %}".repeat(deep) + "x" + "{% endmacro %}".repeat(deep));
        nesting.put("nested-set-blocks-1e4", "{% set x %}".repeat(deep) + "x" + "{% endset %}".repeat(deep));
        nesting.put("not-chain-1e4", "{{ " + "not ".repeat(deep) + "x }}");
        nesting.put("minus-chain-1e4", "{{ " + "- ".repeat(deep) + "1 }}");
        nesting.put("filter-chain-1e4", "{{ 'x'" + "|string".repeat(deep) + " }}");
        nesting.put("attribute-chain-1e4", "{{ messages" + ".x".repeat(deep) + " }}");
        nesting.put("conditional-chain-1e4", "{{ " + "1 if x else ".repeat(deep) + "2 }}");
        nesting.put("concat-chain-1e5", "{{ 'a'" + " ~ 'a'".repeat(100_000) + " }}");
        nesting.put("plus-chain-1e5", "{{ 1" + " + 1".repeat(100_000) + " }}");
        nesting.put("power-chain-1e4", "{{ 1" + " ** 1".repeat(deep) + " }}");
        List<Case> out = new ArrayList<>();
        nesting.forEach((name, source) -> out.add(new Case(name, source, limit, "TemplateLimits.maxNestingDepth")));
        // deep scopes make every lookup walk them: each name lookup costs steps in proportion
        out.add(new Case("nested-with-scopes-lookups", "{% with a = 1 %}".repeat(400)
                + "{% for i in range(10000) %}{% for j in range(10000) %}{{ a if false }}{% endfor %}{% endfor %}"
                + "{% endwith %}".repeat(400), limit,
                "TemplateLimits.maxSteps"));
        out.add(new Case("huge-string-literal", "{{ '" + "x".repeat(TemplateLimits.DEFAULT_MAX_SOURCE_CHARS) + "' }}", limit,
                "TemplateLimits.maxSourceChars"));
        out.add(new Case("huge-list-literal", "{{ [" + "1,".repeat(TemplateLimits.DEFAULT_MAX_SOURCE_CHARS / 2) + "] }}", limit,
                "TemplateLimits.maxSourceChars"));
        out.add(new Case("many-tags", "{{ x }}".repeat(TemplateLimits.DEFAULT_MAX_SOURCE_CHARS / 7 + 1), limit,
                "TemplateLimits.maxSourceChars"));
        out.add(new Case("huge-integer-literal", "{{ " + "9".repeat(100_000) + " }}", ChatTemplateException.Kind.SYNTAX,
                "is out of range: template integers are 64-bit"));
        out.add(new Case("huge-float-literal-in-loop", "{% set r = range(10000)|list %}{% for i in r %}{% for j in r %}{% set x = "
                + "9".repeat(400) + ".5e" + "9".repeat(400) + " %}{% endfor %}{% endfor %}", limit, "TemplateLimits.maxSteps"));
        return out;
    }

    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        Path model = null;
        Path work = null;
        List<String> only = new ArrayList<>();
        for (String a : args) {
            if (a.startsWith("--model=")) {
                model = Path.of(a.substring("--model=".length()));
            } else if (a.startsWith("--work=")) {
                work = Path.of(a.substring("--work=".length()));
            } else {
                only.add(a);
            }
        }
        for (Case c : all()) {
            if (!only.isEmpty() && !only.contains(c.name())) {
                continue;
            }
            out.println("B " + c.name());
            Path file = model == null ? null : withTemplate(model, work.resolve(c.name() + ".gguf"), c.source());
            String outcome;
            String reason = "";
            long start = System.nanoTime();
            try {
                if (file == null) {
                    ChatTemplate.of(c.source()).render(CHAT, true);
                } else {
                    try (Model m = Model.load(file, ModelParams.defaults().withVocabOnly(true))) {
                        start = System.nanoTime();
                        ChatFormat.forModel(m).render(CHAT);
                    } finally {
                        Files.delete(file);
                    }
                }
                outcome = "NONE";
            } catch (ChatTemplateException e) {
                outcome = e.kind().name();
                reason = e.reason();
            } catch (OutOfMemoryError e) {
                outcome = "OOM";
            } catch (StackOverflowError e) {
                outcome = "SOE";
            } catch (RuntimeException e) {
                outcome = "UNTYPED:" + e.getClass().getName();
                reason = String.valueOf(e.getMessage());
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            out.println("E " + c.name() + " " + outcome + " " + millis + " " + reason.replace('\n', ' '));
            if (outcome.equals("OOM") || outcome.equals("SOE")) {
                System.exit(OOM_EXIT);
            }
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
