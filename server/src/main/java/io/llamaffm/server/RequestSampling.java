package io.llamaffm.server;

import io.llamaffm.SamplerChain;
import io.llamaffm.SamplingParams;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The sampler chain a generation request asks for: {@link SamplingParams}, the library's one recipe (llama.cpp's order:
 * grammar, logit bias, penalties, then greedy or the filters, temperature and a seeded draw), with OpenAI's meaning of
 * each field and OpenAI's defaults where the request is silent: {@code response_format} (a grammar),
 * {@code logit_bias}, {@code frequency_penalty} / {@code presence_penalty} over the whole context, greedy for
 * {@code temperature} 0, {@code top_k} (an extension, off unless given), {@code top_p} (default 1, off),
 * {@code min_p} (an extension, default 0, off), {@code temperature} (default 1) and {@code seed} (random when absent
 * or -1). Values outside OpenAI's ranges get 400 before the recipe sees them.
 */
final class RequestSampling {
    private static final long MAX_SEED = 0xFFFF_FFFEL; // 0xFFFFFFFF is llama.cpp's "pick a random seed"
    private static final String ANY_OBJECT_SCHEMA = "{\"type\":\"object\"}";

    private RequestSampling() {}

    /**
     * One chain per choice: the same recipe, with seeds {@code seed}, {@code seed + 1}, ... when the request gives one
     * (so choices differ but a request is repeatable), each a random seed otherwise.
     */
    static List<SamplerChain> chains(Requests.Generation r, int vocabularySize, int contextLength, int choices) {
        SamplingParams recipe = recipe(r, vocabularySize, contextLength);
        List<SamplerChain> chains = new ArrayList<>(choices);
        for (int i = 0; i < choices; i++) {
            chains.add(recipe.seed() == SamplingParams.RANDOM_SEED || i == 0 ? recipe.toChain()
                    : recipe.withSeed((int) ((Integer.toUnsignedLong(recipe.seed()) + i) % (MAX_SEED + 1))).toChain());
        }
        return chains;
    }

    /** The chain for {@code r}; {@code vocabularySize} bounds {@code logit_bias} ids. */
    static SamplerChain chain(Requests.Generation r, int vocabularySize, int contextLength) {
        return recipe(r, vocabularySize, contextLength).toChain();
    }

    private static SamplingParams recipe(Requests.Generation r, int vocabularySize, int contextLength) {
        SamplerChain.Grammar grammar = grammar(r.responseFormat());
        float frequency = range(r.frequencyPenalty(), 0, -2, 2, "frequency_penalty");
        float presence = range(r.presencePenalty(), 0, -2, 2, "presence_penalty");
        Map<Integer, Float> bias = r.logitBias() == null ? Map.of() : logitBias(r.logitBias(), vocabularySize);
        float temperature = range(r.temperature(), 1, 0, 2, "temperature");
        float topP = range(r.topP(), 1, 0, 1, "top_p");
        float minP = range(r.minP(), 0, 0, 1, "min_p");
        int topK = r.topK() == null ? 0 : r.topK();
        if (topK < 0) {
            throw ApiException.invalidValue("top_k", "must be >= 0 (0 = off), got " + topK + ".");
        }
        return SamplingParams.defaults().withGrammar(grammar).withLogitBias(bias).withPenaltyLastN(contextLength)
                .withFrequencyPenalty(frequency).withPresencePenalty(presence).withTemperature(temperature).withTopK(topK)
                .withTopP(topP).withMinP(minP).withSeed(seed(r.seed()));
    }

    /** The grammar of a {@code response_format}, or null for {@code text} (and none given). */
    static SamplerChain.Grammar grammar(Requests.ResponseFormat format) {
        if (format == null || "text".equals(format.type())) {
            return null;
        }
        String type = format.type();
        if ("json_object".equals(type)) {
            return SamplerChain.Grammar.fromJsonSchema(ANY_OBJECT_SCHEMA);
        }
        if (!"json_schema".equals(type)) {
            throw ApiException.invalidValue("response_format.type", "expected 'text', 'json_object' or 'json_schema', got "
                    + (type == null ? "nothing" : "'" + type + "'") + ".");
        }
        if (format.jsonSchema() == null || format.jsonSchema().schema() == null) {
            throw ApiException.invalid("Missing required parameter: 'response_format.json_schema.schema'.",
                    "response_format.json_schema.schema", "missing_required_parameter");
        }
        if (!format.jsonSchema().schema().isObject()) {
            throw ApiException.invalid("Invalid type for 'response_format.json_schema.schema': expected an object.",
                    "response_format.json_schema.schema", "invalid_type");
        }
        try {
            return SamplerChain.Grammar.fromJsonSchema(ApiJson.write(format.jsonSchema().schema()));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidValue("response_format.json_schema.schema", e.getMessage());
        }
    }

    private static Map<Integer, Float> logitBias(Map<String, Double> bias, int vocabularySize) {
        Map<Integer, Float> out = new HashMap<>();
        for (Map.Entry<String, Double> e : bias.entrySet()) {
            int token;
            try {
                token = Integer.parseInt(e.getKey());
            } catch (NumberFormatException nfe) {
                throw ApiException.invalidValue("logit_bias", "keys are token ids, got '" + e.getKey() + "'.");
            }
            if (token < 0 || token >= vocabularySize) {
                throw ApiException.invalidValue("logit_bias", "token " + token + " is not in the vocabulary (0.."
                        + (vocabularySize - 1) + ").");
            }
            if (e.getValue() == null) {
                throw ApiException.invalidValue("logit_bias", "the bias of token " + token + " is null.");
            }
            out.put(token, range(e.getValue(), 0, -100, 100, "logit_bias"));
        }
        return out;
    }

    private static int seed(Long seed) {
        if (seed == null || seed == -1) {
            return SamplingParams.RANDOM_SEED;
        }
        if (seed < 0 || seed > MAX_SEED) {
            throw ApiException.invalidValue("seed", "must be in 0.." + MAX_SEED + " (or -1 for a random one), got " + seed + ".");
        }
        return (int) (long) seed;
    }

    private static float range(Double value, double fallback, double min, double max, String param) {
        double v = value == null ? fallback : value;
        if (!(v >= min && v <= max)) {
            throw ApiException.invalidValue(param, "must be between " + fmt(min) + " and " + fmt(max) + ", got " + v + ".");
        }
        return (float) v;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
