package io.llamaffm.grammar;

import io.llamaffm.SamplerChain;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The child JVM of {@link HostileGrammarsTest}: runs every case of {@link HostileGrammars} on a thread with a
 * {@value #STACK_BYTES}-byte stack (half the usual default) and prints one line per case,
 * {@code kind TAB name TAB exception class TAB milliseconds TAB message}, tabs and line breaks in the message
 * escaped. A case that returns prints {@code -} as its class. Schemas go through
 * {@link JsonSchemaToGrammar#convert(String)}, and through {@link GrammarBuilder#schema(String, String)} into a
 * {@link SamplerChain.Grammar} as tool arguments do; grammars through {@link SamplerChain.Grammar#of(String)}.
 */
public final class HostileGrammarsChild {
    static final long STACK_BYTES = 512 * 1024;

    private HostileGrammarsChild() {}

    public static void main(String[] args) throws InterruptedException {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        Thread worker = new Thread(null, () -> {
            run("schema", HostileGrammars.schemas(), out, JsonSchemaToGrammar::convert);
            run("builder", HostileGrammars.schemas(), out, text -> { // as a tool's arguments are
                GrammarBuilder g = new GrammarBuilder();
                g.rule("root", GrammarBuilder.literal("<call>") + " " + g.schema("args", text));
                return SamplerChain.Grammar.of(g.build()).gbnf();
            });
            run("gbnf", HostileGrammars.gbnf(), out, text -> SamplerChain.Grammar.of(text).gbnf());
        }, "hostile-grammars", STACK_BYTES);
        worker.start();
        worker.join();
        out.println("done");
    }

    private static void run(String kind, List<HostileGrammars.Case> cases, PrintStream out,
                            java.util.function.Function<String, String> convert) {
        for (HostileGrammars.Case c : cases) {
            String text = c.text().get();
            String exception = "-";
            String message = "";
            long start = System.nanoTime();
            try {
                convert.apply(text);
            } catch (Throwable t) { // everything, StackOverflowError and OutOfMemoryError included, is reported
                exception = t.getClass().getName();
                message = String.valueOf(t.getMessage());
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            text = null;
            message = message.length() > 2000 ? message.substring(0, 2000) : message;
            out.println(kind + "\t" + c.name() + "\t" + exception + "\t" + millis + "\t"
                    + message.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r"));
        }
    }
}
