package io.llamaffm.internal;

import io.llamaffm.BackendInfo;
import io.llamaffm.Llama;
import io.llamaffm.NativeLibraryException;

/** Run in a fresh JVM by {@link NativeLoaderIT}: loads the natives and prints what was loaded, one key=value a line. */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) {
        try {
            BackendInfo info = Llama.backendInfo();
            System.out.println("dir=" + info.nativeDirectory());
            System.out.println("variant=" + info.variant());
            System.out.println("origin=" + info.origin());
            System.out.println("cpu=" + info.cpuVariant().orElse(""));
            if (args.length > 0) { // also load a model, vocabulary only (llama.cpp logs warnings for stories260K)
                try (io.llamaffm.Model m = io.llamaffm.Model.load(java.nio.file.Path.of(args[0]),
                        io.llamaffm.ModelParams.defaults().withVocabOnly(true))) {
                    System.out.println("vocab=" + m.tokenizer().vocabularySize());
                }
            }
        } catch (NativeLibraryException e) {
            System.out.println("error=" + e.getMessage().replace('\n', '|'));
            System.exit(3);
        }
    }
}
