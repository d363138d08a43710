package io.llamaffm.examples.cli;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Grammar sources for constrained generation: a GBNF file, or a JSON Schema converted to GBNF. */
final class Grammars {
    /** The library's JSON-Schema-to-GBNF converter; it has {@code static String convert(String schemaJson)}. */
    static final String JSON_SCHEMA_CONVERTER = "io.llamaffm.grammar.JsonSchemaToGrammar";

    private Grammars() {}

    /** The GBNF text of a grammar file. */
    static String readGbnf(Path file) {
        return read(file, "grammar");
    }

    /**
     * The GBNF grammar for the JSON Schema in {@code file}.
     *
     * @throws CliException when this build has no converter, or the schema cannot be converted
     */
    static String fromJsonSchema(Path file) {
        String schema = read(file, "JSON schema");
        // Once the converter ships with the library this method body becomes one line:
        //   return io.llamaffm.grammar.JsonSchemaToGrammar.convert(schema);
        Method convert = jsonSchemaConverter();
        try {
            return (String) convert.invoke(null, schema);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new CliException("cannot convert the JSON schema in " + file + ": " + cause.getMessage(), cause);
        } catch (IllegalAccessException e) {
            throw new CliException("cannot use " + JSON_SCHEMA_CONVERTER + ": " + e.getMessage(), e);
        }
    }

    /** Whether this build can convert JSON Schemas. */
    static boolean jsonSchemaAvailable() {
        try {
            jsonSchemaConverter();
            return true;
        } catch (CliException e) {
            return false;
        }
    }

    private static Method jsonSchemaConverter() {
        try {
            return Class.forName(JSON_SCHEMA_CONVERTER).getMethod("convert", String.class);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            throw new CliException("--json-schema is not available yet: this build has no JSON Schema converter ("
                    + JSON_SCHEMA_CONVERTER + "); write the grammar as GBNF and pass it with --grammar");
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
