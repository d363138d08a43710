package io.llamaffm;

import io.llamaffm.gguf.GgufFile;

import java.nio.file.Path;

/**
 * Temporary forwarder: the file checks live in {@link io.llamaffm.internal.load.ModelFileCheck}. Only
 * {@link LoraAdapter} still names this one (it is being restructured on another branch); once it imports
 * {@code io.llamaffm.internal.load.ModelFileCheck}, delete this class.
 */
final class ModelFileCheck {
    private ModelFileCheck() {}

    static void adapter(GgufFile file, Path label) {
        io.llamaffm.internal.load.ModelFileCheck.adapter(file, label);
    }
}
