package io.llamaffm.langchain4j;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.TokenStream;
import io.llamaffm.Model;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The streaming chat model on stories260K: callbacks in order, adding up to the blocking model's answer. */
class StreamingChatModelIT {
    static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    /** Every callback, in order: "partial:TEXT", "complete", "error:CLASS". */
    static class Recorder implements StreamingChatResponseHandler {
        final List<String> events = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        ChatResponse complete;
        Throwable error;
        final Thread expectedThread;

        Recorder(Thread expectedThread) {
            this.expectedThread = expectedThread;
        }

        @Override
        public void onPartialResponse(String partial) {
            events.add("partial:" + partial);
            text.append(partial);
            assertThread();
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            events.add("complete");
            complete = response;
            assertThread();
        }

        @Override
        public void onError(Throwable e) {
            events.add("error:" + e.getClass().getSimpleName());
            error = e;
        }

        private void assertThread() {
            if (expectedThread != null && Thread.currentThread() != expectedThread) {
                throw new AssertionError("callback on " + Thread.currentThread());
            }
        }
    }

    static LlamaFfmStreamingChatModel.Builder greedy() {
        return LlamaFfmStreamingChatModel.builder().model(model).contextParams(ChatModelIT.CONTEXT).temperature(0.0)
                .maxOutputTokens(ChatModelIT.MAX);
    }

    @Test
    void partialsArriveInOrderAndAddUpToTheBlockingAnswer() {
        ChatResponse blocking;
        try (LlamaFfmChatModel chat = ChatModelIT.greedy(model).build()) {
            blocking = chat.chat(ChatRequest.builder().messages(UserMessage.from(ChatModelIT.QUESTION)).build());
        }
        try (LlamaFfmStreamingChatModel streaming = greedy().build()) {
            Recorder r = new Recorder(Thread.currentThread());
            streaming.chat(ChatModelIT.QUESTION, r);
            assertEquals("complete", r.events.getLast(), "onCompleteResponse comes last, once: " + r.events);
            assertEquals(1, r.events.stream().filter(e -> e.equals("complete")).count());
            assertTrue(r.events.size() > 10, "token by token: " + r.events);
            assertEquals(blocking.aiMessage().text(), r.text.toString());
            assertEquals(blocking.aiMessage().text(), r.complete.aiMessage().text());
            assertEquals(blocking.tokenUsage(), r.complete.tokenUsage());
            assertEquals(blocking.finishReason(), r.complete.finishReason());
            assertEquals(FinishReason.LENGTH, r.complete.finishReason(), "40 tokens of a longer story");
            assertEquals(ChatModelIT.MAX, r.complete.tokenUsage().outputTokenCount());
            assertTrue(!r.text.isEmpty() && !Character.isWhitespace(r.text.charAt(0)), "no leading space: " + r.text);
        }
    }

    @Test
    void aiServicesTokenStreamsGiveTheSameAnswer() throws Exception {
        String expected = ChatModelIT.reference(model, List.of(io.llamaffm.chat.ChatMessage.user(ChatModelIT.QUESTION)), ChatModelIT.MAX)
                .text().strip();
        interface Teller {
            TokenStream tell(String request);
        }
        try (LlamaFfmStreamingChatModel streaming = greedy().build()) {
            StringBuilder pieces = new StringBuilder();
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            AiServices.create(Teller.class, streaming).tell(ChatModelIT.QUESTION)
                    .onPartialResponse(pieces::append)
                    .onCompleteResponse(done::complete)
                    .onError(done::completeExceptionally)
                    .start();
            assertEquals(expected, done.get(60, TimeUnit.SECONDS).aiMessage().text());
            assertEquals(expected, pieces.toString());
        }
    }

    @Test
    void anExecutorRunsTheGenerationAndChatReturnsAtOnce() throws Exception {
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try (LlamaFfmStreamingChatModel streaming = greedy().executor(executor).build()) {
            Thread worker = executor.submit(Thread::currentThread).get();
            Recorder r = new Recorder(worker);
            CompletableFuture<Void> finished = new CompletableFuture<>();
            streaming.chat(ChatModelIT.QUESTION, new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partial) {
                    r.onPartialResponse(partial);
                }

                @Override
                public void onCompleteResponse(ChatResponse response) {
                    r.onCompleteResponse(response);
                    finished.complete(null);
                }

                @Override
                public void onError(Throwable error) {
                    finished.completeExceptionally(error);
                }
            });
            finished.get(60, TimeUnit.SECONDS);
            assertEquals(r.complete.aiMessage().text(), r.text.toString());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void cancellingStopsTheStreamWithoutAFinalCallback() {
        try (LlamaFfmStreamingChatModel streaming = greedy().build()) {
            List<String> partials = new ArrayList<>();
            Recorder after = new Recorder(null);
            streaming.chat(ChatRequest.builder().messages(UserMessage.from(ChatModelIT.QUESTION)).build(),
                    new StreamingChatResponseHandler() {
                        @Override
                        public void onPartialResponse(PartialResponse partial, PartialResponseContext context) {
                            partials.add(partial.text());
                            if (partials.size() == 3) {
                                context.streamingHandle().cancel();
                                assertTrue(context.streamingHandle().isCancelled());
                            }
                        }

                        @Override
                        public void onCompleteResponse(ChatResponse response) {
                            after.onCompleteResponse(response);
                        }

                        @Override
                        public void onError(Throwable error) {
                            after.onError(error);
                        }
                    });
            assertEquals(3, partials.size(), "nothing after cancel: " + partials);
            assertEquals(List.of(), after.events, "no onCompleteResponse or onError after cancel");
            // the context is usable again for the next call
            Recorder next = new Recorder(Thread.currentThread());
            streaming.chat(ChatModelIT.QUESTION, next);
            assertEquals("complete", next.events.getLast());
            assertTrue(next.text.toString().startsWith(String.join("", partials)));
        }
    }

    @Test
    void failuresGoToOnErrorAndNothingFollows() {
        try (LlamaFfmStreamingChatModel streaming = greedy().build()) {
            Recorder tooLong = new Recorder(null);
            streaming.chat("word ".repeat(600), tooLong);
            assertEquals(List.of("error:IllegalArgumentException"), tooLong.events);
            assertTrue(tooLong.error.getMessage().contains("context"), tooLong.error.getMessage());

            Recorder image = new Recorder(null);
            streaming.chat(ChatRequest.builder().messages(UserMessage.from(dev.langchain4j.data.message.TextContent.from("Hi"),
                    dev.langchain4j.data.message.ImageContent.from("aGk=", "image/png"))).build(), image);
            assertEquals(1, image.events.size());
            assertInstanceOf(UnsupportedFeatureException.class, image.error);

            // an exception thrown by the handler goes to onError (LangChain4j's convention), and streaming goes on
            Recorder throwing = new Recorder(null) {
                @Override
                public void onPartialResponse(String partial) {
                    super.onPartialResponse(partial);
                    if (events.size() == 1) {
                        throw new IllegalStateException("handler bug");
                    }
                }
            };
            streaming.chat(ChatModelIT.QUESTION, throwing);
            assertEquals("error:IllegalStateException", throwing.events.get(1));
            assertEquals("complete", throwing.events.getLast());
            assertEquals(throwing.complete.aiMessage().text(), throwing.text.toString());
            assertNotEquals(0, throwing.text.length());
        }
    }
}
