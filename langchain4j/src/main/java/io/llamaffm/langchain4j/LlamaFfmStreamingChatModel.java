package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialToolCallContext;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import io.llamaffm.Context;

import java.util.List;
import java.util.concurrent.Executor;

/**
 * A LangChain4j {@link StreamingChatModel} running a local GGUF model with llama-ffm: the reply arrives piece by
 * piece, in order, through {@link StreamingChatResponseHandler#onPartialResponse}, then
 * {@link StreamingChatResponseHandler#onCompleteResponse} brings the whole reply with its token usage and finish
 * reason; the pieces add up to exactly the complete reply's text. A failure (a bad parameter, a prompt longer than
 * the context, a decode error) goes to {@link StreamingChatResponseHandler#onError} instead, and nothing follows it.
 *
 * <p><b>Where it runs.</b> On the calling thread by default: {@code chat(request, handler)} returns after the
 * handler's last call. With {@code executor(Executor)} the generation runs there and {@code chat} returns at once.
 *
 * <p><b>Cancelling.</b> {@link StreamingHandle#cancel()} (from {@link PartialResponseContext#streamingHandle()}, on
 * any thread) stops generation before the next token; the handler gets no further call, not even
 * {@code onCompleteResponse}.
 *
 * <p><b>Handler exceptions</b> follow LangChain4j's convention: an exception thrown by {@code onPartialResponse}
 * or {@code onCompleteResponse} is passed to {@code onError}, and streaming goes on.
 *
 * <p>Prompt format, parameters, ownership and threads are as for {@link LlamaFfmChatModel}.
 */
public final class LlamaFfmStreamingChatModel extends ChatModelSupport implements StreamingChatModel {
    private static final System.Logger LOG = System.getLogger(LlamaFfmStreamingChatModel.class.getName());

    private final Executor executor;

    private LlamaFfmStreamingChatModel(ChatEngine engine, Executor executor) {
        super(engine);
        this.executor = executor;
    }

    /** A builder: give it {@code model(Model)} or {@code modelPath(Path)}, then options. */
    public static Builder builder() {
        return new Builder();
    }

    /** Streams the reply to {@code handler}; called by {@link StreamingChatModel#chat} with the defaults applied. */
    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Handle handle = new Handle();
        Runnable run = () -> stream(request, handler, handle);
        if (executor == null) {
            run.run();
            return;
        }
        try {
            executor.execute(run);
        } catch (RuntimeException e) {
            report(handler, e);
        }
    }

    private void stream(ChatRequest request, StreamingChatResponseHandler handler, Handle handle) {
        ChatResponse response;
        try {
            response = engine.chat(request, piece -> {
                if (handle.isCancelled()) {
                    handle.cancelContext(); // stops the generation before its next token
                    return;
                }
                try {
                    handler.onPartialResponse(new PartialResponse(piece), new PartialResponseContext(handle));
                } catch (Exception e) {
                    report(handler, e);
                }
            }, call -> {
                if (handle.isCancelled()) {
                    handle.cancelContext();
                    return;
                }
                try {
                    handler.onPartialToolCall(call, new PartialToolCallContext(handle));
                } catch (Exception e) {
                    report(handler, e);
                }
            }, handle::bind);
        } catch (RuntimeException | Error e) {
            report(handler, e);
            return;
        }
        if (handle.isCancelled()) {
            return;
        }
        List<ToolExecutionRequest> calls = response.aiMessage().toolExecutionRequests();
        for (int i = 0; calls != null && i < calls.size(); i++) { // the calls are known once the reply is complete
            try {
                handler.onCompleteToolCall(new CompleteToolCall(i, calls.get(i)));
            } catch (Exception e) {
                report(handler, e);
            }
        }
        try {
            handler.onCompleteResponse(response);
        } catch (Exception e) {
            report(handler, e);
        }
    }

    /** Passes {@code error} to the handler's onError; an exception from onError itself is logged. */
    private static void report(StreamingChatResponseHandler handler, Throwable error) {
        try {
            handler.onError(error);
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "StreamingChatResponseHandler.onError threw; ignored", e);
        }
    }

    /** Cancels one streaming call: stops the generation on the context it holds while it holds one. */
    private static final class Handle implements StreamingHandle {
        private volatile boolean cancelled;
        private Context context; // guarded by this: a context back in the pool is never cancelled on this call's behalf

        synchronized void bind(Context context) {
            this.context = context;
        }

        synchronized void cancelContext() {
            if (context != null) {
                context.cancel();
            }
        }

        @Override
        public void cancel() {
            cancelled = true;
            cancelContext();
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
    }

    /** Builds a {@link LlamaFfmStreamingChatModel}; see {@link ChatModelBuilder} for the options. */
    public static final class Builder extends ChatModelBuilder<Builder> {
        private Executor executor;

        private Builder() {}

        /** Runs generations on this executor, so {@code chat} returns at once; default: on the calling thread. */
        public Builder executor(Executor executor) {
            this.executor = executor;
            return this;
        }

        /**
         * The streaming chat model; loads the model now when {@code modelPath} was given.
         *
         * @throws IllegalArgumentException if neither or both of model and modelPath were given, or a default is invalid
         */
        public LlamaFfmStreamingChatModel build() {
            return new LlamaFfmStreamingChatModel(engine(), executor);
        }
    }
}
