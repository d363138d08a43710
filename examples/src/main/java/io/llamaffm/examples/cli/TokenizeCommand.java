package io.llamaffm.examples.cli;

import io.llamaffm.Model;
import io.llamaffm.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tokenize MODEL TEXT}: the token ids and pieces of a text, with the model's own tokenizer. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Splits TEXT into the model's tokens and prints each id with its piece. Loads only the "
                + "vocabulary, not the weights."})
final class TokenizeCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Parameters(index = "1", paramLabel = "TEXT", description = "The text to tokenize; '-' reads it from stdin.")
    String text;

    @Option(names = "--json", description = "Print one JSON object: the ids and each token's piece.")
    boolean json;

    @Option(names = "--ids", description = "Print only the ids, on one line, separated by spaces.")
    boolean idsOnly;

    @Option(names = "--no-bos", description = "Do not add the BOS token (or other special tokens the model adds).")
    boolean noBos;

    @Option(names = "--no-special", description = "Treat special-token text such as <s> in TEXT as plain text.")
    boolean noSpecial;

    @Override
    public Integer call() throws IOException {
        String input = "-".equals(text) ? new String(cli.in().readAllBytes(), StandardCharsets.UTF_8) : text;
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = cli.loadModel(model.model, model.params().withVocabOnly(true), spec.commandLine().getErr())) {
            Tokenizer tokenizer = m.tokenizer();
            int[] ids = tokenizer.encode(input, !noBos, !noSpecial);
            if (json) {
                out.println(json(tokenizer, input, ids));
            } else if (idsOnly) {
                StringBuilder sb = new StringBuilder();
                for (int id : ids) {
                    sb.append(sb.isEmpty() ? "" : " ").append(id);
                }
                out.println(sb);
            } else {
                for (int id : ids) {
                    out.println(String.format(Locale.ROOT, "%7d  %s", id, display(tokenizer.pieceBytes(id, true))));
                }
                out.println(ids.length + (ids.length == 1 ? " token" : " tokens"));
            }
            out.flush();
        }
        return LlamaCli.EXIT_OK;
    }

    private static String json(Tokenizer tokenizer, String input, int[] ids) {
        JsonWriter w = new JsonWriter().beginObject();
        w.field("text", input);
        w.field("count", ids.length);
        w.name("ids").beginArray();
        for (int id : ids) {
            w.value(id);
        }
        w.endArray();
        w.name("tokens").beginArray();
        for (int id : ids) {
            byte[] piece = tokenizer.pieceBytes(id, true);
            String s = utf8(piece);
            w.beginObject().field("id", id).field("piece", s != null ? s : new String(piece, StandardCharsets.UTF_8));
            if (s == null) { // a piece that is part of a multi-byte character: its exact bytes
                w.name("bytes").beginArray();
                for (byte b : piece) {
                    w.value(b & 0xFF);
                }
                w.endArray();
            }
            w.endObject();
        }
        w.endArray();
        return w.endObject().toString();
    }

    /** A piece for the text listing: quoted, with bytes that are not whole UTF-8 characters shown as \xNN. */
    private static String display(byte[] piece) {
        String s = utf8(piece);
        if (s != null) {
            return Units.quoted(s);
        }
        StringBuilder sb = new StringBuilder("'");
        for (byte b : piece) {
            sb.append(String.format(Locale.ROOT, "\\x%02x", b & 0xFF));
        }
        return sb.append('\'').toString();
    }

    /** The bytes as a string if they are valid UTF-8, else null. */
    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
