package io.llamaffm.examples.cli;

import java.io.IOException;
import io.llamaffm.grammar.JsonSchemaToGrammar;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Grammar sources for constrained generation: a GBNF file, or a JSON Schema converted to GBNF. */
final class Grammars {
    private Grammars() {}

    /** The GBNF text of a grammar file. */
    static String readGbnf(Path file) {
        return read(file, "grammar");
    }

    /**
     * The GBNF grammar for the JSON Schema in {@code file}.
     *
     * @throws CliException when the schema cannot be converted
     */
    static String fromJsonSchema(Path file) {
        String schema = read(file, "JSON schema");
        try {
            return JsonSchemaToGrammar.convert(schema);
        } catch (IllegalArgumentException e) {
            throw new CliException("cannot convert the JSON schema in " + file + ": " + e.getMessage(), e);
        }
    }

    private static String read(Path file, String what) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CliException("no such " + what + " file: " + file);
        } catch (IOException e) {
            throw new CliException("cannot read " + what + " file " + file + ": " + e, e);
        }
    }
}
