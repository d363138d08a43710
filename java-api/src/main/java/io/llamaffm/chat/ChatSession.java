package io.llamaffm.chat;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.GenerationParams;
import io.llamaffm.SamplerChain;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A multi-turn conversation on one context. Each turn renders the whole conversation with its {@link ChatFormat}
 * and generates from those tokens; the context decodes only what its KV cache does not hold yet (the earlier turns
 * are reused). When the conversation outgrows the context, the oldest exchanges are dropped (the system message
 * stays).
 */
public final class ChatSession {
    private final Context context;
    private final ChatFormat format;
    private final ChatMessage system; // may be null
    private final List<ChatMessage> history = new ArrayList<>();
    private final Set<String> pendingCalls = new LinkedHashSet<>(); // ids of the last reply's tool calls

    /**
     * A conversation on {@code context} in {@code format}, with an optional system message.
     *
     * @param context      the context the conversation runs in (its KV cache holds the conversation)
     * @param format       how the conversation is rendered into a prompt
     * @param systemPrompt the system message; null or blank for none
     */
    public ChatSession(Context context, ChatFormat format, String systemPrompt) {
        this.context = context;
        this.format = format;
        this.system = systemPrompt == null || systemPrompt.isBlank() ? null : ChatMessage.system(systemPrompt);
    }

    /**
     * Sends a user message and generates the reply, streaming its text to {@code onText}.
     *
     * @param userText the user's message
     * @param params   token budget, stop strings
     * @param sampler  the decoding strategy; must end with a stage that picks the token
     * @param onText   receives the reply's text as it is produced; may be null
     * @return the reply
     * @throws IllegalArgumentException if the message alone leaves no room for a reply in the context
     */
    public Completion send(String userText, GenerationParams params, SamplerChain sampler, Consumer<String> onText) {
        history.add(ChatMessage.user(userText));
        Completion c;
        try {
            c = generate(fit(params.maxTokens(), null, new String[1]), params, sampler, onText);
        } catch (RuntimeException e) {
            history.removeLast();
            throw e;
        }
        history.add(ChatMessage.assistant(c.text().strip()));
        return c;
    }

    /**
     * Sends a user message with tools on offer. With {@link Tools#active() active} tools the model sees them and its
     * reply is held by a grammar to calls of those tools (arguments valid for each tool's schema) or, with
     * {@link ToolChoice#AUTO}, a text answer; run the calls and send their results with {@link #sendToolResults}.
     * The tools are written in the format's {@link ChatFormat#toolFormat() tool format}: the model family's own call
     * syntax when its template has a known one, else a JSON reply any model can follow. The answer's text goes to
     * {@code onText} as it is generated (never call syntax or reasoning); reasoning is in the result.
     *
     * @param userText the user's message
     * @param tools    the tools, the choice and whether several calls are allowed
     * @param params   token budget, stop strings
     * @param sampler  the decoding strategy, without a grammar of its own when tools are active
     * @param onText   receives the reply's text; may be null
     * @return the reply: text or tool calls, and why it ended
     * @throws IllegalArgumentException if the sampler has a grammar while tools are active, or a tool's schema cannot
     *                                  be turned into a grammar
     */
    public ChatResult send(String userText, Tools tools, GenerationParams params, SamplerChain sampler,
                           Consumer<String> onText) {
        history.add(ChatMessage.user(userText));
        try {
            return reply(tools, params, sampler, onText);
        } catch (RuntimeException e) {
            history.removeLast();
            throw e;
        }
    }

    /**
     * Sends the results of the tool calls of the last reply and generates the next reply.
     *
     * @param results {@link ChatMessage#toolResult} messages, each answering a call of the last reply
     * @param tools   the tools, the choice and whether several calls are allowed
     * @param params  token budget, stop strings
     * @param sampler the decoding strategy, without a grammar of its own when tools are active
     * @param onText  receives the reply's text; may be null
     * @return the reply
     * @throws IllegalArgumentException if a message is not a tool result or answers no pending call
     */
    public ChatResult sendToolResults(List<ChatMessage> results, Tools tools, GenerationParams params, SamplerChain sampler,
                                      Consumer<String> onText) {
        Set<String> open = new LinkedHashSet<>(pendingCalls);
        for (ChatMessage m : results) {
            if (m.toolCallId() == null) {
                throw new IllegalArgumentException("not a tool result (ChatMessage.toolResult): " + m.role() + " message");
            }
            if (!open.remove(m.toolCallId())) {
                throw new IllegalArgumentException("no pending tool call has the id " + m.toolCallId() + " (pending: "
                        + pendingCalls + ")");
            }
        }
        int before = history.size();
        history.addAll(results);
        try {
            return reply(tools, params, sampler, onText);
        } catch (RuntimeException e) {
            history.subList(before, history.size()).clear();
            throw e;
        }
    }

