/**
 * The generated-code module of llama-ffm: jextract's bindings for llama.h of the pinned llama.cpp release.
 * Its one package is exported to {@code io.llamaffm} only, so the raw bindings stay internal to the library.
 */
module io.llamaffm.bindings {
    exports io.llamaffm.bindings to io.llamaffm;
}
