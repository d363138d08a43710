package io.llamaffm.springai;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.NestedConfigurationProperty;

import java.util.List;

/**
 * {@code llama-ffm.chat.*}: the chat model ({@code model}, {@code context-length}, {@code threads}, {@code gpu-layers},
 * {@code pool-size}) and its default options ({@code options.temperature}, {@code options.top-p}, ...). The chat model
 * bean exists when {@code llama-ffm.chat.model} is set.
 */
@ConfigurationProperties(prefix = LlamaFfmChatProperties.PREFIX)
public class LlamaFfmChatProperties extends LlamaFfmModelProperties {
    /** The prefix of these properties. */
    public static final String PREFIX = "llama-ffm.chat";

    @NestedConfigurationProperty
    private final Options options = new Options();

    /** {@return the default options of every request} */
    public Options getOptions() {
        return options;
    }

    /** Default request options; unset ones keep llama-ffm's sampling defaults. */
    public static class Options {
        private Double temperature;
        private Double topP;
        private Integer topK;
        private Double minP;
        private Integer maxTokens;
        private Integer seed;
        private List<String> stopSequences;
        private Double frequencyPenalty;
        private Double presencePenalty;
        private String toolChoice;
        private Boolean parallelToolCalls;

        public Double getTemperature() { return temperature; }
        public void setTemperature(Double temperature) { this.temperature = temperature; }
        public Double getTopP() { return topP; }
        public void setTopP(Double topP) { this.topP = topP; }
        public Integer getTopK() { return topK; }
        public void setTopK(Integer topK) { this.topK = topK; }
        public Double getMinP() { return minP; }
        public void setMinP(Double minP) { this.minP = minP; }
        public Integer getMaxTokens() { return maxTokens; }
        public void setMaxTokens(Integer maxTokens) { this.maxTokens = maxTokens; }
        public Integer getSeed() { return seed; }
        public void setSeed(Integer seed) { this.seed = seed; }
        public List<String> getStopSequences() { return stopSequences; }
        public void setStopSequences(List<String> stopSequences) { this.stopSequences = stopSequences; }
        public Double getFrequencyPenalty() { return frequencyPenalty; }
        public void setFrequencyPenalty(Double frequencyPenalty) { this.frequencyPenalty = frequencyPenalty; }
        public Double getPresencePenalty() { return presencePenalty; }
        public void setPresencePenalty(Double presencePenalty) { this.presencePenalty = presencePenalty; }
        public String getToolChoice() { return toolChoice; }
        public void setToolChoice(String toolChoice) { this.toolChoice = toolChoice; }
        public Boolean getParallelToolCalls() { return parallelToolCalls; }
        public void setParallelToolCalls(Boolean parallelToolCalls) { this.parallelToolCalls = parallelToolCalls; }

        /** {@return these options as chat options} */
        public LlamaFfmChatOptions toChatOptions() {
            return LlamaFfmChatOptions.builder().temperature(temperature).topP(topP).topK(topK).minP(minP)
                    .maxTokens(maxTokens).seed(seed).stopSequences(stopSequences).frequencyPenalty(frequencyPenalty)
                    .presencePenalty(presencePenalty).toolChoice(toolChoice).parallelToolCalls(parallelToolCalls).build();
        }
    }
}
