package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;

import java.util.List;
import java.util.function.Supplier;

/**
 * How a model family is told about tools and how it writes tool calls and reasoning: the prompt with the tools, the
 * grammar that holds the reply to well-formed calls of those tools, and the reader that takes the reply apart. Get
 * one from {@link ChatFormat#toolFormat()}: a model whose chat template has a known call syntax gets a
 * {@link NativeToolFormat} (Hermes/Qwen {@code <tool_call>}, Llama 3.x, Mistral, DeepSeek, ...); every other model gets
 * the {@link JsonToolFormat}, which works with any template.
 *
 * <p>With tools active, {@link #constrain} makes unknown tool names and arguments that break a tool's JSON Schema
 * impossible: {@link ToolChoice#REQUIRED} and a named tool admit only calls; {@link ToolChoice#AUTO} admits free text
 * until the family's call marker and only calls after it; parallel calls off admits one call.
 */
public interface ToolFormat {
    /** {@return a short name of the format: {@code json}, or the family, such as {@code hermes} or {@code llama3}} */
    String name();

    /**
     * The prompt for a conversation with tools on offer, ending where the assistant's reply begins.
     *
     * @param conversation the conversation, with earlier tool calls and tool results
     * @param tools        the tools on offer (none, or a NONE choice, renders the conversation without tools)
     * @return the prompt text
     * @throws ChatTemplateException if the template fails
     */
    String render(List<ChatMessage> conversation, Tools tools);

    /**
     * The sampler chain for a reply: {@code chain} with the tools' grammar first when the tools are active, else
     * {@code chain} itself.
     *
     * @param chain     the decoding strategy, without a grammar of its own when tools are active
     * @param tools     the tools on offer
     * @param tokenizer the model's tokenizer (a call marker that is one of its tokens triggers the grammar)
     * @param prompt    the prompt the reply continues ({@link #render}'s result)
     * @return the chain to generate the reply with
     * @throws IllegalArgumentException if the chain has a grammar while tools are active, or a tool's schema cannot be
     *                                  turned into a grammar
     */
    SamplerChain constrain(SamplerChain chain, Tools tools, Tokenizer tokenizer, String prompt);

    /**
     * A reader for the reply to a prompt.
     *
     * @param prompt   the prompt the reply continues ({@link #render}'s result: a prompt that ends inside a reasoning
     *                 block means the reply starts with reasoning)
     * @param tools    the tools on offer (a call of another tool is not a call)
     * @param ids      makes an id for each call that the reply does not name itself
     * @param listener receives what the reply says as it comes; may be null
     * @return the reader
     */
    ReplyReader reader(String prompt, Tools tools, Supplier<String> ids, ReplyReader.Listener listener);

    /**
     * Reads a whole reply.
     *
     * @param prompt the prompt the reply continues
     * @param reply  the reply's text
     * @param tools  the tools on offer
     * @param ids    makes an id for each call that the reply does not name itself
     * @return what the reply says
     */
    default ParsedReply parse(String prompt, String reply, Tools tools, Supplier<String> ids) {
        ReplyReader r = reader(prompt, tools, ids, null);
        r.push(reply);
        return r.finish();
    }
}
