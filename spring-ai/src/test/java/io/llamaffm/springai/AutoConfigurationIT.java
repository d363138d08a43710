package io.llamaffm.springai;

import io.llamaffm.Model;
import io.llamaffm.TestEnv;
import io.llamaffm.convert.MiniLmFixture;
import io.llamaffm.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The auto-configuration on its own: which beans exist for which properties, and that they close with the context. */
class AutoConfigurationIT {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LlamaFfmAutoConfiguration.class));

    @TempDir
    static Path dir;

    @Test
    void withoutAModelPropertyThereIsNoModelBean() {
        runner.run(ctx -> {
            assertTrue(ctx.getBeansOfType(ChatModel.class).isEmpty());
            assertTrue(ctx.getBeansOfType(EmbeddingModel.class).isEmpty());
            assertEquals(1, ctx.getBeansOfType(LlamaFfmChatProperties.class).size(), "the properties are bound anyway");
        });
    }

    @Test
    void theModelsLoadFromThePropertiesAndCloseWithTheApplicationContext() throws Exception {
        Path minilm = MiniLmFixture.gguf(dir, GgmlType.F32);
        AtomicReference<Model> chatModel = new AtomicReference<>();
        AtomicReference<Model> embeddingModel = new AtomicReference<>();
        runner.withPropertyValues(
                        "llama-ffm.chat.model=" + TestEnv.stories(),
                        "llama-ffm.chat.context-length=256",
                        "llama-ffm.chat.threads=1",
                        "llama-ffm.chat.options.temperature=0.0",
                        "llama-ffm.chat.options.max-tokens=12",
                        "llama-ffm.chat.options.seed=7",
                        "llama-ffm.chat.options.stop-sequences=Lily,park",
                        "llama-ffm.chat.options.tool-choice=required",
                        "llama-ffm.embedding.model=" + minilm,
                        "llama-ffm.embedding.threads=1",
                        "llama-ffm.embedding.normalize=false")
                .run(ctx -> {
                    LlamaFfmChatModel chat = ctx.getBean(LlamaFfmChatModel.class);
                    assertSame(chat, ctx.getBean(ChatModel.class));
                    chatModel.set(chat.model());
                    assertEquals(TestEnv.stories(), chat.model().path());
                    LlamaFfmChatOptions o = chat.getOptions();
                    assertEquals(0.0, o.getTemperature());
                    assertEquals(12, o.getMaxTokens());
                    assertEquals(7, o.getSeed());
                    assertEquals(List.of("Lily", "park"), o.getStopSequences());
                    assertEquals("required", o.getToolChoice());
                    // the context length reaches the pool: a prompt longer than 256 tokens does not fit
                    String answer = chat.call("Once upon a time");
                    assertFalse(answer.contains("Lily") || answer.contains("park"), answer);
                    assertThrows(RuntimeException.class, () -> chat.call("Once upon a time ".repeat(100)));

                    LlamaFfmEmbeddingModel embeddings = ctx.getBean(LlamaFfmEmbeddingModel.class);
                    embeddingModel.set(embeddings.model());
                    assertEquals(minilm, embeddings.model().path());
                    float[] v = embeddings.embed("The cat sleeps.");
                    double norm = 0;
                    for (float x : v) norm += x * x;
                    assertTrue(Math.abs(Math.sqrt(norm) - 1) > 1e-3, "normalize=false: " + Math.sqrt(norm));
                    assertFalse(chatModel.get().isClosed());
                    assertFalse(embeddingModel.get().isClosed());
                });
        assertTrue(chatModel.get().isClosed(), "the chat model closed with the application context");
        assertTrue(embeddingModel.get().isClosed(), "the embedding model closed with the application context");
    }

    static final class Clock {
        @org.springframework.ai.tool.annotation.Tool(description = "The time in a city")
        String time(@org.springframework.ai.tool.annotation.ToolParam(description = "the city") Sky city) {
            return "noon";
        }

        enum Sky { NORTH, SOUTH }
    }

    @Test
    void theApplicationsToolCallingManagerResolvesTheTools() {
        List<String> resolved = new java.util.ArrayList<>();
        ToolCallingManager real = ToolCallingManager.builder().build();
        ToolCallingManager recording = new ToolCallingManager() {
            @Override
            public List<org.springframework.ai.tool.definition.ToolDefinition> resolveToolDefinitions(
                    org.springframework.ai.model.tool.ToolCallingChatOptions options) {
                var definitions = real.resolveToolDefinitions(options);
                definitions.forEach(d -> resolved.add(d.name()));
                return definitions;
            }

            @Override
            public org.springframework.ai.model.tool.ToolExecutionResult executeToolCalls(
                    org.springframework.ai.chat.prompt.Prompt prompt, org.springframework.ai.chat.model.ChatResponse response) {
                return real.executeToolCalls(prompt, response);
            }
        };
        runner.withBean(ToolCallingManager.class, () -> recording)
                .withPropertyValues("llama-ffm.chat.model=" + TestEnv.stories(), "llama-ffm.chat.context-length=512",
                        "llama-ffm.chat.threads=1")
                .run(ctx -> {
                    LlamaFfmChatModel chat = ctx.getBean(LlamaFfmChatModel.class);
                    var response = chat.call(new org.springframework.ai.chat.prompt.Prompt("What time is it in the north?",
                            LlamaFfmChatOptions.builder().toolCallbacks(org.springframework.ai.support.ToolCallbacks.from(new Clock()))
                                    .toolChoice("time").parallelToolCalls(false).temperature(0.0).maxTokens(80).build()));
                    assertEquals(List.of("time"), resolved);
                    assertTrue(response.hasToolCalls(), response.toString());
                    var call = response.getResult().getOutput().getToolCalls().getFirst();
                    assertEquals("time", call.name());
                    assertTrue(call.arguments().matches("\\{\\s*\"city\"\\s*:\\s*\"(NORTH|SOUTH)\"\\s*}"), call.arguments());
                    assertEquals("TOOL_CALLS", response.getResult().getMetadata().getFinishReason());
                });
    }
}
