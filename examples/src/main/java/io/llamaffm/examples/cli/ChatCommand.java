package io.llamaffm.examples.cli;

import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ChatSession;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.examples.LeadingSpaceTrimmer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code chat MODEL}: a conversation, one user message per line of stdin, until EOF or /exit. */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chats with the model: reads one user message per line from stdin and streams each reply to "
                + "stdout, keeping the whole conversation (earlier turns are reused from the KV cache, not decoded "
                + "again). Ends at end of input or /exit; /reset starts a new conversation. A summary of each turn "
                + "goes to stderr.",
                "A model with a chat template in its GGUF is prompted with it; others in a plain "
                        + "'User: ... / Assistant: ...' format. Replies stream as they are generated; a progress bar shows "
                        + "while the model loads (on a terminal, or with --progress=always)."})
final class ChatCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message that opens the conversation.")
    String system;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "256",
            description = "Most tokens per reply (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Also end a reply before this text; repeatable.")
    List<String> stops = new ArrayList<>();

    @Mixin
    ContextOptions context;

    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() throws IOException {
        CliException.atLeast(maxTokens, 1, "--max-tokens");
        GenerationParams params = new GenerationParams(maxTokens, stops, false, false);
        SamplerChain chain = sampling.chain();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean interactive = cli.terminal();
        Charset inCharset = interactive ? Charset.forName(System.getProperty("stdin.encoding", "UTF-8"), StandardCharsets.UTF_8)
                : StandardCharsets.UTF_8;
        BufferedReader in = new BufferedReader(new InputStreamReader(cli.in(), inCharset));
        try (Model m = cli.loadModel(model.model, model.params(), err);
             Context ctx = m.newContext(context.params())) {
            ChatFormat format = ChatFormat.forModel(m);
            ChatSession session = new ChatSession(ctx, format, system);
            if (interactive) {
                err.println("chatting with " + m.config().name() + " (" + format.name()
                        + " format). /reset starts over, /exit or end of input (Ctrl-D) quits.");
            }
            while (true) {
                if (interactive) {
                    out.print("> ");
                    out.flush();
                }
                String line = in.readLine();
                if (line == null) {
                    break;
                }
                String message = line.strip();
                if (message.isEmpty()) {
                    continue;
                }
                if (message.equals("/exit") || message.equals("/quit")) {
                    break;
                }
                if (message.equals("/reset")) {
                    session.reset();
                    err.println("(new conversation)");
                    continue;
                }
                Completion c = session.send(message, params, chain, new LeadingSpaceTrimmer(piece -> {
                    out.print(piece);
                    out.flush();
                    if (out.checkError()) {
                        ctx.cancel(); // nobody reads the reply any more
                    }
                }));
                out.println();
                out.flush();
                if (out.checkError()) {
                    break;
                }
                err.println(Reports.timings(c));
                err.flush();
            }
        }
        return LlamaCli.EXIT_OK;
    }
}
