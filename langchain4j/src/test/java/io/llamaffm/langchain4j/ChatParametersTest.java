package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonAnyOfSchema;
import dev.langchain4j.model.chat.request.json.JsonArraySchema;
import dev.langchain4j.model.chat.request.json.JsonEnumSchema;
import dev.langchain4j.model.chat.request.json.JsonIntegerSchema;
import dev.langchain4j.model.chat.request.json.JsonNullSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.langchain4j.model.chat.request.json.JsonReferenceSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.request.json.JsonStringSchema;
import io.llamaffm.SamplerChain;
import io.llamaffm.grammar.JsonSchemaToGrammar;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Request parameters to sampler chains and JSON schemas to schema text, without a model. */
class ChatParametersTest {
    @Test
    void unsetValuesTakeLlamaCppDefaultsInLlamaCppOrder() {
        SamplerChain chain = ChatEngine.sampler(ChatRequestParameters.builder().build());
        assertEquals(List.of(new SamplerChain.TopK(40), new SamplerChain.TopP(0.95f, 1), new SamplerChain.MinP(0.05f, 1),
                new SamplerChain.Temperature(0.8f), new SamplerChain.Dist(-1)), chain.stages());
    }

    @Test
    void everyParameterReachesItsStage() {
        SamplerChain chain = ChatEngine.sampler(LlamaFfmChatRequestParameters.builder().temperature(0.5).topK(7).topP(0.9)
                .minP(0.1).seed(42).frequencyPenalty(0.25).presencePenalty(0.75).build());
        assertEquals(List.of(new SamplerChain.Penalties(64, 1f, 0.25f, 0.75f), new SamplerChain.TopK(7),
                new SamplerChain.TopP(0.9f, 1), new SamplerChain.MinP(0.1f, 1), new SamplerChain.Temperature(0.5f),
                new SamplerChain.Dist(42)), chain.stages());
        assertEquals(List.of(new SamplerChain.Greedy()),
                ChatEngine.sampler(ChatRequestParameters.builder().temperature(0.0).topK(3).build()).stages());
        assertEquals(List.of(new SamplerChain.MinP(0.05f, 1), new SamplerChain.Temperature(0.8f), new SamplerChain.Dist(-1)),
                ChatEngine.sampler(ChatRequestParameters.builder().topK(0).topP(1.0).build()).stages(),
                "top-k 0 and top-p 1 are off, as in llama.cpp");
        SamplerChain json = ChatEngine.sampler(ChatRequestParameters.builder().temperature(0.0)
                .responseFormat(ResponseFormat.JSON).build());
        assertEquals(List.of(SamplerChain.Grammar.fromJsonSchema("{\"type\":\"object\"}"), new SamplerChain.Greedy()), json.stages());
        assertNull(ChatEngine.grammar(ResponseFormat.TEXT));
    }

    @Test
    void badValuesAreRefusedEvenWhenGreedyWouldIgnoreThem() {
        for (ChatRequestParameters p : List.of(ChatRequestParameters.builder().temperature(-0.1).build(),
                ChatRequestParameters.builder().temperature(0.0).topK(-1).build(),
                ChatRequestParameters.builder().topP(1.5).build(),
                LlamaFfmChatRequestParameters.builder().minP(-1.0).build())) {
            assertThrows(IllegalArgumentException.class, () -> ChatEngine.sampler(p), p.toString());
        }
    }

    @Test
    void llamaFfmParametersMergeBothWays() {
        LlamaFfmChatRequestParameters defaults = LlamaFfmChatRequestParameters.builder().temperature(0.7).seed(1).minP(0.2).build();
        ChatRequestParameters request = ChatRequestParameters.builder().temperature(0.1).maxOutputTokens(5).build();
        ChatRequestParameters merged = defaults.overrideWith(request);
        LlamaFfmChatRequestParameters l = (LlamaFfmChatRequestParameters) merged;
        assertEquals(0.1, l.temperature());
        assertEquals(5, l.maxOutputTokens());
        assertEquals(1, l.seed(), "kept from the defaults");
        assertEquals(0.2, l.minP());
        LlamaFfmChatRequestParameters seeded = LlamaFfmChatRequestParameters.builder().seed(9).build();
        LlamaFfmChatRequestParameters both = (LlamaFfmChatRequestParameters) ChatRequestParameters.builder().temperature(0.3).build()
                .overrideWith(seeded);
        assertEquals(9, both.seed(), "a plain default overridden by llama-ffm parameters keeps the seed");
        assertEquals(0.3, both.temperature());
        assertEquals(defaults, LlamaFfmChatRequestParameters.builder().overrideWith(defaults).build());
    }

    @Test
    void schemasBecomeJsonSchemaTextTheGrammarConverterAccepts() {
        JsonObjectSchema address = JsonObjectSchema.builder().addStringProperty("street").required("street").build();
        JsonObjectSchema root = JsonObjectSchema.builder()
                .addProperty("name \"quoted\"\n", new JsonStringSchema())
                .addProperty("tags", JsonArraySchema.builder().items(new JsonIntegerSchema()).build())
                .addProperty("kind", JsonEnumSchema.builder().enumValues("a\\b", "c").build())
                .addProperty("either", JsonAnyOfSchema.builder().anyOf(new JsonNullSchema(), JsonReferenceSchema.builder()
                        .reference("address").build()).build())
                .addProperty("raw", JsonRawSchema.from("{\"type\":\"integer\",\"minimum\":3}"))
                .required("name \"quoted\"\n", "kind")
                .additionalProperties(false)
                .definitions(java.util.Map.of("address", address))
                .build();
        String text = JsonSchemaText.of(root);
        assertEquals("{\"type\":\"object\",\"properties\":{\"name \\\"quoted\\\"\\n\":{\"type\":\"string\"},"
                + "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
                + "\"kind\":{\"type\":\"string\",\"enum\":[\"a\\\\b\",\"c\"]},"
                + "\"either\":{\"anyOf\":[{\"type\":\"null\"},{\"$ref\":\"#/$defs/address\"}]},"
                + "\"raw\":{\"type\":\"integer\",\"minimum\":3}},"
                + "\"required\":[\"name \\\"quoted\\\"\\n\",\"kind\"],\"additionalProperties\":false,"
                + "\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"}},"
                + "\"required\":[\"street\"]}}}", text);
        String grammar = JsonSchemaToGrammar.convert(text);
        assertEquals(SamplerChain.Grammar.of(grammar), ChatEngine.grammar(ResponseFormat.builder().type(ResponseFormatType.JSON)
                .jsonSchema(JsonSchema.builder().name("x").rootElement(root).build()).build()));
    }
}
