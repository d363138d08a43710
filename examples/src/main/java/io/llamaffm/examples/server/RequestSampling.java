package io.llamaffm.examples.server;

import io.llamaffm.SamplerChain;
import io.llamaffm.SamplerChain.Stage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The sampler chain a generation request asks for, with OpenAI's meaning of each field: {@code response_format}
 * (a grammar, first), {@code frequency_penalty} / {@code presence_penalty} over the whole context,
 * {@code logit_bias}, then greedy for {@code temperature} 0 or else {@code top_k} (an extension, off unless given),
 * {@code top_p}, {@code min_p} (an extension), {@code temperature} (default 1) and a draw seeded by {@code seed}
 * (random when absent or -1).
 */
final class RequestSampling {
    private static final long MAX_SEED = 0xFFFF_FFFEL; // 0xFFFFFFFF is llama.cpp's "pick a random seed"
    private static final String ANY_OBJECT_SCHEMA = "{\"type\":\"object\"}";

    private RequestSampling() {}

    /** The chain for {@code r}; {@code vocabularySize} bounds {@code logit_bias} ids. */
    static SamplerChain chain(Requests.Generation r, int vocabularySize, int contextLength) {
        List<Stage> stages = new ArrayList<>();
        SamplerChain.Grammar grammar = grammar(r.responseFormat());
        if (grammar != null) {
            stages.add(grammar);
        }
        float frequency = range(r.frequencyPenalty(), 0, -2, 2, "frequency_penalty");
        float presence = range(r.presencePenalty(), 0, -2, 2, "presence_penalty");
        if (frequency != 0 || presence != 0) {
            stages.add(new SamplerChain.Penalties(contextLength, 1.0f, frequency, presence));
        }
        if (r.logitBias() != null && !r.logitBias().isEmpty()) {
            stages.add(new SamplerChain.LogitBias(logitBias(r.logitBias(), vocabularySize)));
        }
        float temperature = range(r.temperature(), 1, 0, 2, "temperature");
        float topP = range(r.topP(), 1, 0, 1, "top_p");
        float minP = range(r.minP(), 0, 0, 1, "min_p");
        int topK = r.topK() == null ? 0 : r.topK();
        if (topK < 0) {
            throw ApiException.invalidValue("top_k", "must be >= 0 (0 = off), got " + topK + ".");
        }
        int seed = seed(r.seed());
        if (temperature == 0) {
            stages.add(new SamplerChain.Greedy());
            return new SamplerChain(stages);
        }
        if (topK > 0) {
            stages.add(new SamplerChain.TopK(topK));
        }
        if (topP < 1) {
            stages.add(new SamplerChain.TopP(topP, 1));
        }
        if (minP > 0) {
            stages.add(new SamplerChain.MinP(minP, 1));
        }
        stages.add(new SamplerChain.Temperature(temperature));
        stages.add(new SamplerChain.Dist(seed));
        return new SamplerChain(stages);
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
            return -1; // LLAMA_DEFAULT_SEED: a random seed
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
