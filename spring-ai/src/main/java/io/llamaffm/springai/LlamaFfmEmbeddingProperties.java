package io.llamaffm.springai;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code llama-ffm.embedding.*}: the embedding model ({@code model}, {@code context-length}, {@code threads},
 * {@code gpu-layers}, {@code pool-size}), whether vectors are normalized and whether long texts are truncated. The
 * embedding model bean exists when {@code llama-ffm.embedding.model} is set.
 */
@ConfigurationProperties(prefix = LlamaFfmEmbeddingProperties.PREFIX)
public class LlamaFfmEmbeddingProperties extends LlamaFfmModelProperties {
    /** The prefix of these properties. */
    public static final String PREFIX = "llama-ffm.embedding";

    private boolean normalize = true;
    private boolean truncate;

    /** {@return whether vectors are L2-normalized} */
    public boolean isNormalize() {
        return normalize;
    }

    public void setNormalize(boolean normalize) {
        this.normalize = normalize;
    }

    /** {@return whether a text longer than one batch is truncated (else refused)} */
    public boolean isTruncate() {
        return truncate;
    }

    public void setTruncate(boolean truncate) {
        this.truncate = truncate;
    }
}