    private ChatResult reply(Tools tools, GenerationParams params, SamplerChain sampler, Consumer<String> onText) {
        ToolFormat toolFormat = format.toolFormat();
        String[] prompt = new String[1];
        int[] tokens = fit(params.maxTokens(), tools, prompt);
        SamplerChain chain = toolFormat.constrain(sampler, tools, context.model().tokenizer(), prompt[0]);
        ReplyReader reader = toolFormat.reader(prompt[0], tools, ToolCall::newId, onText == null ? null : onText::accept);
        Completion c = generate(tokens, params, chain, reader::push);
        ParsedReply parsed = reader.finish();
        pendingCalls.clear();
        if (!parsed.calls().isEmpty()) { // a cut list of calls keeps the complete ones, and says LENGTH
            history.add(ChatMessage.assistant(parsed.content(), parsed.calls()).withReasoning(parsed.reasoning()));
            parsed.calls().forEach(call -> pendingCalls.add(call.id()));
            return new ChatResult(parsed.content(), parsed.reasoning(), parsed.calls(),
                    parsed.complete() ? ChatResult.FinishReason.TOOL_CALLS : ChatResult.FinishReason.LENGTH, c);
        }
        history.add(ChatMessage.assistant(parsed.content()).withReasoning(parsed.reasoning()));
        return new ChatResult(parsed.content(), parsed.reasoning(), List.of(), finishReason(c, parsed.complete()), c);
    }

    private static ChatResult.FinishReason finishReason(Completion c, boolean complete) {
        return switch (c.stopReason()) {
            case CANCELLED -> ChatResult.FinishReason.CANCELLED;
            case MAX_TOKENS, CONTEXT_FULL -> ChatResult.FinishReason.LENGTH;
            default -> complete ? ChatResult.FinishReason.STOP : ChatResult.FinishReason.LENGTH;
        };
    }

    /** Generates from prompt tokens with the format's stop strings added. */
    private Completion generate(int[] prompt, GenerationParams params, SamplerChain sampler, Consumer<String> onText) {
        Set<String> stops = new LinkedHashSet<>(params.stopStrings());
        stops.addAll(format.stopStrings());
        return context.generate(prompt, new GenerationParams(params.maxTokens(), List.copyOf(stops), params.ignoreEos(),
                params.logprobs()), sampler, onText);
    }

    /** Forgets the conversation (the system message stays). */
    public void reset() {
        history.clear();
        pendingCalls.clear();
    }

    /** {@return the conversation so far, system message first} */
    public List<ChatMessage> messages() {
        List<ChatMessage> all = new ArrayList<>(history.size() + 1);
        if (system != null) {
            all.add(system);
        }
        all.addAll(history);
        return all;
    }

    /** The prompt tokens of the conversation, dropping the oldest exchanges until a reply fits. */
    private int[] fit(int maxTokens, Tools tools, String[] prompt) {
        int room = Math.min(maxTokens, context.contextLength() / 2); // what a reply may need
        ToolFormat toolFormat = format.toolFormat();
        while (true) {
            String rendered = toolFormat.render(messages(), tools);
            prompt[0] = rendered;
            int[] tokens = context.model().tokenizer().encode(rendered, format.addSpecial(context.model(), rendered),
                    format.parseSpecial());
            if (tokens.length + room <= context.contextLength()) {
                return tokens;
            }
            if (history.size() <= 1) {
                throw new IllegalArgumentException("the message takes " + tokens.length + " tokens and leaves no room for a "
                        + "reply in a context of " + context.contextLength() + " tokens: shorten it or use a larger context");
            }
            // drop the oldest user message and everything up to the next user message (its reply)
            history.removeFirst();
            while (history.size() > 1 && !history.getFirst().role().equals("user")) {
                history.removeFirst();
            }
        }
    }
}
