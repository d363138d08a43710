package io.llamaffm.chat;

import io.llamaffm.Completion;

import java.util.List;
import java.util.Objects;

/**
 * A reply of the model in a conversation with tools: its text, the tools it called, and why it ended.
 *
 * @param content      the reply's text (empty when it only calls tools)
 * @param reasoning    the reasoning the model wrote before it (a {@code <think>} block or its family's equivalent),
 *                     empty when there is none
 * @param toolCalls    the tool calls, in order; empty when it answered in text
 * @param finishReason why the reply ended
 * @param completion   the generation behind the reply (raw text, tokens, timings)
 */
public record ChatResult(String content, String reasoning, List<ToolCall> toolCalls, FinishReason finishReason, Completion completion) {
    /** Why a reply ended. */
    public enum FinishReason {
        /** The model finished its answer. */
        STOP,
        /** The model called tools: run them and send their results ({@link ChatSession#sendToolResults}). */
        TOOL_CALLS,
        /**
         * The token budget or the context ran out before the reply was complete. If it ran out inside a list of tool
         * calls, the calls complete before the cut are in {@link #toolCalls()}; otherwise the cut text is the content.
         */
        LENGTH,
        /** The generation was cancelled. */
        CANCELLED
    }

    /** Copies the calls. */
    public ChatResult {
        Objects.requireNonNull(content, "content");
        Objects.requireNonNull(reasoning, "reasoning");
        toolCalls = List.copyOf(toolCalls);
        Objects.requireNonNull(finishReason, "finishReason");
    }
}
