package io.llamaffm;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A decoding strategy: sampler stages applied in order to the next-token candidates, as llama.cpp's sampler
 * chain applies them. A chain used for generation ends with a stage that picks the token ({@link Greedy},
 * {@link Dist}, {@link Mirostat} or {@link MirostatV2}); a chain without one can still filter a logits array
 * ({@link Sampler#apply(float[])}). Immutable and thread-safe: each {@link Sampler} builds its own native chain.
 */
public record SamplerChain(List<Stage> stages) {

    /** One stage of a chain. */
    public sealed interface Stage permits Greedy, Dist, Temperature, DynamicTemperature, TopK, TopP, MinP, Typical,
            TopNSigma, Xtc, Dry, Mirostat, MirostatV2, Penalties, LogitBias, Grammar, Custom {}

    /** Picks the most probable token. */
    public record Greedy() implements Stage {}

    /** Draws a token from the distribution with a seeded random generator. */
    public record Dist(int seed) implements Stage {}

    /** Divides logits by {@code temperature}; 0 keeps only the most probable token (greedy). */
    public record Temperature(float temperature) implements Stage {
        public Temperature {
            requireFinite(temperature, "temperature");
            if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
    }

    /** Entropy-based dynamic temperature in {@code temperature ± delta}, shaped by {@code exponent}. */
    public record DynamicTemperature(float temperature, float delta, float exponent) implements Stage {
        public DynamicTemperature {
            requireFinite(temperature, "temperature");
            requireFinite(delta, "delta");
            requireFinite(exponent, "exponent");
        }
    }

    /** Keeps the {@code k} most probable tokens. */
    public record TopK(int k) implements Stage {
        public TopK {
            if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
    }

    /** Keeps the smallest set of most probable tokens whose probabilities add up to at least {@code p}. */
    public record TopP(float p, int minKeep) implements Stage {
        public TopP {
            requireUnit(p, "p");
            requireMinKeep(minKeep);
        }
    }

    /** Keeps tokens whose probability is at least {@code p} times the most probable one's. */
    public record MinP(float p, int minKeep) implements Stage {
        public MinP {
            requireUnit(p, "p");
            requireMinKeep(minKeep);
        }
    }

    /** Locally typical sampling with mass {@code p}. */
    public record Typical(float p, int minKeep) implements Stage {
        public Typical {
            requireUnit(p, "p");
            requireMinKeep(minKeep);
        }
    }

    /** Keeps tokens whose logit is within {@code n} standard deviations of the maximum. */
    public record TopNSigma(float n) implements Stage {
        public TopNSigma {
            requireFinite(n, "n");
        }
    }

    /** Exclude-top-choices: with probability {@code probability}, removes all tokens above {@code threshold} but the least likely of them. */
    public record Xtc(float probability, float threshold, int minKeep, int seed) implements Stage {
        public Xtc {
            requireUnit(probability, "probability");
            requireUnit(threshold, "threshold");
            requireMinKeep(minKeep);
        }
    }

    /** "Don't repeat yourself": penalizes tokens that would extend a repeated sequence. */
    public record Dry(float multiplier, float base, int allowedLength, int penaltyLastN, List<String> sequenceBreakers)
            implements Stage {
        public Dry {
            requireFinite(multiplier, "multiplier");
            requireFinite(base, "base");
            if (allowedLength < 0) throw new IllegalArgumentException("allowedLength must be >= 0");
            if (penaltyLastN < 0) throw new IllegalArgumentException("penaltyLastN must be >= 0 (0 = off)");
            sequenceBreakers = List.copyOf(sequenceBreakers);
        }

        /** Multiplier 0.8, base 1.75, allowed length 2, the last 256 tokens, breakers newline, colon, quote, asterisk. */
        public static Dry defaults() {
            return new Dry(0.8f, 1.75f, 2, 256, List.of("\n", ":", "\"", "*"));
        }
    }

    /** Mirostat 1.0: targets surprise {@code tau} with learning rate {@code eta}, estimating from {@code m} tokens. Picks the token. */
    public record Mirostat(int seed, float tau, float eta, int m) implements Stage {
        public Mirostat {
            requireFinite(tau, "tau");
            requireFinite(eta, "eta");
            if (m < 1) throw new IllegalArgumentException("m must be >= 1");
        }
    }

    /** Mirostat 2.0: targets surprise {@code tau} with learning rate {@code eta}. Picks the token. */
    public record MirostatV2(int seed, float tau, float eta) implements Stage {
        public MirostatV2 {
            requireFinite(tau, "tau");
            requireFinite(eta, "eta");
        }
    }

    /** Repetition penalties over the last {@code lastN} tokens: repeat (1 = off), frequency and presence (0 = off). */
    public record Penalties(int lastN, float repeat, float frequency, float presence) implements Stage {
        public Penalties {
            if (lastN < 0) throw new IllegalArgumentException("lastN must be >= 0 (0 = off)");
            requireFinite(frequency, "frequency");
            requireFinite(presence, "presence");
            if (!(repeat > 0) || Float.isInfinite(repeat)) throw new IllegalArgumentException("repeat must be > 0, got " + repeat);
        }
    }

    /** Adds a bias to the logits of chosen tokens ({@code Float.NEGATIVE_INFINITY} bans a token). */
    public record LogitBias(Map<Integer, Float> biases) implements Stage {
        public LogitBias {
            biases = Map.copyOf(biases);
            biases.values().forEach(v -> {
                if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) throw new IllegalArgumentException("bias must be a number or -infinity");
            });
        }
    }

    /**
     * Constrains output to a GBNF grammar starting at rule {@code root}. Syntax errors are reported when a
     * {@link Sampler} is built ({@link IllegalArgumentException} with llama.cpp's message); a grammar nested more than
     * 256 groups deep or with more than 2048 rules and groups is refused here, as llama.cpp would overflow the
     * thread's stack with it.
     */
    public record Grammar(String gbnf, String root) implements Stage {
        public Grammar {
            Objects.requireNonNull(gbnf, "gbnf");
            Objects.requireNonNull(root, "root");
            if (gbnf.indexOf('\0') >= 0 || root.indexOf('\0') >= 0) throw new IllegalArgumentException("grammar contains NUL");
            if (gbnf.isBlank()) throw new IllegalArgumentException("the grammar is empty");
            io.llamaffm.internal.GbnfLimits.check(gbnf);
        }

        public static Grammar of(String gbnf) {
            return new Grammar(gbnf, "root");
        }

        /**
         * Constrains output to JSON valid against a JSON Schema, converted to GBNF by
         * {@link io.llamaffm.grammar.JsonSchemaToGrammar}.
         *
         * @throws IllegalArgumentException if the schema is invalid or unsupported
         */
        public static Grammar fromJsonSchema(String schemaJson) {
            return of(io.llamaffm.grammar.JsonSchemaToGrammar.convert(schemaJson));
        }
    }

    /** A stage written in Java: reads and changes the candidates inside the native chain. */
    public record Custom(String name, CandidateTransform transform) implements Stage {
        public Custom {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(transform, "transform");
        }
    }

    /** The body of a {@link Custom} stage. Exceptions it throws are rethrown to the caller of the sampling call. */
    @FunctionalInterface
    public interface CandidateTransform {
        void apply(Candidates candidates);
    }

    public SamplerChain {
        stages = List.copyOf(stages);
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("a sampler chain needs at least one stage");
        }
    }

    public static SamplerChain of(Stage... stages) {
        return new SamplerChain(List.of(stages));
    }

    /** Always the most probable token. */
    public static SamplerChain greedy() {
        return of(new Greedy());
    }

    /** The usual sampling recipe: top-k, top-p, min-p, temperature, then a seeded draw; temperature 0 is greedy. */
    public static SamplerChain sampling(float temperature, int topK, float topP, float minP, int seed) {
        if (temperature == 0) {
            return greedy();
        }
        return of(new TopK(topK), new TopP(topP, 1), new MinP(minP, 1), new Temperature(temperature), new Dist(seed));
    }

    /** Whether the last stage picks a token (required for generation). */
    public boolean picksToken() {
        Stage last = stages.getLast();
        return last instanceof Greedy || last instanceof Dist || last instanceof Mirostat || last instanceof MirostatV2;
    }

    private static void requireFinite(float v, String what) {
        if (!Float.isFinite(v)) throw new IllegalArgumentException(what + " must be finite, got " + v);
    }

    private static void requireUnit(float v, String what) {
        if (!(v >= 0 && v <= 1)) throw new IllegalArgumentException(what + " must be in [0, 1], got " + v);
    }

    private static void requireMinKeep(int minKeep) {
        if (minKeep < 1) throw new IllegalArgumentException("minKeep must be >= 1, got " + minKeep);
    }
}
