package io.llamaffm.springai;

import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.model.tool.DefaultToolCallingChatOptions;
import org.springframework.ai.model.tool.StructuredOutputChatOptions;
import org.springframework.ai.tool.ToolCallback;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Options of a {@link LlamaFfmChatModel} request: Spring AI's portable ones (temperature, top-p, top-k, max tokens,
 * stop sequences, frequency and presence penalties, tool callbacks and context), llama-ffm's sampling extras
 * ({@code seed}, {@code minP}), how tools are chosen ({@code toolChoice}, {@code parallelToolCalls}) and a JSON schema
 * the reply must follow ({@code outputSchema}, set by {@code ChatClient}'s native structured output or by hand).
 * A null option means "not set": the model's defaults fill it, then llama-ffm's own
 * ({@link io.llamaffm.SamplingParams#defaults()}).
 *
 * <p><b>Tool choice</b>: {@code "auto"} (default: the model decides), {@code "required"} (the reply must call a tool;
 * once the conversation ends with tool results the reply answers from them, so the tool loop of {@code ChatClient}
 * ends), {@code "none"}, or the name of the one tool to call. A request without tools ignores it. Calls are held to the tools' JSON schemas by a grammar.
 */
public class LlamaFfmChatOptions extends DefaultToolCallingChatOptions implements StructuredOutputChatOptions {
    /** Tool choice: the model decides whether to call a tool. */
    public static final String TOOL_CHOICE_AUTO = "auto";
    /** Tool choice: the reply must call a tool (until the conversation ends with tool results). */
    public static final String TOOL_CHOICE_REQUIRED = "required";
    /** Tool choice: no tool is called. */
    public static final String TOOL_CHOICE_NONE = "none";

    private final @Nullable Integer seed;
    private final @Nullable Double minP;
    private final @Nullable String toolChoice;
    private final @Nullable Boolean parallelToolCalls;
    private final @Nullable String outputSchema;

    protected LlamaFfmChatOptions(Builder<?> b) {
        super(b.toolCallbacks(), b.toolContext(), b.model(), b.frequencyPenalty(), b.maxTokens(), b.presencePenalty(),
                b.stopSequences(), b.temperature(), b.topK(), b.topP());
        this.seed = b.seed;
        this.minP = b.minP;
        this.toolChoice = b.toolChoice;
        this.parallelToolCalls = b.parallelToolCalls;
        this.outputSchema = b.outputSchema;
    }

    /** {@return a builder with nothing set} */
    public static Builder<?> builder() {
        return new Builder<>();
    }

    /** {@return the seed of the random draw, or null for llama-ffm's default} */
    public @Nullable Integer getSeed() {
        return seed;
    }

    /** {@return the min-p cut-off, or null for llama-ffm's default} */
    public @Nullable Double getMinP() {
        return minP;
    }

    /** {@return "auto", "required", "none" or a tool's name; null means auto} */
    public @Nullable String getToolChoice() {
        return toolChoice;
    }

    /** {@return whether one reply may call several tools; null means yes} */
    public @Nullable Boolean getParallelToolCalls() {
        return parallelToolCalls;
    }

    @Override
    public @Nullable String getOutputSchema() {
        return outputSchema;
    }

    @Override
    public Builder<?> mutate() {
        Builder<?> b = builder();
        b.model(getModel()).frequencyPenalty(getFrequencyPenalty()).maxTokens(getMaxTokens())
                .presencePenalty(getPresencePenalty()).stopSequences(getStopSequences()).temperature(getTemperature())
                .topK(getTopK()).topP(getTopP()).toolCallbacks(getToolCallbacks()).toolContext(getToolContext());
        return b.seed(seed).minP(minP).toolChoice(toolChoice).parallelToolCalls(parallelToolCalls).outputSchema(outputSchema);
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof LlamaFfmChatOptions that && super.equals(o) && Objects.equals(seed, that.seed)
                && Objects.equals(minP, that.minP) && Objects.equals(toolChoice, that.toolChoice)
                && Objects.equals(parallelToolCalls, that.parallelToolCalls) && Objects.equals(outputSchema, that.outputSchema);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), seed, minP, toolChoice, parallelToolCalls, outputSchema);
    }

    @Override
    public String toString() {
        return "LlamaFfmChatOptions[temperature=" + getTemperature() + ", topP=" + getTopP() + ", topK=" + getTopK()
                + ", minP=" + minP + ", maxTokens=" + getMaxTokens() + ", stopSequences=" + getStopSequences()
                + ", frequencyPenalty=" + getFrequencyPenalty() + ", presencePenalty=" + getPresencePenalty()
                + ", seed=" + seed + ", toolChoice=" + toolChoice + ", parallelToolCalls=" + parallelToolCalls
                + ", tools=" + (getToolCallbacks() == null ? 0 : getToolCallbacks().size())
                + ", outputSchema=" + (outputSchema != null) + "]";
    }

    /**
     * Builds {@link LlamaFfmChatOptions}; {@link #combineWith} takes every option the other builder set.
     *
     * @param <B> this builder's type
     */
    public static class Builder<B extends Builder<B>> extends DefaultToolCallingChatOptions.Builder<B>
            implements StructuredOutputChatOptions.Builder<B> {
        private @Nullable Integer seed;
        private @Nullable Double minP;
        private @Nullable String toolChoice;
        private @Nullable Boolean parallelToolCalls;
        private @Nullable String outputSchema;

        /** A builder with nothing set. */
        public Builder() {}

        /** The seed of the random draw (same seed, same options, same prompt: same reply). */
        public B seed(@Nullable Integer seed) {
            this.seed = seed;
            return self();
        }

        /** The min-p cut-off: tokens below {@code minP} times the best token's probability are dropped. */
        public B minP(@Nullable Double minP) {
            this.minP = minP;
            return self();
        }

        /** "auto", "required", "none" or the name of the one tool to call. */
        public B toolChoice(@Nullable String toolChoice) {
            this.toolChoice = toolChoice;
            return self();
        }

        /** Whether one reply may call several tools (default true). */
        public B parallelToolCalls(@Nullable Boolean parallelToolCalls) {
            this.parallelToolCalls = parallelToolCalls;
            return self();
        }

        @Override
        public B outputSchema(@Nullable String outputSchema) {
            this.outputSchema = outputSchema;
            return self();
        }

        @Override
        public B combineWith(ChatOptions.Builder<?> other) {
            super.combineWith(other);
            if (other instanceof Builder<?> that) {
                if (that.seed != null) seed = that.seed;
                if (that.minP != null) minP = that.minP;
                if (that.toolChoice != null) toolChoice = that.toolChoice;
                if (that.parallelToolCalls != null) parallelToolCalls = that.parallelToolCalls;
                if (that.outputSchema != null) outputSchema = that.outputSchema;
            }
            return self();
        }

        @Override
        public LlamaFfmChatOptions build() {
            return new LlamaFfmChatOptions(this);
        }

        // the inherited builder keeps these fields protected or private: read back what was set
        @Nullable List<ToolCallback> toolCallbacks() { return toolCallbacks; }
        @Nullable Map<String, Object> toolContext() { return toolContext; }
        @Nullable String model() { return model; }
        @Nullable Double frequencyPenalty() { return frequencyPenalty; }
        @Nullable Integer maxTokens() { return maxTokens; }
        @Nullable Double presencePenalty() { return presencePenalty; }
        @Nullable List<String> stopSequences() { return stopSequences; }
        @Nullable Double temperature() { return temperature; }
        @Nullable Integer topK() { return topK; }
        @Nullable Double topP() { return topP; }
    }
}
