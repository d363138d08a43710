package io.llamaffm.convert;

import io.llamaffm.LlamaException;

/**
 * An ONNX file is malformed, or its graph is not one the converter understands. The message names the file and, for
 * bytes that are wrong, the offset of the offending field.
 */
public final class OnnxFormatException extends LlamaException {
    /**
     * A malformed or unsupported ONNX file.
     *
     * @param message what is wrong and where
     */
    public OnnxFormatException(String message) {
        super(message);
    }
}
