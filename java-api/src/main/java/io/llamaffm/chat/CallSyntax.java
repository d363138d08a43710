package io.llamaffm.chat;

import io.llamaffm.SamplerChain;
import io.llamaffm.Tokenizer;

/**
 * One family's way of writing tool calls and reasoning: how a reply is read (whole, or cut anywhere while it is
 * generated) and the grammar that holds it to calls of the offered tools. Most families are markers around JSON or
 * XML-like parameters ({@link ToolSyntax}); gpt-oss's channels ({@link HarmonySyntax}) and Functionary v3.2's
 * recipients ({@link RecipientSyntax}) have their own readers.
 */
interface CallSyntax {
    /** {@return the family's name} */
    String name();

    /** {@return the tag that opens reasoning (a prompt ending with it makes the reply start inside reasoning), or null} */
    String reasoningStart();

    /**
     * Template variables the family's template reads besides {@code tools}, made from the same tool list.
     *
     * @param tools the {@code tools} variable: OpenAI-style {@code {"type": "function", "function": {...}}} maps
     * @return the variables; none by default
     */
    default java.util.Map<String, Object> toolVariables(java.util.List<Object> tools) {
        return java.util.Map.of();
    }

    /** {@return the same syntax with reasoning left in the content} */
    CallSyntax withoutReasoning();

    /**
     * Reads a reply.
     *
     * @param tools             the tools on offer; with none active the reply has no calls
     * @param text              the reply so far
     * @param partial           whether more may follow (then only what the rest cannot change is reported)
     * @param startsInReasoning whether the prompt opened a reasoning block the reply continues
     */
    SyntaxParser.Result parse(Tools tools, String text, boolean partial, boolean startsInReasoning);

    /**
     * The grammar stage for a reply with the tools active.
     *
     * @param startsInReasoning whether the prompt opened a reasoning block the reply continues
     */
    SamplerChain.Stage grammar(Tools tools, Tokenizer tokenizer, boolean startsInReasoning);
}
