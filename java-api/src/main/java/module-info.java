/** llama-ffm: local LLMs through llama.cpp with the Foreign Function and Memory API. */
module io.llamaffm {
    requires io.llamaffm.bindings;
    requires java.net.http;
    exports io.llamaffm;
    exports io.llamaffm.chat;
    exports io.llamaffm.convert;
    exports io.llamaffm.decoding;
    exports io.llamaffm.embeddings;
    exports io.llamaffm.gguf;
    exports io.llamaffm.grammar;
    exports io.llamaffm.hub;
}
