// Generated-code module of llama-ffm: the jextract bindings for llama.h. Only io.llamaffm uses it.
module io.llamaffm.bindings {
    exports io.llamaffm.bindings to io.llamaffm;
}
