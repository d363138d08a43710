package io.llamaffm.springai;

import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.prompt.ChatOptions;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The options as ChatClient uses them: mutate the model's defaults, then combine the request's customizer. */
class LlamaFfmChatOptionsTest {
    private static final LlamaFfmChatOptions DEFAULTS = LlamaFfmChatOptions.builder().temperature(0.2).topK(20).seed(3)
            .minP(0.05).toolChoice("auto").maxTokens(100).build();

    @Test
    void mutateKeepsEveryOptionAndEqualsComparesThem() {
        LlamaFfmChatOptions all = LlamaFfmChatOptions.builder().model("m").temperature(0.7).topP(0.9).topK(40).minP(0.1)
                .maxTokens(64).seed(42).stopSequences(List.of("END")).frequencyPenalty(0.5).presencePenalty(0.25)
                .toolChoice("required").parallelToolCalls(false).outputSchema("{\"type\":\"object\"}").build();
        assertEquals(all, all.mutate().build());
        assertEquals(all.hashCode(), all.mutate().build().hashCode());
        assertNotEquals(all, all.mutate().seed(43).build());
        assertNotEquals(all, all.mutate().outputSchema(null).build());
    }

    @Test
    void aCustomizerOverridesWhatItSetsAndKeepsTheRest() {
        ChatOptions.Builder<?> merged = DEFAULTS.mutate().combineWith(
                LlamaFfmChatOptions.builder().temperature(0.9).seed(11).toolChoice("required").parallelToolCalls(false));
        LlamaFfmChatOptions o = (LlamaFfmChatOptions) merged.build();
        assertEquals(0.9, o.getTemperature());
        assertEquals(11, o.getSeed());
        assertEquals("required", o.getToolChoice());
        assertEquals(false, o.getParallelToolCalls());
        assertEquals(20, o.getTopK());
        assertEquals(0.05, o.getMinP());
        assertEquals(100, o.getMaxTokens());
        assertNull(o.getOutputSchema());
    }

    @Test
    void portableOptionsOfAnotherTypeCombineToo() {
        LlamaFfmChatOptions o = (LlamaFfmChatOptions) DEFAULTS.mutate()
                .combineWith(ChatOptions.builder().topP(0.5).stopSequences(List.of("x"))).build();
        assertEquals(0.5, o.getTopP());
        assertEquals(List.of("x"), o.getStopSequences());
        assertEquals(3, o.getSeed());
    }
}
