package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;

import java.util.Objects;

/**
 * LangChain4j's common chat parameters plus the sampling settings only a local model has: the random {@link #seed()}
 * of the final draw and {@link #minP() min-p}. Use it as a request's parameters, or give the values to the model's
 * builder as defaults:
 *
 * <pre>{@code
 * ChatRequest.builder().messages(UserMessage.from("Hi"))
 *     .parameters(LlamaFfmChatRequestParameters.builder().temperature(0.7).seed(42).build())
 *     .build();
 * }</pre>
 */
public final class LlamaFfmChatRequestParameters extends DefaultChatRequestParameters {
    private final Integer seed;
    private final Double minP;

    private LlamaFfmChatRequestParameters(Builder builder) {
        super(builder);
        this.seed = builder.seed;
        this.minP = builder.minP;
    }

    /** The seed of the random draw (same seed, same settings, same prompt: same answer); null for a new draw each call. */
    public Integer seed() {
        return seed;
    }

    /** Keep tokens at least this probable relative to the most probable one (0..1); null for the model's default. */
    public Double minP() {
        return minP;
    }

    /** These parameters with every value set in {@code that} replacing this one's (seed and min-p included). */
    @Override
    public LlamaFfmChatRequestParameters overrideWith(ChatRequestParameters that) {
        return builder().overrideWith(this).overrideWith(that).build();
    }

    /** {@code that}'s values where these parameters leave a value unset. */
    @Override
    public LlamaFfmChatRequestParameters defaultedBy(ChatRequestParameters that) {
        return builder().overrideWith(that).overrideWith(this).build();
    }

    /** A builder with nothing set. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LlamaFfmChatRequestParameters that && super.equals(o) && Objects.equals(seed, that.seed)
                && Objects.equals(minP, that.minP);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), seed, minP);
    }

    @Override
    public String toString() {
        return "LlamaFfmChatRequestParameters{" + super.toString() + ", seed=" + seed + ", minP=" + minP + "}";
    }

    /** Builds {@link LlamaFfmChatRequestParameters}; every value is optional. */
    public static final class Builder extends DefaultChatRequestParameters.Builder<Builder> {
        private Integer seed;
        private Double minP;

        private Builder() {}

        /** Copies every value {@code parameters} sets (seed and min-p too, when they are llama-ffm parameters). */
        @Override
        public Builder overrideWith(ChatRequestParameters parameters) {
            super.overrideWith(parameters);
            if (parameters instanceof LlamaFfmChatRequestParameters p) {
                seed = p.seed != null ? p.seed : seed;
                minP = p.minP != null ? p.minP : minP;
            }
            return this;
        }

        /** The seed of the random draw; null for a new draw each call. */
        public Builder seed(Integer seed) {
            this.seed = seed;
            return this;
        }

        /** Min-p (0..1); null for the default. */
        public Builder minP(Double minP) {
            this.minP = minP;
            return this;
        }

        /** The parameters. */
        @Override
        public LlamaFfmChatRequestParameters build() {
            return new LlamaFfmChatRequestParameters(this);
        }
    }
}
