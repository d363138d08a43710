// llama-ffm: runs llama.cpp's own JSON-schema-to-GBNF converter (libllama-common of the pinned build) on one
// schema, to record the expected grammars of java-api's JsonSchemaToGrammarTest. Built and run by generate.py.
//   usage: reference [--dotall] < schema.json   -> grammar on stdout, warnings/errors on stderr, exit 1 on error
#include "json-schema-to-grammar.h"

#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

int main(int argc, char ** argv) {
    common_grammar_options options;
    options.dotall = argc > 1 && std::strcmp(argv[1], "--dotall") == 0;
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    try {
        common_json schema = common_json::parse(text);
        // what json_schema_to_grammar(schema, true) does, with the options passed through
        std::string grammar = build_grammar([&](const common_grammar_builder & builder) {
            builder.resolve_refs(schema);
            builder.add_schema("", schema);
        }, options);
        std::cout << grammar;
        return 0;
    } catch (const std::exception & e) {
        std::cerr << "ERROR: " << e.what() << "\n";
        return 1;
    }
}
