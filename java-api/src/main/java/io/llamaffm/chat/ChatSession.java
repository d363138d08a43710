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
            int[] prompt = fit(params.maxTokens());
            Set<String> stops = new LinkedHashSet<>(params.stopStrings());
            stops.addAll(format.stopStrings());
            c = context.generate(prompt, new GenerationParams(params.maxTokens(), List.copyOf(stops), params.ignoreEos(), params.logprobs()),
                    sampler, onText);
        } catch (RuntimeException e) {
            history.removeLast();
            throw e;
        }
        history.add(ChatMessage.assistant(c.text().strip()));
        return c;
    }

    /** Forgets the conversation (the system message stays). */
    public void reset() {
        history.clear();
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
    private int[] fit(int maxTokens) {
        int room = Math.min(maxTokens, context.contextLength() / 2); // what a reply may need
        while (true) {
            String rendered = format.render(messages());
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
