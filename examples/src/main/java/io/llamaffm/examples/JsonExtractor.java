package io.llamaffm.examples;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.chat.ChatFormat;
import io.llamaffm.chat.ChatMessage;

import java.util.List;
import java.util.Objects;

/**
 * Structured extraction: the model reads a text and writes JSON that matches a JSON Schema. The schema becomes a
 * grammar ({@link SamplerChain.Grammar#fromJsonSchema}) that allows only matching JSON, so the output always parses
 * and fits the schema, whatever the model; decoding is greedy, so the same text gives the same JSON. The schema and
 * the text reach the model as a system and a user message in its chat format ({@link ChatFormat#forModel}).
 *
 * <pre>{@code
 * try (Context ctx = model.newContext(ContextParams.defaults())) {
 *     String json = new JsonExtractor(ctx, schema).extract("Tom is a 7 year old dog.", 256).json();
 * }
 * }</pre>
 */
public final class JsonExtractor {
    private final Context context;
    private final String schema;
    private final SamplerChain chain;

    /** The JSON the model wrote, and the generation's counts and timings. */
    public record Result(String json, Completion completion) {}

    /**
     * An extractor for {@code schemaJson} on {@code context} (which it uses, one extraction at a time).
     *
     * @throws IllegalArgumentException if the schema is not valid JSON or uses what the converter does not support
     */
    public JsonExtractor(Context context, String schemaJson) {
        this.context = Objects.requireNonNull(context, "context");
        this.schema = Objects.requireNonNull(schemaJson, "schemaJson").strip();
        this.chain = SamplerChain.of(SamplerChain.Grammar.fromJsonSchema(schema), new SamplerChain.Greedy());
    }

    /** The conversation the model sees: the instructions with the schema, then the text. */
    public static List<ChatMessage> messages(String schemaJson, String text) {
        return List.of(ChatMessage.system("Extract the information in the user's text as JSON that matches this JSON "
                + "Schema:\n" + schemaJson.strip() + "\nAnswer with the JSON only."), ChatMessage.user(text));
    }

    /** The prompt tokens for {@code text} on {@code model}, rendered in its chat format. */
    public static int[] prompt(Model model, String schemaJson, String text) {
        ChatFormat format = ChatFormat.forModel(model);
        String rendered = format.render(messages(schemaJson, text));
        return model.tokenizer().encode(rendered, format.addSpecial(model, rendered), format.parseSpecial());
    }

    /**
     * Extracts from {@code text}.
     *
     * @param maxTokens most tokens the JSON may take
     * @throws IllegalStateException    if the JSON is not finished within {@code maxTokens} (or the context)
     * @throws IllegalArgumentException if the prompt does not fit the context
     */
    public Result extract(String text, int maxTokens) {
        Completion c = context.generate(prompt(context.model(), schema, text), GenerationParams.defaults().withMaxTokens(maxTokens),
                chain, null);
        if (c.stopReason() != Completion.StopReason.END_OF_GENERATION) { // the grammar ends only after complete JSON
            throw new IllegalStateException("the model did not finish the JSON within " + c.tokens().length
                    + " tokens (stopped: " + c.stopReason() + "); allow more tokens");
        }
        return new Result(c.text(), c);
    }
}
